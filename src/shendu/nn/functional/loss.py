"""Loss functions (损失函数): how far a prediction is from its target, as one number.

Regression: ``mse_loss`` ½-free squared error, ``l1_loss`` absolute error.
Classification: ``cross_entropy`` (logits in; log-softmax and negative log-likelihood fused
into one op whose gradient is the famous (softmax − onehot)/N), ``nll_loss`` (log-probabilities
in), ``binary_cross_entropy`` (probabilities in), ``binary_cross_entropy_with_logits``.

``reduction`` is ``'mean'`` (default), ``'sum'`` or ``'none'`` (one loss per element/sample),
as in PyTorch. Shapes, with C classes and optional extra dims d1, …:
``cross_entropy``/``nll_loss`` input (N, C) or (N, C, d1, …) or (C,), target (N,) / (N, d1, …) / ()
of class indices, or (for ``cross_entropy``) class probabilities of the input's shape.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shendu import backend, ops
from shendu.autograd.function import Function
from shendu.backend import get_array_module
from shendu.ops.elementwise import sign_for_grad
from shendu.tensor import Tensor, array_of, as_tensor

__all__ = [
    "mse_loss",
    "l1_loss",
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
]

_REDUCTIONS = ("mean", "sum", "none")


# ---- shared helpers --------------------------------------------------------------------


def _check_reduction(reduction: str, name: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return ops.mean(loss)
    if reduction == "sum":
        return ops.sum(loss)
    return loss


def _float_pair(input: Any, target: Any, name: str) -> tuple[Tensor, Tensor]:
    """Input and target as float tensors of the same shape (the target takes the input's dtype)."""
    x, t = as_tensor(input), as_tensor(target)
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: input must be a floating-point tensor, got dtype {x.dtype}")
    if x.shape != t.shape:
        if t._data.size == x._data.size:
            hint = f"reshape one, e.g. target.reshape({x.shape})"
        elif t.dtype.kind in "iu" and x.ndim == 2 and t.shape == x.shape[:1]:
            hint = "class labels go to cross_entropy, or one-hot encode them first"
        else:
            hint = "one prediction per target value"
        raise ValueError(
            f"{name}: input shape {x.shape} and target shape {t.shape} differ; they must be equal ({hint})"
        )
    if t.dtype != x.dtype:
        t = t.to(x.dtype) if t.dtype.kind == "f" else Tensor._wrap(t._data.astype(x.dtype))
    return x, t


def _const(value: Any, like: Tensor) -> np.ndarray | None:
    """An optional constant (class weights, pos_weight) as a plain array of ``like``'s dtype and device."""
    if value is None:
        return None
    arr = array_of(value)
    return backend.like(like._data, arr.astype(like.dtype, copy=False))


# ---- regression -------------------------------------------------------------------------


class SquaredError(Function):
    """l = (x − t)²;  ∂l/∂x = 2(x − t), ∂l/∂t = −2(x − t)."""

    def forward(self, x, t):
        d = x - t
        self.save(d)
        return d * d

    def backward(self, gy):
        (d,) = self.saved
        gx = 2 * gy * d
        return (gx if self.needs_grad[0] else None), (-gx if self.needs_grad[1] else None)


class AbsoluteError(Function):
    """l = |x − t|;  ∂l/∂x = sign(x − t) (0 where equal or NaN, as PyTorch), ∂l/∂t = −sign(x − t)."""

    def forward(self, x, t):
        d = x - t
        self.save(d)
        return np.abs(d)

    def backward(self, gy):
        (d,) = self.saved
        gx = gy * sign_for_grad(d)
        return (gx if self.needs_grad[0] else None), (-gx if self.needs_grad[1] else None)


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean squared error  L = (1/n) Σ (xᵢ − tᵢ)²  (no ½; ``reduction='sum'`` drops the 1/n).

    均方误差 MSE = (1/n)Σ(y − t)², as the notes define it; the book's ½Σ(y − t)² is
    ``0.5 * mse_loss(y, t, reduction='sum')`` (see ``shendu lesson loss``).

    input and target must have the same shape (PyTorch would broadcast (N, 1) against (N,)
    into (N, N) with only a warning; here it is an error).

    >>> import shendu
    >>> import shendu.nn.functional as F
    >>> F.mse_loss(shendu.tensor([1.0, 2.0]), shendu.tensor([1.0, 4.0])).item()
    2.0
    """
    _check_reduction(reduction, "mse_loss")
    x, t = _float_pair(input, target, "mse_loss")
    return _reduce(SquaredError.apply(x, t), reduction)


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean absolute error  L = (1/n) Σ |xᵢ − tᵢ|."""
    _check_reduction(reduction, "l1_loss")
    x, t = _float_pair(input, target, "l1_loss")
    return _reduce(AbsoluteError.apply(x, t), reduction)


# ---- classification with class indices ---------------------------------------------------


def _class_last(x: Tensor) -> Tensor:
    """(N, C, d1, …) -> (N·d1·…, C) and (C,) -> (1, C): the class axis last, one row per sample."""
    if x.ndim == 1:
        return ops.reshape(x, 1, x.shape[0])
    if x.ndim == 2:
        return x
    perm = (0,) + tuple(range(2, x.ndim)) + (1,)
    return ops.reshape(ops.permute(x, *perm), -1, x.shape[1])


def _index_target(x: Tensor, target: Tensor, ignore_index: int, name: str) -> np.ndarray:
    """Validate class indices against input (N, C, d1, …); return them flattened (int64 or int32)."""
    if x.ndim == 0:
        raise ValueError(f"{name}: input must have a class dimension, got a 0-d tensor")
    c = x.shape[1] if x.ndim > 1 else x.shape[0]
    expected = (x.shape[0],) + x.shape[2:] if x.ndim > 1 else ()
    if target.shape != expected:
        hint = ""
        if target.shape == x.shape and x.ndim == 2:
            hint = " (a one-hot target? pass target.argmax(1)" + (
                ", or a float one as class probabilities)" if name == "cross_entropy" else ")"
            )
        elif target.shape == expected + (1,):
            hint = f" (squeeze the last axis: target.reshape({expected}))"
        raise ValueError(
            f"{name}: input shape {x.shape} expects a target of class indices with shape {expected}, "
            f"got target shape {target.shape}{hint}"
        )
    if target.dtype.kind not in "iu":
        hint = ""
        if name == "cross_entropy":
            hint = f"; float targets must be class probabilities of the input's shape {x.shape}"
        raise TypeError(
            f"{name}: a target of class indices must be an integer tensor, got dtype {target.dtype} "
            f"(use target.long(){hint})"
        )
    y = target._data.reshape(-1)
    bad = (y < 0) | (y >= c)
    if bad.any():
        bad &= y != ignore_index
        if bad.any():
            v = int(y[np.argmax(bad)])
            raise ValueError(
                f"{name}: target holds class index {v}, but input has C={c} classes (valid: 0..{c - 1}"
                f", or ignore_index={ignore_index})"
            )
    return y


def _check_weight(weight: np.ndarray | None, c: int, name: str) -> None:
    if weight is not None and weight.shape != (c,):
        raise ValueError(f"{name}: weight must have shape ({c},), one value per class, got {weight.shape}")


class _ClassIndexLoss(Function):
    """Shared reduction logic for losses over class indices with weights and ignore_index.

    Each row i has a weight wᵢ = weight[yᵢ] (1 without class weights, 0 if yᵢ = ignore_index).
    'mean' divides Σ lossᵢ by Σ wᵢ, as PyTorch does; 'sum' does not divide; 'none' keeps rows.
    """

    def _row_weights(self, y, weight, ignore_index, dtype):
        valid = y != ignore_index
        safe_y = np.where(valid, y, 0)  # a valid index to gather with; masked out below
        if weight is None:
            w = valid.astype(dtype)
        else:
            w = np.where(valid, weight[safe_y], dtype.type(0))
        return safe_y, w

    def _reduce_rows(self, losses, w, reduction):
        self.reduction = reduction
        if reduction == "none":
            return losses
        total = losses.sum(dtype=losses.dtype)
        if reduction == "sum":
            return total
        self.denom = w.sum(dtype=w.dtype)
        with np.errstate(invalid="ignore", divide="ignore"):
            return total / self.denom  # nan if every row is ignored, as PyTorch

    def _row_scale(self, gy, w):
        """∂L/∂lossᵢ for every row, times wᵢ (which zeroes ignored rows)."""
        if self.reduction == "none":
            return gy.reshape(-1) * w
        if self.reduction == "sum":
            return gy * w
        with np.errstate(invalid="ignore", divide="ignore"):
            return (gy / self.denom) * w


class CrossEntropyIndex(_ClassIndexLoss):
    """Cross entropy from logits and class indices, log-softmax and NLL fused.

    The notes' E = −Σₖ tₖ log yₖ with y = softmax(x) and one-hot t; gradient (y − t)/N. 交叉熵.
    Book-style twin: ``shendu.reference.layers.SoftmaxWithLoss`` (23 lines).

    x: (M, C) logits, y: (M,) class indices, p = softmax(x) along classes, w = class weights
    (1 if none), wᵢ = w_{yᵢ}:
        lossᵢ = −wᵢ ln pᵢ,yᵢ = wᵢ (ln Σ꜀ e^(xᵢ꜀) − xᵢ,yᵢ)
        ∂lossᵢ/∂xᵢ꜀ = wᵢ (pᵢ꜀ − [c = yᵢ])
    With 'mean' the sum is divided by Σᵢ wᵢ over rows not ignored (N without weights), so the
    plain gradient is (softmax − onehot)/N. The one-hot is never built: the −1 is subtracted
    at (i, yᵢ) only.
    """

    def forward(self, x, y, weight, ignore_index, reduction):
        safe_y, w_row = self._row_weights(y, weight, ignore_index, x.dtype)
        z = x - x.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1)
        rows = get_array_module(x).arange(x.shape[0])  # numpy, or cupy on a GPU
        losses = (np.log(s) - z[rows, safe_y]) * w_row
        self.save(e, s, safe_y, w_row)
        return self._reduce_rows(losses, w_row, reduction)

    def backward(self, gy):
        e, s, y, w_row = self.saved
        scale = self._row_scale(gy, w_row)  # ∂L/∂lossᵢ · wᵢ, 0 on ignored rows
        g = e * (scale / s)[:, None]
        g[get_array_module(e).arange(e.shape[0]), y] -= scale
        return g, None


