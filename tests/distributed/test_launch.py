"""The mpiexec command lines that ``shendu train --nproc`` runs: one GPU per rank where asked."""

import os
import subprocess

import pytest

from shendu.distributed.launch import gpu_per_rank, mpiexec_command
from tests.distributed.conftest import needs_mpi

# one write(2) a line: print() writes its parts one by one where PYTHONUNBUFFERED is set, and
# the ranks' parts then interleave on mpiexec's stdout
SHOW = (
    "import os; "
    "os.write(1, f\"{os.environ['PMI_RANK']} {os.environ.get('CUDA_VISIBLE_DEVICES')}\\n\".encode())"
)


def test_gpu_per_rank_spreads_the_ranks_and_shares_gpus_when_short():
    assert gpu_per_rank(4, 2) == [{"CUDA_VISIBLE_DEVICES": g} for g in ("0", "1", "0", "1")]
    assert gpu_per_rank(2, 8) == [{"CUDA_VISIBLE_DEVICES": "0"}, {"CUDA_VISIBLE_DEVICES": "1"}]
    with pytest.raises(ValueError, match="no GPU"):
        gpu_per_rank(2, 0)


@needs_mpi
def test_mpiexec_command_gives_one_rank_one_program_block_each_with_its_own_environment():
    with pytest.raises(ValueError, match="rank_env has 1 entries for 2 ranks"):
        mpiexec_command(2, ["-c", SHOW], rank_env=[{}])
    command = mpiexec_command(3, ["-c", SHOW], rank_env=gpu_per_rank(3, 2))
    assert command.count(":") == 2 and command.count("-env") == 3
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    out = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True, env=env).stdout
    assert sorted(out.split("\n")[:-1]) == ["0 0", "1 1", "2 0"]
    plain = mpiexec_command(2, ["-c", SHOW])
    plain_out = subprocess.run(plain, capture_output=True, text=True, timeout=60, env=env).stdout
    assert sorted(plain_out.split("\n")[:-1]) == ["0 None", "1 None"]
