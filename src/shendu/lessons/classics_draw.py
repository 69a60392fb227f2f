"""The figures of the ``classics`` lesson, drawn from the numbers ``classics.compute()`` returns.

Block diagrams are boxes and arrows in data coordinates on an axis without frame; every label
(channels, kernel sizes, shapes) comes from the numbers, i.e. from the library's models.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shendu.lessons._i18n import tr
from shendu.lessons._plot import figure, save

COLORS = {
    "conv1": "#cfe2f3",
    "conv3": "#fce5cd",
    "conv5": "#d9ead3",
    "pool": "#ead1dc",
    "cat": "#fff2cc",
    "io": "#eeeeee",
    "gpu1": "#cfe2f3",
    "gpu2": "#fce5cd",
}


def box(ax, x: float, y: float, text: str, color: str = "#eeeeee", fontsize: float = 9) -> None:
    """A rounded box with ``text``, centred at (x, y)."""
    ax.text(
        x,
        y,
        text,
        ha="center",
        va="center",
        fontsize=fontsize,
        bbox=dict(boxstyle="round,pad=0.35", fc=color, ec="0.35", lw=0.8),
    )


def arrow(ax, start: tuple[float, float], end: tuple[float, float], color: str = "0.25", **kw) -> None:
    ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="-|>", color=color, lw=1.1, **kw))


def blank(ax, xlim: tuple[float, float], ylim: tuple[float, float], title: str) -> None:
    ax.set(xlim=xlim, ylim=ylim, title=title)
    ax.axis("off")


def kind(label: str) -> str:
    return (
        "pool"
        if "pool" in label
        else "conv1"
        if label.startswith("1×1")
        else "conv5"
        if "5×5" in label
        else "conv3"
    )


def draw_inception(ax, inc: dict) -> None:
    """GoogLeNet's inception3a: input → four branches → concatenation, with the model's channels."""
    blank(
        ax,
        (0, 10),
        (-2, 10),
        tr(
            f"Inception 模块（inception3a，{inc['side']}×{inc['side']}）",
            f"Inception block (inception3a, {inc['side']}×{inc['side']})",
        ),
    )
    box(ax, 5, 9.3, tr(f"输入：{inc['in']} 个通道", f"input: {inc['in']} channels"), COLORS["io"], 10)
    xs = [1.25, 3.75, 6.25, 8.75]
    top, bottom = 6.9, 2.4
    for x, layers in zip(xs, inc["branches"].values(), strict=True):
        arrow(ax, (5, 8.9), (x, top + 0.45))
        ys = [top] if len(layers) == 1 else [top, (top + bottom) / 2 + 0.3]
        for y, label in zip(ys, layers, strict=True):
            box(ax, x, y, label.replace(", ", "\n"), COLORS[kind(label)], 8.5)
        if len(layers) > 1:
            arrow(ax, (x, top - 0.55), (x, ys[1] + 0.55))
        arrow(ax, (x, ys[-1] - 0.55), (5 + (x - 5) * 0.35, bottom + 0.35))
    widths = inc["widths"]
    box(
        ax,
        5,
        bottom,
        tr("通道拼接 ", "concatenate ") + " + ".join(map(str, widths)) + f" = {sum(widths)}",
        COLORS["cat"],
        9.5,
    )
    arrow(ax, (5, bottom - 0.4), (5, 1.0))
    box(ax, 5, 0.6, tr(f"输出：{sum(widths)} 个通道", f"output: {sum(widths)} channels"), COLORS["io"], 10)
    notes = [
        tr(
            f"第 {r['branch']} 路先 1×1 降维：{r['without']:,} → {r['with_1x1']:,} 个参数",
            f"branch {r['branch']}: 1×1 reduction first, {r['without']:,} → {r['with_1x1']:,} parameters",
        )
        for r in inc["reduction"]
    ]
    notes.append(
        tr(
            "第 3 路：论文为 5×5，shendu 与 torchvision 为 3×3",
            "branch 3: 5×5 in the paper, 3×3 in shendu and torchvision",
        )
    )
    ax.text(0, -0.5, "\n".join(notes), fontsize=8, color="0.3", va="top")


def draw_residual(ax, block: dict, title: str) -> None:
    """A residual block with its identity shortcut: the model's convolutions, then + x, then ReLU."""
    blank(ax, (0, 10), (-2, 10), title)
    box(ax, 4, 9.3, tr(f"x（{block['in']} 个通道）", f"x ({block['in']} channels)"), COLORS["io"], 10)
    n = len(block["layers"])
    ys = np.linspace(7.6, 4.4, n) if n > 1 else np.array([6.0])
    prev = 8.9
    for i, (y, (k, c)) in enumerate(zip(ys, block["layers"], strict=True)):
        arrow(ax, (4, prev), (4, y + 0.55))
        box(ax, 4, y, f"{k}×{k} conv, {c}\nBN" + (", ReLU" if i < n - 1 else ""), COLORS[kind(f"{k}×{k}")], 9)
        prev = y - 0.55
    ax.text(1.0, 6.0, "F(x)", fontsize=13, ha="center", va="center", style="italic")
    arrow(ax, (4, prev), (4, 2.95))
    ax.add_patch(_circle(4, 2.6, 0.35))
    ax.text(4, 2.6, "+", ha="center", va="center", fontsize=14)
    # the shortcut: out of x to the right, down, into the sum
    ax.plot([5.6, 7.6, 7.6], [9.3, 9.3, 2.6], color="tab:red", lw=1.6)
    arrow(ax, (7.6, 2.6), (4.37, 2.6), color="tab:red")
    ax.text(
        7.8,
        6.0,
        tr("恒等\n捷径：\nx 原样\n加回", "identity\nshortcut:\nx added\nunchanged"),
        color="tab:red",
        fontsize=9,
        va="center",
    )
    arrow(ax, (4, 2.23), (4, 1.05))
    box(ax, 4, 0.6, "y = ReLU(F(x) + x)", COLORS["io"], 10)


