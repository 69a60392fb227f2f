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
from shendu.lessons._plot import figure, grad_of, make_run, save, source, table
from shendu.ops.activation import Tanh
from shendu.reference.layers import Relu, Sigmoid, softmax


ACTIVATIONS = {
    "step": F.step,
    "sigmoid": F.sigmoid,
    "tanh": F.tanh,
    "relu": F.relu,
    "softplus": F.softplus,
}
SOFTMAX_EXAMPLE = [0.3, 2.9, 4.0]  # the course's example scores
PROBE = np.array([-2.0, 0.0, 2.0])  # where the table reads each curve
DEPTH = 10
SMALL, LARGE = "tanh, N(0, 0.01²)", "tanh, N(0, 1)"  # tanh with too small and too large weights


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


def _verdict(first_over_last: float, first_over_xavier_tanh: float) -> str:
    """Layer 1's gradient "vanishes" (small against the last layer's or against Xavier-tanh's
    layer 1), "explodes" (large against the last layer's) or "holds"."""
    if first_over_last < 1e-2 or first_over_xavier_tanh < 1e-4:
        return "vanishes"
    if first_over_last > 1e2:
        return "explodes"
    return "holds"


def _fmt(v) -> str:
    return "[" + ", ".join(f"{float(a):.4f}" for a in v) + "]"


def compute(quick: bool = False) -> dict:
    """Curves and autograd derivatives, softmax of the course's scores, per-layer gradient norms."""
    x = np.linspace(-5, 5, 201 if quick else 1001)
    curves = {name: curve_and_derivative(fn, x) for name, fn in ACTIVATIONS.items()}
    probe = {name: curve_and_derivative(fn, PROBE) for name, fn in ACTIVATIONS.items()}
    scores = shendu.tensor(SOFTMAX_EXAMPLE, dtype=shendu.float64)  # float32 would round 1000.3
    probs = F.softmax(scores, dim=0).numpy()
    shifted = F.softmax(scores + 1000.0, dim=0).numpy()
    width = 50 if quick else 100
    norms = {a: layer_gradient_norms(a, depth=DEPTH, width=width) for a in ("sigmoid", "tanh", "relu")}
    norms[SMALL] = layer_gradient_norms("tanh", depth=DEPTH, width=width, std=0.01)
    norms[LARGE] = layer_gradient_norms("tanh", depth=DEPTH, width=width, std=1.0)
    out = {
        "x": x.tolist(),
        "values": {k: v[0].tolist() for k, v in curves.items()},
        "derivatives": {k: v[1].tolist() for k, v in curves.items()},
        "probe": PROBE.tolist(),
        "probe_values": {k: v[0].tolist() for k, v in probe.items()},
        "probe_derivatives": {k: v[1].tolist() for k, v in probe.items()},
        "softmax_input": list(SOFTMAX_EXAMPLE),
        "softmax": probs.tolist(),
        "softmax_shifted": shifted.tolist(),
        "depth": DEPTH,
        "width": width,
        "grad_norms": norms,
    }
    out.update(conclusions(out))
    return out


def conclusions(r: dict) -> dict:
    """What the numbers say about each derivative, softmax, and each stack's first-layer gradient."""
    d = {k: np.array(v) for k, v in r["derivatives"].items()}
    x = np.array(r["x"])
    sig = np.array(r["values"]["sigmoid"])
    norms = r["grad_norms"]
    first_over_last = {a: n[0] / n[-1] for a, n in norms.items()}
    against_xavier = {a: n[0] / norms["tanh"][0] for a, n in norms.items()}
    s = np.array(r["softmax"])
    return {
        "max_derivative": {k: float(v.max()) for k, v in d.items()},
        "argmax_derivative": {k: float(x[int(np.argmax(v))]) for k, v in d.items()},
        "step_derivative_all_zero": bool(np.all(d["step"] == 0)),
        "softplus_derivative_minus_sigmoid": float(np.abs(d["softplus"] - sig).max()),
        "relu_derivative_values": sorted({float(v) for v in d["relu"]}),
        "softmax_sum": float(s.sum()),
        "softmax_keeps_order": bool(np.array_equal(np.argsort(s), np.argsort(np.array(r["softmax_input"])))),
        "softmax_shift_change": float(np.abs(s - np.array(r["softmax_shifted"])).max()),
        "first_over_last": first_over_last,
        "first_over_xavier_tanh": against_xavier,
        "verdict": {a: _verdict(first_over_last[a], against_xavier[a]) for a in norms},
        "sigmoid_first_over_last": first_over_last["sigmoid"],
    }


