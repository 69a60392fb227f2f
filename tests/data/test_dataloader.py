import numpy as np
import pytest

import shendu
from shendu.data import ArrayDataset, DataLoader, Dataset, Subset, TensorDataset, transforms


class ListDataset(Dataset):
    """A generic dataset: samples come one by one from __getitem__."""

    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        return np.full((1, 2, 2), i, np.float32), i

    def __len__(self):
        return self.n


def _labels(loader):
    """The last field of every batch, concatenated."""
    return np.concatenate([b[-1].numpy() for b in loader])


def _images_ds(n=103):
    imgs = np.arange(n, dtype=np.float32)[:, None, None, None] * np.ones((1, 1, 3, 3), np.float32)
    return ArrayDataset(imgs, np.arange(n) % 10)


@pytest.mark.parametrize("batch_size", [1, 7, 32, 103, 500])
def test_every_sample_once_per_epoch(batch_size):
    n = 103
    ds = TensorDataset(np.arange(n, dtype=np.float32), np.arange(n))
    loader = DataLoader(ds, batch_size=batch_size, shuffle=True, seed=1)
    for _ in range(3):
        seen = _labels(loader)
        assert np.sort(seen).tolist() == list(range(n))
    assert len(loader) == -(-n // batch_size)


def test_no_shuffle_keeps_order_and_batch_sizes():
    loader = DataLoader(TensorDataset(np.arange(10)), batch_size=4)
    batches = [b[0].numpy().tolist() for b in loader]
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_drop_last():
    ds = TensorDataset(np.arange(10))
    loader = DataLoader(ds, batch_size=4, shuffle=True, seed=0, drop_last=True)
    sizes = [len(b[0]) for b in loader]
    assert sizes == [4, 4] and len(loader) == 2
    assert len(DataLoader(ds, batch_size=5, drop_last=True)) == 2
    assert len(DataLoader(ds, batch_size=11, drop_last=True)) == 0


def test_deterministic_for_seed_and_different_across_epochs():
    ds = TensorDataset(np.arange(50))
    a, b = DataLoader(ds, 8, shuffle=True, seed=5), DataLoader(ds, 8, shuffle=True, seed=5)
    e0a, e1a = _labels(a), _labels(a)
    e0b, e1b = _labels(b), _labels(b)
    assert np.array_equal(e0a, e0b) and np.array_equal(e1a, e1b)
    assert not np.array_equal(e0a, e1a)
    assert not np.array_equal(e0a, _labels(DataLoader(ds, 8, shuffle=True, seed=6)))
    assert a.epoch == 2


def test_seeded_order_ignores_global_generator():
    ds = TensorDataset(np.arange(50))
    shendu.manual_seed(1)
    first = _labels(DataLoader(ds, 8, shuffle=True, seed=5))
    shendu.manual_seed(2)
    np.random.default_rng(0).random(10)
    assert np.array_equal(first, _labels(DataLoader(ds, 8, shuffle=True, seed=5)))


def test_resume_with_set_epoch_matches_uninterrupted_run():
    ds = _images_ds()
    aug = transforms.RandomShift(1)
    full = DataLoader(ds, 16, shuffle=True, seed=9, transform=aug)
    epochs = [[(x.numpy().copy(), y.numpy().copy()) for x, y in full] for _ in range(3)]
    resumed = DataLoader(ds, 16, shuffle=True, seed=9, transform=aug)
    resumed.set_epoch(2)
    for (x, y), (x_ref, y_ref) in zip(resumed, epochs[2], strict=True):
        np.testing.assert_array_equal(y.numpy(), y_ref)
        np.testing.assert_array_equal(x.numpy(), x_ref)
    with pytest.raises(ValueError, match="non-negative"):
        resumed.set_epoch(-1)


def test_broken_off_epoch_still_advances():
    loader = DataLoader(TensorDataset(np.arange(20)), 4, shuffle=True, seed=0)
    next(iter(loader))
    assert loader.epoch == 1


def test_unseeded_uses_global_generator():
    ds = TensorDataset(np.arange(40))
    shendu.manual_seed(3)
    a = _labels(DataLoader(ds, 8, shuffle=True))
    shendu.manual_seed(3)
    b = _labels(DataLoader(ds, 8, shuffle=True))
    assert np.array_equal(a, b) and not np.array_equal(a, np.arange(40))


def test_batch_shapes_and_dtypes():
    ds = _images_ds(20)
    x, y = next(iter(DataLoader(ds, batch_size=8, shuffle=True, seed=0)))
    assert isinstance(x, shendu.Tensor) and isinstance(y, shendu.Tensor)
    assert x.shape == (8, 1, 3, 3) and x.dtype == np.float32
    assert y.shape == (8,) and y.dtype == np.int64
    np.testing.assert_array_equal(x.numpy()[:, 0, 0, 0].astype(np.int64) % 10, y.numpy())  # rows stay paired


def test_array_datasets_are_fancy_indexed_not_looped(monkeypatch):
    calls = []
    real = TensorDataset.__getitem__
    monkeypatch.setattr(TensorDataset, "__getitem__", lambda self, i: calls.append(i) or real(self, i))
    ds = ArrayDataset(np.zeros((1000, 1, 4, 4), np.float32), np.arange(1000) % 10)
    for _ in DataLoader(ds, batch_size=64, shuffle=True, seed=0):
        pass
    sub = Subset(TensorDataset(np.zeros((1000, 2), np.float32), np.arange(1000)), np.arange(0, 1000, 3))
    got = np.concatenate([y.numpy() for _, y in DataLoader(sub, batch_size=50, shuffle=True, seed=0)])
    assert calls == []
    assert np.sort(got).tolist() == list(range(0, 1000, 3))


def test_a_subclass_that_overrides_getitem_is_read_per_sample():
    """As in PyTorch, the loader goes through ``__getitem__``: a per-sample change is not skipped."""

    class Negated(TensorDataset):
        def __getitem__(self, i):
            x, y = super().__getitem__(i)
            return -x, y

    class Doubled(Subset):
        def __getitem__(self, i):
            x, y = super().__getitem__(i)
            return 2 * x, y

    ds = Negated(np.arange(1, 8, dtype=np.float32)[:, None], np.arange(7))
    x = np.concatenate([b[0].numpy() for b in DataLoader(ds, batch_size=3)])
    assert x.ravel().tolist() == [-1, -2, -3, -4, -5, -6, -7]
    plain = TensorDataset(np.arange(1, 8, dtype=np.float32)[:, None], np.arange(7))
    x = np.concatenate([b[0].numpy() for b in DataLoader(Doubled(plain, [6, 0]), batch_size=3)])
    assert x.ravel().tolist() == [14, 2]


def test_subset_of_subset_maps_indices():
    ds = TensorDataset(np.arange(100) * 10)
    inner = Subset(ds, np.arange(50, 100))
    outer = Subset(inner, [0, 2, 4])
    got = np.concatenate([b[0].numpy() for b in DataLoader(outer, batch_size=2)])
    assert got.tolist() == [500, 520, 540]


def test_generic_dataset_is_collated():
    loader = DataLoader(ListDataset(10), batch_size=4, shuffle=True, seed=2)
    seen = []
    for x, y in loader:
        assert x.dtype == np.float32 and y.dtype == np.int64 and x.shape[1:] == (1, 2, 2)
        np.testing.assert_array_equal(x.numpy()[:, 0, 0, 0], y.numpy())
        seen.extend(y.numpy().tolist())
    assert sorted(seen) == list(range(10))


def test_transform_applied_per_batch_to_images_only():
    ds = _images_ds(10)
    loader = DataLoader(
        ds, batch_size=5, transform=transforms.Compose([transforms.Pad(1), transforms.Normalize(2.0, 0.5)])
    )
    x, y = next(iter(loader))
    assert x.shape == (5, 1, 5, 5) and x.dtype == np.float32
    np.testing.assert_allclose(x.numpy()[:, 0, 2, 2], (np.arange(5) - 2.0) / 0.5)
    np.testing.assert_allclose(x.numpy()[:, 0, 0, 0], -4.0)
    assert y.numpy().tolist() == [0, 1, 2, 3, 4]
    # the dataset itself is untouched
    assert ds.images.shape == (10, 1, 3, 3)


def test_plain_callable_transform():
    ds = _images_ds(4)
    x, _ = next(iter(DataLoader(ds, batch_size=4, transform=lambda a: a * 2)))
    np.testing.assert_array_equal(x.numpy()[:, 0, 0, 0], [0, 2, 4, 6])


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_bad_batch_size(bad):
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(TensorDataset(np.arange(3)), batch_size=bad)


def test_speed_sanity_mnist_sized():
    import time

    ds = ArrayDataset(np.zeros((10000, 1, 28, 28), np.float32), np.zeros(10000, np.int64))
    t = time.perf_counter()
    n = sum(len(y) for _, y in DataLoader(ds, batch_size=64, shuffle=True, seed=0))
    assert n == 10000
    assert time.perf_counter() - t < 1.0  # ~0.05 s when batched by fancy indexing


class ScalarSamples(Dataset):
    def __getitem__(self, i):
        return float(i)

    def __len__(self):
        return 5


def test_single_field_samples_give_a_tensor():
    (batch,) = list(DataLoader(ScalarSamples(), batch_size=5))
    # Python floats batch as float64, as in PyTorch
    assert isinstance(batch, shendu.Tensor) and batch.dtype == np.float64
    assert batch.numpy().tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
