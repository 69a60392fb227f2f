"""卷积神经网络 — train the course's LeNet on real digits, then look inside it.

LeNet (``shendu.models.lenet``): conv 20×5×5 → maxpool 2 → conv 50×5×5 → maxpool 2 → Linear 500
→ ReLU → Linear 10, trained with ``shendu.training.Trainer`` (Adam, cross-entropy) on the
``mnist-5k`` digits (4,500 for training, 500 held out for validation). Then:

1. the first layer's 20 filters, and how far training moved them from their random start;
2. the feature maps of one digit after each conv and pool layer (28 → 24 → 12 → 8 → 4);
3. the confusion matrix on the validation digits (``shendu.metrics.confusion_matrix``);
4. the validation digits the network got wrong with the highest confidence.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import shendu
import shendu.nn.functional as F
from shendu.data import DataLoader, TensorDataset, load_dataset
from shendu.lessons._i18n import tr
from shendu.lessons._plot import figure, make_run, matrix, save, sizes
from shendu.metrics import accuracy, confusion_matrix
from shendu.models import lenet, lenet5, summary
from shendu.optim import Adam
from shendu.training import Trainer, predict


def feature_maps(model, image: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Run one image (1, 28, 28) through ``model.features`` layer by layer; (name, maps (C, H, W)) each."""
    out = []
    h = shendu.tensor(image[None])
    with shendu.no_grad():
        for layer in model.features:
            h = layer(h)
            out.append((type(layer).__name__, h.numpy()[0]))
    return out


def compute(quick: bool = False, full: bool = False, verbose: bool = False) -> dict:
    """Build LeNet-5 and LeNet, train LeNet on mnist-5k, and collect what the lesson prints and draws."""
    classic, ours = lenet5(), lenet()
    train = load_dataset("mnist-5k", "train")
    val = load_dataset("mnist-5k", "val")
    epochs = 4 if full else 2  # two epochs keep the lesson within half a minute; --full trains four
    if quick:  # fewer digits for tests: every class still present (the split is stratified)
        keep = np.arange(len(train)) % 3 == 0
        train_x, train_y = train.images[keep], train.labels[keep]
    else:
        train_x, train_y = train.images, train.labels

    shendu.manual_seed(0)
    model = lenet()
    initial = model.features[0].weight.numpy().copy()  # to measure how far training moved the filters
    opt = Adam(model.parameters(), lr=1e-3)
    train_loader = DataLoader(TensorDataset(train_x, train_y), batch_size=64, shuffle=True, seed=0)
    val_loader = DataLoader(val, batch_size=250)
    history = Trainer(model, opt, train_loader, val_loader=val_loader, epochs=epochs, progress=verbose).fit()

    logits, labels = predict(model, val_loader)
    pred = logits.argmax(axis=1)
    cm = confusion_matrix(labels, pred, num_classes=10)
    probs = F.softmax(shendu.tensor(logits), dim=1).numpy()
    wrong = np.flatnonzero(pred != labels)
    order = wrong[np.argsort(-probs[wrong, pred[wrong]])][:10]
    confusions = [(int(i), int(j), int(cm[i, j])) for i, j in zip(*np.nonzero(cm), strict=True) if i != j]
    confusions.sort(key=lambda c: -c[2])
    idx = int(np.flatnonzero(labels == pred)[0])
    maps = feature_maps(model, val.images[idx])
    return {
        "epochs": epochs,
        "n_train": int(len(train_x)),
        "n_val": int(len(labels)),
        "n_params": sum(p.numel() for p in model.parameters()),
        "lenet5_summary": str(summary(classic, (1, 32, 32))),
        "lenet_summary": str(summary(ours, (1, 28, 28))),
        "val_accuracy": float(accuracy(labels, pred)),
        "history": {
            k: [float(v) for v in history[k]] for k in ("train_loss", "train_acc", "val_loss", "val_acc")
        },
        "history_val_acc": [float(v) for v in history["val_acc"]],
        "history_train_loss": [float(v) for v in history["train_loss"]],
        "confusion_matrix": cm.tolist(),
        "confusions": confusions[:5],
        "predictions": pred.tolist(),
        "labels": labels.tolist(),
        "mistakes": [int(i) for i in order],
        "mistake_confidence": [float(probs[i, pred[i]]) for i in order],
        "mistake_images": [val.images[i, 0].tolist() for i in order],
        "filters": model.features[0].weight.numpy().tolist(),
        "filters_shape": list(model.features[0].weight.shape),
        "filter_change": float(
            np.linalg.norm(model.features[0].weight.numpy() - initial) / np.linalg.norm(initial)
        ),
        "example": {"index": idx, "image": val.images[idx, 0].tolist(), "label": int(labels[idx])},
        "feature_maps": [(name, m[:8].tolist(), list(m.shape)) for name, m in maps],
        "feature_map_shapes": [list(m.shape) for _, m in maps],
        "lenet5_params": sum(p.numel() for p in classic.parameters()),
        "first_map_sizes": {
            "32": sizes(F.conv_output_size((32, 32), 5))[0],
            "28": sizes(F.conv_output_size((28, 28), 5))[0],
            "28 padded 2": sizes(F.conv_output_size((28, 28), 5, padding=2))[0],
        },
    }


