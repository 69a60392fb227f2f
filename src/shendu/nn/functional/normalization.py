"""Normalisation layers as functions: batch_norm, layer_norm, local_response_norm (AlexNet's LRN).

Batch normalisation (批归一化) standardises every channel over the batch (and over H, W
for images), then rescales it with a learned γ (``weight``) and β (``bias``):
    x̂ = (x − μ) / √(σ² + ε),   y = γ x̂ + β.
Its backward is written out analytically (one fused op) rather than through the graph of
the formula, which is both faster and the derivation the course walks through.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from shendu.autograd.function import Function
from shendu.tensor import Tensor, as_tensor

__all__ = ["batch_norm", "layer_norm", "local_response_norm"]


def _array(x: Any) -> np.ndarray | None:
    if x is None:
        return None
    return x.data if isinstance(x, Tensor) else np.asarray(x)


class Normalize(Function):
    """y = γ x̂ + β with x̂ = (x − μ)·r, r = 1/√(σ² + ε), statistics over ``axes`` (n values each).

    With batch statistics (μ, σ² computed from x), writing ĝ = γ·G:
        ∂L/∂x = r/n · (n ĝ − Σ ĝ − x̂ Σ ĝ x̂)     (sums over ``axes``)
    With fixed statistics (evaluation mode) ∂L/∂x = r·ĝ.
        ∂L/∂γ = Σ G x̂,   ∂L/∂β = Σ G           (sums over every axis where γ is broadcast).
    ``affine_shape`` is the shape γ and β broadcast with (e.g. (1, C, 1, 1)).
    """

    def forward(self, x, *wb, mean, inv_std, axes, batch_stats, affine_shape, has_weight):
        xhat = (x - mean) * inv_std
        self.axes, self.batch_stats, self.has_weight = axes, batch_stats, has_weight
        self.affine_shape = affine_shape
        w = wb[0].reshape(affine_shape) if has_weight else None
        b = wb[-1].reshape(affine_shape) if len(wb) == 1 + has_weight else None
        self.save(xhat, inv_std, w)
        y = xhat * w if w is not None else xhat
        return y + b if b is not None else y

    def backward(self, gy):
        xhat, inv_std, w = self.saved
        param_axes = tuple(i for i, s in enumerate(self.affine_shape) if s == 1)
        gw = gb = gx = None
        if self.has_weight and self.needs_grad[1]:
            gw = (gy * xhat).sum(axis=param_axes).reshape(-1)
        if len(self.needs_grad) > 1 + self.has_weight and self.needs_grad[-1]:
            gb = gy.sum(axis=param_axes).reshape(-1)
        if self.needs_grad[0]:
            g = gy * w if w is not None else gy
            if self.batch_stats:
                mean_g = g.mean(axis=self.axes, keepdims=True)
                mean_gx = (g * xhat).mean(axis=self.axes, keepdims=True)
                # r/n (n ĝ − Σĝ − x̂ Σĝx̂) = r (ĝ − mean ĝ − x̂ mean(ĝ x̂))
                gx = (g - mean_g - xhat * mean_gx) * inv_std
            else:
                gx = g * inv_std
        grads = [gx]
        if self.has_weight:
            grads.append(gw)
        if len(self.needs_grad) > 1 + self.has_weight:
            grads.append(gb)
        return tuple(grads)


def _affine_inputs(
    weight: Any, bias: Any, shape: tuple[int, ...], name: str, dtype: np.dtype
) -> list[Tensor]:
    out = []
    for arg, what in ((weight, "weight"), (bias, "bias")):
        if arg is None:
            continue
        t = as_tensor(arg)
        if t.shape != shape:
            raise ValueError(f"{name}: {what} must have shape {shape}, got {t.shape}")
        _check_dtype(t.dtype, dtype, what, name)
        out.append(t)
    return out


def _check_dtype(got: np.dtype, dtype: np.dtype, what: str, name: str) -> None:
    """Mixed float types are an error, as in PyTorch (and as F.linear): float64 input to a
    float32 layer would otherwise run the whole layer, and all after it, in float64."""
    if got != dtype:
        raise TypeError(
            f"{name}: input dtype {dtype} differs from {what} dtype {got} (use .float() or .double())"
        )


def batch_norm(
    input: Tensor,
    running_mean: Tensor | np.ndarray | None,
    running_var: Tensor | np.ndarray | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalisation, per channel: x (N, C) or (N, C, L) or (N, C, H, W) or (N, C, D, H, W).

    Training: μ, σ² are the batch mean and (biased) variance of each channel over N and the
    spatial axes; the running statistics are updated in place (on the given tensors/arrays):
        running_mean ← (1 − momentum)·running_mean + momentum·μ
        running_var  ← (1 − momentum)·running_var  + momentum·σ²·n/(n − 1)   (unbiased)
    Evaluation (``training=False``): running_mean and running_var are used instead.

    >>> import numpy as np, shendu
    >>> import shendu.nn.functional as F
    >>> x = shendu.tensor([[1.0], [3.0]])          # one feature, batch mean 2, variance 1
    >>> rm, rv = shendu.zeros(1), shendu.ones(1)
    >>> np.round(F.batch_norm(x, rm, rv, training=True).numpy(), 4).tolist()
    [[-1.0], [1.0]]
    >>> np.round(rm.numpy(), 4).tolist(), np.round(rv.numpy(), 4).tolist()  # unbiased variance 2
    ([0.2], [1.1])
    """
    x = as_tensor(input)
    if x.ndim < 2:
        raise ValueError(
            f"batch_norm: expected input (N, C, ...) with at least 2 dimensions, got shape {x.shape}"
        )
    if x.dtype.kind != "f":
        raise TypeError(f"batch_norm: input must be a floating-point tensor, got dtype {x.dtype}")
    c = x.shape[1]
    rm, rv = _array(running_mean), _array(running_var)
    for arr, what in ((rm, "running_mean"), (rv, "running_var")):
        if arr is not None and arr.shape != (c,):
            raise ValueError(
                f"batch_norm: input {x.shape} has C={c} channels but {what} has shape {arr.shape}"
            )
        if arr is not None:
            _check_dtype(arr.dtype, x.dtype, what, "batch_norm")
    params = _affine_inputs(weight, bias, (c,), "batch_norm", x.dtype)
    axes = (0,) + tuple(range(2, x.ndim))
    stat_shape = (1, c) + (1,) * (x.ndim - 2)
    dtype = x.dtype.type
    if training:
        n = x.data.size // c
        if n <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, got input shape {x.shape}"
            )
        mean = x.data.mean(axis=axes, keepdims=True)
        d = x.data - mean
        var = (d * d).mean(axis=axes, keepdims=True)
        if rm is not None:
            rm *= rm.dtype.type(1 - momentum)
            rm += (mean.reshape(c) * dtype(momentum)).astype(rm.dtype, copy=False)
        if rv is not None:
            rv *= rv.dtype.type(1 - momentum)
            rv += (var.reshape(c) * dtype(momentum * n / (n - 1))).astype(rv.dtype, copy=False)
    else:
        if rm is None or rv is None:
            raise ValueError("batch_norm: running_mean and running_var are required when training=False")
        mean = rm.reshape(stat_shape).astype(x.dtype, copy=False)
        var = rv.reshape(stat_shape).astype(x.dtype, copy=False)
    inv_std = (1 / np.sqrt(var + dtype(eps))).astype(x.dtype, copy=False)
    return Normalize.apply(
        x,
        *params,
        mean=mean,
        inv_std=inv_std,
        axes=axes,
        batch_stats=training,
        affine_shape=stat_shape,
        has_weight=weight is not None,
    )


