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

from shendu import backend, parallel
from shendu.autograd.function import Function
from shendu.device import device_mismatch
from shendu.tensor import Tensor, array_of, as_tensor

__all__ = ["batch_norm", "layer_norm", "local_response_norm"]

# Rows of a normalisation are handled in pieces of about this many elements: small enough to
# stay in cache between the passes, large enough to be worth a thread.
PIECE_ELEMENTS = 1 << 16


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


class BatchNorm(Function):
    """Batch normalisation per channel, the fast kernel: y = γ x̂ + β, x̂ = (x − μ)·r, r = 1/√(σ² + ε).

    The same formulas as :class:`Normalize` (its plain, readable version), arranged for speed.
    x is viewed as a (rows, C) matrix with the channels last — free for the channels-last
    arrays that ``conv2d`` returns — and cut into pieces of rows fixed by the shape. Each piece
    is one of shendu's threads' work, small enough to stay in cache while it is read twice:

        forward    Σx → μ;  Σ(x − μ)² → σ²;  y = x·(γr) + (β − μγr)         (3 passes over x)
        backward   Σg, Σg(x − μ);  ∂L/∂x = k₁g − k₂(x − μ) − k₁·mean g      (2 passes)

    with k₁ = γr and k₂ = γr³·mean(g(x − μ)): the analytic gradient of :class:`Normalize`
    written with x instead of a stored x̂. The per-piece sums are added in piece order, so the
    result does not depend on the thread count. With fixed statistics (evaluation) only the
    last pass runs, and ∂L/∂x = γr·g.
    """

    def forward(self, x, *wb, mean, var, eps, batch_stats, has_weight):
        x2, self.layout = channels_last_rows(x)
        c = x2.shape[1]
        self.batch_stats = batch_stats
        inv_std = (1 / np.sqrt(var + x.dtype.type(eps))).astype(x.dtype, copy=False)
        w = wb[0] if has_weight else np.ones(c, x.dtype)
        b = wb[-1] if len(wb) == 1 + has_weight else None
        scale = w * inv_std
        shift = -mean * scale if b is None else b - mean * scale
        y2 = np.empty_like(x2)

        def affine(s: slice) -> None:
            np.multiply(x2[s], scale, out=y2[s])
            y2[s] += shift

        _run(affine, x2)
        self.has_weight, self.has_bias = has_weight, b is not None
        self.save(x, mean, inv_std, w)
        return from_rows(y2, self.layout)

    def backward(self, gy):
        x, mean, inv_std, w = self.saved
        x2, _ = channels_last_rows(x)
        g2, _ = channels_last_rows(gy)
        n = x2.shape[0]
        sum_g = _column_sums(g2, lambda p: p)
        # Σ g·(x − μ), piece by piece: pieces of g and x, at the same rows
        sum_gd = _column_sums2(g2, x2, mean)
        gw = sum_gd * inv_std if self.has_weight and self.needs_grad[1] else None
        gb = sum_g if self.has_bias and self.needs_grad[-1] else None
        gx = None
        if self.needs_grad[0]:
            k1 = w * inv_std
            if self.batch_stats:
                k2 = k1 * inv_std * inv_std * (sum_gd / x.dtype.type(n))
                k3 = k2 * mean - k1 * (sum_g / x.dtype.type(n))
            else:
                k2 = k3 = None
            gx2 = np.empty_like(g2)

            def grad(s: slice) -> None:
                np.multiply(g2[s], k1, out=gx2[s])
                if k2 is not None:
                    gx2[s] -= x2[s] * k2
                    gx2[s] += k3

            _run(grad, g2)
            gx = from_rows(gx2, self.layout)
        grads = [gx]
        if self.has_weight:
            grads.append(gw)
        if self.has_bias:
            grads.append(gb)
        return tuple(grads)


