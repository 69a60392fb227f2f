"""shendu.utils.data against torch.utils.data: collation, splits, concatenation, worker threads."""

import threading
import time

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import shendu
from shendu.utils.data import (
    ConcatDataset,
    DataLoader,
    Dataset,
    Subset,
    TensorDataset,
    default_collate,
    get_worker_info,
    random_split,
)


class Samples(Dataset):
    """Per-sample dataset: dicts, tuples and Python numbers, as user code returns them."""

    def __init__(self, n=23, kind="tuple"):
        self.n, self.kind = n, kind

    def __getitem__(self, i):
        x = np.full((2, 3), i, np.float32)
        if self.kind == "dict":
            return {"image": x, "label": i, "weight": 0.5 * i, "name": f"s{i}"}
        return x, i, 0.5 * i

    def __len__(self):
        return self.n


class TorchSamples(tud.Dataset):
    def __init__(self, inner):
        self.inner = inner

    def __getitem__(self, i):
        return self.inner[i]

    def __len__(self):
        return len(self.inner)


def _same(ours, theirs):
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, shendu.Tensor)
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    elif isinstance(theirs, dict):
        assert list(ours) == list(theirs)
        for k in theirs:
            _same(ours[k], theirs[k])
    elif isinstance(theirs, (list, tuple)) and theirs and isinstance(theirs[0], str):
        assert list(ours) == list(theirs)
    else:
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            _same(a, b)


@pytest.mark.parametrize("kind", ["tuple", "dict"])
@pytest.mark.parametrize("num_workers", [0, 3])
def test_batches_match_torch(kind, num_workers):
    ds = Samples(kind=kind)
    ours = list(DataLoader(ds, batch_size=5, num_workers=num_workers))
    theirs = list(tud.DataLoader(TorchSamples(ds), batch_size=5))
    assert len(ours) == len(theirs) == 5
    for a, b in zip(ours, theirs, strict=True):
        _same(a, b)  # floats are float64, ints int64, strings a list, as in torch


def test_default_collate_like_torch():
    samples = [(np.float32(1.5), True, [1, 2]), (np.float32(2.5), False, [3, 4])]
    ours, theirs = default_collate(samples), tud.default_collate(samples)
    assert ours[0].dtype == np.float32 and ours[1].dtype == np.bool_
    _same(ours[0], theirs[0])
    _same(ours[1], theirs[1])
    _same(ours[2], theirs[2])
    with pytest.raises(ValueError, match="fields like the first"):
        default_collate([(1, 2), (1,)])
    with pytest.raises(TypeError, match="collate_fn"):
        default_collate([object(), object()])


def test_collate_fn_and_worker_init_fn_and_worker_info():
    seen = []
    lock = threading.Lock()

    def init(wid):
        info = get_worker_info()
        with lock:
            seen.append((wid, info.id, info.num_workers, info.dataset is ds))

    ds = Samples()
    loader = DataLoader(
        ds, batch_size=4, num_workers=2, collate_fn=lambda b: [s[1] for s in b], worker_init_fn=init
    )
    assert list(loader) == [
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [8, 9, 10, 11],
        [12, 13, 14, 15],
        [16, 17, 18, 19],
        [20, 21, 22],
    ]
    assert sorted(seen) == [(0, 0, 2, True), (1, 1, 2, True)]
    assert get_worker_info() is None


class Slow(Dataset):
    """Loads a sample in 20 ms with the GIL released (as a file read would), records its thread."""

    def __init__(self):
        self.threads = set()

    def __getitem__(self, i):
        time.sleep(0.02)
        self.threads.add(threading.current_thread().name)
        return np.float32(i)

    def __len__(self):
        return 24


def test_workers_load_in_parallel_and_in_order():
    ds = Slow()
    t = time.perf_counter()
    ys = [b.numpy().tolist() for b in DataLoader(ds, batch_size=4, num_workers=4)]
    parallel = time.perf_counter() - t
    assert ys == [list(range(k, k + 4)) for k in range(0, 24, 4)]
    assert len(ds.threads) == 4 and not any(n == threading.main_thread().name for n in ds.threads)
    t = time.perf_counter()
    list(DataLoader(Slow(), batch_size=4))
    serial = time.perf_counter() - t  # >= 24 sleeps of 20 ms
    assert parallel < 0.6 * serial


class RandomAugment(Dataset):
    """Draws from shendu's generator in __getitem__, as random transforms do."""

    def __getitem__(self, i):
        return shendu.rand(1).numpy() + i

    def __len__(self):
        return 40


