"""梯度下降 — 批量、随机、小批量梯度下降: batch, stochastic and mini-batch gradient descent.

They are one optimiser, ``shendu.optim.SGD``, fed gradients averaged over different numbers of
samples: the DataLoader's ``batch_size`` is N (all samples: BGD, one exact step per epoch),
1 (one sample: SGD, N noisy steps per epoch) or n (MBGD, the compromise everyone uses).

The problem: linear regression y ≈ w·x + b on generated data (true w = 2, b = 1, noise σ = 0.5),
loss L(w, b) = mean squared error. Its contours are ellipses around the least-squares solution;
each method's path from the same start is drawn on them. We count how often a step makes the
full-data loss worse: never for BGD (the exact gradient with a small step always descends), about
half the time for SGD near the minimum (one sample's gradient is a noisy estimate), MBGD between.
The lesson's sentences (which is fastest per epoch, which is noisiest, where each ends) are read
off these numbers (``conclusions``).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import shendu
import shendu.nn.functional as F
from shendu.data import DataLoader, TensorDataset
from shendu.lessons._i18n import tr
from shendu.lessons._plot import figure, make_run, save, table
from shendu.optim import SGD

TRUE_W, TRUE_B, NOISE = 2.0, 1.0, 0.5
START = (-1.0, -2.0)
LR = 0.05
NEAR = 1.01  # "reached the minimum": a full-data loss within 1% of the least-squares loss
METHODS = {"BGD": None, "MBGD": 16, "SGD": 1}  # batch size (None: all N samples)


def make_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """x ~ N(0.5, 1), y = 2x + 1 + N(0, 0.5²); both (n, 1) float32."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.5, 1.0, (n, 1)).astype(np.float32)
    y = (TRUE_W * x + TRUE_B + rng.normal(0.0, NOISE, (n, 1))).astype(np.float32)
    return x, y