VERDICT_ZH = {"vanishes": "消失", "explodes": "爆炸", "holds": "保持"}


def report(r: dict) -> list[str]:
    probe = r["probe"]
    rows = [
        [
            name,
            *r["probe_values"][name],
            *r["probe_derivatives"][name],
            r["max_derivative"][name],
        ]
        for name in ACTIVATIONS
    ]
    mx, at = r["max_derivative"], r["argmax_derivative"]
    relu_vals = " 或 ".join(f"{v:g}" for v in r["relu_derivative_values"])
    relu_at0 = r["probe_derivatives"]["relu"][probe.index(0.0)]
    zero_step = r["step_derivative_all_zero"]
    same_softplus = r["softplus_derivative_minus_sigmoid"] < 1e-9
    heads = ["h(x)", *(f"h({v:g})" for v in probe), *(f"h'({v:g})" for v in probe)]
    lines = [
        tr(
            "1. 激活函数及其导数（导数由自动微分得到：y.sum().backward(); x.grad）：",
            "1. Activations and their derivatives (derivatives from autograd: y.sum().backward(); x.grad):",
        ),
        table([*heads, tr("[-5,5] 上 h' 的最大值", "max h' on [-5,5]")], rows, ".4f"),
        tr(
            "   阶跃函数的导数"
            + ("处处为 0（梯度下降得不到信号）；" if zero_step else "不全为 0；")
            + f"sigmoid 的导数最大 {mx['sigmoid']:.4f}（在 x = {at['sigmoid']:g}），"
            f"tanh 的最大 {mx['tanh']:.4f}（是 sigmoid 的 {mx['tanh'] / mx['sigmoid']:.1f} 倍）；",
            "   step's derivative is "
            + ("0 everywhere (no signal for gradient descent); " if zero_step else "not all 0; ")
            + f"sigmoid's is at most {mx['sigmoid']:.4f} (at x = {at['sigmoid']:g}), tanh's at most "
            f"{mx['tanh']:.4f} ({mx['tanh'] / mx['sigmoid']:.1f}× sigmoid's);",
        ),
        tr(
            f"   softplus 的导数{'就是' if same_softplus else '不等于'} sigmoid"
            f"（最大差 {r['softplus_derivative_minus_sigmoid']:.1e}）；"
            f"ReLU 的导数只取 {relu_vals}（h'(0) 取 {relu_at0:g}）。",
            f"   softplus' derivative {'equals' if same_softplus else 'differs from'} the sigmoid (largest "
            f"difference {r['softplus_derivative_minus_sigmoid']:.1e}); ReLU's takes only the values "
            f"{' or '.join(f'{v:g}' for v in r['relu_derivative_values'])} (h'(0) taken as {relu_at0:g}).",
        ),
        tr(
            "   读代码：书中的 ReLU、Sigmoid 层和 shendu 的 Tanh，各有 forward 与 backward：",
            "   Read the code: the book's ReLU and Sigmoid layers and shendu's Tanh, forward and backward:",
        ),
        source(Relu),
        source(Sigmoid),
        source(Tanh),
    ]
    probs, shifted = r["softmax"], r["softmax_shifted"]
    same = r["softmax_shift_change"] < 1e-9
    lines += [
        "",
        tr(
            f"2. softmax{tuple(SOFTMAX_EXAMPLE)} = {_fmt(probs)}（和为 {r['softmax_sum']:.4f}）：",
            f"2. softmax{tuple(SOFTMAX_EXAMPLE)} = {_fmt(probs)} (sum {r['softmax_sum']:.4f}):",
        ),
        tr(
            "   大小顺序" + ("不变，最大的分数得到最大的概率；" if r["softmax_keeps_order"] else "变了！"),
            "   the order is "
            + (
                "kept and the largest score gets the largest probability;"
                if r["softmax_keeps_order"]
                else "changed!"
            ),
        ),
        tr(
            f"   每个分数加 1000：{_fmt(shifted)}，"
            + ("结果不变" if same else "结果变了")
            + f"（最大差 {r['softmax_shift_change']:.1e}；先减去最大值，exp 不会溢出）。",
            f"   adding 1000 to every score: {_fmt(shifted)}, "
            + ("nothing changes" if same else "the result changes")
            + f" (largest difference {r['softmax_shift_change']:.1e}; the max is subtracted first, so exp "
            "cannot overflow).",
        ),
        source(softmax),
    ]
    norms, depth = r["grad_norms"], r["depth"]
    ratios, against, verdict = r["first_over_last"], r["first_over_xavier_tanh"], r["verdict"]

    def word(a: str) -> str:
        return tr(VERDICT_ZH[verdict[a]], verdict[a])

    rows = [[tr(f"第 {i + 1} 层", f"layer {i + 1}"), *(norms[a][i] for a in norms)] for i in range(depth)]
    lines += [
        "",
        tr(
            f"3. 梯度消失：{depth} 层网络中每层的 ‖∂L/∂W‖（第 1 层最靠近输入；sigmoid 与 tanh 用 Xavier "
            "初始化，ReLU 用 He 初始化，最后两列 tanh 用 N(0, 0.01²) 和 N(0, 1) 初始化）：",
            f"3. The vanishing gradient: ‖∂L/∂W‖ per layer in a {depth}-layer stack (layer 1 = nearest the "
            "input; Xavier init for sigmoid and tanh, He for ReLU, the last two columns tanh with "
            "N(0, 0.01²) and N(0, 1) weights):",
        ),
        table(["", *norms], rows, ".3e"),
        tr(
            f"   sigmoid：第 1 层的梯度是第 {depth} 层的 {ratios['sigmoid']:.2e} 倍"
            f"（每个 sigmoid 乘以 ≤ {mx['sigmoid']:.2f}）。",
            f"   sigmoid: layer 1 gets {ratios['sigmoid']:.2e} × the gradient of layer {depth} (each "
            f"sigmoid multiplies by ≤ {mx['sigmoid']:.2f}).",
        ),
        tr(f"   第 1 层 / 第 {depth} 层：", f"   layer 1 / layer {depth}: ")
        + tr("，", ", ").join(
            f"{a} {ratios[a]:.1e}（{word(a)}）" if tr("中", "") else f"{a} {ratios[a]:.1e} ({word(a)})"
            for a in norms
        ),
        tr(
            f"   tanh：Xavier 初始化时梯度{word('tanh')}；权重太小（N(0, 0.01²)）时{word(SMALL)}"
            f"——每一层都一样小，第 1 层只有 Xavier 时的 {against[SMALL]:.1e} 倍"
            f"（信号每过一层就变小）；太大（N(0, 1)，神经元饱和）时{word(LARGE)}"
            f"（第 1 层是第 {depth} 层的 {ratios[LARGE]:.1e} 倍）。",
            f"   tanh: with Xavier init the gradient {word('tanh')}; with too small weights (N(0, 0.01²)) it "
            f"{word(SMALL)}: every layer's is as small, layer 1 gets {against[SMALL]:.1e} × its Xavier "
            f"gradient (the signal shrinks at every layer); with too large ones (N(0, 1), saturated units) "
            f"it {word(LARGE)} (layer 1 gets {ratios[LARGE]:.1e} × layer {depth}'s).",
        ),
        tr(
            "   笔记把梯度消失列为 tanh 的缺点：上面的数字说明它取决于初始化，"
            "Xavier 初始化正是为避免它而设计的。"
            if verdict["tanh"] == "holds" and verdict[SMALL] == "vanishes"
            else "   笔记把梯度消失列为 tanh 的缺点：这里的数字与笔记一致。",
            "   The notes list vanishing gradients as tanh's weakness: the numbers above show it depends "
            "on the initialisation, and Xavier init was designed to avoid it."
            if verdict["tanh"] == "holds" and verdict[SMALL] == "vanishes"
            else "   The notes list vanishing gradients as tanh's weakness: the numbers here agree.",
        ),
    ]
    return lines


