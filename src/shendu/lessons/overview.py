"""概述 — overview: AI ⊃ ML ⊃ DL, the learning paradigms, the workflow and the history.

1. 人工智能 (AI) ⊃ 机器学习 (ML: learning from data instead of hand-written rules) ⊃ 深度学习
   (DL: machine learning with many-layered neural networks that learn their own features).
2. Learning paradigms, shown on three clouds of 2-D points:
   监督学习 (supervised: every sample labelled), 无监督学习 (unsupervised: no labels, find
   structure, here k-means clusters), 半监督学习 (semi-supervised: a few labels plus many
   unlabelled samples, here self-training from 2 labels per class).
3. The workflow (工作流程): data → preprocessing → model → training → evaluation → deployment.
4. The history timeline with the notes' dates (typed in, see ``TIMELINE``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shendu.lessons._i18n import tr
from shendu.lessons._plot import figure, make_run, save, source, table

# (year, Chinese, English): the dates the notes give.
TIMELINE = [
    (1943, "MP 神经元模型（McCulloch 与 Pitts）", "MP neuron model (McCulloch & Pitts)"),
    (1949, "Hebb 学习规则", "Hebb's learning rule"),
    (1958, "感知机（Rosenblatt）", "the perceptron (Rosenblatt)"),
    (1982, "Hopfield 网络", "Hopfield network"),
    (1986, "反向传播（BP）算法", "backpropagation (BP)"),
    (1995, "支持向量机（SVM）", "support vector machine (SVM)"),
    (1998, "卷积神经网络 LeNet-5（CNN）", "convolutional network LeNet-5 (CNN)"),
    (2006, "深度信念网络（DBN），深度学习兴起", "deep belief network (DBN): deep learning begins"),
    (2012, "AlexNet 赢得 ImageNet", "AlexNet wins ImageNet"),
    (2016, "1207 层的深度网络", "a 1,207-layer network"),
]
WORKFLOW = [
    ("数据收集", "collect data"),
    ("数据预处理", "preprocess"),
    ("选择/构建模型", "choose a model"),
    ("训练", "train"),
    ("评估", "evaluate"),
    ("部署与预测", "deploy, predict"),
]
CENTERS = np.array([[0.0, 0.0], [3.0, 0.5], [1.2, 2.8]])


def blobs(n_per_class: int = 100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.concatenate([c + rng.normal(0, 0.8, (n_per_class, 2)) for c in CENTERS])
    return x, np.repeat(np.arange(len(CENTERS)), n_per_class)


def nearest_centroid(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    return np.argmin(((x[:, None, :] - centroids[None]) ** 2).sum(-1), axis=1)


def centroids_of(x: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    return np.stack([x[labels == c].mean(0) for c in range(k)])


def kmeans(x: np.ndarray, k: int, iters: int = 20, seed: int = 0) -> np.ndarray:
    """Lloyd's algorithm: assign each point to its nearest centre, move each centre to its points' mean."""
    rng = np.random.default_rng(seed)
    centres = x[rng.choice(len(x), k, replace=False)]
    for _ in range(iters):
        assign = nearest_centroid(x, centres)
        centres = np.stack([x[assign == c].mean(0) if np.any(assign == c) else centres[c] for c in range(k)])
    return nearest_centroid(x, centres)


def purity(t: np.ndarray, clusters: np.ndarray) -> float:
    """Share of points whose cluster's majority label is their own label (clusters have no names)."""
    return float(sum(np.bincount(t[clusters == c]).max() for c in np.unique(clusters)) / len(t))


def paradigms(labels_per_class: int = 2) -> dict:
    x, t = blobs()
    k = len(CENTERS)
    supervised = nearest_centroid(x, centroids_of(x, t, k))
    clusters = kmeans(x, k)
    few = np.concatenate([np.flatnonzero(t == c)[:labels_per_class] for c in range(k)])
    only_few = nearest_centroid(x, centroids_of(x[few], t[few], k))
    guess = only_few
    for _ in range(10):  # self-training: label everything, refit on all of it, keep the given labels
        guess = nearest_centroid(x, centroids_of(x, guess, k))
        guess[few] = t[few]
    return {
        "x": x.tolist(),
        "t": t.tolist(),
        "labelled": few.tolist(),
        "supervised_acc": float((supervised == t).mean()),
        "kmeans_purity": purity(t, clusters),
        "clusters": clusters.tolist(),
        "few_labels_acc": float((only_few == t).mean()),
        "semi_supervised_acc": float((guess == t).mean()),
        "semi_supervised": guess.tolist(),
    }


