"""Numerical differentiation (数值微分) and the gradient check.

The central difference  f'(x) ≈ (f(x + h) − f(x − h)) / 2h  has error O(h²), against O(h) for
the forward difference; it is the ground truth every backward in shendu is tested against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from shendu.autograd.grad_mode import no_grad
from shendu.tensor import Tensor


def _default_eps(dtype: np.dtype) -> float:
    return 1e-6 if dtype == np.float64 else 1e-3


def _scalar_of(out: Tensor, weight: np.ndarray | None) -> float:
    data = out._data.astype(np.float64)
    return float((data * weight).sum() if weight is not None else data.sum())


def numerical_grad(
    f: Callable[..., Tensor], *inputs: Tensor, eps: float | None = None, grad_output: np.ndarray | None = None
) -> list[np.ndarray]:
    """Central-difference gradient of ``L = Σ grad_output · f(*inputs)`` with respect to each input.

    For a scalar ``f`` (and ``grad_output`` None) this is just ∂f/∂x. Every element of every
    input is nudged by ±eps in turn, so keep inputs small.

    >>> import shendu, numpy as np
    >>> x = shendu.tensor(np.array([1.0, 2.0]))
    >>> np.round(numerical_grad(lambda t: (t * t).sum(), x)[0], 6)
    array([2., 4.])
    """
    grads = []
    with no_grad():
        for t in inputs:
            if not np.issubdtype(t.dtype, np.floating):
                # Integer inputs (class labels, indices) have no gradient; nudging them would
                # truncate to a different label (or an invalid one) instead.
                grads.append(np.zeros(t.shape, dtype=np.float64))
                continue
            h = eps if eps is not None else _default_eps(t.dtype)
            g = np.zeros(t.shape, dtype=np.float64)
            # Nudge t._data itself, element by element (a reshape(-1) of a transposed, non-contiguous
            # array would be a copy, and nudging the copy would leave t unchanged).
            for idx in np.ndindex(t.shape):
                orig = t._data[idx]
                t._data[idx] = orig + h
                fp = _scalar_of(f(*inputs), grad_output)
                t._data[idx] = orig - h
                fm = _scalar_of(f(*inputs), grad_output)
                t._data[idx] = orig
                g[idx] = (fp - fm) / (2 * h)
            grads.append(g)
    return grads


@dataclass
class GradcheckResult:
    """Outcome of :func:`gradcheck`: ``ok``, the largest errors, and both gradients per input."""

    ok: bool
    max_abs_error: float
    max_rel_error: float
    analytic: list[np.ndarray] = field(repr=False)
    numerical: list[np.ndarray] = field(repr=False)

    def __bool__(self) -> bool:
        return self.ok


class GradcheckError(AssertionError):
    """Autograd and numerical gradients disagree."""


def gradcheck(
    f: Callable[..., Tensor],
    *inputs: Tensor,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    eps: float | None = None,
    raise_exception: bool = True,
    seed: int = 0,
) -> GradcheckResult:
    """Compare backward with central differences on every input that requires grad.

    A non-scalar output is reduced with fixed random weights ``w`` (L = Σ w·f), so every
    element of the upstream gradient is exercised. Relative error per element is
    |a − n| / max(|a|, |n|, atol); the check passes where ``allclose(a, n, rtol, atol)``.

    >>> import shendu, numpy as np
    >>> x = shendu.tensor(np.array([0.5, -1.0]), requires_grad=True)
    >>> gradcheck(lambda t: t.exp() * t, x).ok
    True
    """
    wanted = [t for t in inputs if t.requires_grad]
    if not wanted:
        raise ValueError("gradcheck: no input has requires_grad=True")
    for t in wanted:
        t.grad = None
    out = f(*inputs)
    weight = None
    if out._data.size != 1:
        weight = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(None if weight is None else weight.astype(out.dtype))
    analytic = [np.zeros(t.shape) if t.grad is None else t.grad._data.astype(np.float64) for t in wanted]

    numeric_all = numerical_grad(f, *inputs, eps=eps, grad_output=weight)
    numeric = [n for t, n in zip(inputs, numeric_all, strict=True) if t.requires_grad]
    max_abs = max_rel = 0.0
    ok = True
    for a, n in zip(analytic, numeric, strict=True):
        if a.size == 0:
            continue
        diff = np.abs(a - n)
        max_abs = max(max_abs, float(diff.max()))
        max_rel = max(max_rel, float((diff / np.maximum(np.maximum(np.abs(a), np.abs(n)), atol)).max()))
        ok = ok and bool(np.allclose(a, n, rtol=rtol, atol=atol))
    result = GradcheckResult(ok, max_abs, max_rel, analytic, numeric)
    if not ok and raise_exception:
        raise GradcheckError(
            f"gradcheck failed: max abs error {max_abs:.3g}, max relative error {max_rel:.3g} "
            f"(atol={atol}, rtol={rtol})"
        )
    return result
