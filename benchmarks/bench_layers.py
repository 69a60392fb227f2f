"""Speed of shendu's layers and training steps against PyTorch CPU, measured in the same run.

    python benchmarks/bench_layers.py                     # layer and training-step tables, all cores
    python benchmarks/bench_layers.py --threads 1,2,4,8   # the same for each thread count
    python benchmarks/bench_layers.py --threads 1,16 --steps-only   # only the training-step table
    python benchmarks/bench_layers.py --memory            # also the peak RSS of a SimpleConvNet epoch
    python benchmarks/bench_layers.py --ceiling 2         # what 2 cores give work that shares nothing

Each timing is the median over ``--repeats`` rounds of three back-to-back runs after a warm-up;
shendu and PyTorch take turns a round at a time, so both see the same machine. For every thread
count both libraries are set to it (``shendu.set_num_threads``, ``torch.set_num_threads``). On a
busy machine (see the load average printed) the multi-thread figures turn to noise. The layer
tables give times and shendu's time over PyTorch's; the final training-step table gives images/s
and shendu ÷ PyTorch throughput.
The networks are written with the functional API and plain parameter arrays, so the script needs nothing above
``shendu.nn.functional``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from functools import partial
from typing import Any, Callable

import numpy as np

import shendu
import shendu.nn.functional as F

BATCH = 100


# ---- the two networks, one definition per library ------------------------------------------


def simple_convnet_shapes() -> dict[str, tuple[int, ...]]:
    """conv 30×5×5 → ReLU → maxpool 2 → Linear 4320→100 → ReLU → Linear 100→10."""
    return {"w1": (30, 1, 5, 5), "b1": (30,), "w2": (100, 4320), "b2": (100,), "w3": (10, 100), "b3": (10,)}


def lenet_shapes() -> dict[str, tuple[int, ...]]:
    """conv 20×5×5 → maxpool 2 → conv 50×5×5 → maxpool 2 → Linear 800→500 → ReLU → Linear 500→10."""
    return {
        "w1": (20, 1, 5, 5),
        "b1": (20,),
        "w2": (50, 20, 5, 5),
        "b2": (50,),
        "w3": (500, 800),
        "b3": (500,),
        "w4": (10, 500),
        "b4": (10,),
    }


def init_params(shapes: dict[str, tuple[int, ...]], seed: int = 0) -> dict[str, np.ndarray]:
    """He-scaled normal weights and zero biases, float32 (the same numbers for both libraries)."""
    rng = np.random.default_rng(seed)
    params = {}
    for name, shape in shapes.items():
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        scale = np.sqrt(2.0 / fan_in) if len(shape) > 1 else 0.0
        params[name] = (rng.standard_normal(shape) * scale).astype(np.float32)
    return params


def simple_convnet(F, p, x):  # noqa: N803  (F is either library's functional module)
    h = F.max_pool2d(F.relu(F.conv2d(x, p["w1"], p["b1"])), 2)
    h = F.relu(F.linear(h.reshape(x.shape[0], -1), p["w2"], p["b2"]))
    return F.linear(h, p["w3"], p["b3"])


def lenet(F, p, x):  # noqa: N803  (the course's LeNet: no ReLU after the convolutions)
    h = F.max_pool2d(F.conv2d(x, p["w1"], p["b1"]), 2)
    h = F.max_pool2d(F.conv2d(h, p["w2"], p["b2"]), 2)
    h = F.relu(F.linear(h.reshape(x.shape[0], -1), p["w3"], p["b3"]))
    return F.linear(h, p["w4"], p["b4"])


NETWORKS = {"SimpleConvNet": (simple_convnet, simple_convnet_shapes), "LeNet": (lenet, lenet_shapes)}


# ---- one training step -------------------------------------------------------------------------


def shendu_step(
    net, params: dict[str, shendu.Tensor], lr: float = 0.01
) -> Callable[[np.ndarray, np.ndarray], float]:
    def step(x: np.ndarray, t: np.ndarray) -> float:
        loss = F.cross_entropy(net(F, params, shendu.from_numpy(x)), shendu.from_numpy(t))
        for p in params.values():
            p.grad = None
        loss.backward()
        for p in params.values():
            p.data -= lr * p.grad.data  # plain SGD
        return loss.item()

    return step


def torch_step(net, params, lr: float = 0.01):
    import torch
    import torch.nn.functional as TF

    def step(x: np.ndarray, t: np.ndarray) -> float:
        loss = TF.cross_entropy(net(TF, params, torch.from_numpy(x)), torch.from_numpy(t))
        for p in params.values():
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params.values():
                p -= lr * p.grad
        return loss.item()

    return step


def make_steps(name: str):
    import torch

    net, shapes = NETWORKS[name]
    init = init_params(shapes())
    s_params = {k: shendu.tensor(v, requires_grad=True) for k, v in init.items()}
    t_params = {k: torch.tensor(v, requires_grad=True) for k, v in init.items()}
    return shendu_step(net, s_params), torch_step(net, t_params)


# ---- layer forward + backward ------------------------------------------------------------------


def layer_cases():
    """(name, shapes of the float inputs, shendu fn, torch fn) at the networks' sizes."""
    import torch.nn.functional as TF

    labels = np.random.default_rng(1).integers(0, 10, BATCH)
    return [
        ("conv2d 1→30 5×5, 28×28", [(BATCH, 1, 28, 28), (30, 1, 5, 5), (30,)], F.conv2d, TF.conv2d),
        ("conv2d 20→50 5×5, 12×12", [(BATCH, 20, 12, 12), (50, 20, 5, 5), (50,)], F.conv2d, TF.conv2d),
        (
            "max_pool2d 2, 30×24×24",
            [(BATCH, 30, 24, 24)],
            lambda x: F.max_pool2d(x, 2),
            lambda x: TF.max_pool2d(x, 2),
        ),
        (
            "max_pool2d 3/2, 64×27×27",
            [(BATCH, 64, 27, 27)],
            lambda x: F.max_pool2d(x, 3, 2),
            lambda x: TF.max_pool2d(x, 3, 2),
        ),
        (
            "avg_pool2d 2, 30×24×24",
            [(BATCH, 30, 24, 24)],
            lambda x: F.avg_pool2d(x, 2),
            lambda x: TF.avg_pool2d(x, 2),
        ),
        (
            "adaptive_avg_pool2d 1, 512×7×7",
            [(BATCH, 512, 7, 7)],  # the ResNet head
            lambda x: F.adaptive_avg_pool2d(x, 1),
            lambda x: TF.adaptive_avg_pool2d(x, 1),
        ),
        ("linear 4320→100", [(BATCH, 4320), (100, 4320), (100,)], F.linear, TF.linear),
        ("relu 30×24×24", [(BATCH, 30, 24, 24)], F.relu, TF.relu),
        (
            "cross_entropy 10 classes",
            [(BATCH, 10)],
            lambda x: F.cross_entropy(x, shendu.from_numpy(labels)),
            lambda x: TF.cross_entropy(x, __import__("torch").from_numpy(labels)),
        ),
    ]


