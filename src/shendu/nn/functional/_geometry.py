"""Layer arguments and window geometry, parsed and checked in one place for ``nn.functional``
and the ``nn`` layers alike (convolution and pooling).

An argument such as ``stride`` is an int (the same on every axis) or a tuple with one int per
axis (PyTorch's ``_pair``). A sliding window of size K, dilation D (gaps between taps), stride S
over an axis of length H padded by P on each side fits

    OH = ⌊(H + 2P − D·(K − 1) − 1) / S⌋ + 1

times; with D = 1 this is the course's  OH = (H + 2P − FH) / S + 1.
"""

from __future__ import annotations

import numbers
from typing import Any, Callable, Sequence


def _ntuple(n: int) -> Callable[[Any], tuple]:
    """PyTorch's ``_ntuple``: an int (or anything else) repeated n times, a sequence as a tuple.
    No checks: layers keep their arguments as the user gave them (for ``repr``)."""

    def parse(x: Any) -> tuple:
        return tuple(x) if isinstance(x, (list, tuple)) else (x,) * n

    return parse


_single = _ntuple(1)
_pair = _ntuple(2)


def ntuple(value: int | Sequence[int], n: int, name: str, arg: str) -> tuple[int, ...]:
    """``value`` as a tuple of ``n`` ints: an int is repeated, a sequence must have length n.

    >>> ntuple(3, 2, "conv2d", "stride"), ntuple((1, 2), 2, "conv2d", "stride")
    ((3, 3), (1, 2))
    """
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{name}: {arg} must be an int or a tuple of {n} ints, got {tuple(value)}")
        items = tuple(value)
    else:
        items = (value,) * n
    if any(isinstance(v, bool) for v in items):
        raise ValueError(f"{name}: {arg} must hold integers, got {value!r}")
    try:
        out = tuple(int(v) for v in items)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: {arg} must be an int or a tuple of {n} ints, got {value!r}") from None
    if any(o != v for o, v in zip(out, items, strict=True)):
        raise ValueError(f"{name}: {arg} must hold integers, got {value!r}")
    return out


def _shown(values: tuple[int, ...]) -> Any:
    return values if len(values) > 1 else values[0]


def check_positive(values: tuple[int, ...], name: str, arg: str) -> None:
    if any(v <= 0 for v in values):
        raise ValueError(f"{name}: {arg} must be positive, got {_shown(values)}")


def check_non_negative(values: tuple[int, ...], name: str, arg: str) -> None:
    if any(v < 0 for v in values):
        raise ValueError(f"{name}: {arg} must be zero or positive, got {_shown(values)}")


def positive(value: Any, n: int, name: str, arg: str) -> tuple[int, ...]:
    """``ntuple`` of an argument that must be > 0 on every axis (kernel size, stride, dilation)."""
    out = ntuple(value, n, name, arg)
    check_positive(out, name, arg)
    return out


def non_negative(value: Any, n: int, name: str, arg: str) -> tuple[int, ...]:
    """``ntuple`` of an argument that must be ≥ 0 on every axis (padding)."""
    out = ntuple(value, n, name, arg)
    check_non_negative(out, name, arg)
    return out


def window_span(kernel: int, dilation: int) -> int:
    """How many input positions one dilated window covers: D·(K − 1) + 1."""
    return dilation * (kernel - 1) + 1


def sliding_output_size(size: int, kernel: int, stride: int, pad_total: int, dilation: int) -> int:
    """⌊(H + P_total − D·(K − 1) − 1) / S⌋ + 1 (may be ≤ 0 when the window does not fit)."""
    return (size + pad_total - window_span(kernel, dilation)) // stride + 1


def conv_padding(
    padding: Any, kernel: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...], name: str
) -> tuple[int, ...]:
    """A convolution's padding as (before, after) per axis, flattened: (top, bottom, left, right).

    An int or tuple pads both sides alike; 'valid' is no padding; 'same' keeps the size (stride 1
    only) with D·(K − 1) in total per axis, the odd pixel of an even kernel going after, as PyTorch.

    >>> conv_padding("same", (2, 3), (1, 1), (1, 1), "conv2d")
    (0, 1, 1, 1)
    """
    nd = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return (0,) * (2 * nd)
        if padding != "same":
            raise ValueError(f"{name}: padding must be an int, a tuple, 'valid' or 'same', got {padding!r}")
        if any(s != 1 for s in stride):
            raise ValueError(
                f"{name}: padding='same' is not supported for strided convolutions (stride {_shown(stride)})"
            )
        out: list[int] = []
        for k, d in zip(kernel, dilation, strict=True):
            total = window_span(k, d) - 1
            out += [total // 2, total - total // 2]
        return tuple(out)
    p = non_negative(padding, nd, name, "padding")
    return tuple(v for pi in p for v in (pi, pi))


def pool_window(
    name: str, nd: int, kernel_size: Any, stride: Any, padding: Any, dilation: Any = 1
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Pooling's (kernel, stride, padding, dilation) per axis, checked as PyTorch does: stride
    None (or empty) means the kernel size, and padding is at most half the kernel size."""
    k = positive(kernel_size, nd, name, "kernel_size")
    no_stride = stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0)
    s = k if no_stride else positive(stride, nd, name, "stride")
    p = non_negative(padding, nd, name, "padding")
    d = positive(dilation, nd, name, "dilation")
    if any(pi > ki // 2 for pi, ki in zip(p, k, strict=True)):
        raise ValueError(f"{name}: padding {_shown(p)} must be at most half the kernel size {_shown(k)}")
    return k, s, p, d


def adaptive_output_size(output_size: Any, nd: int, name: str) -> tuple[int | None, ...]:
    """An adaptive pooling's output size per axis: positive ints, or None for "keep the input's"."""
    sizes = output_size if isinstance(output_size, (list, tuple)) else (output_size,) * nd
    if len(sizes) != nd or any(
        s is not None and (isinstance(s, bool) or not isinstance(s, numbers.Integral) or s <= 0)
        for s in sizes
    ):
        raise ValueError(
            f"{name}: output_size must be positive (an int, or a tuple of {nd} ints or None), "
            f"got {output_size!r}"
        )
    return tuple(None if s is None else int(s) for s in sizes)
