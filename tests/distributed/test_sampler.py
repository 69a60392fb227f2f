"""DistributedSampler: PyTorch's split of the data among ranks; one process needs no MPI."""

import numpy as np
import pytest
import torch.utils.data as tud
from hypothesis import given
from hypothesis import strategies as st

from shendu.data import DataLoader, TensorDataset
from shendu.data.distributed import DistributedSampler


@given(n=st.integers(0, 40), replicas=st.integers(1, 6), drop_last=st.booleans())
def test_unshuffled_split_matches_torch(n, replicas, drop_last):
    for rank in range(replicas):
        ours = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = tud.DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs)
        assert len(ours) == len(theirs)


@pytest.mark.parametrize("n, replicas", [(10, 2), (11, 3), (7, 4)])
def test_shuffled_shards_are_the_dataloaders_permutation_dealt_out(n, replicas):
    """Rank r takes positions r, r+R, … of the permutation DataLoader(shuffle=True, seed) draws."""
    ds = TensorDataset(np.arange(n))
    loader = DataLoader(ds, batch_size=n, shuffle=True, seed=3)
    for epoch in range(3):
        loader.set_epoch(epoch)
        (order,) = next(iter(loader))
        padded = np.resize(order.numpy(), -(-n // replicas) * replicas)
        for rank in range(replicas):
            sampler = DistributedSampler(ds, replicas, rank, shuffle=True, seed=3)
            sampler.set_epoch(epoch)
            assert list(sampler) == padded[rank::replicas].tolist()


def test_epochs_differ_and_shards_cover_every_sample_once():
    samplers = [DistributedSampler(range(12), 3, r, seed=1) for r in range(3)]
    epochs = []
    for epoch in (0, 1):
        for s in samplers:
            s.set_epoch(epoch)
        shards = [list(s) for s in samplers]
        assert sorted(sum(shards, [])) == list(range(12))
        epochs.append(shards)
    assert epochs[0] != epochs[1]


def test_drop_last_gives_equal_shards_without_repeats():
    shards = [list(DistributedSampler(range(10), 3, r, drop_last=True)) for r in range(3)]
    assert [len(s) for s in shards] == [3, 3, 3]
    assert len(set(sum(shards, []))) == 9


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_replicas": 2, "rank": 2}, "Invalid rank 2, rank should be in the interval \\[0, 1\\]"),
        ({"num_replicas": 0, "rank": 0}, "num_replicas must be a positive integer, got 0"),
        ({"num_replicas": 2, "rank": 0, "seed": -1}, "seed must be a non-negative integer, got -1"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DistributedSampler(range(4), **kwargs)


def test_defaults_need_a_process_group():
    with pytest.raises(RuntimeError, match="init_process_group"):
        DistributedSampler(range(4))


def test_in_a_dataloader_under_pytorchs_path():
    """torch's pattern: DataLoader(sampler=DistributedSampler(...)) and sampler.set_epoch(e)."""
    from shendu.utils.data import DataLoader as UtilsLoader
    from shendu.utils.data import DistributedSampler as Exported

    assert Exported is DistributedSampler
    ds = TensorDataset(np.arange(10))
    seen = []
    for epoch in (0, 1):
        shards = []
        for rank in range(2):
            sampler = Exported(ds, num_replicas=2, rank=rank, seed=5)
            sampler.set_epoch(epoch)
            shards.append([int(v) for (b,) in UtilsLoader(ds, batch_size=2, sampler=sampler) for v in b])
        assert sorted(shards[0] + shards[1]) == list(range(10))
        seen.append(shards)
    assert seen[0] != seen[1]
