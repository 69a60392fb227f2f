"""Window geometry shared by convolution and pooling: tuples of sizes and output sizes.

A sliding window of size K, dilation D (gaps between taps), stride S over an axis of length H
padded by P on each side fits

    OH = ⌊(H + 2P − D·(K − 1) − 1) / S⌋ + 1

times; with D = 1 this is the course's  OH = (H + 2P − FH) / S + 1.
"""

from __future__ import annotations

from typing import Sequence


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
    try:
        out = tuple(int(v) for v in items)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: {arg} must be an int or a tuple of {n} ints, got {value!r}") from None
    if any(o != v for o, v in zip(out, items, strict=True)):
        raise ValueError(f"{name}: {arg} must hold integers, got {value!r}")
    return out


def check_positive(values: tuple[int, ...], name: str, arg: str) -> None:
    if any(v <= 0 for v in values):
        raise ValueError(f"{name}: {arg} must be positive, got {values if len(values) > 1 else values[0]}")


def check_non_negative(values: tuple[int, ...], name: str, arg: str) -> None:
    if any(v < 0 for v in values):
        raise ValueError(
            f"{name}: {arg} must be zero or positive, got {values if len(values) > 1 else values[0]}"
        )


def window_span(kernel: int, dilation: int) -> int:
    """How many input positions one dilated window covers: D·(K − 1) + 1."""
    return dilation * (kernel - 1) + 1


def sliding_output_size(size: int, kernel: int, stride: int, pad_total: int, dilation: int) -> int:
    """⌊(H + P_total − D·(K − 1) − 1) / S⌋ + 1 (may be ≤ 0 when the window does not fit)."""
    return (size + pad_total - window_span(kernel, dilation)) // stride + 1
