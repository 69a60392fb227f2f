"""Start N copies of a Python program under MPI's launcher (``mpiexec -n N python …``).

``shendu train --nproc N`` uses this; by hand, ``mpirun -n N python train.py`` does the same.
The launcher installed with the ``mpich`` wheel lives beside the Python interpreter, so the one
next to ``sys.executable`` is preferred over one on ``$PATH`` (a system MPI would not match the
library mpi4py was built against).
"""

from __future__ import annotations

import os
import shutil
import sys

from shendu.distributed.process_group import INSTALL_HINT


def find_mpiexec() -> str:
    """The path of ``mpiexec`` (beside this interpreter first, then on ``$PATH``)."""
    here = os.path.dirname(sys.executable)
    for name in ("mpiexec", "mpirun"):
        found = shutil.which(name, path=here) or shutil.which(name)
        if found:
            return found
    raise FileNotFoundError(
        f"no MPI launcher (mpiexec) found beside {sys.executable} or on PATH: {INSTALL_HINT}"
    )


def mpiexec_command(nproc: int, args: list[str], hostfile: str | None = None) -> list[str]:
    """``[mpiexec, -n, N, (-f HOSTFILE), python, *args]`` with this very interpreter."""
    if nproc < 1:
        raise ValueError(f"mpiexec_command: nproc must be at least 1, got {nproc}")
    command = [find_mpiexec(), "-n", str(nproc)]
    if hostfile is not None:
        command += ["-f", hostfile]
    return command + [sys.executable, *args]
