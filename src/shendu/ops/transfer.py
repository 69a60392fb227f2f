"""Moves between devices and dtypes: ``x.to(...)``, ``x.cpu()``, ``x.cuda()``, as in PyTorch.

A move is an op like any other: its backward copies the gradient back to where the input lives,
so ``x.cuda()`` of a leaf that requires grad gives a tensor whose gradient reaches ``x`` on the CPU.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shendu import backend
from shendu.autograd.function import Function
from shendu.autograd.grad_mode import is_grad_enabled
from shendu.device import CPU, as_device, device, is_device_like
from shendu.ops.elementwise import cast
from shendu.tensor import Tensor


class ToDevice(Function):
    """y = x copied to another device;  the gradient is copied back to x's device."""

    def forward(self, x, device):
        self.source = backend.device_of(x)
        return backend.to_device(x, device)

    def backward(self, gy):
        return backend.to_device(gy, self.source)


def move(x: Tensor, d: device) -> Tensor:
    """``x`` on device ``d``: ``x`` itself if it is there already, else a copy (in the graph)."""
    arr = backend.to_device(x._data, d)
    if arr is x._data:
        return x
    if x.requires_grad and is_grad_enabled():
        return ToDevice.apply(x, device=d)
    return Tensor._wrap(arr)


def to(x: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """``x`` on another device and/or with another dtype, as ``torch.Tensor.to``.

    Call forms: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other_tensor)`` (its
    device and dtype), each with optional ``non_blocking`` and ``copy``; ``device=`` and ``dtype=``
    as keywords too. Returns ``x`` itself when nothing changes (unless ``copy=True``). Both moves
    are differentiable: the gradient goes back to ``x``'s device and float dtype; an integer or
    bool result has no gradient, as in PyTorch.

    >>> import shendu
    >>> x = shendu.ones(2)
    >>> x.to("cpu") is x, x.to(shendu.float64).dtype, x.to("cpu", shendu.int64).tolist()
    (True, dtype('float64'), [1, 1])
    """
    d, dtype, copy = to_args("Tensor.to", args, kwargs)
    out = x if dtype is None else cast(x, dtype)
    if d is not None:
        out = move(out, d)
    return out.clone() if copy and out is x else out


def cpu(x: Tensor) -> Tensor:
    """``x`` in host memory (``x`` itself if it is there already)."""
    return move(x, CPU)


def cuda(x: Tensor, device: Any = None, non_blocking: bool = False) -> Tensor:
    """``x`` on GPU ``device`` (a number or ``'cuda:N'``; default the first GPU)."""
    return move(x, cuda_device(device))


def cuda_device(index: Any) -> device:
    """The device ``.cuda(index)`` means: cuda:0 by default, else ``index`` as a CUDA device."""
    d = device("cuda", 0) if index is None else as_device(index)
    if d.type != "cuda":
        raise ValueError(f"cuda(): expected a CUDA device, got {d}")
    return d


def to_args(name: str, args: tuple, kwargs: dict) -> tuple[device | None, np.dtype | None, bool]:
    """(device, dtype, copy) from the call forms of ``Tensor.to`` / ``Module.to`` (None: unchanged)."""
    kwargs = dict(kwargs)
    d, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
    flags = [kwargs.pop("non_blocking", False), kwargs.pop("copy", False)]
    kwargs.pop("memory_format", None)  # one memory layout here: accepted and ignored
    if kwargs:
        raise TypeError(f"{name}() got an unexpected keyword argument '{next(iter(kwargs))}'")
    rest = list(args)
    if rest and isinstance(rest[0], Tensor):
        other = rest.pop(0)
        d, dtype = other.device, other.dtype
    elif rest and (rest[0] is None or is_device_like(rest[0])):
        d = rest.pop(0)
        if rest and not isinstance(rest[0], bool):
            dtype = rest.pop(0)
    elif rest and not isinstance(rest[0], bool):
        dtype = rest.pop(0)
    if len(rest) > 2 or not all(isinstance(r, bool) for r in rest):
        raise TypeError(_forms(name, args))
    flags[: len(rest)] = rest
    try:
        dtype = None if dtype is None else np.dtype(dtype)
    except TypeError:
        raise TypeError(_forms(name, args)) from None
    return (None if d is None else as_device(d)), dtype, bool(flags[1])


def _forms(name: str, args: tuple) -> str:
    got = ", ".join(type(a).__name__ for a in args)
    return (
        f"{name}() received an invalid combination of arguments - got ({got}), but expected one of:\n"
        " * (device=None, dtype=None, non_blocking=False, copy=False)\n"
        " * (dtype, non_blocking=False, copy=False)\n"
        " * (Tensor tensor, non_blocking=False, copy=False)"
    )
