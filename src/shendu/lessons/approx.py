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
so each network of the comparison is trained from 3 seeds. Every conclusion printed is read off
the numbers (``conclusions``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import shendu
import shendu.nn.functional as F
from shendu.lessons._i18n import tr
from shendu.lessons._plot import figure, make_run, save, table
from shendu.models import mlp
from shendu.optim import Adam

GRID = np.linspace(-2, 2, 400, dtype=np.float32)[:, None]  # where the fitted curves are drawn
COURSE = [1, 6, 1]
WIDTHS = {"1 neuron": [1, 1, 1], "2 neurons": [1, 2, 1], "6 neurons (course)": COURSE}
SAME_BUDGET = {"wide: 1×16": [1, 16, 1], "2×5": [1, 5, 5, 1], "deep: 3×4": [1, 4, 4, 4, 1]}


def target(x: np.ndarray) -> np.ndarray:
    """f(x) = x³ + x² − x − 1."""
    return x**3 + x**2 - x - 1


def n_params(net) -> int:
    return sum(p.numel() for p in net.parameters())


LR = 0.03
RESTARTS = 3
GOOD = 0.01  # "fits the curve": an MSE below 1% of f's variance (about 5.9)


def fit(sizes: list[int], x: np.ndarray, y: np.ndarray, steps: int, lr: float = LR, seed: int = 0) -> dict:
    """Train ``mlp(sizes, 'tanh')`` on (x, y / std y) with Adam, full batch.

    Returns the loss per step and the final loss (both in y's units), the parameter count and the
    fitted curve on ``GRID`` in y's units.
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
        curve = net(shendu.tensor(GRID)).numpy().ravel() * scale
    return {"losses": losses, "final": final, "params": n_params(net), "curve": curve.tolist()}


def label(name: str) -> str:
    """A network's name in the lesson's language (the keys stay English: tests and code use them)."""
    return {
        "1 neuron": tr("1 个神经元", "1 neuron"),
        "2 neurons": tr("2 个神经元", "2 neurons"),
        "6 neurons (course)": tr("6 个神经元（课程）", "6 neurons (course)"),
        "wide: 1×16": tr("宽：1×16", "wide: 1×16"),
        "2×5": "2×5",
        "deep: 3×4": tr("深：3×4", "deep: 3×4"),
    }[name]


def best_of(sizes: list[int], x: np.ndarray, y: np.ndarray, steps: int, seeds: range) -> dict:
    """Fit from each seed; the best run, with every seed's final MSE under ``finals``."""
    runs = [fit(sizes, x, y, steps, seed=s) for s in seeds]
    finals = [r["final"] for r in runs]
    return {**runs[int(np.argmin(finals))], "finals": finals}


def compute(quick: bool = False) -> dict:
    """Fit every network of both comparisons; the numbers the lesson prints and draws."""
    steps = 600 if quick else 1000
    x = np.linspace(-2, 2, 101 if quick else 201, dtype=np.float32)[:, None]
    y = target(x).astype(np.float32)
    widths = {name: best_of(sizes, x, y, steps, range(RESTARTS)) for name, sizes in WIDTHS.items()}
    seeds = range(2 if quick else 3)
    shapes = {name: best_of(sizes, x, y, steps, seeds) for name, sizes in SAME_BUDGET.items()}
    fits = {**widths, **shapes}
    r = {
        "steps": steps,
        "n_points": len(x),
        "target_variance": float(y.var()),
        "seeds": list(seeds),
        "grid": GRID.ravel().tolist(),
        "fits": fits,
        "final_loss": {name: f["final"] for name, f in fits.items()},
        "restart_finals": {name: f["finals"] for name, f in widths.items()},
        "budget": {
            name: {
                "finals": f["finals"],
                "best": min(f["finals"]),
                "median": float(np.median(f["finals"])),
                "worst": max(f["finals"]),
            }
            for name, f in shapes.items()
        },
        "params": {name: f["params"] for name, f in fits.items()},
        "sizes": {**WIDTHS, **SAME_BUDGET},
    }
    r.update(conclusions(r))
    return r


def conclusions(r: dict) -> dict:
    """What the numbers say: whether more neurons fit better, which shape has the lowest median, and
    which shapes fit the curve (MSE below ``GOOD`` × variance) from their best and from their worst seed."""
    loss, var = r["final_loss"], r["target_variance"]
    names = list(WIDTHS)
    b = r["budget"]
    return {
        "ordered": all(loss[a] > loss[c] for a, c in zip(names, names[1:], strict=False)),
        "lowest_median": min(b, key=lambda k: b[k]["median"]),
        "fit_best": [k for k in b if b[k]["best"] < GOOD * var],
        "fit_worst": [k for k in b if b[k]["worst"] < GOOD * var],
        "restart_spread": {k: max(v) / min(v) for k, v in r["restart_finals"].items()},
    }


def report(r: dict) -> list[str]:
    loss, var = r["final_loss"], r["target_variance"]
    rows = [
        [label(name), "-".join(map(str, s)), r["params"][name], loss[name], max(r["restart_finals"][name])]
        for name, s in WIDTHS.items()
    ]
    spread = r["restart_spread"]
    # a restart "stuck" in a worse minimum: its MSE differs from the best by over 0.1% of f's variance
    stuck = [k for k, v in r["restart_finals"].items() if max(v) - min(v) > 0.1 * GOOD * var]
    lines = [
        tr(
            f"通用近似定理：用 tanh 的 MLP 拟合 [−2, 2] 上的 f(x) = x³ + x² − x − 1（{r['n_points']} 个点，"
            f"f 的方差 {var:.3f}），Adam 学习率 {LR}，{r['steps']} 步全批量，每个网络 {RESTARTS} "
            "次随机重启取最好：",
            f"Universal approximation: fit f(x) = x³ + x² − x − 1 on [−2, 2] ({r['n_points']} points, "
            f"variance of f: {var:.3f}) with tanh MLPs, Adam lr {LR}, {r['steps']} full-batch steps, best of "
            f"{RESTARTS} random restarts:",
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
            "   隐藏层神经元越多拟合越好：" if r["ordered"] else "   神经元更多并不总是更好：",
            "   More neurons in the hidden layer -> a closer fit: "
            if r["ordered"]
            else "   More neurons did not always help: ",
        )
        + tr("，", ", ").join(f"{label(k)} {loss[k]:.3g}" for k in WIDTHS)
        + (
            tr(
                "；"
                + "、".join(f"{label(k)} 的最差重启是最好的 {spread[k]:.1f} 倍" for k in stuck)
                + "：小网络会停在局部极小值，随机重启能跳出来。",
                "; "
                + ", ".join(f"{label(k)}: worst restart {spread[k]:.1f}× the best" for k in stuck)
                + ": small nets stop in local minima, random restarts get out of them.",
            )
            if stuck
            else tr("；各次重启结果相近。", "; the restarts agree.")
        ),
    ]
    b = r["budget"]
    rows = [
        [
            label(name),
            "-".join(map(str, SAME_BUDGET[name])),
            r["params"][name],
            v["best"],
            v["median"],
            v["worst"],
        ]
        for name, v in b.items()
    ]
    ratio = tr("，", ", ").join(f"{label(k)} {v['worst'] / v['best']:.1f}×" for k, v in b.items())
    lines += [
        "",
        tr(
            f"宽而浅与深而窄，参数量相近，随机种子 {r['seeds']}：",
            f"Wide and shallow vs deep and thin, about the same number of parameters, seeds {r['seeds']}:",
        ),
        table(
            [
                tr("网络", "network"),
                tr("结构", "sizes"),
                tr("参数", "parameters"),
                tr("最好的 MSE", "best MSE"),
                tr("中位数", "median"),
                tr("最差", "worst"),
            ],
            rows,
            ".2e",
        ),
        tr(
            f"   中位数最低：{label(r['lowest_median'])}。最差种子 / 最好种子：{ratio}。",
            f"   Lowest median: {label(r['lowest_median'])}. Worst seed / best seed: {ratio}.",
        ),
    ]
    good = f"{GOOD:.0%}"
    if len(r["fit_best"]) == len(b):
        worst = r["fit_worst"]
        lines.append(
            tr(
                f"   每种结构最好的一次都拟合得很好（MSE < f 方差的 {good}），"
                + (
                    "连最差的种子也是"
                    if len(worst) == len(b)
                    else "最差的种子里 " + ("、".join(label(k) for k in b if k not in worst)) + " 没做到"
                )
                + "：对一维的光滑曲线，一个隐藏层就够了，正如定理所说；深度的好处在由重复部件组成的函数上"
                "（图像、语音），那里深网络用的单元少得多。",
                f"   Every shape's best run fits the curve (MSE < {good} of f's variance)"
                + (
                    ", even from its worst seed"
                    if len(worst) == len(b)
                    else "; from the worst seed "
                    + ", ".join(label(k) for k in b if k not in worst)
                    + " did not"
                )
                + ": on a smooth 1-D curve one hidden layer is enough, as the theorem says; depth pays off "
                "on functions built from repeated parts (images, speech), where it needs far fewer units.",
            )
        )
    else:
        missing = [k for k in b if k not in r["fit_best"]]
        lines.append(
            tr(
                "   "
                + "、".join(label(k) for k in missing)
                + f" 即使最好的一次也没拟合好（MSE ≥ f 方差的 {good}）：多训练几步或多试几个种子。",
                "   "
                + ", ".join(label(k) for k in missing)
                + f" did not fit the curve even at best (MSE ≥ {good} of f's "
                "variance): train longer or try more seeds.",
            )
        )
    return lines


def draw(r: dict, folder: Path) -> list[str]:
    xs = np.array(r["grid"])
    f = target(xs)
    pngs = []
    for group, title, fname in [
        (
            WIDTHS,
            tr(
                "一个隐藏层：神经元越多，曲线弯得越好", "One hidden layer: more neurons bend the curve better"
            ),
            "width.png",
        ),
        (
            SAME_BUDGET,
            tr("参数量相近：宽而浅与深而窄", "Similar parameter count: wide and shallow vs deep and thin"),
            "wide_vs_deep.png",
        ),
    ]:
        fig, (a1, a3, a2) = figure(1, 3, size=(15, 4.3))
        a1.plot(xs, f, color="k", lw=3, alpha=0.35, label="f(x) = x³ + x² − x − 1")
        for name in group:
            fit_ = r["fits"][name]
            a1.plot(
                xs,
                fit_["curve"],
                lw=1.6,
                label=tr(f"{label(name)}（{fit_['params']} 个参数）", f"{name} ({fit_['params']} params)"),
            )
            a3.plot(xs, np.array(fit_["curve"]) - f, lw=1.4, label=label(name))
            a2.semilogy(
                fit_["losses"],
                lw=1.4,
                label=tr(f"{label(name)}：最终 {fit_['final']:.1e}", f"{name}: final {fit_['final']:.1e}"),
            )
        a3.axhline(0, color="k", lw=0.8)
        a1.set(
            title=tr("拟合的曲线", "Fitted curves"),
            xlabel="x",
            ylabel=tr("f(x) 与网络输出", "f(x) and network output"),
        )
        a3.set(
            title=tr("拟合误差", "Error of the fit"),
            xlabel="x",
            ylabel=tr("网络(x) − f(x)", "network(x) − f(x)"),
        )
        n = RESTARTS if group is WIDTHS else len(r["seeds"])
        a2.set(
            title=tr(f"训练损失（{n} 次中最好的）", f"Training loss (best of {n} seeds)"),
            xlabel=tr("Adam 步数", "Adam step"),
            ylabel=tr("均方误差（对数）", "mean squared error (log scale)"),
        )
        for a in (a1, a2, a3):
            a.legend(fontsize=8)
            a.grid(True, alpha=0.3)
        fig.suptitle(title)
        pngs.append(save(fig, folder, fname))
    return pngs


run = make_run("approx", compute, report, draw)
