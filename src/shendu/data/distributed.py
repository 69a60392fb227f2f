"""DistributedSampler: each rank's share of the data set, a different share each epoch.

Data-parallel training gives every rank its own slice of the samples (PyTorch's semantics):
the epoch's order (a permutation seeded by ``(seed, epoch)``, or ``0 … n−1``) is padded by
repeating its start until its length divides by ``num_replicas`` (or cut short with
``drop_last``), and rank ``r`` takes positions ``r, r + R, r + 2R, …``. So the ranks' k-th
batches together are the k-th batch of one process with an R-times larger batch: the same
samples, and (with gradient averaging) the same step.

The permutation is the one :class:`~shendu.data.DataLoader` draws for ``shuffle=True, seed=seed``
in the same epoch, so with ``num_replicas=1`` the sampler walks the samples as that loader does.

>>> sampler = DistributedSampler(range(10), num_replicas=2, rank=1, shuffle=False)
>>> list(sampler), len(sampler)
([1, 3, 5, 7, 9], 5)
>>> list(DistributedSampler(range(5), num_replicas=2, rank=1, shuffle=False))  # padded with sample 0
[1, 3, 0]
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Iterator

import numpy as np


def _non_negative_int(value: Any, what: str) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
        raise ValueError(f"DistributedSampler: {what} must be a non-negative integer, got {value!r}")
    return int(value)


class DistributedSampler:
    """Indices of ``dataset`` for rank ``rank`` of ``num_replicas`` (PyTorch's arguments).

    Args:
        dataset: anything with ``len()``.
        num_replicas: number of ranks (default: the process group's world size).
        rank: this rank (default: the process group's rank).
        shuffle: a new permutation each epoch, the same on every rank (call ``set_epoch``).
        seed: the permutation's seed; must be the same on every rank.
        drop_last: drop the tail that does not divide evenly instead of padding with repeats.
    """

    dataset: Any
    num_replicas: int
    rank: int
    shuffle: bool
    seed: int
    drop_last: bool
    epoch: int
    num_samples: int
    total_size: int

    def __init__(
        self,
        dataset: Any,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if num_replicas is None or rank is None:
            from shendu import distributed as dist

            if not dist.is_initialized():
                raise RuntimeError(
                    "DistributedSampler: pass num_replicas and rank, or call "
                    "shendu.distributed.init_process_group() first"
                )
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if (
            not isinstance(num_replicas, numbers.Integral)
            or isinstance(num_replicas, bool)
            or num_replicas < 1
        ):
            raise ValueError(
                f"DistributedSampler: num_replicas must be a positive integer, got {num_replicas!r}"
            )
        if not isinstance(rank, numbers.Integral) or not 0 <= rank < num_replicas:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = int(num_replicas)
        self.rank = int(rank)
        self.shuffle = bool(shuffle)
        self.seed = _non_negative_int(seed, "seed")
        self.drop_last = bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        if self.drop_last and n % self.num_replicas:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Use epoch ``epoch``'s permutation next (call it at the start of every epoch, on every rank)."""
        self.epoch = _non_negative_int(epoch, "epoch")

    def indices(self) -> np.ndarray:
        """This rank's sample indices for the current epoch, as an int64 array."""
        n = len(self.dataset)
        if self.shuffle:
            # the DataLoader's generator for (seed, epoch): same order as DataLoader(shuffle=True, seed=seed)
            order = np.random.default_rng(np.random.SeedSequence([self.seed, self.epoch])).permutation(n)
        else:
            order = np.arange(n)
        if self.drop_last:
            order = order[: self.total_size]
        elif self.total_size > n:
            order = np.resize(order, self.total_size)  # repeats from the start, as PyTorch pads
        return order[self.rank : self.total_size : self.num_replicas].astype(np.int64)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.num_samples

    def __repr__(self) -> str:
        return (
            f"DistributedSampler(n={len(self.dataset)}, num_replicas={self.num_replicas}, rank={self.rank}, "
            f"shuffle={self.shuffle}, seed={self.seed}, drop_last={self.drop_last}, epoch={self.epoch})"
        )
