"""Gradient clipping: keep one bad batch from throwing the weights far away.

``clip_grad_norm_`` rescales all gradients together so that their joint p-norm is at most
``max_norm`` (the direction of the update is kept); ``clip_grad_value_`` clamps each gradient
element into ``[-clip_value, clip_value]``. Call either between ``loss.backward()`` and
``optimizer.step()``.
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from shendu.tensor import Tensor

ParamsArg = Tensor | Iterable[Tensor]


def _grads(parameters: ParamsArg) -> list[Tensor]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"expected Tensors (e.g. model.parameters()), got {type(p).__name__}")
    return [p.grad for p in params if p.grad is not None]


def _vector_norm(arr: np.ndarray, norm_type: float) -> float:
    a = np.abs(arr.astype(np.float64, copy=False)).ravel()
    if norm_type == math.inf:
        return float(a.max()) if a.size else 0.0
    if norm_type == 0:
        return float(np.count_nonzero(a))
    return float(np.sum(a**norm_type) ** (1.0 / norm_type))


def get_total_norm(
    tensors: Iterable[Tensor], norm_type: float = 2.0, error_if_nonfinite: bool = False
) -> Tensor:
    """The p-norm of all ``tensors`` seen as one vector: ``‖(‖t₁‖ₚ, ‖t₂‖ₚ, …)‖ₚ``."""
    tensors = list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return Tensor._wrap(np.asarray(0.0, dtype=np.float32))
    dtype = np.asarray(tensors[0]).dtype
    total = _vector_norm(np.asarray([_vector_norm(np.asarray(t), norm_type) for t in tensors]), norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
            "so it cannot be clipped. To disable this error and scale the gradients by the non-finite "
            "norm anyway, set `error_if_nonfinite=False`"
        )
    return Tensor._wrap(np.asarray(total, dtype=dtype))


def clip_grad_norm_(
    parameters: ParamsArg,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Scale every gradient by ``min(1, max_norm / (total_norm + 1e-6))``, in place.

    ``total_norm`` is the ``norm_type``-norm of all gradients together (``inf`` for the largest
    absolute value); it is returned (before clipping), as PyTorch does. Parameters without a
    gradient are skipped. ``foreach`` is accepted for PyTorch scripts and changes nothing.
    """
    grads = _grads(parameters)
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    if not grads:
        return total
    coef = min(float(max_norm) / (float(total.item()) + 1e-6), 1.0)
    for g in grads:
        arr = np.asarray(g)
        g.mul_(Tensor._wrap(np.asarray(coef, dtype=arr.dtype)))
    return total


def clip_grad_value_(parameters: ParamsArg, clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every gradient element into ``[-clip_value, clip_value]``, in place."""
    clip_value = float(clip_value)
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be non-negative, got {clip_value}")
    for g in _grads(parameters):
        g.clamp_(-clip_value, clip_value)
