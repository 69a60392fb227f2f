"""过拟合与欠拟合 — under-fitting, over-fitting and a good fit, then four cures, each measured.

The data: 20 points of f(x) = sin(1.5x) on [−3, 3] with Gaussian noise of σ = 0.25. Because we
made the noise, we know the best any model can do on new points: the noise variance σ² = 0.0625
(the "noise floor", 噪声下限). A model whose training loss goes far *below* σ² has learnt the noise
itself. Validation (300 new points) draws the curves; a test set (1,000 more points, used for no
choice at all) scores the cures, so that early stopping, which picks its step on the validation
set, is judged fairly.

Three tanh MLPs (``shendu.models.mlp``), trained full-batch with Adam on the mean squared error:

* too small, 1-1-1: one hidden neuron draws a single S-shaped step, not a wave — training and
  validation loss both stay high and stop improving (欠拟合, under-fitting);
* medium, 1-4-1: follows the wave and not the noise — validation loss close to σ² (合适的拟合);
* too large, 1-100-100-1 (10,401 parameters for 20 points): training loss → 0 while the validation
  loss climbs from its minimum (过拟合, over-fitting: it threads the curve through every noisy point).

Then the too-large network again with each cure from the notes: weight decay (权重衰减, the L2
penalty λ/2·Σw², ``Adam(weight_decay=λ)``), dropout (``mlp(dropout=p)``), early stopping (早停:
keep the weights of the best validation step, stop after ``PATIENCE`` checks without a better one),
data augmentation (数据增强: every step sees the inputs shifted by a little noise) and more data
(200 points). Every verdict the lesson prints is read off these numbers (``regime``, ``verdict``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import shendu
import shendu.nn.functional as F
from shendu.lessons._i18n import lang, tr
from shendu.lessons._plot import figure, make_run, save, source, table
from shendu.models import mlp
from shendu.nn.functional.dropout import Dropout
from shendu.optim import Adam
from shendu.optim.adam import decay_and_moments

NOISE = 0.25  # σ of the label noise: the validation loss cannot go below σ² on average
X_RANGE = (-3.0, 3.0)
N_TRAIN, N_VAL, N_TEST, N_MORE = 20, 300, 1000, 200
EVERY = 20  # steps between two measurements of the losses
PATIENCE = 10  # early stopping: stop after this many measurements without a lower validation loss
LR = {"small": 0.03, "good": 0.03, "large": 0.01}
SIZES = {"small": [1, 1, 1], "good": [1, 4, 1], "large": [1, 100, 100, 1]}
WEIGHT_DECAY = 1e-2  # λ of the L2 penalty λ/2·Σw² (its gradient λw is what Adam's weight_decay adds)
DROPOUT = 0.1
JITTER = 0.05  # data augmentation: σ of the noise added to the inputs at every step


def target(x: np.ndarray) -> np.ndarray:
    """The curve under the noise: f(x) = sin(1.5x)."""
    return np.sin(1.5 * x)


def make_data(n: int, seed: int, grid: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """n points (x, f(x) + N(0, σ²)), both (n, 1) float32; x evenly spaced if ``grid``, else uniform."""
    rng = np.random.default_rng(seed)
    x = np.linspace(*X_RANGE, n)[:, None] if grid else np.sort(rng.uniform(*X_RANGE, (n, 1)), axis=0)
    y = target(x) + rng.normal(0.0, NOISE, (n, 1))
    return x.astype(np.float32), y.astype(np.float32)


def mse(net, x: np.ndarray, y: np.ndarray) -> float:
    """The network's mean squared error on (x, y), in eval mode (dropout off), without a graph."""
    net.eval()
    with shendu.no_grad():
        return F.mse_loss(net(shendu.tensor(x)), shendu.tensor(y)).item()


