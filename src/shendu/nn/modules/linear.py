"""Fully connected layer (全连接层 / Affine) and the shape helpers around it."""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from shendu.nn import functional as F
from shendu.nn import init
from shendu.nn.modules.module import Module
from shendu.nn.modules.utils import input_error
from shendu.nn.parameter import Parameter
from shendu.tensor import DEFAULT_FLOAT, Tensor, as_tensor


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. to remove a layer). Arguments are ignored.

    >>> import shendu
    >>> from shendu import nn
    >>> nn.Identity(54, unused="x")(shendu.ones(2)).tolist()
    [1.0, 1.0]
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Linear(Module):
    """y = x Wᵀ + b.  x: (*, in_features) -> y: (*, out_features).

    ``weight``: (out_features, in_features), ``bias``: (out_features,), both initialised as
    PyTorch: U(−1/√in_features, 1/√in_features) (``kaiming_uniform_`` with a=√5).

    >>> import shendu
    >>> from shendu import nn
    >>> fc = nn.Linear(4, 3)
    >>> fc, fc.weight.shape, fc(shendu.ones(2, 4)).shape
    (Linear(in_features=4, out_features=3, bias=True), (3, 4), (2, 3))
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype: Any = None) -> None:
        super().__init__()
        sizes = (in_features, out_features)
        # A float such as n / 2 used to be truncated silently by int().
        if any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0 for v in sizes):
            raise ValueError(
                "Linear: in_features and out_features must be positive integers, "
                f"got in_features={in_features!r}, "
                f"out_features={out_features!r}"
            )
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        dtype = np.dtype(dtype or DEFAULT_FLOAT)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: weight and bias uniform in ±1/√fan_in."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        input = as_tensor(input)
        if input.ndim == 0 or input.shape[-1] != self.in_features:
            raise input_error(self, f"(..., {self.in_features})", input.shape)
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
        )


class Flatten(Module):
    """Merge dims ``start_dim..end_dim`` into one: (N, C, H, W) -> (N, C·H·W) by default.

    >>> import shendu
    >>> from shendu import nn
    >>> nn.Flatten()(shendu.zeros(8, 1, 28, 28)).shape
    (8, 784)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size``: (N, 784) -> (N, 1, 28, 28) with (1, 28, 28).

    >>> import shendu
    >>> from shendu import nn
    >>> nn.Unflatten(1, (1, 28, 28))(shendu.zeros(8, 784)).shape
    (8, 1, 28, 28)
    """

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(unflattened_size)

    def forward(self, input: Tensor) -> Tensor:
        dim = self.dim % input.ndim if input.ndim else 0
        size = tuple(self.unflattened_size)
        known = math.prod(s for s in size if s != -1)
        n = input.shape[dim]
        if (-1 not in size and known != n) or (-1 in size and (known == 0 or n % known)):
            raise input_error(self, f"a dimension {self.dim} that splits into {size}", input.shape)
        return input.reshape(input.shape[:dim] + size + input.shape[dim + 1 :])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
