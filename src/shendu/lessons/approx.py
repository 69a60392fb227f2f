"""通用近似定理 — the universal approximation theorem, tried out.

One hidden layer with enough neurons can approximate any continuous function on a closed
interval as closely as we like. We fit f(x) = x³ + x² − x − 1 on [−2, 2]:

1. with one hidden layer of 6 tanh neurons, as the course does (and with 1 and 2 neurons, to see
   that too few neurons cannot bend the curve enough);
2. "wide and shallow" against "deep and thin" at a similar parameter count: one hidden layer of
   16 against two of 5 and three of 4 (about 50 parameters each).

Every network is ``shendu.models.mlp`` trained with ``shendu.optim.Adam`` on the mean squared
error (``F.mse_loss``), full batch, the same steps and learning rate for all. The targets are
standardised (divided by their standard deviation) so that tanh units start in their useful
range; losses are reported back in f's units. Deeper networks depend more on their random start,
so each network of the comparison is trained from 3 seeds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import shendu
import shendu.nn.functional as F
from shendu.lessons._i18n import tr
from shendu.lessons._plot import figure, lesson, save, start, table
from shendu.models import mlp
from shendu.optim import Adam

COURSE = [1, 6, 1]
WIDTHS = {"1 neuron": [1, 1, 1], "2 neurons": [1, 2, 1], "6 neurons (course)": COURSE}
SAME_BUDGET = {"wide: 1×16": [1, 16, 1], "2×5": [1, 5, 5, 1], "deep: 3×4": [1, 4, 4, 4, 1]}


def target(x: np.ndarray) -> np.ndarray:
    """f(x) = x³ + x² − x − 1."""
    return x**3 + x**2 - x - 1


def n_params(net) -> int:
    return sum(p.numel() for p in net.parameters())


def fit(sizes: list[int], x: np.ndarray, y: np.ndarray, steps: int, lr: float = 0.01, seed: int = 0) -> dict:
    """Train ``mlp(sizes, 'tanh')`` on (x, y / std y) with Adam, full batch.

    Returns the net, the loss per step and the final loss (both in y's units), the parameter count
    and ``predict(x)`` in y's units.
    """
    scale = float(y.std())
    shendu.manual_seed(seed)
    net = mlp(sizes, activation="tanh")
    opt = Adam(net.parameters(), lr=lr)
    xt, yt = shendu.tensor(x), shendu.tensor(y / np.float32(scale))
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.mse_loss(net(xt), yt)
        loss.backward()
        opt.step()
        losses.append(loss.item() * scale**2)
    with shendu.no_grad():
        final = F.mse_loss(net(xt), yt).item() * scale**2

    def predict(a: np.ndarray) -> np.ndarray:
        with shendu.no_grad():
            return net(shendu.tensor(a)).numpy().ravel() * scale

    return {"net": net, "losses": losses, "final": final, "params": n_params(net), "predict": predict}


@lesson
def run(out: str | Path | None = None, quick: bool = False, verbose: bool = True) -> dict:
    folder, say = start("approx", out, quick, verbose)
    steps = 2000 if quick else 3000
    x = np.linspace(-2, 2, 101 if quick else 201, dtype=np.float32)[:, None]
    y = target(x).astype(np.float32)
    variance = float(y.var())

    restarts = range(3)  # a small net can stop in a local minimum: keep the best restart
    fits, restart_finals = {}, {}
    for name, sizes in WIDTHS.items():
        tries = [fit(sizes, x, y, steps, seed=s) for s in restarts]
        restart_finals[name] = [t["final"] for t in tries]
        fits[name] = tries[int(np.argmin(restart_finals[name]))]
    rows = [
        [
            name,
            "-".join(map(str, s)),
            fits[name]["params"],
            fits[name]["final"],
            max(restart_finals[name]),
        ]
        for name, s in WIDTHS.items()
    ]
    ordered = all(
        fits[a]["final"] > fits[b]["final"] for a, b in zip(list(WIDTHS), list(WIDTHS)[1:], strict=False)
    )
    say(
        tr(
            f"通用近似定理：用 tanh 的 MLP 拟合 [−2, 2] 上的 f(x) = x³ + x² − x − 1（{len(x)} 个点，"
            f"f 的方差 {variance:.3f}），Adam 学习率 0.01，{steps} 步全批量，每个网络 {len(restarts)} "
            "次随机重启取最好：",
            f"Universal approximation: fit f(x) = x³ + x² − x − 1 on [−2, 2] ({len(x)} points, variance of "
            "f: "
            f"{variance:.3f}) with tanh MLPs, Adam lr 0.01, {steps} full-batch steps, best of "
            f"{len(restarts)} "
            "random restarts:",
        ),
        table(
            [
                tr("一个隐藏层", "one hidden layer"),
                tr("结构", "sizes"),
                tr("参数", "parameters"),
                tr("最好的 MSE", "best MSE"),
                tr("最差的重启", "worst restart"),
            ],
            rows,
            ".2e",
        ),
        tr(
            "   隐藏层神经元越多拟合越好：" if ordered else "   神经元更多并不总是更好：",
            "   More neurons in the hidden layer -> a closer fit: "
            if ordered
            else "   More neurons did not always help: ",
        )
        + ", ".join(f"{k} {fits[k]['final']:.3g}" for k in WIDTHS)
        + tr(
            "；最好与最差重启的差别说明小网络会停在局部极小值。",
            "; the gap between the best and worst restart shows small nets stopping in local minima.",
        ),
    )

    seeds = range(2 if quick else 3)
    budget = {}
    for name, sizes in SAME_BUDGET.items():
        runs = [fit(sizes, x, y, steps, seed=s) for s in seeds]
        finals = [r["final"] for r in runs]
        best = runs[int(np.argmin(finals))]
        fits[name] = best
        budget[name] = {
            "finals": finals,
            "best": min(finals),
            "median": float(np.median(finals)),
            "worst": max(finals),
        }
    rows = [
        [
            name,
            "-".join(map(str, SAME_BUDGET[name])),
            fits[name]["params"],
            b["best"],
            b["median"],
            b["worst"],
        ]
        for name, b in budget.items()
    ]
    # the conclusions are read off the numbers (they change with the seeds, so nothing is typed in)
    lowest = min(budget, key=lambda k: budget[k]["median"])
    spread = ", ".join(f"{k.split(':')[0]} {b['worst'] / b['best']:.1f}×" for k, b in budget.items())
    worst_share = max(b["worst"] for b in budget.values()) / variance
    say(
        "",
        f"Wide and shallow vs deep and thin, about the same number of parameters, seeds {list(seeds)}:",
        table(["network", "sizes", "parameters", "best MSE", "median", "worst"], rows, ".2e"),
        f"   Lowest median: {lowest}. Worst seed / best seed: {spread}.",
        f"   Every shape fits the curve, even from its worst seed (MSE ≤ {worst_share:.3%} of f's "
        "variance): on a",
        "   smooth 1-D curve one hidden layer is enough, as the theorem says, and depth is not needed; "
        "depth pays",
        "   off on functions built from repeated parts (images, speech), where it needs far fewer units.",
    )

    xs = np.linspace(-2, 2, 400, dtype=np.float32)[:, None]
    curves = {name: f["predict"](xs) for name, f in fits.items()}

    pngs = []
    for group, title, fname in [
        (WIDTHS, "One hidden layer: more neurons bend the curve better", "width.png"),
        (SAME_BUDGET, "Similar parameter count: wide and shallow vs deep and thin", "wide_vs_deep.png"),
    ]:
        fig, (a1, a3, a2) = figure(1, 3, size=(15, 4.3))
        a1.plot(xs, target(xs), color="k", lw=3, alpha=0.35, label="f(x) = x³ + x² − x − 1")
        for name in group:
            a1.plot(xs, curves[name], lw=1.6, label=f"{name} ({fits[name]['params']} params)")
            a3.plot(xs, curves[name] - target(xs).ravel(), lw=1.4, label=name)
            a2.semilogy(fits[name]["losses"], lw=1.4, label=f"{name}: final {fits[name]['final']:.1e}")
        a3.axhline(0, color="k", lw=0.8)
        a3.set(title="Error of the fit", xlabel="x", ylabel="network(x) − f(x)")
        a3.legend(fontsize=8)
        a3.grid(True, alpha=0.3)
        a2.set_title(
            f"Training loss (best of {len(seeds)} seeds)" if group is SAME_BUDGET else "Training loss"
        )
        a1.set(title="Fitted curves", xlabel="x", ylabel="f(x) and network output")
        a1.legend(fontsize=8)
        a1.grid(True, alpha=0.3)
        a2.set(xlabel="Adam step", ylabel="mean squared error (log scale)")
        a2.legend(fontsize=8)
        a2.grid(True, alpha=0.3)
        fig.suptitle(title)
        pngs.append(save(fig, folder, fname))
    say.figures(pngs)

    return {
        "steps": steps,
        "target_variance": variance,
        "final_loss": {name: f["final"] for name, f in fits.items()},
        "budget": budget,
        "restart_finals": restart_finals,
        "lowest_median": lowest,
        "params": {name: f["params"] for name, f in fits.items()},
        "sizes": {name: s for name, s in {**WIDTHS, **SAME_BUDGET}.items()},
        "pngs": pngs,
    }