def compute(quick: bool = False) -> dict:
    return {"paradigms": paradigms(), "timeline": [list(e) for e in TIMELINE]}


def report(r: dict) -> list[str]:
    p = r["paradigms"]
    n_few = len(p["labelled"])
    gain = p["semi_supervised_acc"] - p["few_labels_acc"]
    return [
        tr("概述", "Overview"),
        tr(
            "1. 人工智能 ⊃ 机器学习 ⊃ 深度学习：机器学习从数据中学习规则，而不是由人写出规则；"
            "深度学习用多层神经网络，自己学习特征。",
            "1. Artificial intelligence ⊃ machine learning ⊃ deep learning: machine learning learns its "
            "rules "
            "from data instead of having them written by hand; deep learning uses many-layered neural "
            "networks "
            "that learn their own features.",
        ),
        "",
        tr(
            f"2. 学习范式（三团二维点，共 {len(p['t'])} 个）：",
            f"2. Learning paradigms (three clouds of 2-D points, {len(p['t'])} in all):",
        ),
        table(
            [tr("范式", "paradigm"), tr("用到的标签", "labels used"), tr("结果", "result")],
            [
                [
                    tr("监督学习（最近质心）", "supervised (nearest centroid)"),
                    len(p["t"]),
                    tr(f"准确率 {p['supervised_acc']:.1%}", f"accuracy {p['supervised_acc']:.1%}"),
                ],
                [
                    tr("无监督学习（k 均值聚类）", "unsupervised (k-means)"),
                    0,
                    tr(f"聚类纯度 {p['kmeans_purity']:.1%}", f"cluster purity {p['kmeans_purity']:.1%}"),
                ],
                [
                    tr("只用少量标签", "few labels only"),
                    n_few,
                    tr(f"准确率 {p['few_labels_acc']:.1%}", f"accuracy {p['few_labels_acc']:.1%}"),
                ],
                [
                    tr("半监督学习（自训练）", "semi-supervised (self-training)"),
                    n_few,
                    tr(f"准确率 {p['semi_supervised_acc']:.1%}", f"accuracy {p['semi_supervised_acc']:.1%}"),
                ],
            ],
        ),
        tr(
            f"   利用未标注的数据，半监督学习把准确率{'提高' if gain > 0 else '改变'}了 {gain * 100:+.1f} "
            "个百分点"
            f"（{n_few} 个标签）。",
            "   Using the unlabelled points, semi-supervised learning changed the accuracy by "
            f"{gain * 100:+.1f} "
            f"points ({n_few} labels).",
        ),
        tr(
            "   读代码：无监督学习的 k 均值聚类，没有用到任何标签：",
            "   Read the code: unsupervised k-means, which uses no label at all:",
        ),
        source(kmeans),
        "",
        tr("3. 工作流程：", "3. The workflow:") + " → ".join(tr(zh, en) for zh, en in WORKFLOW),
        "",
        tr("4. 发展历史：", "4. History:"),
        *(f"   {year}  {tr(zh, en)}" for year, zh, en in r["timeline"]),
    ]