def train(
    sizes: list[int],
    data: dict[str, tuple[np.ndarray, np.ndarray]],
    steps: int,
    lr: float,
    weight_decay: float = 0.0,
    dropout: float = 0.0,
    jitter: float = 0.0,
    seed: int = 0,
) -> dict:
    """Train ``mlp(sizes, "tanh", dropout)`` on ``data["train"]`` with Adam, full batch.

    Every ``EVERY`` steps it measures the training and validation loss; it keeps a copy of the
    weights at the lowest validation loss and notes the step where early stopping with
    ``PATIENCE`` would have stopped. Returns the curves, the final losses (train, val, test), the
    same for the early-stopped weights, and the fitted curve on ``data["grid"]``.
    """
    shendu.manual_seed(seed)
    net = mlp(sizes, activation="tanh", dropout=dropout)
    opt = Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    x, y = data["train"]
    rng = np.random.default_rng(seed)
    xt, yt = shendu.tensor(x), shendu.tensor(y)
    curve: dict[str, list[float]] = {"step": [], "train": [], "val": []}
    best, best_state, stop_step = np.inf, {}, None
    for step in range(1, steps + 1):
        net.train()
        opt.zero_grad()
        inputs = shendu.tensor(x + rng.normal(0.0, jitter, x.shape).astype(np.float32)) if jitter else xt
        F.mse_loss(net(inputs), yt).backward()
        opt.step()
        if step % EVERY == 0:
            curve["step"].append(step)
            curve["train"].append(mse(net, x, y))
            curve["val"].append(mse(net, *data["val"]))
            if curve["val"][-1] < best:
                best, best_state = curve["val"][-1], {k: v.clone() for k, v in net.state_dict().items()}
            elif stop_step is None and len(curve["val"]) - 1 - int(np.argmin(curve["val"])) >= PATIENCE:
                stop_step = step
    final, fitted = _scores(net, data)
    net.load_state_dict(best_state)
    early, early_fitted = _scores(net, data)
    return {
        "params": sum(p.numel() for p in net.parameters()),
        "n": len(x),
        "curve": curve,
        "final": final,
        "fitted": fitted,
        "early": early,
        "early_fitted": early_fitted,
        "best_step": curve["step"][int(np.argmin(curve["val"]))],
        "stop_step": stop_step,
    }


def _scores(net, data: dict) -> tuple[dict[str, float], list[float]]:
    """The network's MSE on train, val and test, and its curve on the plotting grid."""
    scores = {split: mse(net, *data[split]) for split in ("train", "val", "test")}
    with shendu.no_grad():
        return scores, net(shendu.tensor(data["grid"][0])).numpy().ravel().tolist()


def still_improving(losses: list[float], tail: float = 0.2) -> float:
    """Relative drop of the training loss over the last ``tail`` of training (0.01 = still 1% lower)."""
    k = max(1, int(len(losses) * tail))
    before, last = losses[-k - 1], losses[-1]
    return (before - last) / before


def regime(run: dict, floor: float) -> str:
    """ "under", "over", "good" or "unclear", read off a run's losses against the noise floor σ².

    under: training and validation loss both above 3σ² and the training loss no longer falling
    (less than 1% over the last fifth of training); over: training loss below σ²/4 (it fits the
    noise) and the validation loss at least 10% above its own minimum; good: validation loss within
    1.5σ² and training loss not below σ²/4.
    """
    tr_, va = run["final"]["train"], run["final"]["val"]
    if tr_ > 3 * floor and va > 3 * floor and still_improving(run["curve"]["train"]) < 0.01:
        return "under"
    if tr_ < floor / 4 and va > 1.1 * min(run["curve"]["val"]):
        return "over"
    if va < 1.5 * floor and tr_ >= floor / 4:
        return "good"
    return "unclear"


def verdict(before: float, after: float, tol: float = 0.03) -> str:
    """ "helps", "hurts" or "no change": a test loss going from ``before`` to ``after`` (±3%: no change)."""
    change = (after - before) / before
    return "helps" if change < -tol else "hurts" if change > tol else "no change"


def compute(quick: bool = False) -> dict:
    """Train the three regimes and the cures; every loss the lesson prints and draws."""
    return _compute(quick)


