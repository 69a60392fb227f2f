"""``shendu.nn.parallel``: data-parallel training across processes (PyTorch's module of the same name)."""

from shendu.nn.parallel.distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
