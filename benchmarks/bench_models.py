"""Model zoo benchmark: a forward pass of each ImageNet-size network on one 224×224 image.

For every network it prints shendu's images/second beside PyTorch CPU's on the same network
(built from torch.nn pieces after torchvision's layout, tests/models/torch_reference.py, since
torchvision is not installed here), and each library's peak resident memory. Each measurement runs
in its own subprocess, so a network's peak memory is its own, not the largest seen so far.

    python benchmarks/bench_models.py                       # all 15 networks
    python benchmarks/bench_models.py resnet18 vgg19 --repeat 5
    python benchmarks/bench_models.py --batch 8 resnet50    # images/s at batch 8
    python benchmarks/bench_models.py --threads 1  # both libraries on one core (fairer on a busy machine)

Weights are not initialised randomly (zeros do not change the cost of a forward pass), so the
run time is that of the forward passes, not of drawing 140 M random numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NETWORKS = [
    "alexnet",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
    "googlenet",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
]


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def measure_shendu(name: str, batch: int, repeat: int) -> dict:
    import numpy as np

    import shendu
    from shendu.models import get_model
    from shendu.nn import init

    for fn in ("uniform_", "normal_", "trunc_normal_", "kaiming_uniform_", "kaiming_normal_"):
        setattr(init, fn, lambda t, *a, **k: t.data.zero_() or t)  # zeros: same cost, no random draws
    net = get_model(name).eval()
    x = shendu.from_numpy(np.random.default_rng(0).standard_normal((batch, 3, 224, 224)).astype(np.float32))
    return _time(lambda: net(x), repeat, batch, shendu.no_grad)


def measure_torch(name: str, batch: int, repeat: int) -> dict:
    import torch

    if os.environ.get("BENCH_THREADS"):
        torch.set_num_threads(int(os.environ["BENCH_THREADS"]))

    sys.path.insert(0, ROOT)
    from tests.models import torch_reference as ref

    with torch.no_grad():
        net = ref.build(name).eval()
    x = torch.randn(batch, 3, 224, 224)
    return _time(lambda: net(x), repeat, batch, torch.no_grad)


def _time(forward, repeat: int, batch: int, no_grad) -> dict:
    with no_grad():
        t0 = time.perf_counter()
        forward()  # warm-up: first-touch of the weights, BLAS thread start
        first = time.perf_counter() - t0
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            forward()
            times.append(time.perf_counter() - t0)
    best = min(times)
    return {"images_per_s": batch / best, "seconds": best, "first_s": first, "peak_mib": peak_mib()}


def run_child(lib: str, name: str, batch: int, repeat: int, threads: int | None) -> dict:
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--child",
        lib,
        name,
        "--batch",
        str(batch),
        "--repeat",
        str(repeat),
    ]
    env = dict(os.environ)
    if threads:  # BLAS pools read these at start-up, hence a fresh process per measurement
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BENCH_THREADS"):
            env[var] = str(threads)
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("networks", nargs="*", default=NETWORKS)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--repeat", type=int, default=3, help="timed passes after one warm-up; the best counts")
    p.add_argument(
        "--threads", type=int, default=None, help="BLAS/torch threads for both libraries (default: theirs)"
    )
    p.add_argument("--no-torch", action="store_true", help="time shendu only")
    p.add_argument("--child", nargs=2, metavar=("LIB", "NET"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        lib, name = args.child
        result = (measure_shendu if lib == "shendu" else measure_torch)(name, args.batch, args.repeat)
        print(json.dumps(result))
        return

    threads = f"{args.threads} thread(s)" if args.threads else "default threads"
    print(
        f"forward pass, batch {args.batch} of 3×224×224, best of {args.repeat}, {threads}; "
        "peak = resident memory of the process"
    )
    head = (
        f"{'network':<11} {'shendu img/s':>12} {'torch img/s':>12} {'ratio':>7} "
        f"{'shendu peak MiB':>16} {'torch peak MiB':>15}"
    )
    print(head)
    print("-" * len(head))
    for name in args.networks:
        s = run_child("shendu", name, args.batch, args.repeat, args.threads)
        t = {} if args.no_torch else run_child("torch", name, args.batch, args.repeat, args.threads)
        if "error" in s:
            print(f"{name:<11} shendu failed: {s['error']}")
            continue
        ratio = f"{s['images_per_s'] / t['images_per_s']:.2f}" if "images_per_s" in t else "--"
        t_ips = f"{t['images_per_s']:.2f}" if "images_per_s" in t else "--"
        t_mem = f"{t['peak_mib']:.0f}" if "peak_mib" in t else "--"
        print(
            f"{name:<11} {s['images_per_s']:>12.2f} {t_ips:>12} {ratio:>7} "
            f"{s['peak_mib']:>16.0f} {t_mem:>15}",
            flush=True,
        )
    print("ratio = shendu throughput / PyTorch CPU throughput (1.00 = as fast)")


if __name__ == "__main__":
    main()