def fwd_bwd(fn, tensors, make_grad):
    def run():
        for t in tensors:
            t.grad = None
        y = fn(*tensors)
        y.backward(make_grad(y))

    return run


# ---- timing ------------------------------------------------------------------------------------


def best_of(
    fns: list[Callable[[], object]], repeats: int, warmup: int = 3, block: int = 3, raw: bool = False
) -> list[Any]:
    """Median wall time of each function over ``repeats`` rounds of ``block`` timed calls each
    (with ``raw``: every time, not the median).

    The functions take turns a block at a time, so both see the same machine; a block runs its
    calls back to back, as training does, after one untimed call. Turns of single calls would
    charge each library for the other's idle threads: PyTorch's OpenMP threads spin on after a
    parallel region (slowing shendu's 2-thread step by ~25% on 2 cores), and a helper thread
    idle for a whole foreign step wakes slowly.
    """
    for f in fns:
        for _ in range(warmup):
            f()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for i, f in enumerate(fns):
            f()
            for _ in range(block):
                t0 = time.perf_counter()
                f()
                times[i].append(time.perf_counter() - t0)
    return times if raw else [statistics.median(t) for t in times]


def row(name: str, s: float, t: float, per_image: bool) -> str:
    ips = f"{BATCH / s:>10,.0f} {BATCH / t:>10,.0f}" if per_image else f"{'':>10} {'':>10}"
    return f"{name:<31} {s * 1e3:>9.2f} {t * 1e3:>9.2f} {ips} {s / t:>7.2f}"