class CrossEntropySmoothed(_ClassIndexLoss):
    """Cross entropy with class indices and label smoothing ε > 0.

    With q the smoothed one-hot, qᵢ꜀ = (1 − ε)·[c = yᵢ] + ε/C, and w the class weights:
        lossᵢ = −Σ꜀ w꜀ qᵢ꜀ ln pᵢ꜀
        ∂lossᵢ/∂xᵢ꜀ = pᵢ꜀ Σₖ wₖ qᵢₖ − w꜀ qᵢ꜀
    'mean' divides by Σᵢ w_{yᵢ} over rows not ignored, as PyTorch does.
    """

    def forward(self, x, y, weight, ignore_index, reduction, smoothing):
        dtype = x.dtype
        m, c = x.shape
        valid = y != ignore_index
        safe_y, w_row = self._row_weights(y, weight, ignore_index, dtype)
        z = x - x.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1)
        lse = np.log(s)
        nll = lse - z[get_array_module(z).arange(m), safe_y]
        if weight is None:
            smooth = c * lse - z.sum(axis=1)
            w_total = dtype.type(c)
        else:
            smooth = weight.sum(dtype=dtype) * lse - z @ weight
            w_total = weight.sum(dtype=dtype)
        eps = dtype.type(smoothing)
        k = eps / dtype.type(c)
        losses = np.where(valid, (1 - eps) * nll * w_row + k * smooth, dtype.type(0))
        # Σₖ wₖ qᵢₖ = (1 − ε) w_{yᵢ} + (ε/C) Σₖ wₖ
        self.save(e, s, safe_y, w_row, valid, weight, (1 - eps) * w_row + k * w_total)
        self.eps, self.k = eps, k
        return self._reduce_rows(losses.astype(dtype, copy=False), w_row, reduction)

    def backward(self, gy):
        e, s, y, w_row, valid, weight, qsum = self.saved
        scale = self._row_scale(gy, valid.astype(e.dtype))  # ∂L/∂lossᵢ, 0 on ignored rows
        g = e * (scale * qsum / s)[:, None]
        g[get_array_module(e).arange(e.shape[0]), y] -= (1 - self.eps) * w_row * scale
        kw = self.k if weight is None else self.k * weight
        g -= scale[:, None] * kw
        return g, None


