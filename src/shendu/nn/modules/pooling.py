"""Pooling layers (池化层): max and average over k×k windows, and adaptive average pooling.

Pooling has no parameters; it shrinks H and W (OH = ⌊(H + 2P − K) / S⌋ + 1, ⌈⌉ with
``ceil_mode``) and makes the output robust to small shifts of the input.
"""

from __future__ import annotations

from typing import Any

from shendu.nn import functional as F
from shendu.nn.modules.module import Module
from shendu.nn.functional._geometry import _single, adaptive_output_size, pool_window
from shendu.nn.modules.utils import input_error
from shendu.tensor import Tensor


class _PoolNd(Module):
    """Shared input check and unbatched-input handling."""

    _nd: int
    _spatial: str

    def _pool(self, x: Tensor) -> Any:  # pragma: no cover
        raise NotImplementedError

    def forward(self, input: Tensor) -> Any:
        """The pooled tensor (and the indices, for max pooling with ``return_indices=True``)."""
        nd = self._nd
        if input.ndim not in (nd + 1, nd + 2):
            raise input_error(self, f"(N, C, {self._spatial}) or (C, {self._spatial})", input.shape)
        if input.ndim == nd + 2:
            return self._pool(input)
        out = self._pool(input.unsqueeze(0))
        if isinstance(out, tuple):  # (values, indices) with return_indices=True
            return tuple(t.squeeze(0) for t in out)
        return out.squeeze(0)


class _MaxPoolNd(_PoolNd):
    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode
        pool_window(type(self).__name__, self._nd, self.kernel_size, self.stride, padding, dilation)

    def _options(self) -> dict:
        extra: dict = {}
        if self.dilation not in (1, (1,) * self._nd):
            extra["dilation"] = self.dilation
        if self.return_indices:
            extra["return_indices"] = True
        return extra

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class MaxPool2d(_MaxPoolNd):
    """y[n, c, i, j] = max of the K×K window at (i·S − P, j·S − P).  (N, C, H, W) -> (N, C, OH, OW).

    ``stride`` defaults to ``kernel_size`` (non-overlapping windows); AlexNet overlaps them
    with kernel 3, stride 2.

    >>> import shendu
    >>> from shendu import nn
    >>> pool = nn.MaxPool2d(3, stride=2)
    >>> pool
    MaxPool2d(kernel_size=3, stride=2, padding=0, dilation=1, ceil_mode=False)
    >>> pool(shendu.zeros(1, 96, 55, 55)).shape
    (1, 96, 27, 27)
    """

    _nd = 2
    _spatial = "H, W"

    def _pool(self, x: Tensor) -> Any:
        return F.max_pool2d(
            x, self.kernel_size, self.stride, self.padding, ceil_mode=self.ceil_mode, **self._options()
        )


class MaxPool1d(_MaxPoolNd):
    """Max over windows of length K along the last axis.  (N, C, L) -> (N, C, OL)."""

    _nd = 1
    _spatial = "L"

    def _pool(self, x: Tensor) -> Any:
        return F.max_pool1d(
            x, self.kernel_size, self.stride, self.padding, ceil_mode=self.ceil_mode, **self._options()
        )


class _AvgPoolNd(_PoolNd):
    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override
        pool_window(type(self).__name__, self._nd, self.kernel_size, self.stride, padding)

    def _options(self) -> dict:
        extra: dict = {}
        if not self.count_include_pad:
            extra["count_include_pad"] = False
        if self.divisor_override is not None:
            extra["divisor_override"] = self.divisor_override
        return extra

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(_AvgPoolNd):
    """y[n, c, i, j] = mean of the K×K window at (i·S − P, j·S − P).  (N, C, H, W) -> (N, C, OH, OW).

    >>> import shendu
    >>> from shendu import nn
    >>> nn.AvgPool2d(2)(shendu.ones(1, 1, 4, 4)).tolist()
    [[[[1.0, 1.0], [1.0, 1.0]]]]
    """

    _nd = 2
    _spatial = "H, W"

    def _pool(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(
            x, self.kernel_size, self.stride, self.padding, ceil_mode=self.ceil_mode, **self._options()
        )


class AvgPool1d(_AvgPoolNd):
    """Mean over windows of length K along the last axis.  (N, C, L) -> (N, C, OL)."""

    _nd = 1
    _spatial = "L"

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)
        # PyTorch stores AvgPool1d's arguments as 1-tuples (its repr shows kernel_size=(3,)).
        self.kernel_size, self.stride, self.padding = (
            _single(self.kernel_size),
            _single(self.stride),
            _single(padding),
        )

    def _pool(self, x: Tensor) -> Tensor:
        return F.avg_pool1d(
            x, self.kernel_size, self.stride, self.padding, ceil_mode=self.ceil_mode, **self._options()
        )


class AdaptiveAvgPool2d(_PoolNd):
    """Average pooling to a fixed output size (OH, OW) whatever the input's H and W.

    Window i along H covers rows ⌊i·H/OH⌋ .. ⌈(i+1)·H/OH⌉ − 1. ``output_size`` is an int, a pair,
    or a pair with ``None`` for "keep this input size".

    >>> import shendu
    >>> from shendu import nn
    >>> nn.AdaptiveAvgPool2d((6, 6))(shendu.zeros(2, 256, 13, 13)).shape
    (2, 256, 6, 6)
    """

    _nd = 2
    _spatial = "H, W"

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        adaptive_output_size(output_size, 2, "AdaptiveAvgPool2d")
        self.output_size = output_size

    def _pool(self, x: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
