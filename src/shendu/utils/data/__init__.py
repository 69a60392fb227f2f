"""shendu.utils.data: datasets and the DataLoader under PyTorch's path, ``torch.utils.data``.

A script that says ``from torch.utils.data import DataLoader, TensorDataset, random_split`` runs
with ``from shendu.utils.data import ...`` instead. The same objects are also reachable as
``shendu.data.DataLoader`` etc. (shendu's older path, which keeps working).

>>> import numpy as np
>>> from shendu.utils.data import DataLoader, TensorDataset
>>> loader = DataLoader(TensorDataset(np.arange(6.0), np.arange(6)), batch_size=4, num_workers=2)
>>> [(x.dtype, y.tolist()) for x, y in loader]
[(dtype('float64'), [0, 1, 2, 3]), (dtype('float64'), [4, 5])]
"""

from shendu.data.dataloader import DataLoader, WorkerInfo, default_collate, get_worker_info
from shendu.data.dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split
from shendu.data.distributed import DistributedSampler

__all__ = [
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "DistributedSampler",
    "Subset",
    "TensorDataset",
    "WorkerInfo",
    "default_collate",
    "get_worker_info",
    "random_split",
]