def set_threads(n: int) -> None:
    """Both libraries to ``n`` threads (shendu's setting also owns NumPy's BLAS)."""
    import torch

    torch.set_num_threads(n)
    if hasattr(shendu, "set_num_threads"):
        shendu.set_num_threads(n)
    else:  # an older shendu: only its BLAS is threaded
        from threadpoolctl import threadpool_limits

        threadpool_limits(n, user_api="blas")


def cols(a: str, b: str) -> str:
    return f"{'shendu ms':>9} {'torch ms':>9} {a:>10} {b:>10} {'ratio':>7}"


def layer_table(repeats: int, rng: np.random.Generator) -> None:
    import torch

    print(f"{'forward + backward':<31} " + cols("", ""))
    for name, shapes, s_fn, t_fn in layer_cases():
        arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
        s_in = [shendu.tensor(a, requires_grad=True) for a in arrays]
        t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
        s_run = fwd_bwd(s_fn, s_in, lambda y: np.ones(y.shape, np.float32))
        t_run = fwd_bwd(t_fn, t_in, torch.ones_like)
        s, t = best_of([s_run, t_run], repeats)
        print(row(name, s, t, per_image=False), flush=True)


def run_tables(repeats: int, threads: list[int], steps_only: bool) -> None:
    import torch

    rng = np.random.default_rng(0)
    print(
        f"numpy {np.__version__}, torch {torch.__version__}, median of {repeats} rounds × 3 steps, "
        f"batch {BATCH}, load average {os.getloadavg()[0]:.1f} on {cores()} cores\n"
    )
    if not steps_only:
        for n in threads:
            set_threads(n)
            print(f"---- {n} thread(s)")
            layer_table(repeats, rng)
            print()
    step_table(repeats, threads, rng)


def step_table(repeats: int, threads: list[int], rng: np.random.Generator) -> None:
    """Training-step throughput for every thread count, the counts taking turns within each round
    (so a machine that is slower for a while slows every count alike, not the last one measured)."""
    x = rng.standard_normal((BATCH, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, BATCH)
    steps = {name: make_steps(name) for name in NETWORKS}
    fns = {
        (n, name, lib): partial(step, x, labels)
        for n in threads
        for name, pair in steps.items()
        for lib, step in zip(("shendu", "torch"), pair, strict=True)
    }
    times: dict[tuple[int, str, str], list[float]] = {key: [] for key in fns}
    for round_ in range(repeats + 1):  # round 0 warms up
        for n in threads:
            set_threads(n)
            for key in (key for key in fns if key[0] == n):
                if round_ == 0:
                    best_of([fns[key]], 0, raw=True)
                else:
                    times[key] += best_of([fns[key]], 1, warmup=0, raw=True)[0]
    median = {key: statistics.median(t) for key, t in times.items()}
    head = f"{'net':<14} {'threads':>7} {'shendu img/s':>12} {'torch img/s':>12} {'ratio':>7}"
    head += f" {'shendu ×':>9} {'torch ×':>8}"
    print("training step, images/second (ratio = shendu ÷ PyTorch throughput; × = speed-up over")
    print(f"{threads[0]} thread(s))")
    print(head + "\n" + "-" * len(head))
    for n in threads:
        for name in NETWORKS:
            s, t = median[(n, name, "shendu")], median[(n, name, "torch")]
            s0, t0 = median[(threads[0], name, "shendu")], median[(threads[0], name, "torch")]
            print(
                f"{name:<14} {n:>7} {BATCH / s:>12,.0f} {BATCH / t:>12,.0f} {t / s:>7.2f} "
                f"{s0 / s:>9.2f} {t0 / t:>8.2f}",
                flush=True,
            )


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def parse_threads(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected thread counts like 1,2,4, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"thread counts must be positive, got {text!r}")
    return values


# ---- the machine's own ceiling -----------------------------------------------------------------


def ceiling(procs: int, seconds: float) -> None:
    """What the machine gives ``procs``-way work that shares nothing: ``procs`` one-thread
    processes train the same steps at the same time, against one process alone (run before and
    after). A thread count's speed-up in the table above can at best reach this; where it falls
    short, the loss is in the threads (the GIL, the serial parts), not in the cores or memory."""
    print(f"\n{procs} one-thread processes at once against one alone, {seconds:g} s each, images/second:")
    head = f"{'net':<14} {'library':<7} {'alone':>8} {'each of ' + str(procs):>10} {'ceiling ×':>10}"
    print(head + "\n" + "-" * len(head))
    for name in NETWORKS:
        for lib in ("shendu", "torch"):
            alone = [_ceiling_children(name, lib, 1, seconds)[0] for _ in range(2)]
            together = _ceiling_children(name, lib, procs, seconds)
            each, base = statistics.mean(together), statistics.mean(alone)
            gain = procs * each / base
            print(f"{name:<14} {lib:<7} {base:>8,.0f} {each:>10,.0f} {gain:>10.2f}", flush=True)


def _ceiling_children(name: str, lib: str, n: int, seconds: float) -> list[float]:
    """Images/s of n child processes that each train ``name`` with ``lib`` on one thread for
    ``seconds``, all starting the timed part at the same moment (after their imports)."""
    start = time.time() + 6.0  # time for every child to import its library and warm up
    cmd = [sys.executable, __file__, "--ceiling-child", name, lib, str(start), str(seconds)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    children = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env) for _ in range(n)]
    return [float(child.communicate()[0].split()[-1]) for child in children]


