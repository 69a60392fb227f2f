"""Activation functions (激活函数), each with its exact derivative beside it (re-exported as ``F.relu`` ...).

Every activation is a :class:`~shendu.autograd.Function` whose ``backward`` is the local
derivative times the upstream gradient ``gy``. All of them keep the input's dtype, and the
ones built on ``exp`` (sigmoid, softplus, softmax, log_softmax, silu, elu) are arranged so
that no ``exp`` of a large positive number is ever taken: they stay finite at x = ±1000.

Shapes: elementwise functions map any shape to the same shape; ``softmax``/``log_softmax``
normalise along ``dim``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from shendu import compiled, parallel
from shendu.autograd.function import Function
from shendu.tensor import Tensor, as_tensor

__all__ = [
    "step",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "softplus",
    "softmax",
    "log_softmax",
    "gelu",
    "elu",
    "silu",
    "identity",
]


def _float_input(x: Any, name: str) -> Tensor:
    """``x`` as a floating tensor (integers compute in float32, as PyTorch's float ops do)."""
    x = as_tensor(x)
    if x.dtype.kind == "f":
        return x
    if x.dtype.kind in "iub":
        return x.float()
    raise TypeError(f"{name}: expected a numeric tensor, got dtype {x.dtype}")


def _stable_sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) = 1/(1 + e⁻ˣ) computed from e^(−|x|) ≤ 1, so no overflow for any x."""
    e = np.exp(-np.abs(x))
    inv = 1 / (1 + e)
    return np.where(x >= 0, inv, e * inv)


# ---- step ----------------------------------------------------------------------------


class Step(Function):
    """y = 1 if x > 0 else 0 (the perceptron's threshold);  dy/dx = 0 everywhere (undefined at 0).

    Because the derivative is zero, no gradient passes through: this is why networks trained
    by backpropagation use a smooth activation such as the sigmoid instead.
    """

    def forward(self, x):
        return (x > 0).astype(x.dtype)

    def backward(self, gy):
        return np.zeros_like(gy)


def step(input: Tensor) -> Tensor:
    """The step (threshold) function: 1 where ``input > 0``, else 0; gradient zero.

    >>> import shendu
    >>> import shendu.nn.functional as F
    >>> F.step(shendu.tensor([-1.0, 0.0, 2.0])).tolist()
    [0.0, 0.0, 1.0]
    """
    return Step.apply(_float_input(input, "step"))


# ---- sigmoid and tanh -----------------------------------------------------------------


def _sigmoid_into(x, out):
    out[...] = _stable_sigmoid(x)
    return out


def _sigmoid_grad(gy, y, out):
    return np.multiply(gy * y, 1 - y, out=out)


class Sigmoid(Function):
    """y = σ(x) = 1 / (1 + e⁻ˣ);  dy/dx = y (1 − y)."""

    def forward(self, x):
        y = parallel.elementwise(_sigmoid_into, np.empty_like(x), x)  # over the threads
        self.save(y)
        return y

    def backward(self, gy):
        (y,) = self.saved
        out = np.empty_like(gy, dtype=np.result_type(gy, y))
        return parallel.elementwise(_sigmoid_grad, out, gy, y)  # gy · y (1 − y)


def sigmoid(input: Tensor) -> Tensor:
    """The logistic sigmoid σ(x) = 1 / (1 + e⁻ˣ), in (0, 1); stable for any x.

    >>> import shendu
    >>> import shendu.nn.functional as F
    >>> F.sigmoid(shendu.tensor([-1000.0, 0.0, 1000.0])).tolist()
    [0.0, 0.5, 1.0]
    """
    return Sigmoid.apply(_float_input(input, "sigmoid"))


class Tanh(Function):
    """y = tanh x = (eˣ − e⁻ˣ)/(eˣ + e⁻ˣ);  dy/dx = 1 − y²."""

    def forward(self, x):
        y = np.tanh(x)
        self.save(y)
        return y

    def backward(self, gy):
        (y,) = self.saved
        return gy * (1 - y * y)


def tanh(input: Tensor) -> Tensor:
    """The hyperbolic tangent, in (−1, 1)."""
    return Tanh.apply(_float_input(input, "tanh"))


# ---- ReLU family ------------------------------------------------------------------------


# ReLU takes the max against a run of zeros this long, not against the scalar 0: NumPy's vector
# loop for max needs two arrays (the scalar form ran ~3× slower), and the bits are the same.
ZERO_RUN = 1 << 15


def _relu(x, out):
    """out = max(x, 0), NaN kept: the compiled kernel where it can run, else NumPy's maximum."""
    xf, of = parallel.memory_run(x), parallel.memory_run(out)
    if xf is None or of is None or x.strides != out.strides or x.dtype.kind != "f":
        return np.maximum(x, 0, out=out)
    kernel = compiled.relu_kernel(xf, of)
    if kernel is not None:
        kernel(xf, of)
        return out
    zeros = parallel.constant_run(0, ZERO_RUN, x.dtype)
    for start in range(0, xf.size, ZERO_RUN):
        piece = slice(start, min(start + ZERO_RUN, xf.size))
        np.maximum(xf[piece], zeros[: piece.stop - start], out=of[piece])
    return out


def _relu_grad(gy, y, out):
    """out = 0 where y ≤ 0, else gy: PyTorch's threshold_backward (an infinite or NaN gy at y ≤ 0
    gives 0, where gy · 1[y > 0] would give NaN)."""
    runs = [parallel.memory_run(a) for a in (gy, y, out)]
    if all(r is not None for r in runs) and gy.strides == y.strides == out.strides:
        kernel = compiled.relu_grad_kernel(*runs)
        if kernel is not None:
            kernel(*runs)
            return out
    out[...] = np.where(y <= 0, out.dtype.type(0), gy)
    return out


class ReLU(Function):
    """y = max(0, x);  dy/dx = 1 if x > 0 else 0 (0 at x = 0, as PyTorch)."""

    def forward(self, x):
        y = parallel.elementwise(_relu, np.empty_like(x), x)  # np.maximum(x, 0), over the threads
        self.save(y)
        return y

    def backward(self, gy):
        (y,) = self.saved
        # A new array: gy may feed other nodes too, so it is never masked in place.
        return parallel.elementwise(_relu_grad, np.empty_like(gy), gy, y)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """Rectified linear unit max(0, x).

    ``inplace`` is accepted for PyTorch compatibility; the result is always a new tensor.

    >>> import shendu
    >>> import shendu.nn.functional as F
    >>> F.relu(shendu.tensor([-2.0, 3.0])).tolist()
    [0.0, 3.0]
    """
    x = as_tensor(input)
    return ReLU.apply(x)


class LeakyReLU(Function):
    """y = x if x > 0 else a·x;  dy/dx = 1 if x > 0 else a (a = negative_slope)."""

    def forward(self, x, slope):
        self.slope = slope
        self.save(x)
        return np.where(x > 0, x, x * x.dtype.type(slope))

    def backward(self, gy):
        (x,) = self.saved
        return np.where(x > 0, gy, gy * gy.dtype.type(self.slope))


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """Leaky ReLU: x for x > 0, ``negative_slope``·x otherwise."""
    return LeakyReLU.apply(_float_input(input, "leaky_relu"), slope=float(negative_slope))


class ELU(Function):
    """y = x if x > 0 else α(eˣ − 1);  dy/dx = 1 if x > 0 else α eˣ = y + α."""

    def forward(self, x, alpha):
        self.alpha = alpha
        a = x.dtype.type(alpha)
        # expm1 of min(x, 0): exact near 0 and never overflows on the branch not taken.
        y = np.where(x > 0, x, a * np.expm1(np.minimum(x, 0)))
        self.save(x, y)
        return y

    def backward(self, gy):
        x, y = self.saved
        return np.where(x > 0, gy, gy * (y + y.dtype.type(self.alpha)))


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """Exponential linear unit: x for x > 0, α(eˣ − 1) otherwise."""
    return ELU.apply(_float_input(input, "elu"), alpha=float(alpha))


class SiLU(Function):
    """y = x·σ(x) (swish);  dy/dx = σ(x) (1 + x (1 − σ(x)))."""

    def forward(self, x):
        s = _stable_sigmoid(x)
        self.save(x, s)
        return x * s

    def backward(self, gy):
        x, s = self.saved
        return gy * s * (1 + x * (1 - s))


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """Sigmoid-weighted linear unit x·σ(x), also called swish."""
    return SiLU.apply(_float_input(input, "silu"))


class GELU(Function):
    """y = x·Φ(x), Φ the standard normal CDF;  dy/dx = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π).

    ``approximate='tanh'`` uses Φ(x) ≈ ½(1 + tanh(u)), u = √(2/π)(x + 0.044715x³), whose
    derivative is ½(1 + t) + ½x(1 − t²)·u′ with t = tanh(u), u′ = √(2/π)(1 + 3·0.044715x²).
    """

    def forward(self, x, approximate):
        self.approximate = approximate
        if approximate == "tanh":
            t = np.tanh(x.dtype.type(math.sqrt(2 / math.pi)) * (x + x.dtype.type(0.044715) * x**3))
            self.save(x, t)
            return x * (1 + t) / 2
        from scipy.special import ndtr  # scipy comes with scikit-learn; imported on first use

        cdf = ndtr(x).astype(x.dtype, copy=False)
        self.save(x, cdf)
        return x * cdf

    def backward(self, gy):
        x, c = self.saved
        if self.approximate == "tanh":
            k = x.dtype.type(math.sqrt(2 / math.pi))
            du = k * (1 + x.dtype.type(3 * 0.044715) * x * x)
            return gy * ((1 + c) / 2 + x * (1 - c * c) * du / 2)
        pdf = np.exp(-x * x / 2) * x.dtype.type(1 / math.sqrt(2 * math.pi))
        return gy * (c + x * pdf)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit x·Φ(x) (``approximate='tanh'`` for the tanh formula)."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(_float_input(input, "gelu"), approximate=approximate)


class Softplus(Function):
    """y = (1/β) ln(1 + e^(βx)) (= x where βx > threshold);  dy/dx = σ(βx) (1 there).

    Computed as (max(βx, 0) + ln(1 + e^(−|βx|)))/β, which never overflows.
    """

    def forward(self, x, beta, threshold):
        self.beta, self.threshold = beta, threshold
        bx = x * x.dtype.type(beta)
        self.save(x, bx)
        y = (np.maximum(bx, 0) + np.log1p(np.exp(-np.abs(bx)))) / x.dtype.type(beta)
        return np.where(bx > threshold, x, y)

    def backward(self, gy):
        x, bx = self.saved
        return np.where(bx > self.threshold, gy, gy * _stable_sigmoid(bx))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """Smooth ReLU (1/β)·ln(1 + e^(βx)); linear where βx > ``threshold``. Its derivative is σ(βx).

    >>> import shendu
    >>> import shendu.nn.functional as F
    >>> F.softplus(shendu.tensor([-1000.0, 1000.0])).tolist()
    [0.0, 1000.0]
    """
    return Softplus.apply(_float_input(input, "softplus"), beta=float(beta), threshold=float(threshold))


def identity(input: Tensor) -> Tensor:
    """y = x (the linear activation); the gradient passes unchanged."""
    return as_tensor(input)


# ---- softmax ------------------------------------------------------------------------------


class Softmax(Function):
    """yᵢ = e^(xᵢ) / Σⱼ e^(xⱼ) along ``dim``;  ∂L/∂xᵢ = yᵢ (gᵢ − Σⱼ gⱼ yⱼ).

    The maximum is subtracted first (softmax is unchanged by a shift), so e^(·) ≤ 1.
    """

    def forward(self, x, dim):
        self.dim = dim
        e = np.exp(x - x.max(axis=dim, keepdims=True))
        y = e / e.sum(axis=dim, keepdims=True)
        self.save(y)
        return y

    def backward(self, gy):
        (y,) = self.saved
        gyy = gy * y
        return gyy - y * gyy.sum(axis=self.dim, keepdims=True)


class LogSoftmax(Function):
    """yᵢ = xᵢ − ln Σⱼ e^(xⱼ) along ``dim``;  ∂L/∂xᵢ = gᵢ − softmax(x)ᵢ Σⱼ gⱼ.

    ln Σ e^(xⱼ) = m + ln Σ e^(xⱼ − m) with m = max x (the log-sum-exp trick).
    """

    def forward(self, x, dim):
        self.dim = dim
        z = x - x.max(axis=dim, keepdims=True)
        y = z - np.log(np.exp(z).sum(axis=dim, keepdims=True))
        self.save(y)
        return y

    def backward(self, gy):
        (y,) = self.saved
        return gy - np.exp(y) * gy.sum(axis=self.dim, keepdims=True)


def _softmax_dim(x: Tensor, dim: int | None, name: str) -> int:
    if dim is None:
        # PyTorch's legacy implicit choice, kept so old course code runs; it warns as PyTorch does.
        dim = 0 if x.ndim in (0, 1, 3) else 1
        warnings.warn(
            f"Implicit dimension choice for {name} has been deprecated. "
            f"Change the call to include dim=X as an argument.",
            UserWarning,
            stacklevel=3,
        )
    nd = max(x.ndim, 1)
    if not -nd <= dim < nd:
        raise IndexError(f"{name}: dim {dim} is out of range for a tensor of shape {x.shape}")
    return dim % nd if x.ndim else 0


def _prepare_softmax(input: Any, dim: int | None, dtype: Any, name: str) -> tuple[Tensor, int]:
    x = _float_input(input, name)
    if dtype is not None:
        x = x.to(dtype)
    return x, _softmax_dim(x, dim, name)


def softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """softmax(x)ᵢ = e^(xᵢ) / Σⱼ e^(xⱼ) along ``dim``: non-negative, sums to 1.

    >>> import shendu
    >>> import shendu.nn.functional as F
    >>> F.softmax(shendu.tensor([[1000.0, 1000.0, -1000.0]]), dim=1).tolist()
    [[0.5, 0.5, 0.0]]
    """
    x, d = _prepare_softmax(input, dim, dtype, "softmax")
    return Softmax.apply(x, dim=d)


def log_softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """ln softmax(x) along ``dim``, computed stably (finite even for x = ±1000)."""
    x, d = _prepare_softmax(input, dim, dtype, "log_softmax")
    return LogSoftmax.apply(x, dim=d)