class NLLLoss(_ClassIndexLoss):
    """Negative log-likelihood: x: (M, C) log-probabilities, y: (M,) class indices.

    lossᵢ = −w_{yᵢ} x[i, yᵢ];  ∂lossᵢ/∂x[i, c] = −w_{yᵢ} if c = yᵢ else 0.
    """

    def forward(self, x, y, weight, ignore_index, reduction):
        safe_y, w_row = self._row_weights(y, weight, ignore_index, x.dtype)
        self.shape = x.shape
        self.save(safe_y, w_row)
        losses = -x[get_array_module(x).arange(x.shape[0]), safe_y] * w_row
        return self._reduce_rows(losses, w_row, reduction)

    def backward(self, gy):
        y, w_row = self.saved
        g = np.zeros_like(gy, shape=self.shape)
        g[get_array_module(g).arange(self.shape[0]), y] = -self._row_scale(gy, w_row)
        return g, None


def _index_loss(op, name, input, target, weight, ignore_index, reduction, **extra) -> Tensor:
    x = as_tensor(input)
    t = as_tensor(target)
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: input must be a floating-point tensor, got dtype {x.dtype}")
    y = _index_target(x, t, ignore_index, name)
    c = x.shape[1] if x.ndim > 1 else x.shape[0]
    w = _const(weight, x)
    _check_weight(w, c, name)
    out = op.apply(
        _class_last(x),
        Tensor._wrap(y),
        weight=w,
        ignore_index=int(ignore_index),
        reduction=reduction,
        **extra,
    )
    if reduction == "none":
        out = ops.reshape(out, t.shape)
    return out