def ceiling_child(name: str, lib: str, start: float, seconds: float) -> None:
    set_threads(1)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, BATCH)
    step = make_steps(name)[0 if lib == "shendu" else 1]
    for _ in range(3):
        step(x, labels)
    time.sleep(max(0.0, start - time.time()))
    t0, images = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        step(x, labels)
        images += BATCH
    print(images / (time.perf_counter() - t0))


# ---- memory ------------------------------------------------------------------------------------


def epoch_peak_rss(library: str, images: int = 5000) -> float:
    """Peak resident memory (MiB) of a fresh process that trains one SimpleConvNet epoch."""
    out = subprocess.run(
        [sys.executable, __file__, "--epoch-child", library, "--images", str(images)],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def epoch_child(library: str, images: int) -> None:
    rng = np.random.default_rng(0)
    data = rng.standard_normal((images, 1, 28, 28), dtype=np.float32)
    labels = rng.integers(0, 10, images)
    if library == "shendu":
        params = {
            k: shendu.tensor(v, requires_grad=True) for k, v in init_params(simple_convnet_shapes()).items()
        }
        step = shendu_step(simple_convnet, params)
    else:
        import torch

        params = {
            k: torch.tensor(v, requires_grad=True) for k, v in init_params(simple_convnet_shapes()).items()
        }
        step = torch_step(simple_convnet, params)
    for i in range(0, images, BATCH):
        step(data[i : i + BATCH], labels[i : i + BATCH])
    print(peak_rss_mib())


def peak_rss_mib() -> float:
    """This process's peak resident memory in MiB.

    Linux's ``getrusage`` maxrss survives ``exec``: a child forked from a parent that had
    imported PyTorch would report the parent's peak. VmHWM in /proc counts this program only.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024  # bytes on macOS, KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10, help="timed runs per case (the median is shown)")
    parser.add_argument(
        "--threads", type=parse_threads, default=None, help="comma list of thread counts (default: all cores)"
    )
    parser.add_argument("--steps-only", action="store_true", help="only the training-step table")
    parser.add_argument(
        "--memory", action="store_true", help="also measure peak RSS of a SimpleConvNet epoch"
    )
    parser.add_argument("--no-speed", action="store_true", help="skip the timing tables")
    parser.add_argument(
        "--ceiling",
        type=int,
        metavar="P",
        help="also run P one-thread processes at once against one alone: the speed-up the machine "
        "itself gives work that shares nothing (the bound for P threads)",
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="timed seconds per --ceiling run")
    parser.add_argument("--ceiling-child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--epoch-child", choices=["shendu", "torch"], help=argparse.SUPPRESS)
    parser.add_argument("--images", type=int, default=5000, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.epoch_child:
        epoch_child(args.epoch_child, args.images)
        return
    if args.ceiling_child:
        name, lib, start, seconds = args.ceiling_child
        ceiling_child(name, lib, float(start), float(seconds))
        return
    if not args.no_speed:
        run_tables(args.repeats, args.threads or [cores()], args.steps_only)
    if args.ceiling:
        ceiling(args.ceiling, args.seconds)
    if args.memory:
        print(
            f"\npeak RSS, one SimpleConvNet epoch ({args.images} images of 28×28, batch {BATCH}, "
            "fresh process):"
        )
        for lib in ("shendu", "torch"):
            print(f"  {lib:<7} {epoch_peak_rss(lib, args.images):7.1f} MiB")


if __name__ == "__main__":
    main()
