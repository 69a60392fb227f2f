"""Arithmetic: + − × ÷, powers and the matrix product, with broadcasting.

Backward of a broadcast operand is summed back to its shape by the engine
(:func:`shendu.autograd.function.unbroadcast`).
"""

from __future__ import annotations

import numpy as np

from shendu import parallel
from shendu.autograd.function import Function, unbroadcast
from shendu.backend import matmul_precision
from shendu.tensor import Tensor, binary_operands


class Add(Function):
    """z = a + b;  dz/da = 1, dz/db = 1.

    加法节点：局部导数为 1，上游梯度原样传给两个输入（链式法则）。
    Book-style twin: ``shendu.reference.layers.AddLayer``.
    """

    def forward(self, a, b):
        return parallel.binary(np.add, a, b)  # a + b, a large one over the threads

    def backward(self, gy):
        return gy, gy


class Sub(Function):
    """z = a − b;  dz/da = 1, dz/db = −1."""

    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        return gy, -gy


class Mul(Function):
    """z = a·b;  dz/da = b, dz/db = a.

    乘法节点：局部导数是另一个输入，上游梯度乘以它（链式法则）。
    Book-style twin: ``shendu.reference.layers.MulLayer``.
    """

    def forward(self, a, b):
        ng = self.needs_grad  # keep only what the wanted gradients need
        self.save(b if ng[0] else None, a if ng[1] else None)
        return a * b

    def backward(self, gy):
        b, a = self.saved
        return (gy * b if self.needs_grad[0] else None), (gy * a if self.needs_grad[1] else None)


class Div(Function):
    """z = a / b;  dz/da = 1/b, dz/db = −a/b² taken as −(a/b)/b (as PyTorch: b² overflows sooner)."""

    def forward(self, a, b):
        self.save(a if self.needs_grad[1] else None, b)
        return a / b

    def backward(self, gy):
        a, b = self.saved
        ga = gy / b if self.needs_grad[0] else None
        gb = -gy * ((a / b) / b) if self.needs_grad[1] else None
        return ga, gb


class Neg(Function):
    """z = −a;  dz/da = −1."""

    def forward(self, a):
        return -a

    def backward(self, gy):
        return -gy


class PowScalar(Function):
    """z = aᵖ for a constant p;  dz/da = p·aᵖ⁻¹."""

    def forward(self, a, p):
        self.p = p
        self.save(a)
        return a**p

    def backward(self, gy):
        (a,) = self.saved
        p = self.p
        if p == 0:
            return np.zeros_like(a)
        return gy * (p * a ** (p - 1)).astype(a.dtype, copy=False)


class Pow(Function):
    """z = aᵇ;  dz/da = b·aᵇ⁻¹ (0 where b = 0), dz/db = aᵇ·ln a (0 where a = 0 and b ≥ 0), as
    PyTorch takes the limits (0·∞ would be NaN)."""

    def forward(self, a, b):
        out = a**b
        self.save(a, b, out)
        return out

    def backward(self, gy):
        a, b, out = self.saved
        ga = gb = None
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if self.needs_grad[0]:
                ga = np.where(b == 0, 0, gy * b * a ** (b - 1))
            if self.needs_grad[1]:
                gb = np.where((a == 0) & (b >= 0), 0, gy * (out * np.log(a)))
        return ga, gb


def _binary(op: type[Function], a, b) -> Tensor:
    a, b = binary_operands(a, b)
    try:
        return op.apply(a, b)
    except ValueError as err:
        if "broadcast" in str(err):
            raise ValueError(
                f"{op.__name__.lower()}: shapes {tuple(a.shape)} and {tuple(b.shape)} "
                "cannot be broadcast together"
            ) from None
        raise


def add(a, b) -> Tensor:
    """a + b, broadcast.

    >>> import shendu
    >>> (shendu.tensor([1., 2.]) + 1).tolist()
    [2.0, 3.0]
    """
    return _binary(Add, a, b)


def sub(a, b) -> Tensor:
    """a − b, broadcast."""
    return _binary(Sub, a, b)


