"""梯度下降 — batch, stochastic and mini-batch gradient descent (BGD / SGD / MBGD).

They are one optimiser, ``shendu.optim.SGD``, fed gradients averaged over different numbers of
samples: the DataLoader's ``batch_size`` is N (all samples: BGD, one exact step per epoch),
1 (one sample: SGD, N noisy steps per epoch) or n (MBGD, the compromise everyone uses).

The problem: linear regression y ≈ w·x + b on generated data (true w = 2, b = 1, noise σ = 0.5),
loss L(w, b) = mean squared error. Its contours are ellipses around the least-squares solution;
each method's path from the same start is drawn on them. We count how often a step makes the
full-data loss worse: never for BGD (the exact gradient with a small step always descends), about
half the time for SGD near the minimum (one sample's gradient is a noisy estimate), MBGD between.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import shendu
import shendu.nn.functional as F
from shendu.data import DataLoader, TensorDataset
from shendu.lessons._plot import figure, lesson, save, start, table
from shendu.optim import SGD

TRUE_W, TRUE_B, NOISE = 2.0, 1.0, 0.5
START = (-1.0, -2.0)
LR = 0.05


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


@lesson
def run(out: str | Path | None = None, quick: bool = False, verbose: bool = True) -> dict:
    folder, say = start("gd", out, quick, verbose)
    n = 100 if quick else 200
    epochs = 15 if quick else 30
    x, y = make_data(n)
    # least-squares optimum, for reference (np.polyfit is the independent closed form)
    w_star, b_star = np.polyfit(x.ravel().astype(np.float64), y.ravel().astype(np.float64), 1)
    floor = float(full_loss(x, y, w_star, b_star))

    methods = {"BGD (batch = N)": n, "MBGD (batch = 16)": 16, "SGD (batch = 1)": 1}
    results = {}
    for name, bs in methods.items():
        r = train(x, y, bs, epochs)
        losses = full_loss(x, y, r["path"][:, 0], r["path"][:, 1])
        worse = float(np.mean(np.diff(losses) > 1e-12))
        epoch_losses = losses[r["epoch_end"]]
        jitter = float(max(np.diff(losses).max(), 0.0))  # the worst single step
        results[name] = {
            **r,
            "losses": losses,
            "epoch_losses": epoch_losses,
            "worse": worse,
            "jitter": jitter,
        }

    rows = [
        [
            name,
            bs,
            len(res["path"]) - 1,
            float(res["epoch_losses"][-1]),
            res["worse"],
            res["jitter"],
            res["seconds"][-1],
        ]
        for (name, bs), res in zip(methods.items(), results.values(), strict=True)
    ]
    say(
        f"Linear regression on {n} points (true w = {TRUE_W}, b = {TRUE_B}, noise σ = {NOISE}); "
        f"least squares: w = {w_star:.3f}, b = {b_star:.3f}, loss {floor:.4f}.",
        f"shendu.optim.SGD(lr={LR}) from (w, b) = {START}, {epochs} epochs, the same optimiser each time:",
        table(
            [
                "method",
                "batch",
                "steps",
                "final loss",
                "share of steps worse",
                "worst step: loss +",
                "train s",
            ],
            rows,
            ".3g",
        ),
        "   BGD: one exact step per epoch, every step descends, but it needs many epochs;",
        "   SGD: N cheap noisy steps per epoch: fast progress, then it jitters around the minimum;",
        "   MBGD: nearly SGD's progress per epoch with much less noise, and vectorised batches.",
    )

    pngs = []
    fig, (a1, a2) = figure(1, 2, size=(11, 4.2))
    for name, res in results.items():
        a1.semilogy(range(epochs + 1), res["epoch_losses"] - floor + 1e-6, "o-", ms=3, label=name)
        a2.loglog(res["seconds"][1:], res["epoch_losses"][1:] - floor + 1e-6, "o-", ms=3, label=name)
    a1.set(title="Loss against epochs", xlabel="epoch", ylabel="loss − least-squares loss (log scale)")
    a2.set(
        title="Loss against training time (after each epoch)",
        xlabel="wall time (s, log scale)",
        ylabel="loss − least-squares loss (log scale)",
    )
    for a in (a1, a2):
        a.legend(fontsize=8)
        a.grid(True, alpha=0.3)
    pngs.append(save(fig, folder, "loss_curves.png"))

    fig, axes = figure(1, 3, size=(14, 4.6), sharex=True, sharey=True)
    gw = np.linspace(-1.5, 3.0, 121)
    gb = np.linspace(-2.5, 2.0, 121)
    mw, mb = np.meshgrid(gw, gb)
    levels = floor + np.geomspace(0.01, 25, 12)
    for ax, (name, res) in zip(axes, results.items(), strict=True):
        ax.contour(mw, mb, full_loss(x, y, mw, mb), levels=levels, colors="0.75", linewidths=0.8)
        p = res["path"]
        ax.plot(
            p[:, 0], p[:, 1], "-", lw=0.7 if len(p) > 200 else 1.5, color="tab:red", alpha=0.8, label="path"
        )
        ends = p[res["epoch_end"]]
        ax.plot(ends[:, 0], ends[:, 1], "o", ms=3, color="k", label="end of each epoch")
        ax.plot(w_star, b_star, "*", ms=14, color="gold", mec="k", label="least squares")
        ax.set(title=f"{name}: {len(p) - 1} steps", xlabel="weight w", ylabel="bias b")
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle("Paths on the loss contours from the same start: BGD steady, SGD noisy, MBGD between")
    pngs.append(save(fig, folder, "paths.png"))
    say.figures(pngs)

    return {
        "n": n,
        "epochs": epochs,
        "least_squares": [float(w_star), float(b_star)],
        "loss_floor": floor,
        "final_loss": {k: float(r["epoch_losses"][-1]) for k, r in results.items()},
        "epoch_losses": {k: r["epoch_losses"].tolist() for k, r in results.items()},
        "share_of_steps_worse": {k: r["worse"] for k, r in results.items()},
        "worst_step_increase": {k: r["jitter"] for k, r in results.items()},
        "steps": {k: len(r["path"]) - 1 for k, r in results.items()},
        "seconds": {k: r["seconds"][-1] for k, r in results.items()},
        "final_params": {k: r["path"][-1].tolist() for k, r in results.items()},
        "pngs": pngs,
    }
