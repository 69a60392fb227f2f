"""Activation layers (激活函数): module forms of the functions in ``shendu.nn.functional``.

They have no parameters; each ``forward`` calls its function, whose docstring gives the
formula and the derivative.
"""

from __future__ import annotations

from shendu.nn import functional as F
from shendu.nn.modules.module import Module
from shendu.tensor import Tensor


class Step(Module):
    """The perceptron's step function: 1 where x > 0, else 0 (its gradient is zero).

    >>> import shendu
    >>> from shendu import nn
    >>> nn.Step()(shendu.tensor([-1.0, 2.0])).tolist()
    [0.0, 1.0]
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.step(input)


class Sigmoid(Module):
    """σ(x) = 1 / (1 + e⁻ˣ), element-wise."""

    def forward(self, input: Tensor) -> Tensor:
        return F.sigmoid(input)


class Tanh(Module):
    """tanh(x), element-wise."""

    def forward(self, input: Tensor) -> Tensor:
        return F.tanh(input)


class ReLU(Module):
    """max(0, x), element-wise. ``inplace`` is accepted for PyTorch compatibility and ignored
    (shendu never overwrites an input that backward may need).

    >>> import shendu
    >>> from shendu import nn
    >>> nn.ReLU()(shendu.tensor([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """x if x > 0 else negative_slope · x."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class Softplus(Module):
    """(1/β) ln(1 + e^(βx)), a smooth ReLU (linear above ``threshold`` for stability)."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input: Tensor) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class _AlongDim(Module):
    """An activation applied along one axis ``dim`` (``function`` is its functional form)."""

    function = staticmethod(F.softmax)

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return self.function(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_AlongDim):
    """softmax(x)ᵢ = e^(xᵢ) / Σⱼ e^(xⱼ) along ``dim`` (outputs sum to 1)."""

    function = staticmethod(F.softmax)


class LogSoftmax(_AlongDim):
    """ln softmax(x) along ``dim``, computed stably as x − logsumexp(x)."""

    function = staticmethod(F.log_softmax)


class GELU(Module):
    """x · Φ(x) (Φ the standard normal CDF); ``approximate='tanh'`` uses the tanh formula."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class ELU(Module):
    """x if x > 0 else α (eˣ − 1)."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.elu(input, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class SiLU(Module):
    """x · σ(x) (also called swish)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.silu(input)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""
