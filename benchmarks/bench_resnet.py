"""Real networks against PyTorch CPU, same run: a CIFAR-10 ResNet-18 training step and
ImageNet-size forward passes (ResNet-18 and VGG-11 on one 224×224 image).

    PYTHONPATH=src python benchmarks/bench_resnet.py                      # threads 1 and all cores
    PYTHONPATH=src python benchmarks/bench_resnet.py --threads 1,2,4,8,16 --steps 3
    PYTHONPATH=src python benchmarks/bench_resnet.py --quick              # batch 32, 2 steps: a smoke run
    PYTHONPATH=src python benchmarks/bench_resnet.py --memory             # also peak RSS of each library

The training step is torchvision's ResNet-18 adapted to 32×32 images as usual (3×3 stride-1
stem, no max-pool: ``shendu.models.resnet18(small_input=True)``), batch 128, cross-entropy, SGD
with momentum 0.9 and weight decay 5e-4, BatchNorm in training mode. PyTorch's network is the
same layout built from torch.nn (tests/models/torch_reference.py). For every thread count both
libraries are set to it (``shendu.set_num_threads``, ``torch.set_num_threads``) and their steps
alternate, so both see the same machine; the figure is the median of the timed repeats.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from typing import Callable

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def set_threads(n: int) -> None:
    """Both libraries to ``n`` threads (shendu's own setting also owns NumPy's BLAS)."""
    import torch

    import shendu

    torch.set_num_threads(n)
    if hasattr(shendu, "set_num_threads"):
        shendu.set_num_threads(n)
    else:  # an older shendu: only BLAS is threaded
        from threadpoolctl import threadpool_limits

        threadpool_limits(n, user_api="blas")


# ---- the CIFAR-10 training step -----------------------------------------------------------------


def shendu_train_step(batch: int, seed: int = 0) -> Callable[[], float]:
    import shendu
    from shendu import nn, optim
    from shendu.models import resnet18

    shendu.manual_seed(seed)
    net = resnet18(num_classes=10, small_input=True).train()
    opt = optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    x = shendu.from_numpy(rng.standard_normal((batch, 3, 32, 32), dtype=np.float32))
    t = shendu.from_numpy(rng.integers(0, 10, batch))

    def step() -> float:
        opt.zero_grad()
        loss = loss_fn(net(x), t)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def torch_train_step(batch: int, seed: int = 0) -> Callable[[], float]:
    import torch

    sys.path.insert(0, ROOT)
    from tests.models import torch_reference as ref

    torch.manual_seed(seed)
    net = ref.build("resnet18", num_classes=10, small_input=True).train()
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.standard_normal((batch, 3, 32, 32), dtype=np.float32))
    t = torch.from_numpy(rng.integers(0, 10, batch))

    def step() -> float:
        opt.zero_grad()
        loss = loss_fn(net(x), t)
        loss.backward()
        opt.step()
        return loss.item()

    return step


# ---- ImageNet-size forward passes ---------------------------------------------------------------


def shendu_forward(name: str, batch: int) -> Callable[[], object]:
    import shendu
    from shendu.models import get_model

    shendu.manual_seed(0)
    net = get_model(name).eval()
    x = shendu.from_numpy(np.random.default_rng(0).standard_normal((batch, 3, 224, 224), dtype=np.float32))

    def forward():
        with shendu.no_grad():
            return net(x)

    return forward


def torch_forward(name: str, batch: int) -> Callable[[], object]:
    import torch

    sys.path.insert(0, ROOT)
    from tests.models import torch_reference as ref

    net = ref.build(name).eval()
    x = torch.randn(batch, 3, 224, 224)

    def forward():
        with torch.no_grad():
            return net(x)

    return forward


# ---- timing -------------------------------------------------------------------------------------


def medians(fns: list[Callable[[], object]], repeats: int, warmup: int, settle: bool = False) -> list[float]:
    """Median wall time of each function; the functions take turns on every repeat.

    ``settle``: each turn starts with one untimed call. For short calls (a forward pass): after
    PyTorch's turn its OpenMP threads spin on for a while, and an idle shendu helper wakes
    slowly, so a call timed straight after the other library's is charged for it (a ResNet-18
    forward at 2 threads on 2 cores: ~15 % slower).
    """
    for f in fns:
        for _ in range(warmup):
            f()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for i, f in enumerate(fns):
            if settle:
                f()
            t0 = time.perf_counter()
            f()
            times[i].append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def row(net: str, threads: int, batch: int, s: float, t: float) -> str:
    return f"{net:<28} {threads:>7} {batch / s:>12,.1f} {batch / t:>12,.1f} {t / s:>7.2f}"


def run(threads: list[int], batch: int, steps: int, forwards: int, skip_forward: bool) -> None:
    import torch

    print(
        f"numpy {np.__version__}, torch {torch.__version__}, {cores()} cores, "
        f"load average {os.getloadavg()[0]:.1f}; median of {steps} training steps / {forwards} forwards"
    )
    head = f"{'net':<28} {'threads':>7} {'shendu img/s':>12} {'torch img/s':>12} {'ratio':>7}"
    print(head + "\n" + "-" * len(head), flush=True)
    s_step, t_step = shendu_train_step(batch), torch_train_step(batch)
    nets = [] if skip_forward else ["resnet18", "vgg11"]
    fwd = {name: (shendu_forward(name, 1), torch_forward(name, 1)) for name in nets}
    for n in threads:
        set_threads(n)
        s, t = medians([s_step, t_step], steps, warmup=1)
        print(row(f"ResNet-18 CIFAR step b{batch}", n, batch, s, t), flush=True)
        for name in nets:
            s, t = medians(list(fwd[name]), forwards, warmup=1, settle=True)
            print(row(f"{name} 224 forward b1", n, 1, s, t), flush=True)
    print("ratio = shendu images/s ÷ PyTorch images/s (1.00 = as fast)")


def memory_child(library: str, batch: int, steps: int, threads: int) -> None:
    set_threads(threads)
    step = (shendu_train_step if library == "shendu" else torch_train_step)(batch)
    for _ in range(steps):
        step()
    with open("/proc/self/status") as f:
        print(next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmHWM:")))


def peak_memory(batch: int, threads: int) -> None:
    print(f"\npeak RSS, 2 ResNet-18 CIFAR steps at batch {batch}, {threads} threads, fresh process:")
    for lib in ("shendu", "torch"):
        cmd = [sys.executable, __file__, "--memory-child", lib, "--batch", str(batch)]
        cmd += ["--threads", str(threads)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        print(f"  {lib:<7} {float(out.stdout.split()[-1]):8.0f} MiB", flush=True)


def parse_threads(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected thread counts like 1,2,4, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"thread counts must be positive, got {text!r}")
    return values


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=parse_threads, default=None, help="comma list (default: 1,all cores)")
    p.add_argument("--batch", type=int, default=128, help="training batch (default 128)")
    p.add_argument("--steps", type=int, default=3, help="timed training steps per library and thread count")
    p.add_argument("--forwards", type=int, default=3, help="timed 224×224 forward passes")
    p.add_argument("--no-forward", action="store_true", help="only the CIFAR training step")
    p.add_argument("--quick", action="store_true", help="batch 32, 2 steps, 2 forwards (a smoke run)")
    p.add_argument("--memory", action="store_true", help="also the peak RSS of each library's training")
    p.add_argument("--memory-child", choices=["shendu", "torch"], help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.quick:
        args.batch, args.steps, args.forwards = 32, 2, 2
    if args.memory_child:
        memory_child(args.memory_child, args.batch, 2, (args.threads or [cores()])[0])
        return
    threads = args.threads or sorted({1, cores()})
    run(threads, args.batch, args.steps, args.forwards, args.no_forward)
    if args.memory:
        peak_memory(args.batch, threads[-1])


if __name__ == "__main__":
    main()
