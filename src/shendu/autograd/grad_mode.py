"""Switching graph recording on and off: ``with shendu.no_grad(): ...``."""

from __future__ import annotations

import functools
import threading
from typing import Any, Callable


class _State(threading.local):
    """Grad mode is per thread, as in PyTorch: a ``no_grad`` in one thread (a server's request,
    a data-loading worker) never switches recording off in another. New threads start enabled."""

    enabled = True


_state = _State()


def is_grad_enabled() -> bool:
    """True when ops record a graph for backward (in this thread)."""
    return _state.enabled


class _GradMode:
    """Context manager and decorator that sets grad mode and restores it on exit."""

    mode: bool

    def __enter__(self) -> None:
        self._prev = _state.enabled
        _state.enabled = self.mode

    def __exit__(self, *exc: Any) -> None:
        _state.enabled = self._prev

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Build no graph inside the block (evaluation, optimiser updates).

    >>> import shendu
    >>> x = shendu.ones(2, requires_grad=True)
    >>> with shendu.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    mode = False


class enable_grad(_GradMode):
    """Record a graph again inside a ``no_grad`` block."""

    mode = True


class set_grad_enabled(_GradMode):
    """Switch graph recording on or off: at once when called, or for a ``with`` block.

    ``with shendu.set_grad_enabled(training):`` runs one loop body for training and evaluation.

    >>> import shendu
    >>> x = shendu.ones(2, requires_grad=True)
    >>> with shendu.set_grad_enabled(False):
    ...     y = x * 2
    >>> y.requires_grad, shendu.is_grad_enabled()
    (False, True)
    """

    def __init__(self, mode: bool) -> None:
        self._prev = _state.enabled
        self.mode = bool(mode)
        _state.enabled = self.mode  # PyTorch sets the mode on construction, not only in __enter__

    def __enter__(self) -> None:
        pass

    def __call__(self, fn: Callable) -> Callable:
        _state.enabled = self._prev  # as a decorator it changes nothing until fn runs
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper


class inference_mode(_GradMode):
    """Inference only: no graph is recorded inside (as ``no_grad``), for evaluation and serving.

    Works as ``with shendu.inference_mode():``, as ``@shendu.inference_mode()`` and as a bare
    ``@shendu.inference_mode``; ``inference_mode(False)`` records a graph again. Unlike PyTorch,
    tensors made inside are ordinary tensors (PyTorch forbids using them in autograd later).

    >>> import shendu
    >>> x = shendu.ones(2, requires_grad=True)
    >>> with shendu.inference_mode():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    def __new__(cls, mode: Any = True) -> Any:
        if callable(mode):  # used bare, as @inference_mode
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        self.inference = bool(mode)
        self.mode = not self.inference

    def __call__(self, fn: Callable) -> Callable:
        inference = self.inference

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with inference_mode(inference):
                return fn(*args, **kwargs)

        return wrapper
