"""A collective in flight (:class:`Work`) and how a rank waits for it: polled until the group's
deadline, so that a rank that died, left early or took another path makes the others raise
:class:`~shendu.distributed.process_group.DistBackendError` instead of hanging; then the
result is written into the tensors (``store``), whose versions are bumped as for any in-place
change."""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import numpy as np

from shendu import backend
from shendu.distributed.group import DistBackendError, _mpi, default_group
from shendu.tensor import Tensor

SPIN_SECONDS = 0.05  # how long a wait polls MPI without pausing (as MPI's own blocking waits spin)


def _describe(what: str) -> str:
    group = default_group()
    return f"{what} on rank {group.rank} of {group.size}"


class Work:
    """A collective in flight (PyTorch's ``Work``): ``wait()`` blocks until it is done.

    ``finish`` runs once after completion (copying a result out of a contiguous buffer, say).
    """

    def __init__(self, requests: list[Any], what: str, finish: Any = None) -> None:
        self.requests = requests
        self.what = what
        self._finish = finish
        self._done = False

    def is_completed(self) -> bool:
        """Poll without blocking (also lets MPI progress the transfer)."""
        if not self._done and _mpi().Request.Testall(self.requests):
            self._complete()
        return self._done

    def wait(self, timeout: float | None = None) -> bool:
        """Block until complete; past the group's timeout raise :class:`DistBackendError`."""
        if self._done:
            return True
        wait_all(self.requests, self.what, timeout)
        self._complete()
        return True

    def _complete(self) -> None:
        self._done = True
        if self._finish is not None:
            self._finish()
            self._finish = None


def wait_all(requests: list[Any], what: str, timeout: float | None = None) -> None:
    """Poll MPI ``requests`` until all complete: without pausing for the first ``SPIN_SECONDS``,
    then sleeping a little longer each time (≤ 1 ms); with more ranks on the machine than cores,
    sleeping from the start (a spinning rank would take the core the others need).

    Polling rather than ``MPI_Waitall``: a blocking wait could never time out. MPI moves a large
    message in chunks, each only when both ranks call into MPI, so sleeping between polls while
    a transfer runs would stretch it (a 1.7 MB all-reduce took ~15 ms instead of ~1 ms); a rank
    that waits long for a slow one stops spinning and leaves the core to others.
    """
    test_all = _mpi().Request.Testall
    group = default_group()
    seconds = group.timeout if timeout is None else timeout
    if not poll(lambda: test_all(requests), seconds, 0.0 if group.crowded else SPIN_SECONDS):
        raise DistBackendError(
            f"shendu.distributed: {_describe(what)} did not complete within {seconds:g} s. "
            "Another rank has stopped or is stuck: it died, finished early, or is not calling "
            "the same collectives in the same order. (timeout: init_process_group(timeout=...) "
            "or $SHENDU_DIST_TIMEOUT)"
        )


def poll(ready: Callable[[], bool], seconds: float, spin: float) -> bool:
    """Call ``ready()`` until it says True (then True) or ``seconds`` have passed (then False):
    without pausing for the first ``spin`` seconds, then sleeping a little longer each time (≤ 1 ms)."""
    start = time.monotonic()
    pause = 1e-5
    while not ready():
        elapsed = time.monotonic() - start
        if elapsed > seconds:
            return False
        if elapsed > spin:
            time.sleep(pause)
            pause = min(pause * 2, 1e-3)
    return True


def store(tensor: Tensor, values: np.ndarray) -> None:
    """Write the host array ``values`` into the tensor's array, on its device (its views see it),
    or replace a read-only array."""
    arr = tensor._data
    if type(arr) is not np.ndarray:
        arr[...] = backend.like(arr, values)
    elif arr.flags.writeable:
        arr[...] = values
    else:
        tensor._data = values.copy()


def scatter(tensors: Sequence[Tensor], parts: Any) -> Any:
    """What all_gather does once its buffer arrived: ``parts[r]`` into ``tensors[r]``, each an
    in-place change."""

    def run() -> None:
        for t, part in zip(tensors, parts, strict=True):
            store(t, part)
            t._version += 1

    return run


def chain(*steps: Any) -> Any:
    steps = tuple(s for s in steps if s is not None)
    if not steps:
        return None

    def run() -> None:
        for s in steps:
            s()

    return run


def bump(tensor: Tensor) -> Any:
    def run() -> None:
        tensor._version += 1  # an in-place change, as for add_ (autograd refuses stale saved values)

    return run
