"""``shendu.cuda``: ask about NVIDIA GPUs, as ``torch.cuda`` (CuPy does the work; see :mod:`shendu.backend`).

Nothing here imports CuPy until a function is called, and ``is_available()`` never raises:
it is the question every training script asks first::

    device = "cuda" if shendu.cuda.is_available() else "cpu"
"""

from __future__ import annotations

from typing import Any

from shendu import backend
from shendu.device import as_device, device

__all__ = [
    "is_available",
    "device_count",
    "current_device",
    "get_device_name",
    "synchronize",
    "manual_seed",
    "manual_seed_all",
]


def is_available() -> bool:
    """Whether a GPU can be used: CuPy is installed and finds at least one NVIDIA GPU."""
    return backend.is_available("cuda")


def _cuda() -> backend.Backend:
    """The CUDA backend, or the clear error saying whether CuPy or the GPU is missing."""
    return backend.backend_for(device("cuda"))


def device_count() -> int:
    """The number of GPUs (0 without CuPy or without a GPU)."""
    return _cuda().device_count() if is_available() else 0


def current_device() -> int:
    """The number of the GPU that ``"cuda"`` without an index means (always 0 in shendu)."""
    _cuda()
    return 0


def _index(d: Any) -> int:
    if d is None:
        return 0
    d = as_device(d)
    if d.type != "cuda":
        raise ValueError(f"expected a CUDA device, got {d}")
    return 0 if d.index is None else d.index


def get_device_name(d: Any = None) -> str:
    """The GPU's name, e.g. ``'NVIDIA H200'``."""
    return _cuda().device_name(_index(d))


def synchronize(d: Any = None) -> None:
    """Wait for every queued GPU kernel to finish (GPU work is asynchronous: time after this)."""
    _cuda().synchronize(_index(d))


def manual_seed(seed: int) -> None:
    """Seed the GPUs' own generators (shendu draws its random numbers on the host, see
    ``shendu.manual_seed``; this exists so PyTorch scripts run). Does nothing without a GPU."""
    manual_seed_all(seed)


def manual_seed_all(seed: int) -> None:
    """Seed every GPU's generator; without a GPU it does nothing, as in PyTorch."""
    b = backend.loaded("cuda")
    if b is not None:
        b.manual_seed(seed)
