import numpy as np
import pytest
from sklearn.datasets import load_digits

from shendu.data import ArrayDataset, DatasetNotFoundError, dataset_splits, list_datasets, load_dataset


def test_list_datasets():
    assert set(list_datasets()) == {"mnist-5k", "mnist", "fashion-mnist", "cifar10", "digits"}


def test_unknown_name_and_split():
    with pytest.raises(ValueError, match="known datasets: cifar10, digits, fashion-mnist, mnist, mnist-5k"):
        load_dataset("imagenet")
    with pytest.raises(ValueError, match="valid splits: train, val, all"):
        load_dataset("mnist-5k", "test")
    with pytest.raises(ValueError, match="valid splits: train, test"):
        load_dataset("cifar10", "val")


def test_digits():
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    assert isinstance(train, ArrayDataset)
    assert train.images.shape[1:] == (1, 8, 8) and train.images.dtype == np.float32
    assert len(train) + len(test) == 1797
    ref = load_digits()
    counts = np.bincount(ref.target)
    np.testing.assert_array_equal(np.bincount(test.labels), np.round(counts * 0.2).astype(int))
    assert train.images.min() == 0.0 and train.images.max() == 1.0
    all_ = load_dataset("digits", "all")
    np.testing.assert_allclose(all_.images[:, 0] * 16, ref.images, atol=1e-5)
    np.testing.assert_array_equal(all_.labels, ref.target)
    assert dataset_splits("digits") == ("train", "test", "all")


def test_name_is_case_and_underscore_insensitive(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="Fashion-MNIST split 'test'"):
        load_dataset("Fashion_MNIST", "test", data_dir=tmp_path, download=False)


def test_dataset_shape_is_the_shape_of_the_loaded_images():
    from shendu.data import dataset_shape, load_dataset

    for name in ("digits", "mnist-5k"):
        assert load_dataset(name, "train").images.shape[1:] == dataset_shape(name)
    assert dataset_shape("cifar10") == (3, 32, 32) and dataset_shape("fashion-mnist") == (1, 28, 28)
