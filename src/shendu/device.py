"""Where a tensor's values live: ``shendu.device("cpu")`` or ``shendu.device("cuda:0")``, as ``torch.device``.

A device is only a name (a type and an optional index); it does not touch any hardware, so
``shendu.device("cuda")`` works on a machine without a GPU. Moving data there is what needs one
(see :mod:`shendu.backend`).

>>> import shendu
>>> shendu.device("cuda:1")
device(type='cuda', index=1)
>>> str(shendu.device("cuda", 0)), shendu.device("cpu") == shendu.device("cpu")
('cuda:0', True)
"""

from __future__ import annotations

from typing import Any

# The device types shendu can run on, and the other ones PyTorch knows (named in the error
# so that a user who writes "mps" learns it is a real device that shendu does not support).
SUPPORTED = ("cpu", "cuda")
_TORCH_ONLY = ("mps", "xpu", "hip", "xla", "meta", "ipu", "hpu", "mtia", "vulkan", "privateuseone")


class device:  # noqa: N801  (PyTorch's name: torch.device)
    """A device name: ``type`` is ``'cpu'`` or ``'cuda'``; ``index`` the GPU number or None.

    Built from ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``("cuda", N)``, a bare GPU number ``N``
    (as PyTorch), or another device.
    """

    __slots__ = ("_type", "_index")

    def __init__(self, type: Any, index: int | None = None) -> None:  # noqa: A002  (PyTorch's name)
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device(): index given twice (in the device and as index=)")
            type, index = type.type, type.index
        elif isinstance(type, int) and not isinstance(type, bool):
            type, index = "cuda", type  # torch.device(1) is cuda:1
        elif isinstance(type, str):
            type, index = _parse(type, index)
        else:
            raise TypeError(f"device(): expected a string such as 'cpu' or 'cuda:0', got {type!r}")
        if index is not None and (not isinstance(index, int) or isinstance(index, bool) or index < 0):
            raise ValueError(f"device(): the index must be a non-negative integer, got {index!r}")
        self._type: str = type
        self._index: int | None = index

    @property
    def type(self) -> str:
        return self._type

    @property
    def index(self) -> int | None:
        return self._index

    def __eq__(self, other: object) -> bool:
        # As torch: only devices compare equal, and 'cuda' (no index) differs from 'cuda:0'.
        return isinstance(other, device) and (self._type, self._index) == (other._type, other._index)

    def __hash__(self) -> int:
        return hash((self._type, self._index))

    def __str__(self) -> str:
        return self._type if self._index is None else f"{self._type}:{self._index}"

    def __repr__(self) -> str:
        if self._index is None:
            return f"device(type='{self._type}')"
        return f"device(type='{self._type}', index={self._index})"

    def __reduce__(self) -> tuple:
        return (device, (self._type, self._index))


def _parse(text: str, index: int | None) -> tuple[str, int | None]:
    """``'cuda:1'`` -> ('cuda', 1), with PyTorch's errors for anything else."""
    kind, sep, number = text.partition(":")
    if kind not in SUPPORTED:
        if kind in _TORCH_ONLY:
            raise RuntimeError(f"device '{text}': shendu runs on {' and '.join(SUPPORTED)} only")
        raise RuntimeError(
            f"Expected one of {', '.join(SUPPORTED)} device type at start of device string: {text}"
        )
    if sep:
        if not number.isdigit() or (len(number) > 1 and number[0] == "0"):
            raise RuntimeError(f"Invalid device string: '{text}'")
        if index is not None:
            raise RuntimeError(f"device(): type ({text}) must not include an index because index was passed")
        index = int(number)
    return kind, index


def device_mismatch(name: str, *devices: Any) -> RuntimeError:
    """PyTorch's error for an op whose tensors live on different devices."""
    found = sorted({str(d) for d in devices}, key=lambda s: (s == "cpu", s))
    return RuntimeError(
        f"Expected all tensors to be on the same device, but found at least two devices, "
        f"{found[0]} and {found[-1]}! (in {name})"
    )


def as_device(d: Any) -> device:
    """``d`` (a string, GPU number or device) as a :class:`device`."""
    return d if isinstance(d, device) else device(d)


def is_device_like(x: Any) -> bool:
    """Whether ``x`` names a device: a device, a GPU number, or a string starting with a device type."""
    if isinstance(x, device) or (isinstance(x, int) and not isinstance(x, bool)):
        return True
    return isinstance(x, str) and x.partition(":")[0] in SUPPORTED + _TORCH_ONLY


CPU = device("cpu")
