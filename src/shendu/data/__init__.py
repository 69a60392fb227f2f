"""shendu.data: datasets, the DataLoader, batched transforms and dataset downloads.

>>> from shendu.data import DataLoader, load_dataset
>>> train = load_dataset("mnist-5k", "train")
>>> images, labels = next(iter(DataLoader(train, batch_size=64, shuffle=True, seed=0)))
>>> images.shape, images.dtype, labels.dtype
((64, 1, 28, 28), dtype('float32'), dtype('int64'))
"""

from shendu.data import transforms
from shendu.data.cifar10 import CIFAR10
from shendu.data.dataloader import DataLoader, default_collate, get_worker_info
from shendu.data.dataset import (
    ArrayDataset,
    ConcatDataset,
    Dataset,
    Subset,
    TensorDataset,
    random_split,
    stratified_split,
)
from shendu.data.digits import Digits
from shendu.data.distributed import DistributedSampler
from shendu.data.download import DownloadError, download, file_digest
from shendu.data.idx import parse_idx, read_idx
from shendu.data.mnist import MNIST, FashionMNIST
from shendu.data.mnist5k import MNIST5k
from shendu.data.paths import DatasetNotFoundError
from shendu.data.registry import dataset_shape, dataset_splits, list_datasets, load_dataset

__all__ = [
    "ArrayDataset",
    "CIFAR10",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "DatasetNotFoundError",
    "Digits",
    "DistributedSampler",
    "DownloadError",
    "FashionMNIST",
    "MNIST",
    "MNIST5k",
    "Subset",
    "TensorDataset",
    "dataset_shape",
    "dataset_splits",
    "default_collate",
    "download",
    "file_digest",
    "get_worker_info",
    "list_datasets",
    "load_dataset",
    "parse_idx",
    "random_split",
    "read_idx",
    "stratified_split",
    "transforms",
]
