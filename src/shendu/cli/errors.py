"""How the ``shendu`` command fails: one line on stderr (what, which file, what to do) and an exit code.

Exit codes (also in docs/training.md):

== =====================================================================================
0  success
1  a bad input: a file that cannot be read or used (weights, config, image, data set), or
   an image among several that could not be predicted (the others are still printed)
2  a usage error: an unknown option value, model or data set, options that contradict a run
3  training diverged (NaN or infinite loss); the last good checkpoint is kept
4  the run directory is in use by another training run (its PID is named)
5  a file could not be written (disk full, read-only folder, no permission); ``--resume`` continues
70 an internal error (a bug in shendu: please report it with ``SHENDU_DEBUG=1``'s traceback)
130 interrupted (Ctrl-C)
== =====================================================================================

A Python traceback never reaches the user; ``SHENDU_DEBUG=1`` shows it. The ``error:`` line says
everything needed; a few messages (a failed download) add indented detail lines below it (the
mirrors tried, the checksum to check a hand download against).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import warnings
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_DIVERGED = 3
EXIT_IN_USE = 4
EXIT_IO = 5
EXIT_BUG = 70
EXIT_INTERRUPTED = 130

DEBUG_VAR = "SHENDU_DEBUG"


class CLIError(Exception):
    """A failure a subcommand explains itself: ``message`` is printed as ``error: message``."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def debug() -> bool:
    return os.environ.get(DEBUG_VAR, "") not in ("", "0")


#: NumPy's floating-point warnings: every command checks its numbers itself (a NaN loss stops
#: training, non-finite weights or outputs stop eval/predict) and says so in its one error line
_NUMPY_FP = re.compile(r"(overflow|invalid value|divide by zero|underflow) encountered")


@contextlib.contextmanager
def quiet_warnings() -> Iterator[None]:
    """Hide NumPy's floating-point RuntimeWarnings while a subcommand runs (unless SHENDU_DEBUG is set).

    A filter of the ``warnings`` module, not ``np.errstate``: the errstate is per thread, and
    shendu's kernels run on worker threads too.
    """
    if debug():
        yield
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_NUMPY_FP.pattern, category=RuntimeWarning)
        yield


def format_error(message: str) -> str:
    """``error: FIRST LINE`` and any further lines of ``message`` indented below it as details."""
    first, *details = message.strip().splitlines() or [""]
    return "\n".join([f"error: {first}", *(f"  {line.strip()}" for line in details if line.strip())])


_WRITE_ERRORS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.EFBIG}


def describe_os_error(err: OSError) -> str:
    """``[Errno 28] No space left on device`` -> ``no space left on the disk for FILE``.

    An error raised by shendu itself with its own reason (``strerror`` other than the OS's text
    for the errno, as :func:`shendu.serialization.atomic_write` gives) keeps that reason."""
    name = f" {err.filename}" if err.filename else ""
    if err.strerror and err.errno is not None and err.strerror != os.strerror(err.errno):
        return f"{err.filename}: {err.strerror}" if err.filename else err.strerror
    if err.errno == errno.ENOSPC or err.errno == errno.EDQUOT:
        return f"no space left on the disk while writing{name}"
    if err.errno == errno.EROFS:
        return f"cannot write{name}: the file system is read-only"
    if err.errno in (errno.EACCES, errno.EPERM):
        return f"no permission to use{name}"
    if err.errno == errno.ENOENT:
        return f"no such file or folder{name}"
    if err.errno == errno.EISDIR:
        return f"{name.strip()} is a folder, not a file"
    if err.errno == errno.ENOTDIR:
        return f"a part of the path{name} is a file, not a folder"
    return f"{err.strerror or err}{':' + name if name else ''}"


def classify(err: BaseException) -> tuple[str, int]:
    """(one-line message, exit code) for an exception that ended a subcommand."""
    from shendu.training.rundir import RunError, RunInUse

    if isinstance(err, CLIError):
        return str(err), err.code
    if isinstance(err, RunInUse):
        return str(err), EXIT_IN_USE
    if isinstance(err, ImportError) and "pip install" in str(err):
        return str(err), EXIT_FAILED  # an optional package not installed; the message says which
    if isinstance(err, MemoryError):
        return (
            "out of memory: the input is too large for this machine (try a smaller batch or image)",
            EXIT_FAILED,
        )
    if isinstance(err, OSError) and err.errno is not None:  # raised by the OS: errno, strerror, file
        return describe_os_error(err), EXIT_IO if err.errno in _WRITE_ERRORS else EXIT_FAILED
    if isinstance(err, (RunError, ValueError, OSError)):
        return str(err), EXIT_FAILED
    return (
        f"internal error ({type(err).__name__}: {err}); please report it with the traceback that "
        f"{DEBUG_VAR}=1 shows",
        EXIT_BUG,
    )


def usage_check(check: Callable[[], T]) -> T:
    """``check()``; a ValueError it raises (an unknown data set or split) becomes a usage error."""
    try:
        return check()
    except ValueError as err:
        raise CLIError(str(err), EXIT_USAGE) from None