def _compute(quick: bool) -> dict:
    steps = 600 if quick else 1500
    data = {
        "train": make_data(N_TRAIN, seed=5, grid=True),
        "val": make_data(N_VAL, seed=2),
        "test": make_data(N_TEST, seed=3),
        "grid": (np.linspace(*X_RANGE, 241, dtype=np.float32)[:, None], np.zeros((241, 1), np.float32)),
    }
    floor = NOISE**2
    regimes = {name: train(SIZES[name], data, steps, LR[name]) for name in SIZES}
    large = regimes["large"]
    more_data = {**data, "train": make_data(N_MORE, seed=5, grid=True)}
    cures = {
        "weight decay": train(SIZES["large"], data, steps, LR["large"], weight_decay=WEIGHT_DECAY),
        "dropout": train(SIZES["large"], data, steps, LR["large"], dropout=DROPOUT),
        "augmentation": train(SIZES["large"], data, steps, LR["large"], jitter=JITTER),
        "more data": train(SIZES["large"], more_data, steps, LR["large"]),
    }
    # early stopping is the too-large run itself, with the weights of its best validation step
    early = {**large, "final": large["early"], "fitted": large["early_fitted"]}
    cures = {"early stopping": early, **cures}
    return {
        "steps": steps,
        "noise_floor": floor,
        "train_xy": [data["train"][0].ravel().tolist(), data["train"][1].ravel().tolist()],
        "more_xy": [more_data["train"][0].ravel().tolist(), more_data["train"][1].ravel().tolist()],
        "grid": data["grid"][0].ravel().tolist(),
        "regimes": regimes,
        "regime": {name: regime(r, floor) for name, r in regimes.items()},
        "flatness": {name: still_improving(r["curve"]["train"]) for name, r in regimes.items()},
        "cures": cures,
        "verdict": {name: verdict(large["final"]["test"], c["final"]["test"]) for name, c in cures.items()},
    }


def _colon(head: str, rest: str) -> str:
    """ "head：rest" in Chinese, "head: rest" in English."""
    return f"{head}：{rest}" if lang() == "zh" else f"{head}: {rest}"


def _regime_name(key: str) -> str:
    return {
        "under": tr("欠拟合", "under-fitting"),
        "over": tr("过拟合", "over-fitting"),
        "good": tr("合适的拟合", "a good fit"),
        "unclear": tr("说不清", "unclear"),
    }[key]


def _net_name(key: str) -> str:
    return {
        "small": tr("太小 1-1-1", "too small 1-1-1"),
        "good": tr("适中 1-4-1", "medium 1-4-1"),
        "large": tr("太大 1-100-100-1", "too large 1-100-100-1"),
    }[key]


def _cure_name(key: str) -> str:
    return {
        "early stopping": tr("早停", "early stopping"),
        "weight decay": tr(f"权重衰减 λ={WEIGHT_DECAY:g}", f"weight decay λ={WEIGHT_DECAY:g}"),
        "dropout": tr(f"Dropout p={DROPOUT:g}", f"dropout p={DROPOUT:g}"),
        "augmentation": tr(f"数据增强 x+N(0,{JITTER:g}²)", f"augmentation x+N(0,{JITTER:g}²)"),
        "more data": tr(f"更多数据（{N_MORE} 个点）", f"more data ({N_MORE} points)"),
    }[key]


def _verdict_name(key: str) -> str:
    return {
        "helps": tr("有效", "helps"),
        "hurts": tr("更差", "hurts"),
        "no change": tr("没有效果", "no effect"),
    }[key]


