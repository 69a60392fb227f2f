"""激活函数 — activation functions, their derivatives, softmax, and the vanishing gradient.

1. step, sigmoid, tanh, ReLU and softplus with their derivatives. The derivatives are NOT typed
   in: each curve is ``x.grad`` after ``F.<activation>(x).sum().backward()``, so the picture
   shows what the library's backward computes (step's derivative is 0 everywhere — why the
   perceptron cannot learn by gradient descent; sigmoid's peaks at 0.25; softplus' is sigmoid).
2. softmax turns scores into probabilities: exponentiate, divide by the sum.
3. The vanishing gradient: in 10 stacked sigmoid layers, each backward step multiplies the
   gradient by σ'(a) ≤ 0.25 (times the weights), so the first layers barely learn; ReLU keeps it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import shendu
import shendu.nn.functional as F
from shendu.lessons._i18n import tr
from shendu.lessons._plot import figure, grad_of, lesson, save, start, table


ACTIVATIONS = {
    "step": F.step,
    "sigmoid": F.sigmoid,
    "tanh": F.tanh,
    "relu": F.relu,
    "softplus": F.softplus,
}
SOFTMAX_EXAMPLE = [0.3, 2.9, 4.0]  # the course's example scores


def curve_and_derivative(fn, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """fn(x) and dfn/dx at every x, the derivative from autograd (sum of outputs, backward)."""
    t = shendu.tensor(x, dtype=shendu.float64, requires_grad=True)
    y = fn(t)
    y.sum().backward()  # elementwise fn: d(Σ y)/dxᵢ = fn'(xᵢ)
    grad = np.zeros_like(x) if t.grad is None else t.grad.numpy()
    return y.numpy(), grad


def layer_gradient_norms(
    activation: str,
    depth: int = 10,
    width: int = 100,
    batch: int = 64,
    seed: int = 0,
    std: float | None = None,
) -> list[float]:
    """‖∂L/∂Wₗ‖ for each layer l = 1..depth of a plain stack hₗ = act(hₗ₋₁ Wₗ), L = mean of the output.

    Weights are Xavier-initialised (std 1/√width) for sigmoid and tanh, He (√(2/width)) for
    ReLU, the recommended choices, unless ``std`` is given (std = 1 makes tanh saturate); the
    input is standard normal. Built from tensors directly so that every layer's gradient is visible.
    """
    rng = np.random.default_rng(seed)
    act = ACTIVATIONS[activation]
    if std is None:
        std = np.sqrt(2.0 / width) if activation == "relu" else np.sqrt(1.0 / width)
    weights = [
        shendu.tensor(rng.normal(0.0, std, (width, width)).astype(np.float32), requires_grad=True)
        for _ in range(depth)
    ]
    h = shendu.tensor(rng.standard_normal((batch, width)).astype(np.float32))
    for w in weights:
        h = act(h @ w)
    h.mean().backward()
    return [float(np.linalg.norm(grad_of(w))) for w in weights]


def _verdict(first_over_last: float, first_over_xavier_tanh: float) -> tuple[str, str]:
    """(zh, en) reading of layer 1's gradient: vanishes (small against the last layer's or against
    Xavier-tanh's layer 1), explodes, or holds."""
    if first_over_last < 1e-2 or first_over_xavier_tanh < 1e-4:
        return "消失", "vanishes"
    if first_over_last > 1e2:
        return "爆炸", "explodes"
    return "保持", "holds"


def _fmt(v: np.ndarray) -> str:
    return "[" + ", ".join(f"{float(a):.4f}" for a in v) + "]"


