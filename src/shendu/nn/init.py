"""Weight initialisation (权重初始值), with PyTorch's names and formulas.

Every function fills a tensor in place (its ``.data``, outside the graph) and returns it.
All draws come from :func:`shendu.random.default_generator`, so ``shendu.manual_seed``
makes them reproducible. The fill keeps the tensor's dtype (float32 stays float32).

Why the scale matters: with n inputs of unit variance, a unit-variance weight gives a
pre-activation of variance n; Xavier (Glorot) scales the weights by √(2 / (fan_in + fan_out))
to keep the variance constant through tanh/sigmoid layers, He (Kaiming) by √(2 / fan_in)
for ReLU, which zeroes half its inputs.

>>> import shendu
>>> from shendu.nn import init
>>> w = init.kaiming_normal_(shendu.zeros(256, 512))
>>> round(float(w.numpy().std() * 512 ** 0.5), 1)  # std = √2 / √fan_in
1.4
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

import numpy as np

from shendu import backend
from shendu import random as _random
from shendu.tensor import Tensor

__all__ = [
    "calculate_gain",
    "uniform_",
    "normal_",
    "trunc_normal_",
    "constant_",
    "ones_",
    "zeros_",
    "eye_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
]


_T = TypeVar("_T", Tensor, np.ndarray)


def _array(tensor: Tensor | np.ndarray) -> np.ndarray:
    if isinstance(tensor, Tensor):
        return tensor._data
    if isinstance(tensor, np.ndarray):
        return tensor
    raise TypeError(f"init expects a shendu Tensor or ndarray, got {type(tensor).__name__}")


def _fill(tensor: _T, values: Any) -> _T:
    """Write ``values`` into ``tensor`` in place, cast to its dtype; return ``tensor``."""
    arr = _array(tensor)
    arr[...] = backend.like(arr, np.asarray(values).astype(arr.dtype, copy=False))  # onto a GPU array too
    return tensor


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain that keeps activations' variance stable through ``nonlinearity``.

    linear/conv/sigmoid: 1, tanh: 5/3, relu: √2, leaky_relu: √(2 / (1 + slope²)), selu: 3/4.

    >>> from shendu.nn import init
    >>> init.calculate_gain("relu"), init.calculate_gain("tanh")
    (1.4142135623730951, 1.6666666666666667)
    """
    linear = [
        "linear",
        "conv1d",
        "conv2d",
        "conv3d",
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
    ]
    if nonlinearity in linear or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor | np.ndarray) -> tuple[int, int]:
    """fan_in = in_features × receptive field, fan_out = out_features × receptive field.

    A weight is (out, in) for Linear and (out, in / groups, kH, kW) for Conv2d.
    """
    shape = _array(tensor).shape
    if len(shape) < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions, "
            f"got shape {shape}"
        )
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(tensor: Tensor | np.ndarray, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill with samples of U(a, b)."""
    _random.fill_(_array(tensor), normal=False, scale=b - a, shift=a)
    return tensor


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with samples of N(mean, std²)."""
    _random.fill_(_array(tensor), normal=True, scale=std, shift=mean)
    return tensor


def trunc_normal_(
    tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0
) -> Tensor:
    """Fill with N(mean, std²) samples conditioned to lie in [a, b] (absolute bounds, as PyTorch).

    Samples outside [a, b] are redrawn (rejection sampling, vectorised over the rejected ones).
    """
    if not a < b:
        raise ValueError(f"trunc_normal_: expected a < b, got a={a}, b={b}")
    gen = _random.default_generator()
    out = gen.normal(mean, std, size=_array(tensor).shape)
    for _ in range(1000):
        bad = (out < a) | (out > b)
        if not bad.any():
            break
        out[bad] = gen.normal(mean, std, size=int(bad.sum()))
    else:
        # [a, b] lies far in a tail: the last stragglers are clipped rather than looping forever.
        out = np.clip(out, a, b)
    return _fill(tensor, out)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``."""
    return _fill(tensor, val)


def ones_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 1)


def zeros_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity matrix."""
    arr = _array(tensor)
    if arr.ndim != 2:
        raise ValueError(f"Only tensors with 2 dimensions are supported, got shape {arr.shape}")
    return _fill(tensor, np.eye(*arr.shape))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot uniform: U(−a, a) with a = gain · √(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot normal: N(0, std²) with std = gain · √(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std)


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    fan = _calculate_correct_fan(tensor, mode)
    if fan == 0:  # a zero-element tensor: nothing to fill (PyTorch makes this a no-op too)
        return 0.0
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(
    tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Tensor:
    """He uniform: U(−bound, bound) with bound = gain · √(3 / fan).

    The gain comes from ``nonlinearity`` and slope ``a``.

    PyTorch's Linear and Conv layers use ``a=√5``, which gives bound = 1 / √fan_in.
    """
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(
    tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Tensor:
    """He normal: N(0, std²) with std = gain / √fan."""
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity))