def report(r: dict) -> list[str]:
    floor, regimes = r["noise_floor"], r["regimes"]
    rows = [
        [
            _net_name(k),
            v["params"],
            v["final"]["train"],
            v["final"]["val"],
            min(v["curve"]["val"]),
            v["best_step"],
            f"{-r['flatness'][k]:+.1%}",
            _regime_name(r["regime"][k]),
        ]
        for k, v in regimes.items()
    ]
    lines = [
        tr(
            f"数据：f(x) = sin(1.5x) 上的 {N_TRAIN} 个训练点，加了 σ = {NOISE} 的噪声。噪声是我们加的，"
            f"所以知道任何模型在新数据上的均方误差都低不过噪声方差 σ² = {floor:.4f}（噪声下限）；"
            "训练误差远低于 σ² 说明模型连噪声都背下来了。",
            f"Data: {N_TRAIN} training points of f(x) = sin(1.5x) with noise σ = {NOISE}. We made the "
            "noise, so we know no model can reach a mean squared error on new points below "
            f"σ² = {floor:.4f} (the noise floor); a training error far below σ² means the model has learnt "
            "the noise itself.",
        ),
        tr(
            f"三个 tanh 多层感知机，Adam 全批量训练 {r['steps']} 步，均方误差（MSE）：",
            f"Three tanh MLPs, Adam, full batch, {r['steps']} steps, mean squared error (MSE):",
        ),
        table(
            [
                tr("网络", "network"),
                tr("参数", "params"),
                tr("训练 MSE", "train MSE"),
                tr("验证 MSE", "val MSE"),
                tr("验证最低", "val min"),
                tr("最低在第几步", "at step"),
                tr("最后 20% 步训练误差的变化", "train loss change, last 20%"),
                tr("判断", "verdict"),
            ],
            rows,
            ".4f",
        ),
    ]
    for k, v in regimes.items():
        tr_, va, vmin = v["final"]["train"], v["final"]["val"], min(v["curve"]["val"])
        kind = r["regime"][k]
        if kind == "under":
            why = tr(
                f"训练 {tr_:.3f} 和验证 {va:.3f} 分别是 σ² 的 {tr_ / floor:.1f} 倍和 {va / floor:.1f} 倍，"
                f"最后 20% 的训练只再降了 {r['flatness'][k]:.1%}：模型太简单，训练再久也学不会这条曲线。",
                f"train {tr_:.3f} and validation {va:.3f} are {tr_ / floor:.1f}× and {va / floor:.1f}× σ², "
                f"and the last 20% of training lowered the training loss by only {r['flatness'][k]:.1%}: "
                "the model is too simple to learn the curve, however long it trains.",
            )
        elif kind == "over":
            why = tr(
                f"训练 {tr_:.4f}（σ² 的 {tr_ / floor:.0%}，背下了噪声），验证从最低 {vmin:.3f}"
                f"（第 {v['best_step']} 步）升到 {va:.3f}（+{va / vmin - 1:.0%}）。",
                f"train {tr_:.4f} ({tr_ / floor:.0%} of σ²: it learnt the noise), validation rose from its "
                f"minimum {vmin:.3f} (step {v['best_step']}) to {va:.3f} (+{va / vmin - 1:.0%}).",
            )
        elif kind == "good":
            why = tr(
                f"验证 {va:.3f} 只比噪声下限 σ² 高 {va / floor - 1:.0%}，训练 {tr_:.3f} 没有低到背噪声。",
                f"validation {va:.3f} is only {va / floor - 1:.0%} above the noise floor σ², training "
                f"{tr_:.3f} is not low enough to have learnt the noise.",
            )
        else:
            why = tr("数字不符合上面任何一种情况。", "the numbers fit none of the cases above.")
        lines.append("   " + _colon(_net_name(k), _regime_name(kind) + tr("，", "; ") + why))

    large = regimes["large"]
    base = large["final"]["test"]
    cure_rows = [[tr("太大的网络，不加处理", "too large, no cure"), large["final"]["train"], base, "", ""]]
    for k, c in r["cures"].items():
        t = c["final"]["test"]
        cure_rows.append(
            [_cure_name(k), c["final"]["train"], t, f"{t / base - 1:+.0%}", _verdict_name(r["verdict"][k])]
        )
    stop = large["stop_step"]
    lines += [
        "",
        tr(
            f"正则化：给太大的网络加上各种方法，在 {N_TEST} 个测试点上比较"
            "（测试集既没参与训练，也没参与早停的选择）：",
            f"Regularisation: each cure on the too-large network, scored on {N_TEST} test points (used "
            "neither for training nor for early stopping's choice):",
        ),
        table(
            [
                tr("方法", "method"),
                tr("训练 MSE", "train MSE"),
                tr("测试 MSE", "test MSE"),
                tr("变化", "change"),
                tr("结论", "verdict"),
            ],
            cure_rows,
            ".4f",
        ),
        tr(
            f"   早停：验证误差在第 {large['best_step']} 步最低，"
            + (f"连续 {PATIENCE} 次检查没有更低，第 {stop} 步停下，" if stop else "")
            + "取回那一步的权重。",
            f"   Early stopping: the validation loss was lowest at step {large['best_step']}"
            + (f"; after {PATIENCE} checks without a lower one it stops at step {stop}" if stop else "")
            + " and restores the weights of that step.",
        ),
    ]
    lines += [
        tr(
            "   读代码：Dropout 训练时把每个激活以概率 p 置零、其余乘 1/(1−p)；权重衰减在 Adam 的每一步给梯度"
            "加上 λW（即损失加上 λ/2·Σw²）：",
            "   Read the code: dropout zeroes each activation with probability p while training and scales "
            "the rest by 1/(1−p); weight decay adds λW to the gradient at every Adam step (the loss plus "
            "λ/2·Σw²):",
        ),
        source(Dropout),
        source(decay_and_moments, max_lines=21),
    ]
    helps = [k for k, v in r["verdict"].items() if v == "helps"]
    other = [k for k, v in r["verdict"].items() if v != "helps"]
    best = min(r["cures"], key=lambda k: r["cures"][k]["final"]["test"])
    if helps:
        lines.append(
            tr(
                "   有效的："
                + "、".join(_cure_name(k) for k in helps)
                + f"；最好的是{_cure_name(best)}（测试 MSE {r['cures'][best]['final']['test']:.4f}，"
                f"噪声下限 {floor:.4f}）。",
                "   Helped: "
                + ", ".join(_cure_name(k) for k in helps)
                + f"; the best is {_cure_name(best)} (test MSE {r['cures'][best]['final']['test']:.4f}, "
                f"noise floor {floor:.4f}).",
            )
        )
    if other:
        lines.append(
            tr(
                "   在这个例子里没有帮上忙的："
                + "、".join(f"{_cure_name(k)}（{_verdict_name(r['verdict'][k])}）" for k in other)
                + "。正则化的强度要调：太弱没有作用，太强又会欠拟合；用验证集来选。",
                "   Did not help here: "
                + ", ".join(f"{_cure_name(k)} ({_verdict_name(r['verdict'][k])})" for k in other)
                + ". A regulariser's strength has to be tuned (too weak does nothing, too strong "
                "under-fits): choose it on the validation set.",
            )
        )
    return lines


