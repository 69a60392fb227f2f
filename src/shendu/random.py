"""The library's one source of randomness.

Every random draw in shendu (``rand``, ``randn``, weight initialisation, dropout,
shuffling, random transforms) comes from the generator held here, so ``shendu.manual_seed(n)``
makes a whole run reproducible, as ``torch.manual_seed`` does. A :class:`Generator` is a
separate stream for one purpose (``random_split(ds, [0.8, 0.2], generator=g)``,
``DataLoader(..., generator=g)``, ``randn(3, generator=g)``), as ``torch.Generator``.

DataLoader worker threads each get their own generator (seeded from the loader's base seed and
the worker's id, as PyTorch seeds its worker processes): inside a worker, ``default_generator()``
and ``manual_seed`` act on that thread's generator, so random transforms in ``__getitem__`` draw
reproducibly whatever the threads' timing.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import numpy as np

_generator: np.random.Generator = np.random.default_rng()
_worker = threading.local()  # .generator is set in DataLoader worker threads


def _check_seed(seed: Any, who: str) -> int:
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"{who} expects a non-negative integer, got {seed!r}")
    return int(seed)


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the global generator (in a DataLoader worker: that worker's); returns it.

    >>> import shendu
    >>> _ = shendu.manual_seed(0); a = shendu.rand(2)
    >>> _ = shendu.manual_seed(0); b = shendu.rand(2)
    >>> bool((a.numpy() == b.numpy()).all())
    True
    """
    global _generator
    rng = np.random.default_rng(_check_seed(seed, "manual_seed"))
    if getattr(_worker, "generator", None) is not None:
        _worker.generator = rng
    else:
        _generator = rng
    return rng


def default_generator() -> np.random.Generator:
    """The generator every random draw of the library uses (a worker thread's own, inside one)."""
    local = getattr(_worker, "generator", None)
    return local if local is not None else _generator


def set_worker_generator(rng: np.random.Generator | None) -> None:
    """Give the calling thread its own default generator (None: use the global one again)."""
    _worker.generator = rng


def fill_(arr: np.ndarray, normal: bool, scale: float = 1.0, shift: float = 0.0) -> np.ndarray:
    """Fill ``arr`` in place with scale·Z + shift, Z ~ N(0, 1) (``normal``) or U(0, 1).

    Drawn straight into the array in its own precision: a float32 VGG-16 (138 M weights) must
    not pass through a float64 copy. A GPU array gets the draws made on the host and copied in,
    so a seed gives the same weights on every device.
    """
    if not isinstance(arr, np.ndarray):
        from shendu import backend

        arr[...] = backend.like(arr, fill_(np.empty(arr.shape, arr.dtype), normal, scale, shift))
        return arr
    gen = default_generator()
    if arr.dtype in (np.float32, np.float64):
        # drawn in index order whatever the memory layout (a channels-last conv weight gets
        # the numbers a C-ordered one would)
        out = arr if arr.flags.c_contiguous else np.empty(arr.shape, arr.dtype)
        (gen.standard_normal if normal else gen.random)(dtype=arr.dtype, out=out)
        out *= scale
        out += shift
        if out is not arr:
            arr[...] = out
    else:
        z = gen.standard_normal(arr.shape) if normal else gen.random(arr.shape)
        arr[...] = (z * scale + shift).astype(arr.dtype)
    return arr


def _state_of(rng: np.random.Generator) -> str:
    return json.dumps(rng.bit_generator.state)


def _from_state(state: str) -> np.random.Generator:
    st = json.loads(state)
    bitgen = getattr(np.random, st["bit_generator"])()
    bitgen.state = st
    return np.random.Generator(bitgen)


def get_rng_state() -> str:
    """The generator's state as a JSON string (stored in checkpoints)."""
    return _state_of(default_generator())


def set_rng_state(state: str) -> None:
    """Restore a state returned by :func:`get_rng_state`."""
    global _generator
    _generator = _from_state(state)


def _fresh_seed() -> int:
    return int(np.random.SeedSequence().generate_state(1, np.uint64)[0]) % (2**63)


class Generator:
    """An independent random stream, as ``torch.Generator``: seed it, save and restore its state.

    ``manual_seed(s)`` returns the generator (so ``Generator().manual_seed(42)`` reads as in
    PyTorch). ``get_state()`` is a uint8 array (the JSON state of NumPy's PCG64 bit generator;
    PyTorch gives a uint8 tensor), which ``shendu.save`` can store; ``set_state`` takes it back.
    The draws are NumPy's, not PyTorch's: the same seed gives a different (but equally
    reproducible) stream than torch.

    >>> import shendu
    >>> g = shendu.Generator().manual_seed(42)
    >>> s = g.get_state(); a = shendu.randn(3, generator=g)
    >>> _ = g.set_state(s); b = shendu.randn(3, generator=g)
    >>> bool((a == b).all())
    True
    """

    def __init__(self, device: Any = "cpu") -> None:
        self.device = device
        self._seed = _fresh_seed()
        self.rng = np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> Generator:
        """Reseed; returns ``self``."""
        self._seed = _check_seed(seed, "Generator.manual_seed")
        self.rng = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        """Reseed from fresh entropy; returns the new seed."""
        self._seed = _fresh_seed()
        self.rng = np.random.default_rng(self._seed)
        return self._seed

    def initial_seed(self) -> int:
        """The seed the generator was last seeded with."""
        return self._seed

    def get_state(self) -> np.ndarray:
        """The state as a uint8 array (JSON bytes), for ``set_state`` or a checkpoint."""
        # an ndarray, not a Tensor: this module sits below tensor.py and must not import it
        return np.frombuffer(_state_of(self.rng).encode(), dtype=np.uint8).copy()

    def set_state(self, state: Any) -> Generator:
        """Restore a state from :meth:`get_state` (a uint8 Tensor/array or the JSON string)."""
        if isinstance(state, str):
            text = state
        else:
            arr = np.asarray(state)
            if arr.dtype != np.uint8 or arr.ndim != 1:
                raise TypeError(
                    f"Generator.set_state: expected the uint8 tensor from get_state(), "
                    f"got dtype {arr.dtype} shape {arr.shape}"
                )
            text = arr.tobytes().decode()
        self.rng = _from_state(text)
        return self

    def __repr__(self) -> str:
        return f"<shendu.Generator initial_seed={self._seed}>"


def numpy_generator(generator: Generator | None, who: str = "generator") -> np.random.Generator:
    """The NumPy generator to draw from: ``generator``'s, else the library's default one."""
    if generator is None:
        return default_generator()
    if not isinstance(generator, Generator):
        raise TypeError(f"{who}: expected a shendu.Generator or None, got {type(generator).__name__}")
    return generator.rng
