#!/usr/bin/env bash
# Issue 10's and 16's many-core figures in one run, logs under $OUT (default ./manycore_logs):
#   1. the machine: cores, CPU model, NumPy's BLAS (machine.log)
#   2. bench_layers.py: SimpleConvNet and LeNet training steps at $THREADS threads beside PyTorch CPU,
#      the thread counts taking turns within each round (layers.log)
#   3. bench_resnet.py: the CIFAR-10 ResNet-18 training step and the 224×224 forwards at
#      $RESNET_THREADS threads (resnet.log)
#   4. bench_distributed.py: LeNet data-parallel training at $PROCS processes, one thread each,
#      beside PyTorch DDP on Gloo; only where mpi4py and an mpiexec are installed (distributed.log)
#   5. only with CEILING=P: bench_layers.py --ceiling P, P one-thread processes at once against one
#      alone, the speed-up the machine itself gives P-way work that shares nothing (ceiling.log;
#      about 2 minutes more)
# Without mpi4py on the machine, step 4 uses the MPI wheels of .gpu_carry/wheels (gpu_check.sh says
# how to fetch them) when they were carried. About 8 minutes on 16 cores. Usage, from the repository root (no install needed: NumPy and
# PyTorch are enough for 2 and 3):
#   bash benchmarks/manycore_check.sh
#   THREADS=1,2 RESNET_THREADS=1,2 PROCS="1 2" bash benchmarks/manycore_check.sh   # a small machine
set -u
OUT=${OUT:-manycore_logs}
mkdir -p "$OUT"
export PYTHONPATH=src PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
CORES=$(nproc)
THREADS=${THREADS:-$(echo 1 2 4 8 16 32 64 | tr ' ' '\n' | awk -v c="$CORES" '$1 <= c' | paste -sd,)}
RESNET_THREADS=${RESNET_THREADS:-$(echo "1 4 $CORES" | tr ' ' '\n' | awk -v c="$CORES" '$1 <= c' | sort -nu | paste -sd,)}
PROCS=${PROCS:-$(echo 1 2 4 8 | tr ' ' '\n' | awk -v c="$CORES" '$1 <= c' | paste -sd' ')}
start=$SECONDS

{
  echo "cores: $CORES; threads $THREADS; resnet threads $RESNET_THREADS; processes $PROCS"
  lscpu 2>/dev/null | grep -E "Model name|Socket|Core|Thread|L3" || true
  timeout 60 "$PY" - <<'EOF' 2>&1
import numpy as np
print("numpy", np.__version__)
try:
    import torch
    print("torch", torch.__version__, "threads", torch.get_num_threads())
except ImportError:
    print("torch: absent")
try:
    from threadpoolctl import threadpool_info
    for lib in threadpool_info():
        print(lib["user_api"], lib["internal_api"], lib.get("version"), lib.get("architecture"), lib["filepath"])
except ImportError:
    print("threadpoolctl: absent (shendu then leaves NumPy's BLAS at its own threads)")
EOF
} > "$OUT/machine.log" 2>&1
cat "$OUT/machine.log"

timeout 200 "$PY" benchmarks/bench_layers.py --threads "$THREADS" --steps-only --repeats 6 > "$OUT/layers.log" 2>&1
echo "bench_layers: exit $? at $((SECONDS - start)) s"; tail -n 14 "$OUT/layers.log"

timeout 200 "$PY" benchmarks/bench_resnet.py --threads "$RESNET_THREADS" --steps 2 --forwards 3 > "$OUT/resnet.log" 2>&1
echo "bench_resnet: exit $? at $((SECONDS - start)) s"; tail -n 14 "$OUT/resnet.log"

DPY=$PY
if ! "$PY" -c "import mpi4py" 2>/dev/null && ls .gpu_carry/wheels/mpi4py-*.whl > /dev/null 2>&1; then
  # the MPI wheels carried for gpu_check.sh (see there), in a venv that sees the machine's packages
  [ -x /tmp/shendu-mpi/bin/python ] || { "$PY" -m venv --system-site-packages /tmp/shendu-mpi \
    && /tmp/shendu-mpi/bin/python -m pip install -q --no-index .gpu_carry/wheels/*.whl; } > /dev/null 2>&1
  [ -x /tmp/shendu-mpi/bin/mpiexec ] && DPY=/tmp/shendu-mpi/bin/python
fi
if "$DPY" -c "import mpi4py" 2>/dev/null && { command -v mpiexec >/dev/null || [ -x "$(dirname "$(command -v "$DPY")")/mpiexec" ]; }; then
  # shellcheck disable=SC2086  # PROCS is a list of numbers
  timeout 150 "$DPY" benchmarks/bench_distributed.py --models lenet --procs $PROCS --steps 20 > "$OUT/distributed.log" 2>&1
  echo "bench_distributed: exit $? at $((SECONDS - start)) s"; tail -n 8 "$OUT/distributed.log"
else
  echo "bench_distributed: skipped (no mpi4py or mpiexec here: pip install \"shendu[distributed]\")" | tee "$OUT/distributed.log"
fi

if [ -n "${CEILING:-}" ]; then
  timeout 300 "$PY" benchmarks/bench_layers.py --no-speed --ceiling "$CEILING" --seconds 4 > "$OUT/ceiling.log" 2>&1
  echo "ceiling: exit $? at $((SECONDS - start)) s"; tail -n 7 "$OUT/ceiling.log"
fi