def report(r: dict) -> list[str]:
    first_32, first_28, first_28_padded = r["first_map_sizes"].values()
    cm = np.array(r["confusion_matrix"])
    labels, pred, probs = r["labels"], r["predictions"], r["mistake_confidence"]
    return [
        tr(
            "LeNet-5（LeCun 1998）的结构：输入 32×32，卷积 6@5×5 → 池化 → 卷积 16@5×5 → 池化 → 卷积 "
            "120@5×5 → 全连接 84 → 10：",
            "LeNet-5 (LeCun 1998): input 32×32, conv 6@5×5 → pool → conv 16@5×5 → pool → conv 120@5×5 → FC "
            "84 → 10:",
        ),
        r["lenet5_summary"],
        tr(
            "32×32 与 28×28：笔记中 LeNet-5 的输入是 32×32，MNIST 图像是 28×28。5×5 卷积后 32×32 → "
            f"{first_32}×{first_32}；"
            f"28×28 不填充 → {first_28}×{first_28}，填充 2 像素 → {first_28_padded}×{first_28_padded}"
            + (
                "：给 28×28 图像四周各补 2 个像素（填充），就得到与 32×32 相同的特征图大小。"
                if first_28_padded == first_32
                else "。"
            ),
            "32×32 vs 28×28: the notes' LeNet-5 takes 32×32 inputs, MNIST digits are 28×28. After the 5×5 "
            f"conv, 32×32 → {first_32}×{first_32}; 28×28 unpadded → {first_28}×{first_28}, padded by 2 → "
            f"{first_28_padded}×{first_28_padded}"
            + (
                ": padding a 28×28 digit by 2 pixels gives the same feature maps."
                if first_28_padded == first_32
                else "."
            ),
        ),
        tr(
            "这里训练的 shendu.models.lenet 是现代版本（28×28 输入，不填充，ReLU + 最大池化，卷积 20、50 "
            "个滤波器）：",
            "The network trained here, shendu.models.lenet, is the modern variant (28×28, no padding, ReLU "
            "and max pooling, 20 and 50 filters):",
        ),
        r["lenet_summary"],
        "",
        tr(
            f"在 {r['n_train']} 个 mnist-5k 数字上训练 LeNet（{r['n_params']:,} 个参数），{r['epochs']} 轮，"
            f"Adam 学习率 1e-3，批量 64；在 {r['n_val']} 个数字上验证：",
            f"Training LeNet ({r['n_params']:,} parameters) on {r['n_train']} mnist-5k digits, {r['epochs']} "
            f"epochs, Adam lr 1e-3, batch 64; validating on {r['n_val']}:",
        ),
        "",
        tr(
            f"验证准确率 {r['val_accuracy']:.2%}（{int(np.trace(cm))}/{len(labels)}）；"
            "最常见的混淆（真实 → 预测）：",
            f"Validation accuracy {r['val_accuracy']:.2%} ({int(np.trace(cm))} of {len(labels)}); "
            "most frequent confusions (true → predicted):",
        ),
        "   " + ", ".join(f"{i} → {j}: {n}" for i, j, n in r["confusions"]),
        tr(
            f"第一层滤波器离随机初始值变了 {r['filter_change']:.0%}（‖W − W₀‖ / ‖W₀‖）"
            + (
                "：它们还带着很多随机初始化的痕迹，只有一部分看得出笔画和边缘的样子。"
                if r["filter_change"] < 1
                else "：已经远离随机初始化，成了从数据中学到的笔画和边缘检测器。"
            ),
            f"The first-layer filters moved {r['filter_change']:.0%} from their random start (‖W − W₀‖ / "
            "‖W₀‖)"
            + (
                ": they still carry much of their random initialisation; only some look like strokes and "
                "edges."
                if r["filter_change"] < 1
                else ": far from their random start, stroke and edge detectors learnt from the data."
            ),
        ),
        tr("最有把握却错了的：", "Most confidently wrong: ")
        + ", ".join(
            f"#{i} {labels[i]} → {pred[i]} ({p:.0%})"
            for i, p in zip(r["mistakes"][:5], probs[:5], strict=True)
        ),
    ]


