"""Normalisation layers other than BatchNorm: AlexNet's ``LocalResponseNorm`` and ``LayerNorm``."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from shendu.nn import functional as F
from shendu.nn.modules.module import Module
from shendu.nn.modules.utils import input_error, register_affine
from shendu.tensor import DEFAULT_FLOAT, Tensor


class LocalResponseNorm(Module):
    """y_c = x_c / (k + α/n · Σ_{c' near c} x_{c'}²)^β over ``size`` = n neighbouring channels.

    AlexNet uses ``LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2)``. x: (N, C, ...).

    >>> from shendu import nn
    >>> nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)
    LocalResponseNorm(5, alpha=0.0001, beta=0.75, k=2.0)
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        if not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"LocalResponseNorm: size must be a positive integer, got {size!r}")
        self.size = int(size)
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim < 3:
            raise input_error(self, "(N, C, ...) with 3 or more dimensions", input.shape)
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class LayerNorm(Module):
    """Normalise each sample over its last dims ``normalized_shape``: y = γ (x − μ)/√(σ² + ε) + β.

    >>> import shendu
    >>> from shendu import nn
    >>> ln = nn.LayerNorm(10)
    >>> ln, ln(shendu.randn(4, 10)).shape
    (LayerNorm((10,), eps=1e-05, elementwise_affine=True, bias=True), (4, 10))
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else normalized_shape
        if not isinstance(shape, (tuple, list)) or not all(
            isinstance(s, (int, np.integer)) and s > 0 for s in shape
        ):
            raise ValueError(
                "LayerNorm: normalized_shape must be a positive int or a tuple of them, "
                f"got {normalized_shape!r}"
            )
        self.normalized_shape = tuple(int(s) for s in shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        dtype = np.dtype(dtype or DEFAULT_FLOAT)
        register_affine(self, self.normalized_shape, dtype, elementwise_affine, bias)

    def forward(self, input: Tensor) -> Tensor:
        k = len(self.normalized_shape)
        if input.ndim < k or tuple(input.shape[input.ndim - k :]) != self.normalized_shape:
            raise input_error(self, "(..., " + ", ".join(map(str, self.normalized_shape)) + ")", input.shape)
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
            f"bias={self.bias is not None}"
        )