def _curve_axes(ax, x, y, d, name: str, title: str) -> None:
    ax.plot(x, y, lw=2, label=f"{name}(x)")
    ax.plot(x, d, lw=2, ls="--", label=tr(f"{name}'(x)（自动微分）", f"{name}'(x) (autograd)"))
    ax.axhline(0, color="0.7", lw=0.8)
    ax.axvline(0, color="0.7", lw=0.8)
    ax.set(title=title, xlabel="x", ylabel=tr("值", "value"))
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(True, alpha=0.3)


def _title(name: str) -> str:
    """The activation's name as the notes write it in Chinese (阶跃函数 for step), the code name beside."""
    return tr(f"阶跃函数 {name}", name) if name == "step" else name


def draw(r: dict, folder: Path) -> list[str]:
    x = np.array(r["x"])
    probs = np.array(r["softmax"])
    pngs = []
    fig, axes = figure(2, 3, size=(13, 7.6))
    for ax, name in zip(axes.flat, ACTIVATIONS, strict=False):
        _curve_axes(ax, x, r["values"][name], r["derivatives"][name], name, _title(name))
    ax = axes.flat[5]
    ax.bar(np.arange(len(probs)) - 0.2, SOFTMAX_EXAMPLE, width=0.4, label=tr("分数 x", "score x"))
    ax.bar(np.arange(len(probs)) + 0.2, probs, width=0.4, label="softmax(x)")
    for i, p in enumerate(probs):
        ax.annotate(f"{p:.3f}", (i + 0.2, p), ha="center", va="bottom", fontsize=8)
    ax.set(
        title=tr(f"分数 {tuple(SOFTMAX_EXAMPLE)} 的 softmax", f"softmax of scores {tuple(SOFTMAX_EXAMPLE)}"),
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
    for name in ACTIVATIONS:  # one figure each, as the course shows them
        fig, ax = figure(size=(5, 3.6))
        title = tr(
            f"{_title(name)} 及其导数（最大 {r['max_derivative'][name]:.2f}）",
            f"{name} and its derivative (max {r['max_derivative'][name]:.2f})",
        )
        _curve_axes(ax, x, r["values"][name], r["derivatives"][name], name, title)
        pngs.append(save(fig, folder, f"{name}.png"))

    fig, ax = figure(size=(7.5, 4.6))
    depth = r["depth"]
    layers = np.arange(1, depth + 1)
    for (a, n), m in zip(r["grad_norms"].items(), "os^vD", strict=True):
        v = r["verdict"][a]
        init = {"sigmoid": " (Xavier)", "tanh": " (Xavier)", "relu": " (He)"}.get(a, "")
        ax.semilogy(layers, n, m + "-", label=f"{a}{init}: {tr(VERDICT_ZH[v], v)}")
    ax.set(
        title=tr(
            f"梯度消失：{depth} 层网络每层的 ‖∂L/∂W‖",
            f"Vanishing gradient: ‖∂L/∂W‖ per layer, {depth} stacked layers",
        ),
        xlabel=tr("层（1 = 最靠近输入）", "layer (1 = nearest the input)"),
        ylabel=tr("梯度范数（对数坐标）", "gradient norm (log scale)"),
        xticks=layers,
    )
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.grid(True, alpha=0.3)
    pngs.append(save(fig, folder, "vanishing_gradient.png"))
    return pngs


run = make_run("activations", compute, report, draw)