def draw(r: dict, folder: Path) -> list[str]:
    from matplotlib.patches import Ellipse, FancyBboxPatch

    pngs = []
    fig, ax = figure(size=(6.5, 4.2))
    for w, h, y, color, name in (
        (9.0, 6.0, 0.0, "#dbe7f5", tr("人工智能 AI", "Artificial intelligence")),
        (6.6, 4.2, -0.7, "#bcd4ee", tr("机器学习 ML", "Machine learning")),
        (4.0, 2.3, -1.4, "#8fb6e2", tr("深度学习 DL", "Deep learning")),
    ):
        ax.add_patch(Ellipse((0, y), w, h, facecolor=color, edgecolor="0.3"))
        ax.text(0, y + h / 2 - 0.55, name, ha="center", fontsize=11)
    ax.set(xlim=(-4.8, 4.8), ylim=(-3.2, 3.2), aspect="equal")
    ax.set_title(tr("人工智能 ⊃ 机器学习 ⊃ 深度学习", "AI ⊃ ML ⊃ DL"))
    ax.axis("off")
    pngs.append(save(fig, folder, "ai_ml_dl.png"))

    p = r["paradigms"]
    x, t = np.array(p["x"]), np.array(p["t"])
    fig, axes = figure(1, 3, size=(13, 4.2))
    colors = np.array(["tab:blue", "tab:orange", "tab:green"])
    axes[0].scatter(x[:, 0], x[:, 1], c=colors[t], s=10)
    axes[0].set_title(
        tr(
            f"监督学习：全部有标签（准确率 {p['supervised_acc']:.0%}）",
            f"Supervised: all labelled ({p['supervised_acc']:.0%})",
        )
    )
    axes[1].scatter(
        x[:, 0], x[:, 1], c=np.array(["tab:purple", "tab:brown", "tab:gray"])[p["clusters"]], s=10
    )
    axes[1].set_title(
        tr(
            f"无监督学习：k 均值聚类（纯度 {p['kmeans_purity']:.0%}）",
            f"Unsupervised: k-means (purity {p['kmeans_purity']:.0%})",
        )
    )
    axes[2].scatter(x[:, 0], x[:, 1], c=colors[p["semi_supervised"]], s=10, alpha=0.5)
    few = np.array(p["labelled"])
    axes[2].scatter(
        x[few, 0],
        x[few, 1],
        c=colors[t[few]],
        s=120,
        marker="*",
        edgecolor="k",
        label=tr("有标签", "labelled"),
    )
    axes[2].set_title(
        tr(
            f"半监督学习：{len(few)} 个标签（准确率 {p['semi_supervised_acc']:.0%}）",
            f"Semi-supervised: {len(few)} labels ({p['semi_supervised_acc']:.0%})",
        )
    )
    axes[2].legend(fontsize=8)
    for ax in axes:
        ax.set(xlabel="x₁", ylabel="x₂")
        ax.title.set_fontsize(10)
    pngs.append(save(fig, folder, "paradigms.png"))

    fig, ax = figure(size=(12, 2.2))
    for i, (zh, en) in enumerate(WORKFLOW):
        ax.add_patch(
            FancyBboxPatch(
                (i * 2.0, 0), 1.5, 0.8, boxstyle="round,pad=0.05", facecolor="#e8f0fb", edgecolor="0.3"
            )
        )
        ax.text(i * 2.0 + 0.75, 0.4, tr(zh, en), ha="center", va="center", fontsize=10)
        if i:
            ax.annotate(
                "", xy=(i * 2.0 - 0.05, 0.4), xytext=(i * 2.0 - 0.45, 0.4), arrowprops=dict(arrowstyle="-|>")
            )
    ax.set(
        xlim=(-0.2, len(WORKFLOW) * 2.0 - 0.3),
        ylim=(-0.2, 1.0),
        title=tr("机器学习的工作流程", "The machine-learning workflow"),
    )
    ax.axis("off")
    pngs.append(save(fig, folder, "workflow.png"))

    fig, ax = figure(size=(12, 3.8))
    years = [e[0] for e in r["timeline"]]
    ax.axhline(0, color="0.3", lw=1.5)
    for i, (year, zh, en) in enumerate(r["timeline"]):
        level = (0.35, -0.35, 0.95, -0.95)[i % 4]  # four heights, so neighbouring labels do not overlap
        up = 1 if level > 0 else -1
        ax.plot([year, year], [0, level], color="0.5", lw=1)
        ax.plot(year, 0, "o", color="tab:blue")
        label = tr(zh, en).replace("，", "\n").replace(": ", "\n")
        ax.text(
            year,
            level + 0.05 * up,
            f"{year}\n{label}",
            ha="center",
            va="bottom" if up > 0 else "top",
            fontsize=8.5,
        )
    ax.set(
        xlim=(min(years) - 5, max(years) + 5),
        ylim=(-1.9, 1.9),
        title=tr("神经网络与深度学习的发展历史", "A history of neural networks and deep learning"),
    )
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    pngs.append(save(fig, folder, "timeline.png"))
    return pngs


run = make_run("overview", compute, report, draw)
