"""Training speed on an NVIDIA GPU: shendu (CuPy) beside PyTorch CUDA, the same networks in one run.

For each network: SGD (momentum 0.9) training steps on one fixed random batch already on the GPU
(forward, cross-entropy, backward, update), timed after warm-up steps with the GPU synchronised
before and after, so the figure is the training loop's own speed without data loading. Both
libraries use PyTorch's TF32 defaults (matmul off, convolutions on) unless ``--tf32`` says
otherwise; shendu's convolutions are im2col matrix products, so its "convolution" switch is
``shendu.backends.cudnn.allow_tf32`` applied to those products.

    python benchmarks/bench_gpu.py                        # LeNet, SimpleConvNet (batch 100), ResNet-18 (128)
    python benchmarks/bench_gpu.py --steps 50 --tf32 off  # full float32 everywhere
    python benchmarks/bench_gpu.py --models resnet18 --tf32 both --json out.json

Networks: LeNet and the book's SimpleConvNet (conv 30×5×5 → ReLU → pool 2 → 100 → ReLU → 10) on
1×28×28 MNIST-sized images, and the CIFAR-10 ResNet-18 (3×3 stem, no max-pool) on 3×32×32.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "src"), ROOT]

NETWORKS = {"lenet": (100, (1, 28, 28)), "simpleconvnet": (100, (1, 28, 28)), "resnet18": (128, (3, 32, 32))}


# ---- the networks in both libraries ---------------------------------------------------------------
def shendu_net(name: str):
    from shendu import nn
    from shendu.models import get_model

    if name == "lenet":
        return get_model("lenet")
    if name == "simpleconvnet":
        return nn.Sequential(
            nn.Conv2d(1, 30, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(30 * 12 * 12, 100), nn.ReLU(), nn.Linear(100, 10),
        )  # fmt: skip
    return get_model("resnet18", num_classes=10, small_input=True)


def torch_net(name: str):
    from torch import nn

    if name == "lenet":
        return nn.Sequential(
            nn.Conv2d(1, 20, 5), nn.MaxPool2d(2), nn.Conv2d(20, 50, 5), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(800, 500), nn.ReLU(), nn.Linear(500, 10),
        )  # fmt: skip
    if name == "simpleconvnet":
        return nn.Sequential(
            nn.Conv2d(1, 30, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(30 * 12 * 12, 100), nn.ReLU(), nn.Linear(100, 10),
        )  # fmt: skip
    from tests.models.torch_reference import RESNETS, ResNet

    block, layers = RESNETS["resnet18"]
    return ResNet(block, layers, num_classes=10, small_input=True)


# ---- timing -------------------------------------------------------------------------------------
def _time(step, sync, warmup: int, steps: int) -> float:
    for _ in range(warmup):
        step()
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return time.perf_counter() - start


def bench_shendu(name: str, batch: int, shape, warmup: int, steps: int, tf32: bool | None) -> float:
    import shendu
    import shendu.nn.functional as F
    from shendu import optim

    shendu.backends.cuda.matmul.allow_tf32 = False if tf32 is None else tf32  # None: PyTorch's defaults
    shendu.backends.cudnn.allow_tf32 = True if tf32 is None else tf32
    shendu.manual_seed(0)
    net = shendu_net(name).to("cuda").train()
    opt = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(0)
    x = shendu.tensor(rng.standard_normal((batch, *shape)).astype(np.float32), device="cuda")
    y = shendu.tensor(rng.integers(0, 10, batch), device="cuda")

    def step():
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return batch * steps / _time(step, shendu.cuda.synchronize, warmup, steps)


def bench_torch(name: str, batch: int, shape, warmup: int, steps: int, tf32: bool | None) -> float:
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False if tf32 is None else tf32
    torch.backends.cudnn.allow_tf32 = True if tf32 is None else tf32
    torch.manual_seed(0)
    torch.backends.cudnn.benchmark = True  # what a tuned PyTorch script does
    net = torch_net(name).cuda().train()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, *shape, device="cuda")
    y = torch.randint(0, 10, (batch,), device="cuda")

    def step():
        loss = torch.nn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return batch * steps / _time(step, torch.cuda.synchronize, warmup, steps)


def versions() -> dict[str, str]:
    import cupy
    import torch

    import shendu

    rt = cupy.cuda.runtime
    return {
        "gpu": shendu.cuda.get_device_name(),
        "cupy": cupy.__version__,
        "cuda_runtime": str(rt.runtimeGetVersion()),
        "cuda_driver": str(rt.driverGetVersion()),
        "torch": torch.__version__,
        "torch_cuda": str(torch.version.cuda),
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=list(NETWORKS), choices=list(NETWORKS))
    p.add_argument("--steps", type=int, default=30, help="timed training steps per network (default 30)")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first (CuPy compiles its kernels)")
    p.add_argument(
        "--tf32",
        choices=["default", "on", "off", "both"],
        default="default",
        help="default: PyTorch's (matmul off, convolutions on); on/off: both switches; both: default and off",
    )
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = p.parse_args(argv)

    import shendu

    if not shendu.cuda.is_available():
        print(
            "no GPU: shendu.cuda.is_available() is False (CuPy and an NVIDIA GPU are needed)", file=sys.stderr
        )
        return 1
    info = versions()
    print(" ".join(f"{k}={v}" for k, v in info.items()), flush=True)
    settings = {"default": [None], "on": [True], "off": [False], "both": [None, False]}[args.tf32]
    rows = []
    head = ("network", "batch", "TF32 (matmul/conv)", "shendu img/s", "torch img/s", "ratio")
    print(f"{head[0]:<14} {head[1]:>5} {head[2]:>19} {head[3]:>13} {head[4]:>12} {head[5]:>6}")
    for name in args.models:
        batch, shape = NETWORKS[name]
        for tf32 in settings:
            label = "off/on (default)" if tf32 is None else ("on/on" if tf32 else "off/off")
            s = bench_shendu(name, batch, shape, args.warmup, args.steps, tf32)
            t = bench_torch(name, batch, shape, args.warmup, args.steps, tf32)
            rows.append(
                {"network": name, "batch": batch, "tf32": label, "shendu": s, "torch": t, "ratio": s / t}
            )
            print(f"{name:<14} {batch:>5} {label:>19} {s:>13,.0f} {t:>12,.0f} {s / t:>6.2f}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"versions": info, "steps": args.steps, "results": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
