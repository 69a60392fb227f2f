"""Convolution layers (卷积层): ``Conv2d`` for images, ``Conv1d`` for sequences.

Each output channel o slides its filter W[o] over the (zero-padded) input; with stride S,
padding P and dilation D the output size per spatial dimension is
OH = ⌊(H + 2P − D·(FH − 1) − 1) / S⌋ + 1, the course's (H + 2P − FH)/S + 1 when D = 1.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from shendu.nn import functional as F
from shendu.nn import init
from shendu.nn.modules.module import Module
from shendu.nn.functional._geometry import conv_padding, non_negative, positive
from shendu.nn.modules.utils import input_error
from shendu.nn.parameter import Parameter
from shendu.tensor import DEFAULT_FLOAT, Tensor


def channels_last_empty(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """An uninitialised weight of ``shape`` (O, C, *kernel) stored as (O, *kernel, C) in memory.

    That is the order in which conv2d multiplies a weight (each filter's taps, channels last, as
    its input windows are laid out), so it then reads the weight in place instead of copying it
    every forward pass: for one 224×224 image through ResNet-18 that copy was a tenth of the time.
    PyTorch calls this layout ``torch.channels_last``. Values, shapes and indexing are unchanged.
    """
    order = (0, *range(2, len(shape)), 1)
    storage = np.empty(tuple(shape[i] for i in order), dtype=dtype)
    return storage.transpose(np.argsort(order))


class _ConvNd(Module):
    """What Conv1d and Conv2d share: argument checks, parameters, initialisation, repr."""

    _nd: int
    _spatial: str  # "H, W" or "L", for error messages

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        dtype: Any = None,
    ) -> None:
        super().__init__()
        name, nd = type(self).__name__, self._nd
        for arg, value in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
            positive(value, 1, name, arg)
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by groups ({groups})")
        if padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is supported, got {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size = positive(kernel_size, nd, name, "kernel_size")
        self.stride = positive(stride, nd, name, "stride")
        self.dilation = positive(dilation, nd, name, "dilation")
        # Checked now (as PyTorch: 'same' with a stride fails here), resolved by F.conv2d per call.
        conv_padding(padding, self.kernel_size, self.stride, self.dilation, name)
        self.padding: str | tuple[int, ...] = (
            padding if isinstance(padding, str) else non_negative(padding, nd, name, "padding")
        )
        self.output_padding = (0,) * self._nd
        self.transposed = False
        self.padding_mode = padding_mode
        dtype = np.dtype(dtype or DEFAULT_FLOAT)
        shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        self.weight = Parameter(channels_last_empty(shape, dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: weight and bias uniform in ±1/√fan_in, fan_in = in_channels/groups · ∏kernel."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound)

    def _check_input(self, input: Tensor) -> bool:
        """Raise a clear error for a wrong rank or channel count; True when the input is batched."""
        nd = self._nd
        if input.ndim not in (nd + 1, nd + 2) or input.shape[-nd - 1] != self.in_channels:
            raise input_error(self, f"(N, {self.in_channels}, {self._spatial})", input.shape)
        return input.ndim == nd + 2

    def _conv(self, x: Tensor) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    def forward(self, input: Tensor) -> Tensor:
        if self._check_input(input):
            return self._conv(input)
        return self._conv(input.unsqueeze(0)).squeeze(0)  # unbatched: a batch of one

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self._nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._nd:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv2d(_ConvNd):
    """2-D convolution.  x: (N, C_in, H, W) -> (N, C_out, OH, OW); also unbatched (C_in, H, W).

    ``weight``: (C_out, C_in / groups, FH, FW), ``bias``: (C_out,).

    >>> import shendu
    >>> from shendu import nn
    >>> conv = nn.Conv2d(1, 30, kernel_size=5)
    >>> conv
    Conv2d(1, 30, kernel_size=(5, 5), stride=(1, 1))
    >>> conv(shendu.zeros(2, 1, 28, 28)).shape
    (2, 30, 24, 24)
    """

    _nd = 2
    _spatial = "H, W"

    def _conv(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv1d(_ConvNd):
    """1-D convolution (the course's discrete convolution of a signal with a filter).

    x: (N, C_in, L) -> (N, C_out, OL); also unbatched (C_in, L). ``weight``: (C_out, C_in / groups, K).

    >>> import shendu
    >>> from shendu import nn
    >>> nn.Conv1d(2, 4, 3, padding=1)(shendu.zeros(5, 2, 10)).shape
    (5, 4, 10)
    """

    _nd = 1
    _spatial = "L"

    def _conv(self, x: Tensor) -> Tensor:
        return F.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
