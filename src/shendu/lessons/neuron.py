"""神经元与前向传播 — the neuron, as regressor and classifier; forward propagation; XOR by an MLP.

1. A biological neuron (生物神经元) sums what its dendrites (树突) receive and fires along its axon
   (轴突) when the sum passes a threshold (阈值). The artificial neuron: y = h(Σᵢ wᵢxᵢ + b).
2. With h the identity it is linear regression (回归); with h = sigmoid it is a classifier (分类)
   whose boundary w·x + b = 0 is a straight line. Both trained here by gradient descent.
3. Forward propagation (前向传播) of a 3-layer network, layer by layer, with the shapes:
   A⁽¹⁾ = X W⁽¹⁾ + B⁽¹⁾, Z⁽¹⁾ = σ(A⁽¹⁾), A⁽²⁾ = Z⁽¹⁾W⁽²⁾ + B⁽²⁾, Z⁽²⁾ = σ(A⁽²⁾), Y = Z⁽²⁾W⁽³⁾ + B⁽³⁾.
4. XOR (异或) by a two-layer perceptron whose every threshold is 0.5:
   h₁ = [x₁ − x₂ > 0.5], h₂ = [x₂ − x₁ > 0.5], y = [h₁ + h₂ > 0.5].
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import shendu
import shendu.nn.functional as F
from shendu import nn
from shendu.lessons._i18n import tr
from shendu.lessons._plot import figure, make_run, save, source, table

# The 3-layer example (inputs 2 → 3 → 2 → 2): the book's weights.
X = [[1.0, 0.5]]
W1 = [[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]]
B1 = [0.1, 0.2, 0.3]
W2 = [[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]]
B2 = [0.1, 0.2]
W3 = [[0.1, 0.3], [0.2, 0.4]]
B3 = [0.1, 0.2]
XOR_X = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=np.float64)
THRESHOLD = 0.5


def forward_three_layers() -> dict:
    """Each layer's A = Z_prev W + B and Z = σ(A) by ``F.linear`` and ``F.sigmoid`` (identity at the end)."""
    z = shendu.tensor(X, dtype=shendu.float64)
    steps = []
    for i, (w, b) in enumerate(((W1, B1), (W2, B2), (W3, B3)), start=1):
        wt = shendu.tensor(w, dtype=shendu.float64)
        a = F.linear(z, wt.T, shendu.tensor(b, dtype=shendu.float64))  # F.linear takes W as (out, in)
        z_next = F.sigmoid(a) if i < 3 else a
        steps.append(
            {
                "layer": i,
                "in_shape": list(z.shape),
                "w_shape": list(wt.shape),
                "a": a.numpy().ravel().tolist(),
                "z": z_next.numpy().ravel().tolist(),
            }
        )
        z = z_next
    return {"steps": steps, "y": z.numpy().ravel().tolist()}


def forward_book(x: np.ndarray) -> np.ndarray:
    """The book's forward pass in NumPy: A = Z·W + B layer by layer, σ between layers, identity at the end."""
    z = x
    for i, (w, b) in enumerate(((W1, B1), (W2, B2), (W3, B3)), start=1):
        a = z @ np.array(w) + np.array(b)  # A⁽ⁱ⁾ = Z⁽ⁱ⁻¹⁾ W⁽ⁱ⁾ + B⁽ⁱ⁾
        z = 1 / (1 + np.exp(-a)) if i < 3 else a  # Z⁽ⁱ⁾ = σ(A⁽ⁱ⁾); the output layer is the identity
    return z


def xor_mlp() -> dict:
    """XOR with two layers of step neurons, every threshold 0.5 (y = [w·x > 0.5])."""
    hidden = nn.Linear(2, 2)
    out = nn.Linear(2, 1)
    with shendu.no_grad():
        hidden.weight.copy_(shendu.tensor([[1.0, -1.0], [-1.0, 1.0]]))
        hidden.bias.fill_(-THRESHOLD)
        out.weight.copy_(shendu.tensor([[1.0, 1.0]]))
        out.bias.fill_(-THRESHOLD)
        x = shendu.tensor(XOR_X, dtype=shendu.float32)
        h = F.step(hidden(x))
        y = F.step(out(h))
    return {
        "hidden": h.numpy().astype(int).tolist(),
        "output": y.numpy().ravel().astype(int).tolist(),
        "hidden_weights": hidden.weight.numpy().tolist(),
        "output_weights": out.weight.numpy().ravel().tolist(),
        "thresholds": [-float(v) for v in hidden.bias.numpy()] + [-float(out.bias.numpy()[0])],
    }


