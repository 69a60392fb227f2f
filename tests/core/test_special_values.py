"""±0, ±∞, NaN and subnormals through ops and losses: values and gradients as PyTorch's.

Each case feeds a 4×5 float64 array of such values (and plain ones) through one op and
compares the values and the gradient of a weighted sum of them with torch's, NaN where torch
has NaN.
Huge finite values are left out: there float rounding order (pairwise sums, FMA in BLAS) differs
legitimately between the libraries.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import shendu
import shendu.nn.functional as F

VALUES = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-310, 1.0, -1.0, 0.5, -2.5, 3.0, 20.0, -89.0])


def _fn(lib):
    return F if lib is shendu else TF


def _labels(lib):
    return lib.tensor([0, 1, 2, 4])


OPS = {
    "exp": lambda lib, x: x.exp(),
    "log": lambda lib, x: x.log(),
    "sqrt": lambda lib, x: x.sqrt(),
    "tanh": lambda lib, x: x.tanh(),
    "sigmoid": lambda lib, x: x.sigmoid(),
    "abs": lambda lib, x: x.abs(),
    "square": lambda lib, x: x * x,
    "pow 3": lambda lib, x: x**3,
    "pow -1": lambda lib, x: x**-1,
    "relu": lambda lib, x: _fn(lib).relu(x),
    "leaky_relu": lambda lib, x: _fn(lib).leaky_relu(x, 0.1),
    "gelu": lambda lib, x: _fn(lib).gelu(x),
    "silu": lambda lib, x: _fn(lib).silu(x),
    "softplus": lambda lib, x: _fn(lib).softplus(x),
    "softmax": lambda lib, x: _fn(lib).softmax(x, dim=-1),
    "log_softmax": lambda lib, x: _fn(lib).log_softmax(x, dim=-1),
    "cross_entropy": lambda lib, x: _fn(lib).cross_entropy(x, _labels(lib)),
    "mse_loss": lambda lib, x: _fn(lib).mse_loss(x, x.detach() * 0 + 1),
    "l1_loss": lambda lib, x: _fn(lib).l1_loss(x, x.detach() * 0 + 1),
    "bce_with_logits": lambda lib, x: _fn(lib).binary_cross_entropy_with_logits(x, x.detach() * 0 + 1),
    "clamp": lambda lib, x: x.clamp(-1, 2),
    "max": lambda lib, x: x.max(),
    "min": lambda lib, x: x.min(),
    "max dim": lambda lib, x: x.max(dim=-1)[0],
    "amax dim": lambda lib, x: lib.amax(x, dim=-1),
    "sum": lambda lib, x: x.sum(-1),
    "mean": lambda lib, x: x.mean(0),
    "std": lambda lib, x: x.std(-1),
    "layer_norm": lambda lib, x: _fn(lib).layer_norm(x, (5,)),
    "max_pool2d": lambda lib, x: _fn(lib).max_pool2d(x.reshape(1, 1, 4, 5), 2, 1, 1),
    "avg_pool2d": lambda lib, x: _fn(lib).avg_pool2d(x.reshape(1, 1, 4, 5), 2, 1, 1),
}


def _run(lib, op, x: np.ndarray):
    """The op's values and the gradient of a weighted sum of them (a plain sum of softmax's
    outputs has gradient 0: only rounding noise would be compared)."""
    t = lib.tensor(x, requires_grad=True)
    y = op(lib, t)
    weights = np.linspace(0.5, 1.5, y.numel()).reshape(tuple(y.shape))
    (y * lib.tensor(weights)).sum().backward()
    return y.detach().numpy(), t.grad.numpy()


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("name", sorted(OPS))
def test_special_values_as_torch(name, seed):
    x = np.random.default_rng(seed).choice(VALUES, size=(4, 5))
    with np.errstate(all="ignore"):
        ours = _run(shendu, OPS[name], x)
    theirs = _run(torch, OPS[name], x)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-14, equal_nan=True)