def draw(r: dict, folder: Path) -> list[str]:
    pngs = []
    h = r["history"]
    ep = np.arange(1, len(h["train_loss"]) + 1)
    fig, (a1, a2) = figure(1, 2, size=(10, 3.8))
    a1.plot(ep, h["train_loss"], "o-", label=tr("训练", "training"))
    a1.plot(ep, h["val_loss"], "s-", label=tr("验证", "validation"))
    a1.set(
        title=tr("每轮的交叉熵损失", "Cross-entropy loss per epoch"),
        xlabel=tr("轮", "epoch"),
        ylabel=tr("损失", "loss"),
        xticks=ep,
    )
    a2.plot(ep, np.array(h["train_acc"]) * 100, "o-", label=tr("训练", "training"))
    a2.plot(ep, np.array(h["val_acc"]) * 100, "s-", label=tr("验证", "validation"))
    a2.set(
        title=tr("每轮的准确率", "Accuracy per epoch"),
        xlabel=tr("轮", "epoch"),
        ylabel=tr("准确率（%）", "accuracy (%)"),
        xticks=ep,
    )
    for a in (a1, a2):
        a.legend(fontsize=8)
        a.grid(True, alpha=0.3)
    pngs.append(save(fig, folder, "training_curves.png"))

    cm = np.array(r["confusion_matrix"])
    fig, ax = figure(size=(6.4, 5.8))
    matrix(
        ax,
        cm,
        tr(
            f"LeNet 在 mnist-5k 验证集上的混淆矩阵，准确率 {r['val_accuracy']:.1%}",
            f"LeNet on mnist-5k validation, accuracy {r['val_accuracy']:.1%}",
        ),
        fontsize=8,
    )
    ax.set(
        xticks=range(10),
        yticks=range(10),
        xlabel=tr("预测的数字", "predicted digit"),
        ylabel=tr("真实的数字", "true digit"),
    )
    pngs.append(save(fig, folder, "confusion_matrix.png"))

    w = np.array(r["filters"])  # (20, 1, 5, 5)
    fig, axes = figure(2, 10, size=(13, 3.2))
    lim = np.abs(w).max()
    for k, ax in enumerate(axes.flat):
        ax.imshow(w[k, 0], cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set(xticks=[], yticks=[], title=tr(f"滤波器 {k}", f"filter {k}"))
        ax.title.set_fontsize(8)
    fig.suptitle(
        tr(
            f"第一层的 20 个 5×5 滤波器（红正蓝负），训练后离随机初始值变了 {r['filter_change']:.0%}",
            f"First-layer filters (5×5), red positive, blue negative; {r['filter_change']:.0%} away from "
            "their random start",
        )
    )
    pngs.append(save(fig, folder, "filters.png"))

    maps, ex = r["feature_maps"], r["example"]
    show = 8
    fig, axes = figure(len(maps) + 1, show, size=(12, 8.6))
    axes[0, 0].imshow(ex["image"], cmap="gray_r")
    axes[0, 0].set_title(tr(f"输入：数字 {ex['label']}", f"input: digit {ex['label']}"), fontsize=9)
    for ax in axes[0]:
        ax.set(xticks=[], yticks=[])
    for a in axes[0, 1:]:
        a.axis("off")
    for row, (name, m, shape) in enumerate(maps, start=1):
        for c in range(show):
            axes[row, c].imshow(m[c], cmap="viridis")
            axes[row, c].set(xticks=[], yticks=[])
        axes[row, 0].set_ylabel(f"{name}\n{shape[0]}×{shape[1]}×{shape[2]}", fontsize=9)
    fig.suptitle(
        tr(
            f"一个数字在每层之后的特征图（前 {show} 个通道）",
            f"Feature maps of one digit after each layer (first {show} channels)",
        )
    )
    pngs.append(save(fig, folder, "feature_maps.png"))

    fig, axes = figure(2, 5, size=(11, 5.2))
    for ax, i, img, p in zip(
        axes.flat, r["mistakes"], r["mistake_images"], r["mistake_confidence"], strict=False
    ):
        t, y = r["labels"][i], r["predictions"][i]
        ax.imshow(img, cmap="gray_r")
        ax.set(
            xticks=[],
            yticks=[],
            title=tr(f"真实 {t} → {y}\n（把握 {p:.0%}）", f"true {t} → {y}\n({p:.0%} sure)"),
        )
        ax.title.set_fontsize(9)
    for ax in axes.flat[len(r["mistakes"]) :]:
        ax.axis("off")
    fig.suptitle(
        tr(
            "LeNet 最有把握却分错的验证集数字",
            "The validation digits LeNet got wrong with the most confidence",
        )
    )
    pngs.append(save(fig, folder, "confident_mistakes.png"))
    return pngs


run = make_run("cnn", compute, report, draw, has_full=True)