def test_workers_reproducible_for_a_seed():
    def run(seed, persistent=False, epochs=1):
        g = shendu.Generator().manual_seed(seed)
        loader = DataLoader(
            RandomAugment(),
            batch_size=3,
            shuffle=True,
            num_workers=3,
            generator=g,
            persistent_workers=persistent,
        )
        return [np.concatenate([b.numpy() for b in loader]) for _ in range(epochs)]

    a, b, c = run(7), run(7), run(8)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])
    p1, p2 = run(7, True, 2), run(7, True, 2)
    np.testing.assert_array_equal(p1[1], p2[1])
    assert not np.array_equal(np.sort(p1[0] % 1), np.sort(p1[1] % 1))  # new draws each epoch
    # every sample once per epoch
    assert sorted(np.floor(a[0][:, 0]).astype(int).tolist()) == list(range(40))


class Fails(Dataset):
    def __getitem__(self, i):
        if i == 5:
            raise KeyError("sample 5 is broken")
        return np.float32(i)

    def __len__(self):
        return 10


def test_worker_error_reaches_the_caller_and_break_stops_workers():
    with pytest.raises(KeyError, match="sample 5 is broken"):
        list(DataLoader(Fails(), batch_size=2, num_workers=2))
    before = threading.active_count()
    for _ in DataLoader(Slow(), batch_size=2, num_workers=2):
        break
    time.sleep(0.2)
    assert threading.active_count() <= before


def test_argument_errors_as_torch():
    ds = Samples()
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(ds, num_workers=-1)
    with pytest.raises(ValueError, match="persistent_workers"):
        DataLoader(ds, persistent_workers=True)
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(ds, sampler=range(3), shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler"):
        DataLoader(ds, batch_sampler=[[0, 1]], batch_size=2)
    loader = DataLoader(ds, batch_size=2, pin_memory=True, sampler=[3, 1, 2])
    assert [b[1].tolist() for b in loader] == [[3, 1], [2]] and len(loader) == 2
    assert [b[1].tolist() for b in DataLoader(ds, batch_sampler=[[4, 0], [7]])] == [[4, 0], [7]]


def test_random_split_generator_and_fractions_like_torch():
    ds = TensorDataset(np.arange(10))
    for lengths in ([0.33, 0.33, 0.34], [0.5, 0.5], [3, 7]):
        ours = [len(s) for s in random_split(ds, lengths, generator=shendu.Generator().manual_seed(0))]
        theirs = [
            len(s) for s in tud.random_split(range(10), lengths, generator=torch.Generator().manual_seed(0))
        ]
        assert ours == theirs
    a = random_split(ds, [5, 5], generator=shendu.Generator().manual_seed(1))
    b = random_split(ds, [5, 5], generator=shendu.Generator().manual_seed(1))
    assert isinstance(a[0], Subset) and a[0].indices.tolist() == b[0].indices.tolist()
    assert sorted(a[0].indices.tolist() + a[1].indices.tolist()) == list(range(10))


def test_concat_dataset_like_torch():
    parts = [TensorDataset(np.arange(3)), TensorDataset(np.arange(10, 15)), TensorDataset(np.arange(20, 22))]
    ours = ConcatDataset(parts)
    theirs = tud.ConcatDataset([tud.TensorDataset(torch.from_numpy(p.arrays[0])) for p in parts])
    assert len(ours) == len(theirs) == 10 and ours.cumulative_sizes == theirs.cumulative_sizes
    for i in range(-10, 10):
        assert ours[i][0].item() == theirs[i][0].item()
    with pytest.raises(IndexError):
        ours[10]
    assert [b[0].tolist() for b in DataLoader(ours, batch_size=4)] == [
        [0, 1, 2, 10],
        [11, 12, 13, 14],
        [20, 21],
    ]


def test_generator_state_round_trip_and_randn_keywords():
    g = shendu.Generator().manual_seed(3)
    state = g.get_state()
    a = shendu.randn(size=(2, 3), generator=g)
    g.set_state(state)
    b = shendu.randn(2, 3, generator=g)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert g.initial_seed() == 3
    assert (
        shendu.randperm(5, generator=shendu.Generator().manual_seed(1)).tolist()
        == shendu.randperm(5, generator=shendu.Generator().manual_seed(1)).tolist()
    )
    with pytest.raises(TypeError, match="not both"):
        shendu.randn(2, size=(2,))
    with pytest.raises(TypeError, match="shendu.Generator"):
        shendu.rand(2, generator=torch.Generator())