def _circle(x: float, y: float, r: float):
    from matplotlib.patches import Circle

    return Circle((x, y), r, fc="white", ec="0.25", lw=1.1)


def draw_alexnet(ax, a: dict, table: list[list]) -> None:
    """AlexNet across two GPUs: each weight layer as two half boxes; red arrows cross GPUs (groups = 1)."""
    layers = [row for row in table if row[1].startswith(("conv", "fc"))]
    groups = {s["layer"]: s["groups"] for s in a["split"]}
    w, h, ys = 0.78, 1.15, {1: 3.3, 2: 1.1}
    blank(
        ax,
        (-1.3, len(layers) + 0.1),
        (0.1, 4.85),
        tr(
            "AlexNet 在两块 GPU 上：每层的卷积核一半在 GPU 1，一半在 GPU 2；"
            "红色箭头跨 GPU 读取（groups = 1）",
            "AlexNet on two GPUs: half of each layer's kernels on GPU 1, half on GPU 2; red arrows read "
            "across GPUs (groups = 1)",
        ),
    )
    ax.add_patch(_rect(-1.2, 1.6, 0.7, 1.2, COLORS["io"]))
    ax.text(-0.85, 2.2, tr("输入\n224×224\n×3", "input\n224×224\n×3"), ha="center", va="center", fontsize=8)
    for g, y in ys.items():
        ax.text(0.2, y + h + 0.08, f"GPU {g}", fontsize=9, color="0.3")
    prev_x = -0.5
    for i, (name, what, shape, _) in enumerate(layers):
        x = i + 0.2
        dims = [int(v) for v in shape.split("×")]
        last = i == len(layers) - 1
        conv = what.startswith("conv")
        title = f"conv{i + 1}" if conv else f"fc{i + 1}"
        kernel = what.split()[1].split("×", 1)[1] if conv else ""
        stride = f" /{what.split('/')[1].split()[0]}" if conv and "/" in what else ""
        if last:  # the 1000-way output is one layer fed by both GPUs
            ax.add_patch(_rect(x, ys[2], w, ys[1] + h - ys[2], "#d9ead3"))
            ax.text(x + w / 2, 2.75, f"{title}\n{dims[0]}\nsoftmax", ha="center", va="center", fontsize=7.5)
        for g, y in ys.items():
            if not last:
                half = [dims[0] // 2, *dims[1:]]
                out = "×".join(map(str, half[1:] + half[:1])) if conv else str(half[0])
                ax.add_patch(_rect(x, y, w, h, COLORS[f"gpu{g}"]))
                label = f"{title}\n{half[0]}@{kernel}{stride}\n{out}" if conv else f"{title}\n{out}"
                ax.text(x + w / 2, y + h / 2, label, ha="center", va="center", fontsize=7.5)
            end_y = y + h / 2
            if i == 0:
                arrow(ax, (prev_x, 2.2), (x, end_y))
                continue
            arrow(ax, (prev_x, end_y), (x, end_y))
            if groups.get(name, 1) == 1 and not last:
                other = ys[3 - g] + h / 2
                arrow(ax, (prev_x, other), (x, end_y + (0.18 if g == 1 else -0.18)), color="tab:red")
        prev_x = x + w
    ax.text(
        len(layers) / 2 - 0.5,
        0.25,
        tr(
            "每个框：一块 GPU 上的那一半（核数@核大小/步幅，输出 高×宽×通道）",
            "each box: one GPU's half (kernels@size/stride, output height×width×channels)",
        ),
        ha="center",
        fontsize=8,
        color="0.35",
    )


def draw_networks(r: dict, folder: Path) -> str:
    nets = r["networks"]
    names = list(nets)
    fig, (a1, a2) = figure(1, 2, size=(12, 4.6))
    years = np.array([nets[n]["year"] for n in names], float)
    err = np.array([nets[n]["top5_error"] for n in names])
    x = np.arange(len(names))
    bars = a1.bar(x, err, color=[f"C{i}" for i in range(len(names))])
    for b, n, e in zip(bars, names, err, strict=True):
        a1.text(
            b.get_x() + b.get_width() / 2,
            e + 0.3,
            tr(f"{e:g}%\n{nets[n]['depth']} 层", f"{e:g}%\n{nets[n]['depth']} layers"),
            ha="center",
            va="bottom",
            fontsize=9,
        )
    a1.set_xticks(x)
    a1.set_xticklabels([f"{n}\n{int(y)}" for n, y in zip(names, years, strict=True)])
    a1.set(
        title=tr(
            "ImageNet top-5 错误率（论文数字）与深度（计算）",
            "ImageNet top-5 error (papers) and depth (computed)",
        ),
        ylabel=tr("top-5 错误率（%）", "top-5 error (%)"),
        ylim=(0, max(err) * 1.35),
    )
    a1.grid(True, axis="y", alpha=0.3)
    params = np.array([nets[n]["params"] for n in names]) / 1e6
    macs = np.array([nets[n]["mult_adds"] for n in names]) / 1e9
    a2.bar(x - 0.2, params, width=0.4, label=tr("参数量（百万）", "parameters (millions)"))
    a2.bar(x + 0.2, macs, width=0.4, label=tr("乘加次数（十亿）", "multiply-adds (billions)"))
    for i in range(len(names)):
        a2.text(x[i] - 0.2, params[i] + 2, f"{params[i]:.1f}", ha="center", fontsize=8)
        a2.text(x[i] + 0.2, macs[i] + 2, f"{macs[i]:.1f}", ha="center", fontsize=8)
    a2.set_xticks(x)
    a2.set_xticklabels(names)
    a2.set(
        title=tr("每张 224×224 图像的规模与计算量（summary）", "Size and cost per 224×224 image (summary)"),
        ylabel=tr("百万 / 十亿", "millions / billions"),
    )
    a2.legend(fontsize=8)
    a2.grid(True, axis="y", alpha=0.3)
    return save(fig, folder, "classics.png")


def draw_tricks(r: dict, folder: Path) -> str:
    t = r["tricks"]
    fig, (a1, a2, a3) = figure(1, 3, size=(15, 4.4))
    xs = np.linspace(-5, 5, 201)
    a1.plot(xs, np.maximum(xs, 0), color="tab:blue", label="ReLU")
    a1.plot(xs, (xs > 0).astype(float), color="tab:blue", ls="--", label=tr("ReLU 的导数", "ReLU′"))
    a1.plot(xs, np.tanh(xs), color="tab:orange", label="tanh")
    a1.plot(
        xs,
        1 - np.tanh(xs) ** 2,
        color="tab:orange",
        ls="--",
        label=tr("tanh 的导数（饱和 → 0）", "tanh′ (saturates → 0)"),
    )
    a1.scatter(t["x"], t["tanh_grad"], color="tab:orange", zorder=3, s=18)
    a1.scatter(t["x"], t["relu_grad"], color="tab:blue", zorder=3, s=18)
    a1.set(
        title=tr(
            "ReLU 不饱和，tanh 饱和\n（点：这里用 autograd 算的导数）",
            "ReLU does not saturate, tanh does\n(dots: derivatives by autograd)",
        ),
        xlabel="x",
        ylim=(-1.2, 2.2),
    )
    a1.legend(fontsize=8, loc="upper left")
    a1.grid(True, alpha=0.3)

    lrn = t["lrn"]
    a2.bar([0, 1], lrn["library"], color=["tab:red", "tab:green"], width=0.5)
    for i, v in enumerate(lrn["library"]):
        a2.text(i, v, f"{v:.2f}", ha="center", va="bottom", fontsize=9)
    a2.axhline(10, color="0.5", ls=":", lw=1)
    a2.text(0.5, 10.1, tr("输入 a = 10", "input a = 10"), ha="center", va="bottom", fontsize=8, color="0.4")
    a2.set_xticks([0, 1])
    a2.set_xticklabels(
        [tr("邻近通道有 100", "next to a map of 100"), tr("邻近通道全为 0", "neighbours all 0")]
    )
    a2.set(
        title=tr(
            "局部响应归一化：\n强的邻居抑制较弱的通道", "LRN: a strong neighbour\nsuppresses a weaker map"
        ),
        ylabel=tr("归一化后 b", "normalised b"),
        ylim=(0, 12),
    )

    p3, p2 = t["pools"][3], t["pools"][2]
    shown = 13  # the first positions of a row
    for row, size in enumerate((3, 2)):
        y = 1.25 - 1.25 * row
        cover = np.zeros(shown, int)
        for k, start in enumerate(range(0, shown, 2)):  # the last windows run past the 13 shown
            cover[start : start + size] += 1
            a3.add_patch(_rect(start, y + 0.45 + 0.22 * (k % 2), size, 0.16, f"C{k % 2}", 0.7, f"C{k % 2}"))
        for j, c in enumerate(cover):
            a3.add_patch(_rect(j, y, 1, 0.4, ["white", "#cfe2f3", "#f4a6a6"][min(c, 2)]))
            a3.text(j + 0.5, y + 0.2, str(c), ha="center", va="center", fontsize=8)
        a3.text(-0.3, y + 0.4, f"{size}×{size} /2", ha="right", va="center", fontsize=9)
    a3.set(
        xlim=(-3.2, shown + 0.2),
        ylim=(-0.2, 2.5),
        xticks=[],
        yticks=[],
        xlabel=tr(
            "一行的前 13 个输入位置；格中数字 = 覆盖它的窗口数",
            "first 13 input positions of a row; number = windows covering it",
        ),
        title=tr(
            f"重叠池化：一行 {t['pool_side']} 个位置中 {p3['in_two_windows']} 个在两个窗口里（3×3/2）\n"
            f"不重叠：{p2['in_two_windows']} 个（2×2/2）",
            f"Overlapping pooling: {p3['in_two_windows']} of a row's {t['pool_side']} positions\n"
            f"are in two windows (3×3/2), {p2['in_two_windows']} without overlap (2×2/2)",
        ),
    )
    return save(fig, folder, "alexnet_ideas.png")


def _rect(x: float, y: float, w: float, h: float, color: str, alpha: float = 1.0, edge: str = "0.35"):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), w, h, fc=color, alpha=alpha, ec=edge, lw=0.8)


