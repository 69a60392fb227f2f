"""``shendu train --nproc N``: N processes train one model together (docs/distributed.md).

The command started by the user launches itself again under ``mpiexec -n N`` (the launcher
beside this Python); each copy is a rank of an MPI job. Every rank builds the same model (DDP
copies rank 0's weights anyway), trains on its share of each epoch (``DistributedSampler`` with
the run's seed) in batches of ``--batch-size``, so a step uses ``N · batch-size`` samples;
gradients are averaged by :class:`~shendu.nn.parallel.DistributedDataParallel`. Rank 0 alone owns
the run directory (lock, config, weights, history, checkpoints, curves) and prints; the others
resume from its checkpoint. A rank that fails aborts the whole job.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any, Callable, Iterator

from shendu.cli.errors import EXIT_USAGE, CLIError
from shendu.data import DataLoader, Subset
from shendu.data.distributed import DistributedSampler
from shendu.nn.parallel import DistributedDataParallel

# set by MPI launchers in every process they start: MPICH's hydra, Open MPI, PMIx
JOB_VARIABLES = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK")


def in_mpi_job() -> bool:
    """True in a process started by ``mpiexec``/``mpirun``."""
    return any(v in os.environ for v in JOB_VARIABLES)


def launch(nproc: int, device: str = "cpu", backend: str = "mpi") -> int:
    """Run this very command line in ``nproc`` processes under mpiexec; the job's exit code.

    With ``--device cuda`` (or ``auto`` on a machine with GPUs) rank r gets GPU r mod (number of
    GPUs) as its ``cuda``; ``cuda:N`` puts every rank on GPU N. ``backend`` "nccl" needs a GPU
    device and CuPy's NCCL: checked here, so that a missing piece gives one message, not N."""
    from shendu.distributed.launch import gpu_per_rank, mpiexec_command

    words = sys.argv[1:]
    if "train" not in words:
        raise CLIError("--nproc works from the command line: shendu train ... --nproc N", EXIT_USAGE)
    from shendu.cli.device_option import pick_device

    try:
        target = pick_device(device)  # a missing CuPy or GPU: one message here, not one per rank
    except ValueError as err:
        raise CLIError(str(err), EXIT_USAGE) from None
    if backend == "nccl":
        _check_nccl(target)
    rank_env = None
    if target.type == "cuda" and target.index is None and "CUDA_VISIBLE_DEVICES" not in os.environ:
        import shendu

        rank_env = gpu_per_rank(nproc, shendu.cuda.device_count())
    try:
        command = mpiexec_command(nproc, ["-m", "shendu.cli.main", *words], rank_env=rank_env)
    except FileNotFoundError as err:
        raise CLIError(str(err), EXIT_USAGE) from None
    # mpiexec in its own session: Ctrl-C reaches this process only, which passes it on once
    # (mpiexec forwards it to every rank; a second Ctrl-C makes mpiexec abort them)
    proc = subprocess.Popen(command, start_new_session=True)
    while True:
        try:
            return proc.wait()
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGINT)


def _check_nccl(target: Any) -> None:
    from shendu.distributed.process_group import _nccl_problem

    if target.type != "cuda":
        raise CLIError(
            f"--dist-backend nccl sums on GPUs: it needs --device cuda, got {target.type}", EXIT_USAGE
        )
    problem = _nccl_problem()
    if problem is not None:
        raise CLIError(f"--dist-backend nccl: {problem}", EXIT_USAGE)


class Rank:
    """This process's place in a ``--nproc`` job."""

    def __init__(self, nproc: int, backend: str = "mpi") -> None:
        import shendu.distributed as dist

        dist.init_process_group(backend=backend)
        self.rank = dist.get_rank()
        self.world = dist.get_world_size()
        if self.world != nproc:
            raise CLIError(f"--nproc {nproc}, but the MPI job has {self.world} processes", EXIT_USAGE)

    def run(self, body: Callable[[], int]) -> int:
        """``body()``'s exit code; if it fails here, the whole job stops (the others would wait)."""
        from shendu.cli import errors

        try:
            code = body()
        except KeyboardInterrupt:
            message, code = "interrupted", errors.EXIT_INTERRUPTED
        except Exception as err:  # noqa: BLE001 - as cli.main: one line and an exit code
            if errors.debug():
                raise
            message, code = errors.classify(err)
        else:
            if code == 0:
                return 0
            message = f"exit code {code}"
        self.abort(message, code)
        return code

    def announce(self, batch_size: int) -> None:
        print(
            f"data parallel: {self.world} processes × batch {batch_size} = {self.world * batch_size} "
            "samples a step (the epoch's samples are shared out among the processes)",
            file=sys.stderr,
        )

    @property
    def writer(self) -> bool:
        """Rank 0 writes the run directory and prints."""
        return self.rank == 0

    def wrap(self, model: Any, device: Any) -> _RunModel:
        """The model moved to ``device`` (DDP keeps its buckets beside it), wrapped in DDP."""
        return _RunModel(model.to(device))

    def shard(self, loader: Any) -> _RankLoader:
        return _RankLoader(loader, self.world, self.rank)

    def abort(self, message: str, code: int) -> None:
        """Say why this rank stops, then end every rank (the others would wait for it)."""
        import shendu.distributed as dist
        from shendu.distributed.group import default_group

        print(f"error: rank {self.rank} of {self.world}: {message}", file=sys.stderr, flush=True)
        sys.stdout.flush()
        if dist.is_initialized():
            default_group().comm.Abort(code)


class _RunModel(DistributedDataParallel):
    """DDP whose ``state_dict`` is the wrapped model's, so weights and checkpoints in the run
    directory have the plain keys that ``shendu eval`` and ``shendu predict`` read."""

    def state_dict(self, *args: Any, **kwargs: Any) -> Any:
        return self.module.state_dict(*args, **kwargs)

    def load_state_dict(self, *args: Any, **kwargs: Any) -> Any:
        return self.module.load_state_dict(*args, **kwargs)


class _RankLoader:
    """The training loader restricted to this rank's share of each epoch.

    Epoch ``e``'s share comes from ``DistributedSampler(seed, epoch=e)``, so it depends on
    ``(seed, e)`` alone and a resumed run sees the same batches; the batches' augmentation is drawn
    as the loader's own (seeded by ``(seed, e)``, the same draws on every rank).
    """

    def __init__(self, loader: Any, world: int, rank: int) -> None:
        if loader.seed is None:
            raise ValueError("--nproc needs a seeded training loader (every rank must shuffle alike)")
        self.loader = loader
        self.sampler = DistributedSampler(
            loader.dataset, world, rank, shuffle=loader.shuffle, seed=loader.seed
        )
        self.seed = loader.seed
        self.epoch = 0

    @property
    def dataset(self) -> Any:
        return self.loader.dataset

    @property
    def transform(self) -> Any:
        return self.loader.transform

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return -(-len(self.sampler) // self.loader.batch_size)

    def __iter__(self) -> Iterator[Any]:
        self.sampler.set_epoch(self.epoch)
        part = DataLoader(
            Subset(self.loader.dataset, self.sampler.indices()),
            batch_size=self.loader.batch_size,
            seed=self.seed,
            transform=self.loader.transform,
        )
        part.set_epoch(self.epoch)
        self.epoch += 1
        return iter(part)