def _curves(ax, run: dict, floor: float, title: str) -> None:
    c = run["curve"]
    ax.semilogy(c["step"], c["train"], label=tr("训练误差", "training loss"))
    ax.semilogy(c["step"], c["val"], label=tr("验证误差", "validation loss"))
    ax.axhline(floor, color="k", ls=":", lw=1, label=tr("噪声下限 σ²", "noise floor σ²"))
    ax.set(title=title, xlabel=tr("训练步数", "step"), ylabel=tr("均方误差（对数）", "MSE (log scale)"))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)


def _fit(ax, r: dict, run: dict, title: str, xy: list | None = None) -> None:
    grid = np.array(r["grid"])
    x, y = xy or r["train_xy"]
    ax.plot(grid, target(grid), color="k", lw=3, alpha=0.3, label="f(x) = sin(1.5x)")
    ax.plot(
        x, y, "o", ms=4, color="tab:blue", label=tr(f"训练点（{len(x)} 个）", f"training points ({len(x)})")
    )
    ax.plot(grid, run["fitted"], color="tab:red", lw=1.8, label=tr("网络的输出", "network output"))
    ax.set(title=title, xlabel="x", ylabel="y", ylim=(-2.0, 2.0))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")


def draw(r: dict, folder: Path) -> list[str]:
    floor, pngs = r["noise_floor"], []
    fig, axes = figure(2, 3, size=(14, 7.6))
    for j, (k, run) in enumerate(r["regimes"].items()):
        _fit(axes[0, j], r, run, _colon(_net_name(k), _regime_name(r["regime"][k])))
        _curves(
            axes[1, j],
            run,
            floor,
            tr(
                f"训练 {run['final']['train']:.3f}，验证 {run['final']['val']:.3f}",
                f"train {run['final']['train']:.3f}, val {run['final']['val']:.3f}",
            ),
        )
    axes[1, 2].axvline(
        r["regimes"]["large"]["best_step"],
        color="tab:green",
        ls="--",
        lw=1,
        label=tr("验证最低", "validation minimum"),
    )
    axes[1, 2].legend(fontsize=8)
    fig.suptitle(
        tr(
            "欠拟合、合适的拟合与过拟合：上面是拟合的曲线，下面是训练与验证误差",
            "Under-fitting, a good fit and over-fitting: fitted curves above, losses below",
        )
    )
    pngs.append(save(fig, folder, "regimes.png"))

    cures = r["cures"]
    fig, axes = figure(2, 3, size=(14, 7.6))
    for ax, (k, c) in zip(axes.flat, cures.items(), strict=False):
        if k == "early stopping":
            _curves(ax, c, floor, tr("早停：在验证最低处取回权重", "early stopping: back to the best step"))
            ax.axvline(c["best_step"], color="tab:green", ls="--", lw=1, label=tr("验证最低", "val minimum"))
            if c["stop_step"]:
                ax.axvline(c["stop_step"], color="tab:red", ls="--", lw=1, label=tr("停止", "stop"))
            ax.legend(fontsize=8)
        else:
            _curves(ax, c, floor, _colon(_cure_name(k), _verdict_name(r["verdict"][k])))
    ax = axes.flat[-1]
    names = [tr("不加处理", "no cure"), *(_cure_name(k) for k in cures)]
    tests = [r["regimes"]["large"]["final"]["test"], *(c["final"]["test"] for c in cures.values())]
    colours = ["0.5"] + [
        {"helps": "tab:green", "hurts": "tab:red"}.get(r["verdict"][k], "tab:orange") for k in cures
    ]
    ax.barh(range(len(names)), tests, color=colours)
    ax.axvline(floor, color="k", ls=":", lw=1, label=tr("噪声下限 σ²", "noise floor σ²"))
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set(title=tr("测试集均方误差（越小越好）", "Test MSE (lower is better)"), xlabel="MSE")
    ax.legend(fontsize=8)
    ax.grid(True, axis="x", alpha=0.3)
    fig.suptitle(
        tr(
            "太大的网络（1-100-100-1，20 个点）加上正则化：训练与验证误差",
            "The too-large network (1-100-100-1, 20 points) with each cure: training and validation loss",
        )
    )
    pngs.append(save(fig, folder, "cures.png"))

    fig, axes = figure(1, 3, size=(14, 4.2))
    _fit(
        axes[0],
        r,
        r["regimes"]["large"],
        tr("不加处理：穿过每个噪声点", "no cure: through every noisy point"),
    )
    best = min((k for k in cures if k != "more data"), key=lambda k: cures[k]["final"]["test"])
    _fit(axes[1], r, cures[best], _cure_name(best))
    _fit(axes[2], r, cures["more data"], _cure_name("more data"), r["more_xy"])
    fig.suptitle(
        tr(
            "太大的网络拟合出的曲线：不加处理、最好的正则化、更多数据",
            "What the too-large network draws: no cure, the best regulariser, more data",
        )
    )
    pngs.append(save(fig, folder, "cured_fits.png"))
    return pngs


run = make_run("fitting", compute, report, draw)