# ---- classification with class probabilities ---------------------------------------------


class CrossEntropyProb(Function):
    """Cross entropy from logits and class probabilities t: (M, C), smoothed to t' = (1 − ε)t + ε/C.

    lossᵢ = −Σ꜀ w꜀ t'ᵢ꜀ ln pᵢ꜀,  p = softmax(x);
    ∂lossᵢ/∂xᵢ꜀ = pᵢ꜀ Σₖ wₖ t'ᵢₖ − w꜀ t'ᵢ꜀,   ∂lossᵢ/∂tᵢ꜀ = −(1 − ε) w꜀ ln pᵢ꜀.
    'mean' divides by the number of rows M (not by weights), as PyTorch does.
    """

    def forward(self, x, t, weight, reduction, smoothing):
        dtype = x.dtype
        m, c = x.shape
        z = x - x.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        eps = dtype.type(smoothing)
        ts = (1 - eps) * t + eps / dtype.type(c) if smoothing else t
        q = ts if weight is None else ts * weight
        losses = -(q * logp).sum(axis=1)
        self.save(logp, q, weight)
        self.reduction, self.eps, self.m = reduction, eps, m
        if reduction == "none":
            return losses
        total = losses.sum()
        return total if reduction == "sum" else total / dtype.type(m)

    def backward(self, gy):
        logp, q, weight = self.saved
        dtype = logp.dtype
        if self.reduction == "none":
            scale = gy.reshape(-1, 1)
        else:
            scale = gy if self.reduction == "sum" else gy / dtype.type(self.m)
        gx = gt = None
        if self.needs_grad[0]:
            gx = (np.exp(logp) * q.sum(axis=1, keepdims=True) - q) * scale
        if self.needs_grad[1]:
            wl = logp if weight is None else logp * weight
            gt = -(1 - self.eps) * wl * scale
        return gx, gt


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy loss between logits and targets: log-softmax then NLL, in one fused op.

    input: (N, C) logits (or (N, C, d1, …), or (C,)); target: (N,) class indices (integer)
    or (N, C) class probabilities (float, the input's shape). For one sample with class y:
    loss = −ln softmax(x)_y = ln Σ꜀ e^(x꜀) − x_y, and its gradient is softmax(x) − onehot(y).

    ``weight`` (C,) rescales each class; rows whose target is ``ignore_index`` count for nothing;
    ``label_smoothing`` ε mixes the target with the uniform distribution: (1 − ε)·target + ε/C.

    >>> import shendu
    >>> import shendu.nn.functional as F
    >>> logits = shendu.tensor([[2.0, 0.0, 0.0]], requires_grad=True)
    >>> loss = F.cross_entropy(logits, shendu.tensor([0]))
    >>> round(loss.item(), 4)
    0.2395
    >>> loss.backward(); [round(v, 4) for v in logits.grad.tolist()[0]]
    [-0.2129, 0.1065, 0.1065]
    """
    _check_reduction(reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    x, t = as_tensor(input), as_tensor(target)
    if t.dtype.kind == "f" and t.shape == x.shape and x.ndim >= 1:
        if x.dtype.kind != "f":
            raise TypeError(f"cross_entropy: input must be a floating-point tensor, got dtype {x.dtype}")
        c = x.shape[1] if x.ndim > 1 else x.shape[0]
        w = _const(weight, x)
        _check_weight(w, c, "cross_entropy")
        if t.dtype != x.dtype:
            t = t.to(x.dtype)
        out = CrossEntropyProb.apply(
            _class_last(x), _class_last(t), weight=w, reduction=reduction, smoothing=float(label_smoothing)
        )
        if reduction == "none":
            out = ops.reshape(out, (x.shape[0],) + x.shape[2:] if x.ndim > 1 else ())
        return out
    if label_smoothing > 0:
        return _index_loss(
            CrossEntropySmoothed,
            "cross_entropy",
            x,
            t,
            weight,
            ignore_index,
            reduction,
            smoothing=float(label_smoothing),
        )
    return _index_loss(CrossEntropyIndex, "cross_entropy", x, t, weight, ignore_index, reduction)


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood  L = −(1/N) Σᵢ input[i, yᵢ]  for log-probabilities (e.g. log_softmax).

    ``nll_loss(log_softmax(x, dim=1), y)`` equals ``cross_entropy(x, y)``.
    Shapes, ``weight`` and ``ignore_index`` as :func:`cross_entropy` with class indices.
    """
    _check_reduction(reduction, "nll_loss")
    return _index_loss(NLLLoss, "nll_loss", input, target, weight, ignore_index, reduction)


# ---- binary classification ----------------------------------------------------------------


class BinaryCrossEntropy(Function):
    """l = −[t ln x + (1 − t) ln(1 − x)], each log clamped at −100 (as PyTorch, so l ≤ 100);
    ∂l/∂x = (x − t) / max(x(1 − x), 1e−12),  ∂l/∂t = ln(1 − x) − ln x (clamped logs).
    """

    def forward(self, x, t):
        with np.errstate(divide="ignore"):
            log_x = np.maximum(np.log(x), x.dtype.type(-100))
            log_1mx = np.maximum(np.log1p(-x), x.dtype.type(-100))
        self.save(x, t, log_x, log_1mx)
        return -(t * log_x + (1 - t) * log_1mx)

    def backward(self, gy):
        x, t, log_x, log_1mx = self.saved
        gx = gt = None
        if self.needs_grad[0]:
            gx = gy * (x - t) / np.maximum(x * (1 - x), x.dtype.type(1e-12))
        if self.needs_grad[1]:
            gt = gy * (log_1mx - log_x)
        return gx, gt


class BCEWithLogits(Function):
    """l = (1 − t) x + (1 + (pw − 1) t) softplus(−x)  = −[pw·t ln σ(x) + (1 − t) ln(1 − σ(x))];
    ∂l/∂x = (1 − t) σ(x) − pw·t σ(−x)   (= σ(x) − t when pw = 1), with σ(±x) = e^(−softplus(∓x)):
    no 1 − σ that cancels to nothing at large |x|, and ±∞ gives σ = 0 or 1, not NaN,
    ∂l/∂t = −x + (pw − 1) softplus(−x).
    softplus(−x) = max(−x, 0) + ln(1 + e^(−|x|)) never overflows.
    """

    def forward(self, x, t, pos_weight):
        sp = np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))  # softplus(−x) = −ln σ(x)
        lw = 1 if pos_weight is None else 1 + (pos_weight - 1) * t
        self.save(x, t, sp, lw, pos_weight)
        return (1 - t) * x + lw * sp

    def backward(self, gy):
        x, t, sp, lw, pw = self.saved
        gx = gt = None
        if self.needs_grad[0]:
            sp_pos = np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))  # softplus(x)
            pwt = t if pw is None else pw * t
            gx = gy * ((1 - t) * np.exp(-sp) - pwt * np.exp(-sp_pos))
        if self.needs_grad[1]:
            gt = gy * (-x if pw is None else -x + (pw - 1) * sp)
        return gx, gt


