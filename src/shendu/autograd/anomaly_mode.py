"""Anomaly detection: ``with shendu.autograd.detect_anomaly():`` names the op whose backward
first produced a NaN or an infinity, and where that op was called in the forward pass.

Off by default; while it is on, every recorded op keeps the stack of its forward call, and
backward checks every gradient it computes (slower: for debugging only).
"""

from __future__ import annotations

import functools
from typing import Any, Callable

_enabled = False


def is_anomaly_enabled() -> bool:
    """True inside ``detect_anomaly()`` (or after ``set_detect_anomaly(True)``)."""
    return _enabled


class set_detect_anomaly:
    """Switch anomaly detection on or off: at once when called, or for a ``with`` block."""

    def __init__(self, mode: bool) -> None:
        global _enabled
        self._prev = _enabled
        _enabled = bool(mode)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        global _enabled
        _enabled = self._prev


class detect_anomaly:
    """Context manager (and decorator) that makes backward raise at the first NaN/Inf gradient,
    naming the backward op, the forward op, and the line of the forward call that made it.

    >>> import shendu
    >>> x = shendu.tensor([1.0], requires_grad=True)
    >>> with shendu.autograd.detect_anomaly():
    ...     y = x * float("inf")  # dy/dx = ∞
    ...     y.sum().backward()    # doctest: +ELLIPSIS
    Traceback (most recent call last):
    RuntimeError: Function 'MulBackward' returned inf values in its 0th output...
    """

    def __enter__(self) -> None:
        global _enabled
        self._prev = _enabled
        _enabled = True

    def __exit__(self, *exc: Any) -> None:
        global _enabled
        _enabled = self._prev

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with detect_anomaly():
                return fn(*args, **kwargs)

        return wrapper
