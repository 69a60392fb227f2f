"""Batch normalisation (批标准化): normalise each channel by the batch's mean and variance,
then scale and shift by learned γ (``weight``) and β (``bias``).

Training:   y = γ (x − μ_B) / √(σ²_B + ε) + β,   and the running statistics move towards
            the batch's: running = (1 − momentum) · running + momentum · batch
            (the running variance uses the unbiased batch variance, as PyTorch).
Evaluation: the running mean and variance replace the batch's.

``momentum=None`` makes the running statistics a cumulative average over all batches seen
(factor 1 / num_batches_tracked). Statistics are per channel: over (N,) or (N, L) for
BatchNorm1d, over (N, H, W) for BatchNorm2d.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shendu.nn import functional as F
from shendu.nn import init
from shendu.nn.modules.module import Module
from shendu.nn.modules.utils import input_error, register_affine
from shendu.tensor import DEFAULT_FLOAT, Tensor


class _BatchNorm(Module):
    """Shared by BatchNorm1d and BatchNorm2d: parameters, buffers, running-statistics bookkeeping."""

    _ranks: tuple[int, ...]
    _expected: str

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        if not isinstance(num_features, (int, np.integer)) or num_features <= 0:
            raise ValueError(
                f"{type(self).__name__}: num_features must be a positive integer, got {num_features}"
            )
        if eps <= 0:
            raise ValueError(f"{type(self).__name__}: eps must be positive, got {eps}")
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{type(self).__name__}: momentum must be in [0, 1] or None, got {momentum}")
        self.num_features = int(num_features)
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        dtype = np.dtype(dtype or DEFAULT_FLOAT)
        register_affine(self, (self.num_features,), dtype, affine, bias)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor._wrap(np.zeros(self.num_features, dtype=dtype)))
            self.register_buffer("running_var", Tensor._wrap(np.ones(self.num_features, dtype=dtype)))
            self.register_buffer("num_batches_tracked", Tensor._wrap(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean._data[...] = 0
            self.running_var._data[...] = 1
            self.num_batches_tracked._data[...] = 0

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def _check_input(self, input: Tensor) -> None:
        if input.ndim not in self._ranks or input.shape[1] != self.num_features:
            raise input_error(self, self._expected.format(c=self.num_features), input.shape)

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked._data += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked._data)
        # Batch statistics while training, or when there are no running statistics to use.
        use_batch_stats = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return F.batch_norm(
            input,
            self.running_mean if track else None,
            self.running_var if track else None,
            self.weight,
            self.bias,
            use_batch_stats,
            factor,
            self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) input, per feature C.

    >>> import shendu
    >>> from shendu import nn
    >>> bn = nn.BatchNorm1d(3)
    >>> bn
    BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    >>> list(bn.state_dict())
    ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
    """

    _ranks = (2, 3)
    _expected = "(N, {c}) or (N, {c}, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) input, per channel C (statistics over N, H and W)."""

    _ranks = (4,)
    _expected = "(N, {c}, H, W)"