def channels_last_rows(a: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    """a: (N, C, *spatial) as a (N·spatial, C) matrix of rows, and the channels-last shape.

    No copy for a 2-D array or a channels-last one (what conv2d returns); a copy otherwise."""
    if a.ndim == 2:
        return a, a.shape
    last = np.moveaxis(a, 1, -1)
    return last.reshape(-1, a.shape[1]), last.shape


def from_rows(a2: np.ndarray, layout: tuple[int, ...]) -> np.ndarray:
    """The inverse of :func:`channels_last_rows`: back to (N, C, *spatial), a channels-last view."""
    return a2 if len(layout) == 2 else np.moveaxis(a2.reshape(layout), -1, 1)


def _row_pieces(a2: np.ndarray) -> list[slice]:
    """Rows cut into pieces of about PIECE_ELEMENTS elements (from the shape only)."""
    return parallel.pieces(a2.shape[0], max(1, PIECE_ELEMENTS // max(1, a2.shape[1])))


def _run(fn, a2: np.ndarray) -> list:
    """fn over a2's row pieces, shared among the threads when a2 is big enough to be worth a
    hand-off (the pieces, so the bits, are the same either way)."""
    pieces = _row_pieces(a2)
    if parallel.worth_sharing(a2.size):
        return parallel.run(fn, pieces)
    return [fn(s) for s in pieces]


def _square(a: np.ndarray) -> np.ndarray:
    return np.multiply(a, a, out=a)


def _column_sums(a2: np.ndarray, f) -> np.ndarray:
    """Σ over rows of f(piece), per column; pieces summed in order (same bits for any thread count)."""
    parts = _run(lambda s: parallel.column_sums(f(a2[s])), a2)
    return _in_order(parts, a2)


def _column_sums2(g2: np.ndarray, x2: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Σ over rows of g·(x − μ), per column, piece by piece."""

    def piece(s: slice) -> np.ndarray:
        d = x2[s] - mean
        d *= g2[s]
        return parallel.column_sums(d)

    return _in_order(_run(piece, g2), g2)


def _in_order(parts: list[np.ndarray], a2: np.ndarray) -> np.ndarray:
    total = np.zeros(a2.shape[1], a2.dtype)
    for p in parts:
        total += p
    return total


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
    rm, rv = (None if s is None else array_of(s) for s in (running_mean, running_var))
    for arr, what in ((rm, "running_mean"), (rv, "running_var")):
        if arr is not None and arr.shape != (c,):
            raise ValueError(
                f"batch_norm: input {x.shape} has C={c} channels but {what} has shape {arr.shape}"
            )
        if arr is not None:
            _check_dtype(arr.dtype, x.dtype, what, "batch_norm")
            if backend.device_of(arr) != x.device:  # updated in place where it is: never moved
                raise device_mismatch("batch_norm", x.device, backend.device_of(arr))
    params = _affine_inputs(weight, bias, (c,), "batch_norm", x.dtype)
    dtype = x.dtype.type
    on_cpu = type(x._data) is np.ndarray  # NumPy: the threaded kernel; a GPU's arrays: Normalize
    if training:
        n = x._data.size // c
        if n <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, got input shape {x.shape}"
            )
        mean, var = batch_statistics(x._data) if on_cpu else _plain_statistics(x._data)
        if rm is not None:
            rm *= rm.dtype.type(1 - momentum)
            rm += (mean * dtype(momentum)).astype(rm.dtype, copy=False)
        if rv is not None:
            rv *= rv.dtype.type(1 - momentum)
            rv += (var * dtype(momentum * n / (n - 1))).astype(rv.dtype, copy=False)
    else:
        if rm is None or rv is None:
            raise ValueError("batch_norm: running_mean and running_var are required when training=False")
        mean = rm.astype(x.dtype, copy=False)
        var = rv.astype(x.dtype, copy=False)
    if not on_cpu:
        shape = (1, c) + (1,) * (x.ndim - 2)
        inv_std = (1 / (var.reshape(shape) + dtype(eps)) ** 0.5).astype(x.dtype, copy=False)
        axes = (0,) + tuple(range(2, x.ndim))
        return Normalize.apply(
            x,
            *params,
            mean=mean.reshape(shape),
            inv_std=inv_std,
            axes=axes,
            batch_stats=training,
            affine_shape=shape,
            has_weight=weight is not None,
        )
    return BatchNorm.apply(
        x, *params, mean=mean, var=var, eps=eps, batch_stats=training, has_weight=weight is not None
    )


def _plain_statistics(x) -> tuple:
    """Per-channel mean and biased variance, with the array's own reductions (any device)."""
    axes = (0,) + tuple(range(2, x.ndim))
    mean = x.mean(axis=axes)
    d = x - mean.reshape((1, -1) + (1,) * (x.ndim - 2))
    return mean, (d * d).mean(axis=axes)


def batch_statistics(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and biased variance of x: (N, C, ...), two passes (Σx, then Σ(x − μ)²)."""
    x2, _ = channels_last_rows(x)
    n = x.dtype.type(x2.shape[0])
    mean = _column_sums(x2, lambda p: p) / n
    var = _column_sums(x2, lambda p: _square(p - mean)) / n
    return mean, var


def batch_norm_reference(x, weight, bias, mean, var, eps: float, training: bool) -> np.ndarray:
    """The plain version of the kernel's forward (what a learner reads): y = γ(x − μ)/√(σ² + ε) + β,
    with μ, σ² the batch's when ``training``. Arrays in, array out; no running statistics."""
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if training:
        mean = x.mean(axis=axes)
        var = ((x - mean.reshape(shape)) ** 2).mean(axis=axes)
    xhat = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    return xhat * weight.reshape(shape) + bias.reshape(shape)


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
    mean = x._data.mean(axis=axes, keepdims=True)
    d = x._data - mean
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
