import numpy as np
import pytest

import shendu
from shendu.data import ArrayDataset, Dataset, Subset, TensorDataset, random_split, stratified_split


def test_dataset_is_abstract():
    with pytest.raises(NotImplementedError):
        Dataset()[0]
    with pytest.raises(NotImplementedError):
        len(Dataset())


def test_tensor_dataset_accepts_tensors_and_arrays():
    x = shendu.tensor(np.arange(12, dtype=np.float32).reshape(6, 2))
    y = np.arange(6)
    ds = TensorDataset(x, y)
    assert len(ds) == 6
    a, b = ds[4]
    assert isinstance(a, shendu.Tensor) and a.numpy().tolist() == [8.0, 9.0]
    assert b.item() == 4 and b.dtype == np.int64
    assert ds.tensors[0].shape == (6, 2)


def test_tensor_dataset_length_mismatch_is_clear():
    with pytest.raises(ValueError, match=r"same first dimension.*\(5, 2\), \(4,\)"):
        TensorDataset(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(TypeError, match="Tensor or a NumPy array"):
        TensorDataset([1, 2, 3])
    with pytest.raises(ValueError, match="scalar"):
        TensorDataset(np.array(1.0, np.float32))


def test_array_dataset_checks():
    imgs = np.zeros((3, 1, 4, 4), np.float32)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        ArrayDataset(np.zeros((3, 4, 4), np.float32), np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="float32"):
        ArrayDataset(imgs.astype(np.float64), np.zeros(3, np.int64))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\)"):
        ArrayDataset(imgs, np.array([0, 1, 2]), classes=["a", "b"])
    with pytest.raises(ValueError, match="same first dimension"):
        ArrayDataset(imgs, np.array([0, 1]))
    ds = ArrayDataset(imgs, np.array([0, 2, 1], dtype=np.uint8), name="t", split="train")
    assert ds.labels.dtype == np.int64 and ds.num_classes == 3 and ds.classes == ["0", "1", "2"]
    x, y = ds[1]
    assert x.shape == (1, 4, 4) and y.item() == 2


def test_subset_and_random_split():
    ds = TensorDataset(np.arange(100))
    parts = random_split(ds, [70, 20, 10], seed=3)
    assert [len(p) for p in parts] == [70, 20, 10]
    seen = np.concatenate([[p[i][0].item() for i in range(len(p))] for p in parts])
    assert sorted(seen.tolist()) == list(range(100))  # disjoint and complete
    again = random_split(ds, [70, 20, 10], seed=3)
    assert np.array_equal(parts[1].indices, again[1].indices)
    assert not np.array_equal(parts[0].indices, random_split(ds, [70, 20, 10], seed=4)[0].indices)
    fr = random_split(ds, [0.33, 0.33, 0.34], seed=0)
    assert sum(len(p) for p in fr) == 100
    with pytest.raises(ValueError, match="summing"):
        random_split(ds, [50, 40])
    with pytest.raises(IndexError):
        Subset(ds, [0, 100])


def test_random_split_without_seed_uses_global_generator():
    ds = TensorDataset(np.arange(50))
    shendu.manual_seed(7)
    a = random_split(ds, [25, 25])[0].indices
    shendu.manual_seed(7)
    b = random_split(ds, [25, 25])[0].indices
    assert np.array_equal(a, b)


def test_stratified_split():
    labels = np.repeat(np.arange(4), [10, 20, 30, 40])
    first, second = stratified_split(labels, 0.1, seed=0)
    assert np.bincount(labels[second]).tolist() == [1, 2, 3, 4]
    assert np.intersect1d(first, second).size == 0 and first.size + second.size == 100
    assert np.array_equal(second, stratified_split(labels, 0.1, seed=0)[1])
