"""What the autograd machinery costs in a training step: the backward ordering (dependency counts),
the per-op bookkeeping of ``Function.apply`` (views, version counters) and the rest.

    python benchmarks/bench_engine.py                  # SimpleConvNet, LeNet, a 40-op-per-layer MLP
    python benchmarks/bench_engine.py --threads 1

For each network it times a full step (forward + backward, CPU time of this process, median of
``--repeats``), the backward ordering alone on the same graph, and the same step with the graph
bookkeeping of views switched off (``_register_view`` replaced by a no-op): the two differences,
as a share of the step, bound how much the engine and the in-place/view tracking can slow
training. Run it on a quiet machine; CPU time keeps other processes out of the figure.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import shendu
import shendu.nn.functional as F
from shendu.autograd import engine, function


def _params(shapes: dict[str, tuple[int, ...]], rng: np.random.Generator) -> dict[str, shendu.Tensor]:
    return {
        k: shendu.tensor(rng.standard_normal(s).astype(np.float32) * 0.05, requires_grad=True)
        for k, s in shapes.items()
    }


def simple_convnet(p, x):
    h = F.max_pool2d(F.relu(F.conv2d(x, p["w1"], p["b1"])), 2)
    h = F.relu(F.linear(h.reshape(h.shape[0], -1), p["w2"], p["b2"]))
    return F.linear(h, p["w3"], p["b3"])


def lenet(p, x):
    h = F.max_pool2d(F.sigmoid(F.conv2d(x, p["w1"], p["b1"], padding=2)), 2)
    h = F.max_pool2d(F.sigmoid(F.conv2d(h, p["w2"], p["b2"])), 2)
    h = F.sigmoid(F.linear(h.reshape(h.shape[0], -1), p["w3"], p["b3"]))
    h = F.sigmoid(F.linear(h, p["w4"], p["b4"]))
    return F.linear(h, p["w5"], p["b5"])


def residual_mlp(p, x):
    """Many small ops per layer (pre-norm residual blocks written by hand): engine-bound."""
    h = x.reshape(x.shape[0], -1) @ p["win"]
    for i in range(6):
        c = h - h.mean(1, keepdim=True)
        n = c / ((c * c).mean(1, keepdim=True) + 1e-5).sqrt()
        h = h + F.relu(n @ p[f"w{i}"]) * h.sigmoid()
    return h @ p["wout"]


NETS = {
    "SimpleConvNet": (
        simple_convnet,
        {"w1": (30, 1, 5, 5), "b1": (30,), "w2": (100, 4320), "b2": (100,), "w3": (10, 100), "b3": (10,)},
    ),
    "LeNet": (
        lenet,
        {
            "w1": (6, 1, 5, 5),
            "b1": (6,),
            "w2": (16, 6, 5, 5),
            "b2": (16,),
            "w3": (120, 400),
            "b3": (120,),
            "w4": (84, 120),
            "b4": (84,),
            "w5": (10, 84),
            "b5": (10,),
        },
    ),
    "residual MLP": (
        residual_mlp,
        {"win": (784, 64), **{f"w{i}": (64, 64) for i in range(6)}, "wout": (64, 10)},
    ),
}


def _median_cpu(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times)


def measure(name: str, repeats: int) -> tuple[float, float, float]:
    net, shapes = NETS[name]
    rng = np.random.default_rng(0)
    p = _params(shapes, rng)
    x = shendu.tensor(rng.standard_normal((100, 1, 28, 28)).astype(np.float32))
    y = shendu.tensor(rng.integers(0, 10, 100))

    def step() -> None:
        loss = F.cross_entropy(net(p, x), y)
        loss.backward()
        for t in p.values():
            t.grad = None

    full = _median_cpu(step, repeats)

    def order_only() -> None:
        loss = F.cross_entropy(net(p, x), y)
        t0 = time.process_time()
        engine._topological_order([loss._ctx])
        order_only.seconds = time.process_time() - t0  # type: ignore[attr-defined]

    order_times = []
    for _ in range(repeats):
        order_only()
        order_times.append(order_only.seconds)  # type: ignore[attr-defined]
    real = function._register_view
    function._register_view = lambda *a, **k: None  # type: ignore[assignment]
    try:
        no_views = _median_cpu(step, repeats)
    finally:
        function._register_view = real
    return full, statistics.median(order_times), no_views


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--threads", type=int, default=None, help="shendu.set_num_threads (default: all cores)")
    args = ap.parse_args()
    if args.threads:
        shendu.set_num_threads(args.threads)
    print(f"threads {shendu.get_num_threads()}, batch 100, CPU ms per step (median of {args.repeats})")
    print(f"{'network':16} {'step':>8} {'ordering':>9} {'share':>6} {'no view tracking':>17} {'share':>6}")
    for name in NETS:
        full, order, no_views = measure(name, args.repeats)
        print(
            f"{name:16} {full * 1e3:8.2f} {order * 1e3:9.3f} {order / full:6.1%} "
            f"{no_views * 1e3:17.2f} {(full - no_views) / full:6.1%}"
        )


if __name__ == "__main__":
    main()