def layer_norm(
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Layer normalisation over the last dimensions ``normalized_shape`` of each sample.

    x̂ = (x − μ)/√(σ² + ε) with μ, σ² (biased) over those dimensions; y = γ x̂ + β,
    γ and β of shape ``normalized_shape``.
    """
    x = as_tensor(input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if x.ndim < k or x.shape[x.ndim - k :] != shape:
        raise ValueError(f"layer_norm: input shape {x.shape} does not end with normalized_shape {shape}")
    params = _affine_inputs(weight, bias, shape, "layer_norm", x.dtype)
    axes = tuple(range(x.ndim - k, x.ndim))
    mean = x.data.mean(axis=axes, keepdims=True)
    d = x.data - mean
    var = (d * d).mean(axis=axes, keepdims=True)
    inv_std = (1 / np.sqrt(var + x.dtype.type(eps))).astype(x.dtype, copy=False)
    return Normalize.apply(
        x,
        *params,
        mean=mean,
        inv_std=inv_std,
        axes=axes,
        batch_stats=True,
        affine_shape=(1,) * (x.ndim - k) + shape,
        has_weight=weight is not None,
    )


def _window_sum(a: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """S[:, c] = Σ_{o=lo..hi} a[:, c + o] along axis 1, zero outside (a loop over offsets only)."""
    c = a.shape[1]
    out = np.zeros_like(a)
    for o in range(lo, hi + 1):
        src = slice(max(o, 0), min(c + o, c))
        dst = slice(max(-o, 0), min(c - o, c))
        out[:, dst] += a[:, src]
    return out


class LocalResponseNorm(Function):
    """AlexNet's local response normalisation across channels (PyTorch's definition):
        D_c = k + (α/n) Σ_{c'=c−⌊n/2⌋}^{c+⌊(n−1)/2⌋} x_{c'}²,    y_c = x_c · D_c^(−β)
    ∂L/∂x_j = G_j D_j^(−β) − (2αβ/n) x_j Σ_{c: j in window(c)} G_c x_c D_c^(−β−1).
    x: (N, C, ...) with the window running along C, zero-padded at the ends.
    """

    def forward(self, x, size, alpha, beta, k):
        self.size, self.alpha, self.beta = size, alpha, beta
        t = x.dtype.type
        d = t(k) + t(alpha / size) * _window_sum(x * x, -(size // 2), (size - 1) // 2)
        scale = d ** t(-beta)
        self.save(x, d, scale)
        return x * scale

    def backward(self, gy):
        x, d, scale = self.saved
        t = x.dtype.type
        inner = gy * x * scale / d  # G_c x_c D_c^(−β−1)
        # the transposed window: c covers j when j − ⌊(n−1)/2⌋ ≤ c ≤ j + ⌊n/2⌋
        back = _window_sum(inner, -((self.size - 1) // 2), self.size // 2)
        return gy * scale - t(2 * self.alpha * self.beta / self.size) * x * back


def local_response_norm(
    input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Tensor:
    """Local response normalisation (AlexNet): divide each activation by
    (k + α/size · Σ of squares over ``size`` neighbouring channels)^β.  x: (N, C, ...), at least 3-D.
    """
    x = as_tensor(input)
    if x.ndim < 3:
        raise ValueError(
            f"local_response_norm: expected input (N, C, ...) with 3 or more dimensions, got shape {x.shape}"
        )
    if not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"local_response_norm: size must be a positive integer, got {size!r}")
    return LocalResponseNorm.apply(x, size=int(size), alpha=float(alpha), beta=float(beta), k=float(k))
