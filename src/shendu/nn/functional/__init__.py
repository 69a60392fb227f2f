"""``shendu.nn.functional`` (import as ``F``): the stateless operations behind every layer.

``import shendu.nn.functional as F`` gives the same names as ``torch.nn.functional``:

==================  =========================================================================
module              functions
==================  =========================================================================
``activation``      step, sigmoid, tanh, relu, leaky_relu, softplus, elu, gelu, silu,
                    identity, softmax, log_softmax
``loss``            mse_loss, l1_loss, cross_entropy, nll_loss, binary_cross_entropy,
                    binary_cross_entropy_with_logits
``linear``          linear  (y = x Wᵀ + b)
``conv``            conv2d, conv1d, conv_output_size  (im2col + one matrix product)
``pooling``         max_pool2d, avg_pool2d, adaptive_avg_pool2d, max_pool1d, avg_pool1d
``normalization``   batch_norm, layer_norm, local_response_norm
``dropout``         dropout, dropout2d
(here)              pad  (constant padding, PyTorch's F.pad convention; ``shendu.ops.pad``)
==================  =========================================================================

Every function takes PyTorch's argument names, so a course example written for PyTorch runs
by changing ``import torch.nn.functional as F`` to ``import shendu.nn.functional as F``.
"""

from __future__ import annotations

from typing import Sequence

from shendu import ops as _ops
from shendu.tensor import Tensor
from shendu.nn.functional.activation import (
    elu,
    gelu,
    identity,
    leaky_relu,
    log_softmax,
    relu,
    sigmoid,
    silu,
    softmax,
    softplus,
    step,
    tanh,
)
from shendu.nn.functional.dropout import dropout, dropout2d
from shendu.nn.functional.linear import linear
from shendu.nn.functional.sparse import embedding, one_hot
from shendu.nn.functional.loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    l1_loss,
    mse_loss,
    nll_loss,
)
from shendu.nn.functional.normalization import batch_norm, layer_norm, local_response_norm
from shendu.nn.functional.conv import conv1d, conv2d, conv_output_size
from shendu.nn.functional.pooling import (
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad with a constant, as ``torch.nn.functional.pad``: ``pad`` lists (before, after) pairs
    starting from the LAST axis, e.g. ``(1, 1, 2, 2)`` pads W by 1 and H by 2 on each side.

    Only ``mode='constant'`` is implemented.

    >>> import shendu
    >>> import shendu.nn.functional as F
    >>> F.pad(shendu.ones(1, 2, 3), (1, 1, 2, 2)).shape
    (1, 6, 5)
    """
    if mode != "constant":
        raise NotImplementedError(f"pad: only mode='constant' is implemented, got mode={mode!r}")
    return _ops.pad(input, pad, value=0.0 if value is None else value)


__all__ = [
    "embedding",
    "one_hot",
    "step",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "softplus",
    "elu",
    "gelu",
    "silu",
    "identity",
    "softmax",
    "log_softmax",
    "mse_loss",
    "l1_loss",
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "linear",
    "conv2d",
    "conv1d",
    "conv_output_size",
    "max_pool2d",
    "avg_pool2d",
    "adaptive_avg_pool2d",
    "max_pool1d",
    "avg_pool1d",
    "batch_norm",
    "layer_norm",
    "local_response_norm",
    "dropout",
    "dropout2d",
    "pad",
]