def _fit(model: nn.Module, x, t, loss_fn, steps: int, lr: float) -> list[float]:
    opt = shendu.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(x), t)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def neuron_regressor(n: int = 50, steps: int = 300) -> dict:
    """One neuron with the identity activation: y = wx + b, trained on y = 1.5x − 0.5 + noise."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, (n, 1)).astype(np.float32)
    t = (1.5 * x - 0.5 + rng.normal(0, 0.3, (n, 1))).astype(np.float32)
    shendu.manual_seed(0)
    neuron = nn.Linear(1, 1)
    losses = _fit(neuron, shendu.tensor(x), shendu.tensor(t), F.mse_loss, steps, 0.1)
    w_ls, b_ls = np.polyfit(x.ravel().astype(float), t.ravel().astype(float), 1)
    return {
        "x": x.ravel().tolist(),
        "t": t.ravel().tolist(),
        "w": float(neuron.weight.numpy()[0, 0]),
        "b": float(neuron.bias.numpy()[0]),
        "w_least_squares": float(w_ls),
        "b_least_squares": float(b_ls),
        "losses": losses,
    }


def neuron_classifier(n: int = 200, steps: int = 300) -> dict:
    """One sigmoid neuron on two 2-D clouds: P(class 1) = σ(w·x + b); boundary w·x + b = 0."""
    rng = np.random.default_rng(1)
    t = np.repeat([0, 1], n // 2)
    x = (rng.normal(0, 0.9, (n, 2)) + np.where(t[:, None] == 1, [1.0, 1.0], [-0.8, -0.4])).astype(np.float32)
    shendu.manual_seed(0)
    neuron = nn.Linear(2, 1)
    xs, ts = shendu.tensor(x), shendu.tensor(t.astype(np.float32)[:, None])
    losses = _fit(neuron, xs, ts, F.binary_cross_entropy_with_logits, steps, 0.5)
    with shendu.no_grad():
        pred = (F.sigmoid(neuron(xs)).numpy()[:, 0] > 0.5).astype(int)
    return {
        "x": x.tolist(),
        "t": t.tolist(),
        "w": neuron.weight.numpy()[0].tolist(),
        "b": float(neuron.bias.numpy()[0]),
        "accuracy": float((pred == t).mean()),
        "losses": losses,
    }


def compute(quick: bool = False) -> dict:
    steps = 150 if quick else 300
    return {
        "forward": forward_three_layers(),
        "forward_book": forward_book(np.array(X)).ravel().tolist(),
        "xor": xor_mlp(),
        "regressor": neuron_regressor(steps=steps),
        "classifier": neuron_classifier(steps=steps),
    }


def report(r: dict) -> list[str]:
    fw, xor, reg, cls = r["forward"], r["xor"], r["regressor"], r["classifier"]
    xor_ok = xor["output"] == [0, 1, 1, 0]
    book_same = bool(np.allclose(r["forward_book"], fw["y"], rtol=1e-12, atol=0))
    close = abs(reg["w"] - reg["w_least_squares"]) < 0.01 and abs(reg["b"] - reg["b_least_squares"]) < 0.01
    lines = [
        tr("神经元与前向传播", "Neurons and forward propagation"),
        tr(
            "1. 生物神经元：树突接收信号，细胞体把它们加起来，超过阈值就沿轴突发出信号（激活）。",
            "1. A biological neuron: dendrites receive signals, the cell body sums them, and past a "
            "threshold "
            "it fires along the axon.",
        ),
        tr(
            "   人工神经元：y = h(Σᵢ wᵢxᵢ + b)，权重 w 对应突触强度，偏置 b = −阈值，h 是激活函数。",
            "   The artificial neuron: y = h(Σᵢ wᵢxᵢ + b); weights w are synapse strengths, bias b = "
            "−threshold, "
            "h the activation function.",
        ),
        "",
        tr(
            f"2. 神经元做回归（h 为恒等函数）：梯度下降得 w = {reg['w']:.3f}，b = {reg['b']:.3f}；"
            f"最小二乘解 w = {reg['w_least_squares']:.3f}，b = {reg['b_least_squares']:.3f}"
            f"（{'一致' if close else '还没到'}）",
            f"2. A neuron as regressor (h = identity): gradient descent gives w = {reg['w']:.3f}, b = "
            f"{reg['b']:.3f}; "
            f"least squares w = {reg['w_least_squares']:.3f}, b = {reg['b_least_squares']:.3f} "
            f"({'the same' if close else 'not there yet'})",
        ),
        tr(
            f"   神经元做分类（h = sigmoid）：决策边界 {cls['w'][0]:.2f}·x₁ {cls['w'][1]:+.2f}·x₂ "
            f"{cls['b']:+.2f} = 0 是一条直线，准确率 {cls['accuracy']:.1%}",
            f"   A neuron as classifier (h = sigmoid): boundary {cls['w'][0]:.2f}·x₁ {cls['w'][1]:+.2f}·x₂ "
            f"{cls['b']:+.2f} = 0, a straight line; accuracy {cls['accuracy']:.1%}",
        ),
        "",
        tr(
            "3. 三层网络的前向传播（书中的权重），A = Z·W + B，Z = σ(A)，输出层为恒等函数：",
            "3. Forward propagation of a 3-layer network (the book's weights), A = Z·W + B, Z = σ(A), "
            "identity at the output:",
        ),
        table(
            [tr("层", "layer"), tr("输入形状", "input shape"), tr("W 形状", "W shape"), "A", "Z"],
            [
                [
                    s["layer"],
                    "×".join(map(str, s["in_shape"])),
                    "×".join(map(str, s["w_shape"])),
                    ", ".join(f"{v:.4f}" for v in s["a"]),
                    ", ".join(f"{v:.4f}" for v in s["z"]),
                ]
                for s in fw["steps"]
            ],
        ),
        tr(
            f"   输出 Y = ({fw['y'][0]:.8f}, {fw['y'][1]:.8f})；形状规则：(1×2)(2×3) → (1×3)，(1×3)(3×2) → "
            "(1×2)",
            f"   output Y = ({fw['y'][0]:.8f}, {fw['y'][1]:.8f}); the shapes chain: (1×2)(2×3) → (1×3), "
            "(1×3)(3×2) → (1×2)",
        ),
        tr(
            f"   书中的写法（NumPy，逐层 A = Z·W + B）：Y = ({r['forward_book'][0]:.8f}, "
            f"{r['forward_book'][1]:.8f})" + ("，与上面相同：" if book_same else "，与上面不同！"),
            f"   The book's way (NumPy, A = Z·W + B layer by layer): Y = ({r['forward_book'][0]:.8f}, "
            f"{r['forward_book'][1]:.8f})" + (", the same as above:" if book_same else ", NOT as above!"),
        ),
        source(forward_book),
        "",
        tr(
            f"4. 用多层感知机实现异或门，所有阈值都是 {THRESHOLD}：h₁ = [x₁ − x₂ > 0.5]，"
            "h₂ = [x₂ − x₁ > 0.5]，y = [h₁ + h₂ > 0.5]",
            f"4. XOR by a multilayer perceptron, every threshold {THRESHOLD}: h₁ = [x₁ − x₂ > 0.5], "
            "h₂ = [x₂ − x₁ > 0.5], y = [h₁ + h₂ > 0.5]",
        ),
        table(
            ["(x₁, x₂)", "(h₁, h₂)", "y", tr("异或", "XOR")],
            [
                [f"({int(a)}, {int(b)})", f"({h[0]}, {h[1]})", y, int(a) ^ int(b)]
                for (a, b), h, y in zip(XOR_X, xor["hidden"], xor["output"], strict=True)
            ],
        ),
        tr(
            f"   输出{'与异或的真值表完全一致' if xor_ok else '与异或的真值表不一致'}。",
            f"   The output {'matches' if xor_ok else 'does NOT match'} XOR's truth table.",
        ),
    ]
    return lines


def draw(r: dict, folder: Path) -> list[str]:
    reg, cls, xor = r["regressor"], r["classifier"], r["xor"]
    pngs = []
    fig, ax = figure(size=(8, 3.6))
    _draw_neuron(ax)
    pngs.append(save(fig, folder, "neuron.png"))

    fig, (a1, a2) = figure(1, 2, size=(10.5, 4.2))
    x, t = np.array(reg["x"]), np.array(reg["t"])
    a1.scatter(x, t, s=12, color="0.3", label=tr("数据", "data"))
    grid = np.linspace(-2, 2, 2)
    a1.plot(grid, reg["w"] * grid + reg["b"], lw=2, label=f"y = {reg['w']:.2f}x {reg['b']:+.2f}")
    a1.set(title=tr("神经元做回归：h(a) = a", "A neuron as regressor: h(a) = a"), xlabel="x", ylabel="y")
    a1.legend(fontsize=8)
    xs, ts = np.array(cls["x"]), np.array(cls["t"])
    for c, color in ((0, "tab:blue"), (1, "tab:red")):
        a2.scatter(xs[ts == c, 0], xs[ts == c, 1], s=10, color=color, label=tr(f"类别 {c}", f"class {c}"))
    (w1, w2), b = cls["w"], cls["b"]
    gx = np.linspace(xs[:, 0].min(), xs[:, 0].max(), 2)
    a2.plot(gx, -(w1 * gx + b) / w2, "k-", lw=1.5, label=tr("边界 w·x + b = 0", "boundary w·x + b = 0"))
    a2.set(
        title=tr(
            f"神经元做分类：σ(w·x + b)，准确率 {cls['accuracy']:.0%}",
            f"A neuron as classifier: {cls['accuracy']:.0%}",
        ),
        xlabel="x₁",
        ylabel="x₂",
        ylim=(xs[:, 1].min() - 0.5, xs[:, 1].max() + 0.5),
    )
    a2.legend(fontsize=8)
    pngs.append(save(fig, folder, "regressor_classifier.png"))

    fig, (a1, a2) = figure(1, 2, size=(10.5, 4.2))
    _draw_xor_net(a1)
    h = np.array(xor["hidden"], dtype=float)
    jitter = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.07, 0.07]])  # (0,0) and (1,1) both map to (0,0)
    for (a, b), hh, y in zip(XOR_X, h + jitter, xor["output"], strict=True):
        a2.scatter(
            *hh,
            s=120,
            marker="^" if y else "o",
            color="tab:red" if y else "tab:blue",
            edgecolor="k",
            zorder=3,
        )
        # (0, 0) and (1, 1) share a point: one label to its upper left, the other below right
        off, ha = {(0, 0): ((-8, 8), "right"), (1, 1): ((10, -14), "left")}.get(
            (int(a), int(b)), ((8, 8), "left")
        )
        a2.annotate(
            f"x = ({int(a)}, {int(b)})", hh, xytext=off, textcoords="offset points", fontsize=8, ha=ha
        )
    g = np.linspace(-0.3, 1.3, 2)
    a2.plot(g, 0.5 - g, "k--", lw=1.2, label="h₁ + h₂ = 0.5")
    a2.set(
        title=tr("隐藏层 (h₁, h₂)：异或变得线性可分", "Hidden layer (h₁, h₂): XOR becomes separable")
        if xor["output"] == [0, 1, 1, 0]
        else tr("隐藏层 (h₁, h₂)：输出不是异或", "Hidden layer (h₁, h₂): the output is not XOR"),
        xlabel="h₁",
        ylabel="h₂",
        xlim=(-0.3, 1.3),
        ylim=(-0.3, 1.3),
        aspect="equal",
    )
    a2.legend(fontsize=8)
    pngs.append(save(fig, folder, "xor_mlp.png"))
    return pngs


def _draw_neuron(ax) -> None:
    """The artificial neuron with the biological names beside its parts."""
    from matplotlib.patches import Circle

    ax.add_patch(Circle((4.0, 1.5), 0.55, facecolor="#e8f0fb", edgecolor="0.2", lw=1.4))
    ax.text(4.0, 1.5, "Σ | h", ha="center", va="center", fontsize=12)
    for i, y in enumerate((2.7, 1.5, 0.3)):
        ax.annotate(
            "", xy=(3.45, 1.5 + (y - 1.5) * 0.25), xytext=(1.0, y), arrowprops=dict(arrowstyle="-|>", lw=1.2)
        )
        ax.text(0.7, y, f"x{'₁₂₃'[i]}", ha="right", va="center", fontsize=11)
        ax.text(2.1, y * 0.78 + 0.35, f"w{'₁₂₃'[i]}", fontsize=10, color="tab:blue")
    ax.annotate("", xy=(6.6, 1.5), xytext=(4.55, 1.5), arrowprops=dict(arrowstyle="-|>", lw=1.2))
    ax.text(6.75, 1.5, "y = h(Σ wᵢxᵢ + b)", va="center", fontsize=11)
    ax.text(1.6, 3.25, tr("树突（输入 x）", "dendrites (inputs x)"), fontsize=9, color="0.35")
    ax.text(
        1.9, -0.35, tr("突触强度（权重 w）", "synapse strength (weights w)"), fontsize=9, color="tab:blue"
    )
    ax.text(
        4.0,
        2.35,
        tr("细胞体：求和、与阈值比较", "cell body: sum, compare with threshold"),
        ha="center",
        fontsize=9,
        color="0.35",
    )
    ax.text(5.0, 1.05, tr("轴突（输出）", "axon (output)"), fontsize=9, color="0.35")
    ax.set(
        xlim=(0, 10), ylim=(-0.6, 3.6), title=tr("生物神经元与人工神经元", "Biological and artificial neuron")
    )
    ax.axis("off")


def _draw_xor_net(ax) -> None:
    """The 2-2-1 network of step neurons with its weights and the threshold 0.5 in every neuron."""
    from matplotlib.patches import Circle

    pos = {"x1": (0, 2), "x2": (0, 0), "h1": (2.2, 2), "h2": (2.2, 0), "y": (4.4, 1)}
    weights = [
        ("x1", "h1", "1"),
        ("x2", "h1", "−1"),
        ("x1", "h2", "−1"),
        ("x2", "h2", "1"),
        ("h1", "y", "1"),
        ("h2", "y", "1"),
    ]
    for a, b, w in weights:
        (x0, y0), (x1, y1) = pos[a], pos[b]
        ax.annotate(
            "",
            xy=(x1 - 0.35, y1 + (y0 - y1) * 0.12),
            xytext=(x0 + 0.35, y0),
            arrowprops=dict(arrowstyle="-|>"),
        )
        ax.text(x0 + (x1 - x0) * 0.3, y0 + (y1 - y0) * 0.3 + 0.15, w, fontsize=10, color="tab:blue")
    for name, (x, y) in pos.items():
        ax.add_patch(Circle((x, y), 0.33, facecolor="white", edgecolor="0.2", zorder=3))
        label = {"x1": "x₁", "x2": "x₂", "h1": "h₁", "h2": "h₂", "y": "y"}[name]
        ax.text(x, y, label, ha="center", va="center", fontsize=11, zorder=4)
        if name[0] in "hy":
            ax.text(x, y - 0.55, tr("阈值 0.5", "threshold 0.5"), ha="center", fontsize=8, color="tab:red")
    ax.set(
        xlim=(-0.6, 5.0),
        ylim=(-0.9, 2.6),
        aspect="equal",
        title=tr("异或的两层感知机", "XOR by a two-layer perceptron"),
    )
    ax.axis("off")


run = make_run("neuron", compute, report, draw)