def full_loss(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean squared error over all samples for many (w, b) pairs at once (for contours and paths)."""
    x, y = x.ravel().astype(np.float64), y.ravel().astype(np.float64)
    w, b = np.asarray(w, np.float64), np.asarray(b, np.float64)
    # mean((w x + b − y)²) expanded in the data's moments: no loop over samples or pairs
    sxx, sx, sy, sxy, syy = (x * x).mean(), x.mean(), y.mean(), (x * y).mean(), (y * y).mean()
    return w * w * sxx + b * b + syy + 2 * w * b * sx - 2 * w * sxy - 2 * b * sy


def train(x: np.ndarray, y: np.ndarray, batch_size: int, epochs: int, lr: float = LR, seed: int = 0) -> dict:
    """Gradient descent with ``SGD`` and a DataLoader of the given batch size.

    Returns the (w, b) after every step (the path), the step index at each epoch's end, and the
    cumulative training wall time at each epoch's end.
    """
    w = shendu.tensor([START[0]], requires_grad=True)
    b = shendu.tensor([START[1]], requires_grad=True)
    opt = SGD([w, b], lr=lr)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True, seed=seed)
    path = [(START[0], START[1])]
    epoch_end, seconds = [0], [0.0]
    t0 = time.perf_counter()
    for _ in range(epochs):
        for xb, yb in loader:
            opt.zero_grad()
            loss = F.mse_loss(xb * w + b, yb)
            loss.backward()
            opt.step()
            path.append((w.item(), b.item()))
        epoch_end.append(len(path) - 1)
        seconds.append(time.perf_counter() - t0)
    return {"path": np.array(path), "epoch_end": epoch_end, "seconds": seconds}


def compute(quick: bool = False) -> dict:
    """Run the three methods from the same start; every number the lesson prints and draws."""
    n = 60 if quick else 100  # SGD takes n·epochs steps: these sizes keep it to seconds
    epochs = 10 if quick else 20
    x, y = make_data(n)
    # least-squares optimum, for reference (np.polyfit is the independent closed form)
    w_star, b_star = np.polyfit(x.ravel().astype(np.float64), y.ravel().astype(np.float64), 1)
    floor = float(full_loss(x, y, w_star, b_star))
    runs = {}
    for name, bs in METHODS.items():
        runs[name] = train(x, y, bs or n, epochs)
    out: dict = {
        "n": n,
        "epochs": epochs,
        "least_squares": [float(w_star), float(b_star)],
        "loss_floor": floor,
    }
    keys = ("batch", "steps", "final_loss", "epoch_losses", "share_of_steps_worse", "worst_step_increase")
    out.update(
        {
            k: {}
            for k in (
                *keys,
                "epochs_to_minimum",
                "seconds",
                "epoch_seconds",
                "final_params",
                "path",
                "epoch_end",
            )
        }
    )
    for name, r in runs.items():
        losses = full_loss(x, y, r["path"][:, 0], r["path"][:, 1])
        epoch_losses = losses[r["epoch_end"]]
        near = np.flatnonzero(epoch_losses <= NEAR * floor)
        out["batch"][name] = METHODS[name] or n
        out["steps"][name] = len(r["path"]) - 1
        out["final_loss"][name] = float(epoch_losses[-1])
        out["epoch_losses"][name] = epoch_losses.tolist()
        out["share_of_steps_worse"][name] = float(np.mean(np.diff(losses) > 1e-12))
        out["worst_step_increase"][name] = float(max(np.diff(losses).max(), 0.0))
        out["epochs_to_minimum"][name] = int(near[0]) if len(near) else None
        out["seconds"][name] = r["seconds"][-1]
        out["epoch_seconds"][name] = r["seconds"]
        out["final_params"][name] = r["path"][-1].tolist()
        out["path"][name] = r["path"].tolist()
        out["epoch_end"][name] = r["epoch_end"]
    out.update(conclusions(out))
    return out


def conclusions(r: dict) -> dict:
    """Which method reached the minimum in the fewest epochs, which is noisiest, which ends lowest."""
    reach = {k: v for k, v in r["epochs_to_minimum"].items() if v is not None}
    return {
        "fastest_per_epoch": min(reach, key=lambda k: (reach[k], r["steps"][k])) if reach else None,
        "noisiest": max(r["share_of_steps_worse"], key=lambda k: r["share_of_steps_worse"][k]),
        "lowest_final": min(r["final_loss"], key=lambda k: r["final_loss"][k]),
        "steadiest": min(r["worst_step_increase"], key=lambda k: r["worst_step_increase"][k]),
    }


def _name(key: str) -> str:
    return {
        "BGD": tr("批量梯度下降 BGD", "batch GD (BGD)"),
        "MBGD": tr("小批量梯度下降 MBGD", "mini-batch GD (MBGD)"),
        "SGD": tr("随机梯度下降 SGD", "stochastic GD (SGD)"),
    }[key]


def report(r: dict) -> list[str]:
    w_star, b_star = r["least_squares"]
    floor, epochs = r["loss_floor"], r["epochs"]

    def reach(k: str) -> str:
        e = r["epochs_to_minimum"][k]
        return (
            tr(f"第 {e} 轮", f"epoch {e}") if e is not None else tr(f"{epochs} 轮内没有", f"not in {epochs}")
        )

    rows = [
        [
            _name(k),
            r["batch"][k],
            r["steps"][k],
            r["final_loss"][k],
            reach(k),
            f"{r['share_of_steps_worse'][k]:.0%}",
            r["worst_step_increase"][k],
            r["seconds"][k],
        ]
        for k in METHODS
    ]
    lines = [
        tr(
            f"线性回归 y = w·x + b，{r['n']} 个点（真实 w = {TRUE_W}，b = {TRUE_B}，噪声 σ = {NOISE}），"
            f"损失函数是均方误差；最小二乘解 w = {w_star:.3f}，b = {b_star:.3f}，最小损失 {floor:.4f}。",
            f"Linear regression y = w·x + b on {r['n']} points (true w = {TRUE_W}, b = {TRUE_B}, noise "
            f"σ = {NOISE}), mean squared error loss; least squares: w = {w_star:.3f}, b = {b_star:.3f}, "
            f"loss {floor:.4f}.",
        ),
        tr(
            f"同一个优化器 shendu.optim.SGD（学习率 {LR}），同一个起点 (w, b) = {START}，"
            f"{epochs} 轮（epoch），只改变每一步用多少个样本（批量大小）：",
            f"The same optimiser shendu.optim.SGD (lr {LR}) from the same start (w, b) = {START}, {epochs} "
            "epochs; only the number of samples per step (the batch size) changes:",
        ),
        table(
            [
                tr("方法", "method"),
                tr("批量", "batch"),
                tr("步数", "steps"),
                tr("最终损失", "final loss"),
                tr(f"到最小值 {NEAR - 1:.0%} 以内", f"within {NEAR - 1:.0%} of min"),
                tr("让损失变大的步", "steps that raise the loss"),
                tr("最坏一步：损失 +", "worst step: loss +"),
                tr("训练秒数", "train s"),
            ],
            rows,
            ".3g",
        ),
    ]
    fast, noisy, steady = r["fastest_per_epoch"], r["noisiest"], r["steadiest"]
    bgd_excess = r["final_loss"]["BGD"] / floor - 1
    if fast is not None:
        lines.append(
            tr(
                f"   按轮数算最快的是{_name(fast)}：{reach(fast)}就到了最小值的 {NEAR - 1:.0%} 以内"
                f"（一轮 {r['steps'][fast] // epochs} 步）。",
                f"   Fastest per epoch: {_name(fast)}, within {NEAR - 1:.0%} of the minimum at "
                f"{reach(fast)} ({r['steps'][fast] // epochs} steps per epoch).",
            )
        )
    lines += [
        tr(
            f"   {_name('BGD')} 每轮只走 1 步，用全部样本的精确梯度："
            f"{r['share_of_steps_worse']['BGD']:.0%} 的步让损失变大，"
            + (
                f"{reach('BGD')}到了最小值的 {NEAR - 1:.0%} 以内。"
                if r["epochs_to_minimum"]["BGD"] is not None
                else f"但 {epochs} 轮后还比最小值高 {bgd_excess:.1%}。"
            ),
            f"   {_name('BGD')} takes 1 exact step per epoch: {r['share_of_steps_worse']['BGD']:.0%} of its "
            "steps raise the loss, "
            + (
                f"and it is within {NEAR - 1:.0%} of the minimum at {reach('BGD')}."
                if r["epochs_to_minimum"]["BGD"] is not None
                else f"but after {epochs} epochs it is still {bgd_excess:.1%} above the minimum."
            ),
        ),
        tr(
            f"   最抖的是{_name(noisy)}：{r['share_of_steps_worse'][noisy]:.0%} 的步让整体损失变大"
            f"（一个样本的梯度只是整体梯度的粗略估计），最后一轮比最小值高 "
            f"{r['final_loss'][noisy] / floor - 1:.1%}；最稳的是{_name(steady)}。",
            f"   Noisiest: {_name(noisy)}, {r['share_of_steps_worse'][noisy]:.0%} of its steps raise the "
            "full-data loss (one sample's gradient is a rough estimate of the whole gradient); it ends "
            f"{r['final_loss'][noisy] / floor - 1:.1%} above the minimum. Steadiest: {_name(steady)}.",
        ),
        tr(
            f"   {_name('MBGD')} 是折中：每轮 {r['steps']['MBGD'] // epochs} 步，"
            f"最后比最小值高 {r['final_loss']['MBGD'] / floor - 1:.1%}，"
            f"用时 {r['seconds']['MBGD']:.2f} 秒，SGD 用了 {r['seconds']['SGD']:.2f} 秒（每一步都有固定开销，"
            "一批样本一起算更快）。",
            f"   {_name('MBGD')} is the compromise: {r['steps']['MBGD'] // epochs} steps per epoch, it ends "
            f"{r['final_loss']['MBGD'] / floor - 1:.1%} above the minimum, in {r['seconds']['MBGD']:.2f} s "
            f"against SGD's {r['seconds']['SGD']:.2f} s (every step has a fixed cost; a batch computes many "
            "samples at once).",
        ),
    ]
    return lines


def draw(r: dict, folder: Path) -> list[str]:
    pngs = []
    floor, epochs = r["loss_floor"], r["epochs"]
    x, y = make_data(r["n"])
    fig, (a1, a2) = figure(1, 2, size=(11, 4.2))
    for k in METHODS:
        excess = np.array(r["epoch_losses"][k]) - floor + 1e-6
        a1.semilogy(range(epochs + 1), excess, "o-", ms=3, label=_name(k))
        a2.loglog(r["epoch_seconds"][k][1:], excess[1:], "o-", ms=3, label=_name(k))
    ylabel = tr("损失 − 最小损失（对数）", "loss − least-squares loss (log scale)")
    a1.set(title=tr("损失与轮数", "Loss against epochs"), xlabel=tr("轮（epoch）", "epoch"), ylabel=ylabel)
    a2.set(
        title=tr("损失与训练时间（每轮结束时）", "Loss against training time (after each epoch)"),
        xlabel=tr("训练时间（秒，对数）", "wall time (s, log scale)"),
        ylabel=ylabel,
    )
    for a in (a1, a2):
        a.legend(fontsize=8)
        a.grid(True, alpha=0.3)
    pngs.append(save(fig, folder, "loss_curves.png"))

    fig, axes = figure(1, 3, size=(14, 4.6), sharex=True, sharey=True)
    mw, mb = np.meshgrid(np.linspace(-1.5, 3.0, 121), np.linspace(-2.5, 2.0, 121))
    levels = floor + np.geomspace(0.01, 25, 12)
    w_star, b_star = r["least_squares"]
    for ax, k in zip(axes, METHODS, strict=True):
        ax.contour(mw, mb, full_loss(x, y, mw, mb), levels=levels, colors="0.75", linewidths=0.8)
        p = np.array(r["path"][k])
        ax.plot(
            p[:, 0],
            p[:, 1],
            "-",
            lw=0.7 if len(p) > 200 else 1.5,
            color="tab:red",
            alpha=0.8,
            label=tr("路径", "path"),
        )
        ends = p[r["epoch_end"][k]]
        ax.plot(ends[:, 0], ends[:, 1], "o", ms=3, color="k", label=tr("每轮结束", "end of each epoch"))
        ax.plot(w_star, b_star, "*", ms=14, color="gold", mec="k", label=tr("最小二乘解", "least squares"))
        ax.set(
            title=tr(f"{_name(k)}：{len(p) - 1} 步", f"{_name(k)}: {len(p) - 1} steps"),
            xlabel=tr("权重 w", "weight w"),
            ylabel=tr("偏置 b", "bias b"),
        )
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle(
        tr(
            f"损失函数等高线上的路径（同一起点）：{_name(r['steadiest'])} 最平稳，"
            f"{_name(r['noisiest'])} 最抖",
            f"Paths on the loss contours from the same start: {_name(r['steadiest'])} steadiest, "
            f"{_name(r['noisiest'])} noisiest",
        )
    )
    pngs.append(save(fig, folder, "paths.png"))
    return pngs


run = make_run("gd", compute, report, draw)
