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

from shendu.distributed.group import INSTALL_HINT


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


def mpiexec_command(
    nproc: int, args: list[str], hostfile: str | None = None, rank_env: list[dict[str, str]] | None = None
) -> list[str]:
    """``[mpiexec, -n, N, (-f HOSTFILE), python, *args]`` with this very interpreter.

    ``rank_env``: environment variables for each rank (one dict per rank), given by MPICH's
    per-program ``-env`` (``mpiexec -n 1 -env K V python … : -n 1 -env K V python …``)."""
    if nproc < 1:
        raise ValueError(f"mpiexec_command: nproc must be at least 1, got {nproc}")
    command = [find_mpiexec()]
    if hostfile is not None:
        command += ["-f", hostfile]
    if rank_env is None:
        return command + ["-n", str(nproc), sys.executable, *args]
    if len(rank_env) != nproc:
        raise ValueError(f"mpiexec_command: rank_env has {len(rank_env)} entries for {nproc} ranks")
    for r, env in enumerate(rank_env):
        command += [":"] if r else []
        command += ["-n", "1"] + [w for k, v in env.items() for w in ("-env", k, v)]
        command += [sys.executable, *args]
    return command


def gpu_per_rank(nproc: int, gpus: int) -> list[dict[str, str]]:
    """``CUDA_VISIBLE_DEVICES`` for each rank of a job on one machine: rank r sees GPU r mod
    ``gpus`` only (as its ``cuda``), so the ranks spread over the GPUs (and share them when
    there are fewer GPUs than ranks)."""
    if gpus < 1:
        raise ValueError(f"gpu_per_rank: no GPU to give the {nproc} ranks")
    return [{"CUDA_VISIBLE_DEVICES": str(r % gpus)} for r in range(nproc)]