def draw_degradation(r: dict, folder: Path) -> str:
    d = r["degradation"]
    fig, (a1, a2) = figure(1, 2, size=(11, 4.2))
    epochs = np.arange(1, d["epochs"] + 1)
    for run in d["runs"]:
        style = "-" if run["residual"] else "--"
        name = tr("残差", "residual") if run["residual"] else tr("普通", "plain")
        a1.plot(
            epochs,
            run["train_loss"],
            style,
            marker="o",
            ms=3,
            color=f"C{d['depths'].index(run['depth'])}",
            label=tr(f"{name} {run['depth']} 层", f"{name}, {run['depth']} layers"),
        )
    a1.set_yscale("log")
    a1.set(
        title=tr("训练集上的损失（越低越好）", "Loss on the training set (lower is better)"),
        xlabel=tr("轮", "epoch"),
        ylabel=tr("交叉熵（对数坐标）", "cross-entropy (log scale)"),
        xticks=epochs,
    )
    a1.legend(fontsize=8)
    a1.grid(True, alpha=0.3)
    labels = [
        f"{tr('残差', 'res.') if x['residual'] else tr('普通', 'plain')} {x['depth']}" for x in d["runs"]
    ]
    vals = [x["train_loss"][-1] for x in d["runs"]]
    colors = [f"C{d['depths'].index(x['depth'])}" for x in d["runs"]]
    bars = a2.bar(range(len(vals)), vals, color=colors)
    for b, x in zip(bars, d["runs"], strict=True):
        if not x["residual"]:
            b.set_hatch("//")
            b.set_alpha(0.6)
        a2.text(
            b.get_x() + b.get_width() / 2,
            b.get_height(),
            f"{b.get_height():.3f}",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    a2.set_xticks(range(len(vals)))
    a2.set_xticklabels(labels)
    a2.set(
        title=tr(
            f"{d['epochs']} 轮后的训练损失（斜线：普通网络）",
            f"Training loss after {d['epochs']} epochs (hatched: plain)",
        ),
        ylabel=tr("交叉熵", "cross-entropy"),
    )
    a2.grid(True, axis="y", alpha=0.3)
    return save(fig, folder, "degradation.png")


def draw(r: dict, folder: Path) -> list[str]:
    """All figures of the lesson; returns their paths."""
    pngs = [draw_networks(r, folder)]
    fig, ax = figure(1, 1, size=(13, 4.2))
    draw_alexnet(ax, r["alexnet"], r["networks"]["AlexNet"]["table"])
    pngs.append(save(fig, folder, "alexnet_two_gpus.png"))
    pngs.append(draw_tricks(r, folder))
    fig, (a1, a2, a3) = figure(1, 3, size=(16, 6.2), gridspec_kw={"width_ratios": [1.5, 1, 1]})
    draw_inception(a1, r["blocks"]["inception"])
    b = r["blocks"]
    draw_residual(a2, b["basic"], tr("残差块（ResNet-18/34 的 BasicBlock）", "Residual block (ResNet-18/34)"))
    draw_residual(
        a3, b["bottleneck"], tr("残差块（ResNet-50/101/152 的 Bottleneck）", "Bottleneck (ResNet-50/101/152)")
    )
    pngs.append(save(fig, folder, "blocks.png"))
    pngs.append(draw_degradation(r, folder))
    return pngs