@lesson
def run(out: str | Path | None = None, quick: bool = False, verbose: bool = True) -> dict:
    folder, say = start("activations", out, quick, verbose)
    x = np.linspace(-5, 5, 201 if quick else 1001)

    curves = {name: curve_and_derivative(fn, x) for name, fn in ACTIVATIONS.items()}
    probe = np.array([-2.0, 0.0, 2.0])
    probe_vals = {name: curve_and_derivative(fn, probe) for name, fn in ACTIVATIONS.items()}
    rows = []
    for name, (y, d) in probe_vals.items():
        rows.append([name, *[float(v) for v in y], *[float(v) for v in d], float(curves[name][1].max())])
    say(
        tr(
            "1. 激活函数及其导数（导数由自动微分得到：y.sum().backward(); x.grad）：",
            "1. Activations and their derivatives (derivatives from autograd: y.sum().backward(); x.grad):",
        ),
        table(["h(x)", "h(-2)", "h(0)", "h(2)", "h'(-2)", "h'(0)", "h'(2)", "max h' on [-5,5]"], rows, ".4f"),
        tr(
            "   阶跃函数的导数处处为 0（梯度下降得不到信号）；sigmoid 的导数最大 0.25；",
            "   step's derivative is 0 everywhere (no signal for gradient descent); sigmoid's is at most "
            "0.25;",
        ),
        tr(
            "   softplus 的导数就是 sigmoid；ReLU 的导数是 0 或 1（h'(0) 取 0）。",
            "   softplus' derivative equals the sigmoid; ReLU's is 0 or 1 (h'(0) taken as 0).",
        ),
    )

    scores = shendu.tensor(SOFTMAX_EXAMPLE)
    probs = F.softmax(scores, dim=0).numpy()
    shifted = F.softmax(scores + 1000.0, dim=0).numpy()
    say(
        "",
        tr(
            f"2. softmax{tuple(SOFTMAX_EXAMPLE)} = {_fmt(probs)}（和为 {probs.sum():.4f}）：",
            f"2. softmax{tuple(SOFTMAX_EXAMPLE)} = {_fmt(probs)} (sum {probs.sum():.4f}):",
        ),
        tr(
            "   大小顺序不变，最大的分数得到最大的概率；",
            "   the order is kept and the largest score gets the largest probability;",
        ),
        tr(
            f"   每个分数加 1000 结果不变：{_fmt(shifted)}（先减去最大值，避免溢出）。",
            f"   adding 1000 to every score changes nothing: {_fmt(shifted)} (the max is subtracted first).",
        ),
    )

    depth = 10
    width = 50 if quick else 100
    norms = {a: layer_gradient_norms(a, depth=depth, width=width) for a in ("sigmoid", "tanh", "relu")}
    norms["tanh, N(0, 0.01²)"] = layer_gradient_norms("tanh", depth=depth, width=width, std=0.01)
    norms["tanh, N(0, 1)"] = layer_gradient_norms("tanh", depth=depth, width=width, std=1.0)
    rows = [[tr(f"第 {i + 1} 层", f"layer {i + 1}"), *(norms[a][i] for a in norms)] for i in range(depth)]
    ratio = norms["sigmoid"][0] / norms["sigmoid"][-1]
    ratios = {a: n[0] / n[-1] for a, n in norms.items()}
    verdicts = {a: _verdict(ratios[a], norms[a][0] / norms["tanh"][0]) for a in norms}
    say(
        "",
        tr(
            f"3. 梯度消失：{depth} 层网络中每层的 ‖∂L/∂W‖（第 1 层最靠近输入；sigmoid 与 tanh 用 Xavier "
            "初始化，"
            "ReLU 用 He 初始化，最后两列 tanh 用 N(0, 0.01²) 和 N(0, 1) 初始化）：",
            f"3. The vanishing gradient: ‖∂L/∂W‖ per layer in a {depth}-layer stack (layer 1 = nearest the "
            "input; "
            "Xavier init for sigmoid and tanh, He for ReLU, the last two columns tanh with N(0, 0.01²) and "
            "N(0, 1) weights):",
        ),
        table(["", *norms], rows, ".3e"),
        tr(
            f"   sigmoid：第 1 层的梯度是第 {depth} 层的 {ratio:.2e} 倍（每个 sigmoid 乘以 ≤ 0.25）。",
            f"   sigmoid: layer 1 gets {ratio:.2e} × the gradient of layer {depth} (each sigmoid multiplies "
            "by ≤ 0.25).",
        ),
        tr("   第 1 层 / 第 10 层：", "   layer 1 / layer 10:")
        + tr("，", ", ").join(
            f"{a} {ratios[a]:.1e}（{verdicts[a][0]}）"
            if tr("中", "")
            else f"{a} {ratios[a]:.1e} ({verdicts[a][1]})"
            for a in norms
        ),
        tr(
            f"   tanh：Xavier 初始化时梯度{verdicts['tanh'][0]}；权重太小（N(0, "
            f"0.01²)）时{verdicts['tanh, N(0, 0.01²)'][0]}，"
            f"太大（N(0, 1)，神经元饱和）时{verdicts['tanh, N(0, 1)'][0]}。笔记把梯度消失列为 tanh 的缺点："
            "它取决于初始化，Xavier 初始化正是为避免它而设计的。",
            f"   tanh: with Xavier init the gradient {verdicts['tanh'][1]}; with too small weights (N(0, "
            "0.01²)) it "
            f"{verdicts['tanh, N(0, 0.01²)'][1]}, with too large ones (N(0, 1), saturated units) it "
            f"{verdicts['tanh, N(0, 1)'][1]}. The notes list vanishing gradients as tanh's weakness: it "
            "depends on "
            "the initialisation, and Xavier init was designed to avoid it.",
        ),
    )

    pngs = []
    fig, axes = figure(2, 3, size=(13, 7.6))
    for ax, (name, (y, d)) in zip(axes.flat, curves.items(), strict=False):
        ax.plot(x, y, lw=2, label=f"{name}(x)")
        ax.plot(x, d, lw=2, ls="--", label=tr(f"{name}'(x)（自动微分）", f"{name}'(x) (autograd)"))
        ax.axhline(0, color="0.7", lw=0.8)
        ax.axvline(0, color="0.7", lw=0.8)
        ax.set(title=name, xlabel="x", ylabel=tr("值", "value"))
        ax.legend(fontsize=8, loc="upper left")
        ax.grid(True, alpha=0.3)
    ax = axes.flat[5]
    ax.bar(np.arange(len(probs)) - 0.2, SOFTMAX_EXAMPLE, width=0.4, label=tr("分数 x", "score x"))
    ax.bar(np.arange(len(probs)) + 0.2, probs, width=0.4, label="softmax(x)")
    for i, p in enumerate(probs):
        ax.annotate(f"{p:.3f}", (i + 0.2, p), ha="center", va="bottom", fontsize=8)
    ax.set(
        title=tr("分数 (0.3, 2.9, 4.0) 的 softmax", "softmax of scores (0.3, 2.9, 4.0)"),
        xlabel=tr("类别", "class"),
        ylabel=tr("分数 / 概率", "score / probability"),
        xticks=range(len(probs)),
    )
    ax.legend(fontsize=8, loc="upper left")
    fig.suptitle(
        tr(
            "激活函数及其导数（由反向传播计算）",
            "Activation functions and their derivatives (computed by backward)",
        )
    )
    pngs.append(save(fig, folder, "activations.png"))
    for name, (y, d) in curves.items():  # one figure each, as the course shows them
        fig, ax = figure(size=(5, 3.6))
        ax.plot(x, y, lw=2, label=f"{name}(x)")
        ax.plot(x, d, lw=2, ls="--", label=tr(f"{name}'(x)（自动微分）", f"{name}'(x) (autograd)"))
        ax.axhline(0, color="0.7", lw=0.8)
        ax.axvline(0, color="0.7", lw=0.8)
        ax.set(
            title=tr(f"{name} 及其导数", f"{name} and its derivative"), xlabel="x", ylabel=tr("值", "value")
        )
        ax.legend(fontsize=8, loc="upper left")
        ax.grid(True, alpha=0.3)
        pngs.append(save(fig, folder, f"{name}.png"))

    fig, ax = figure(size=(6.5, 4.2))
    layers = np.arange(1, depth + 1)
    for (a, n), m in zip(norms.items(), "os^vD", strict=True):
        ax.semilogy(layers, n, m + "-", label=a)
    ax.set(
        title=tr(
            f"梯度消失：{depth} 层网络每层的 ‖∂L/∂W‖",
            f"Vanishing gradient: ‖∂L/∂W‖ per layer, {depth} stacked layers",
        ),
        xlabel=tr("层（1 = 最靠近输入）", "layer (1 = nearest the input)"),
        ylabel=tr("梯度范数（对数坐标）", "gradient norm (log scale)"),
        xticks=layers,
    )
    ax.legend()
    ax.grid(True, alpha=0.3)
    pngs.append(save(fig, folder, "vanishing_gradient.png"))
    say.figures(pngs)

    return {
        "x": x.tolist(),
        "values": {k: v[0].tolist() for k, v in curves.items()},
        "derivatives": {k: v[1].tolist() for k, v in curves.items()},
        "softmax_input": list(SOFTMAX_EXAMPLE),
        "softmax": probs.tolist(),
        "grad_norms": norms,
        "sigmoid_first_over_last": float(ratio),
        "first_over_last": {a: float(r) for a, r in ratios.items()},
        "pngs": pngs,
    }
