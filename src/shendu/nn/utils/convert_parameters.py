"""All parameters as one flat vector and back (for line searches, second-order methods, tests)."""

from __future__ import annotations

from typing import Iterable

import numpy as np

from shendu import ops
from shendu.tensor import Tensor


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """``cat([p.reshape(-1) for p in parameters])``: one 1-d tensor, differentiable."""
    params = list(parameters)
    if not params:
        raise ValueError("parameters_to_vector: got no parameters")
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"expected Tensors, but got: {type(p).__name__}")
    return ops.cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Make each parameter's data the next slice of ``vec`` (shared with ``vec``, as in PyTorch)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected a shendu Tensor, but got: {type(vec).__name__}")
    params = list(parameters)
    flat = np.asarray(vec)
    if flat.ndim != 1:
        raise ValueError(f"vector_to_parameters: vec must be 1-d, got shape {flat.shape}")
    needed = sum(int(np.prod(p.shape)) for p in params)
    if needed != flat.shape[0]:
        raise ValueError(
            f"vector_to_parameters: the parameters hold {needed} numbers, vec has {flat.shape[0]}"
        )
    start = 0
    for p in params:
        n = int(np.prod(p.shape))
        p._data = flat[start : start + n].reshape(p.shape)
        start += n