def mul(a, b) -> Tensor:
    """a · b elementwise, broadcast."""
    return _binary(Mul, a, b)


def div(a, b) -> Tensor:
    """a / b elementwise (true division: integers give float32, as in PyTorch)."""
    a, b = binary_operands(a, b, true_divide=True)
    return _binary(Div, a, b)


def neg(a: Tensor) -> Tensor:
    """−a."""
    return Neg.apply(a)


def pow(a, b) -> Tensor:
    """aᵇ; a Python-number exponent is a constant.

    >>> import shendu
    >>> x = shendu.tensor(3.0, requires_grad=True)
    >>> (x ** 2).backward(); x.grad.item()
    6.0
    """
    if (
        isinstance(b, (int, float, np.integer, np.floating))
        and not isinstance(b, bool)
        and isinstance(a, Tensor)
    ):
        # A NumPy scalar becomes a Python number: float32 ** np.float64(2) stays float32.
        b = b.item() if isinstance(b, np.generic) else b
        if not np.issubdtype(a.dtype, np.floating) and (isinstance(b, float) or b < 0):
            a = a.float()
        return PowScalar.apply(a, p=b)
    return _binary(Pow, a, b)


class MatMul(Function):
    """Z = A @ B, batched over leading axes;  dZ/dA = G Bᵀ, dZ/dB = Aᵀ G.

    A: (..., n, k), B: (..., k, m) -> (..., n, m); a 1-D operand is a vector, as in NumPy.
    """

    def forward(self, a, b):
        ng = self.needs_grad  # dA needs B, dB needs A
        self.save(a if ng[1] else None, b if ng[0] else None)
        self.shapes = (a.shape, b.shape)
        matmul_precision(a if a is not None else b)  # on a GPU: TF32 or not, as backends.cuda says
        return np.matmul(a, b)

    def backward(self, gy):
        a, b = self.saved
        matmul_precision(a if a is not None else b)
        a_shape, b_shape = self.shapes
        # A vector operand is a 1-row (or 1-column) matrix; restore the axis it dropped.
        a2 = (1, *a_shape) if len(a_shape) == 1 else a_shape
        b2 = (*b_shape, 1) if len(b_shape) == 1 else b_shape
        g = gy.reshape(np.broadcast_shapes(a2[:-2], b2[:-2]) + (a2[-2], b2[-1]))
        ga = gb = None
        if self.needs_grad[0]:
            ga = unbroadcast(np.matmul(g, np.swapaxes(b.reshape(b2), -1, -2)), a2).reshape(a_shape)
        if self.needs_grad[1]:
            gb = unbroadcast(np.matmul(np.swapaxes(a.reshape(a2), -1, -2), g), b2).reshape(b_shape)
        return ga, gb


def matmul(a, b) -> Tensor:
    """Matrix product with NumPy's rules (batched, broadcast leading axes).

    >>> import shendu
    >>> (shendu.ones(2, 3) @ shendu.ones(3, 4)).shape
    (2, 4)
    """
    a, b = binary_operands(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(
            f"matmul: both operands need at least 1 dimension, got shapes {a.shape} and {b.shape}"
        )
    ka = a.shape[-1]
    kb = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if ka != kb:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied ({ka} != {kb})")
    try:
        return MatMul.apply(a, b)
    except ValueError:
        raise ValueError(
            f"matmul: batch dimensions of shapes {a.shape} and {b.shape} cannot be broadcast"
        ) from None


def mm(a: Tensor, b: Tensor) -> Tensor:
    """Product of two matrices (both 2-d, no broadcasting), as ``torch.mm``."""
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"mm: both operands must be 2-d matrices, got shapes {a.shape} and {b.shape}")
    return matmul(a, b)


def bmm(a: Tensor, b: Tensor) -> Tensor:
    """Batched product (B, n, m) @ (B, m, p) -> (B, n, p), same batch size, as ``torch.bmm``."""
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0]:
        raise ValueError(
            f"bmm: expected (B, n, m) and (B, m, p) with the same B, got {a.shape} and {b.shape}"
        )
    return matmul(a, b)