def _apply_weight(loss: Tensor, weight: Any, name: str) -> Tensor:
    if weight is None:
        return loss
    w = as_tensor(weight)
    try:
        np.broadcast_shapes(w.shape, loss.shape)
    except ValueError:
        raise ValueError(
            f"{name}: weight shape {w.shape} cannot be broadcast to the input shape {loss.shape}"
        ) from None
    return ops.mul(loss, w if w.dtype == loss.dtype else w.to(loss.dtype))


def binary_cross_entropy(
    input: Tensor, target: Tensor, weight: Tensor | None = None, reduction: str = "mean"
) -> Tensor:
    """Binary cross entropy  L = −(1/n) Σ w [t ln x + (1 − t) ln(1 − x)]  for probabilities x ∈ [0, 1].

    The logs are clamped at −100, as PyTorch, so x = 0 or 1 gives a finite loss. Prefer
    :func:`binary_cross_entropy_with_logits` on raw scores: it is exact where σ saturates.
    """
    _check_reduction(reduction, "binary_cross_entropy")
    x, t = _float_pair(input, target, "binary_cross_entropy")
    if x._data.size and (x._data.min() < 0 or x._data.max() > 1):
        raise ValueError(
            f"binary_cross_entropy: all elements of input should be between 0 and 1, got values in "
            f"[{x._data.min():.4g}, {x._data.max():.4g}] (pass logits to binary_cross_entropy_with_logits)"
        )
    loss = _apply_weight(BinaryCrossEntropy.apply(x, t), weight, "binary_cross_entropy")
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """Sigmoid and binary cross entropy fused: L = −(1/n) Σ w [pw·t ln σ(x) + (1 − t) ln(1 − σ(x))].

    Stable for any logit x. ``pos_weight`` (broadcast along the last axis, one per class)
    weights the positive examples; ``weight`` rescales each element.

    >>> import shendu
    >>> import shendu.nn.functional as F
    >>> F.binary_cross_entropy_with_logits(shendu.tensor([1000.0, -1000.0]), shendu.tensor([0.0, 1.0])).item()
    1000.0
    """
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    x, t = _float_pair(input, target, "binary_cross_entropy_with_logits")
    pw = _const(pos_weight, x)
    if pw is not None:
        try:
            np.broadcast_shapes(pw.shape, x.shape)
        except ValueError:
            raise ValueError(
                f"binary_cross_entropy_with_logits: pos_weight shape {pw.shape} cannot be broadcast "
                f"to the input shape {x.shape}"
            ) from None
    loss = BCEWithLogits.apply(x, t, pos_weight=pw)
    loss = _apply_weight(loss, weight, "binary_cross_entropy_with_logits")
    return _reduce(loss, reduction)
