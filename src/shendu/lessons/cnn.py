"""卷积神经网络 — train the course's LeNet on real digits, then look inside it.

LeNet (``shendu.models.lenet``): conv 20×5×5 → maxpool 2 → conv 50×5×5 → maxpool 2 → Linear 500
→ ReLU → Linear 10, trained with ``shendu.training.Trainer`` (Adam, cross-entropy) on the
``mnist-5k`` digits (4,500 for training, 500 held out for validation). Then:

1. the first layer's 20 filters: small 5×5 stroke and edge detectors learnt from the data;
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
from shendu.lessons._plot import sizes, figure, lesson, save, start
from shendu.metrics import accuracy, confusion_matrix
from shendu.models import lenet, lenet5, summary
from shendu.optim import Adam
from shendu.training import Trainer, plot_confusion_matrix, plot_history, predict


def feature_maps(model, image: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Run one image (1, 28, 28) through ``model.features`` layer by layer; (name, maps (C, H, W)) each."""
    out = []
    h = shendu.tensor(image[None])
    with shendu.no_grad():
        for layer in model.features:
            h = layer(h)
            out.append((type(layer).__name__, h.numpy()[0]))
    return out


@lesson
def run(out: str | Path | None = None, quick: bool = False, verbose: bool = True, full: bool = False) -> dict:
    folder, say = start("cnn", out, quick, verbose)
    classic, ours = lenet5(), lenet()
    first_32 = sizes(F.conv_output_size((32, 32), 5))[0]
    first_28 = sizes(F.conv_output_size((28, 28), 5))[0]
    first_28_padded = sizes(F.conv_output_size((28, 28), 5, padding=2))[0]
    say(
        tr(
            "LeNet-5（LeCun 1998）的结构：输入 32×32，卷积 6@5×5 → 池化 → 卷积 16@5×5 → 池化 → 卷积 "
            "120@5×5 → 全连接 84 → 10：",
            "LeNet-5 (LeCun 1998): input 32×32, conv 6@5×5 → pool → conv 16@5×5 → pool → conv 120@5×5 → FC "
            "84 → 10:",
        ),
        str(summary(classic, (1, 32, 32))),
        tr(
            "32×32 与 28×28：笔记中 LeNet-5 的输入是 32×32，MNIST 图像是 28×28。5×5 卷积后 32×32 → "
            f"{first_32}×{first_32}；"
            f"28×28 不填充 → {first_28}×{first_28}，填充 2 像素 → {first_28_padded}×{first_28_padded}："
            "给 28×28 图像四周各补 2 个像素（填充），就得到与 32×32 相同的特征图大小。",
            "32×32 vs 28×28: the notes' LeNet-5 takes 32×32 inputs, MNIST digits are 28×28. After the 5×5 "
            "conv, "
            f"32×32 → {first_32}×{first_32}; 28×28 unpadded → {first_28}×{first_28}, padded by 2 → "
            f"{first_28_padded}×{first_28_padded}: padding a 28×28 digit by 2 pixels gives the same feature "
            "maps.",
        ),
        tr(
            "这里训练的 shendu.models.lenet 是现代版本（28×28 输入，不填充，ReLU + 最大池化，卷积 20、50 "
            "个滤波器）：",
            "The network trained here, shendu.models.lenet, is the modern variant (28×28, no padding, ReLU "
            "and "
            "max pooling, 20 and 50 filters):",
        ),
        str(summary(ours, (1, 28, 28))),
        "",
    )
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
    opt = Adam(model.parameters(), lr=1e-3)
    train_loader = DataLoader(TensorDataset(train_x, train_y), batch_size=64, shuffle=True, seed=0)
    val_loader = DataLoader(val, batch_size=250)
    n_params = sum(p.numel() for p in model.parameters())
    say(
        tr(
            f"在 {len(train_x)} 个 mnist-5k 数字上训练 LeNet（{n_params:,} 个参数），{epochs} 轮，"
            f"Adam 学习率 1e-3，批量 64；在 {len(val)} 个数字上验证：",
            f"Training LeNet ({n_params:,} parameters) on {len(train_x)} mnist-5k digits, {epochs} epochs, "
            f"Adam lr 1e-3, batch 64; validating on {len(val)}:",
        )
    )
    history = Trainer(model, opt, train_loader, val_loader=val_loader, epochs=epochs, progress=verbose).fit()

    logits, labels = predict(model, val_loader)
    pred = logits.argmax(axis=1)
    acc = accuracy(labels, pred)
    cm = confusion_matrix(labels, pred, num_classes=10)
    probs = F.softmax(shendu.tensor(logits), dim=1).numpy()
    wrong = np.flatnonzero(pred != labels)
    order = wrong[np.argsort(-probs[wrong, pred[wrong]])][:10]
    confusions = [(int(i), int(j), int(cm[i, j])) for i, j in zip(*np.nonzero(cm), strict=True) if i != j]
    confusions.sort(key=lambda c: -c[2])
    say(
        "",
        tr(
            f"验证准确率 {acc:.2%}（{int(np.trace(cm))}/{len(labels)}）；最常见的混淆（真实 → 预测）：",
            f"Validation accuracy {acc:.2%} ({int(np.trace(cm))} of {len(labels)}); most frequent confusions "
            "(true → predicted):",
        ),
        "   " + ", ".join(f"{i} → {j}: {n}" for i, j, n in confusions[:5]),
        tr("最有把握却错了的：", "Most confidently wrong: ")
        + ", ".join(f"#{i} {labels[i]} → {pred[i]} ({probs[i, pred[i]]:.0%})" for i in order[:5]),
    )

    pngs = [str(plot_history(history, folder / "training_curves.png"))]
    pngs.append(
        str(
            plot_confusion_matrix(
                cm,
                [str(k) for k in range(10)],
                folder / "confusion_matrix.png",
                title=tr(
                    f"LeNet 在 mnist-5k 验证集上的混淆矩阵，准确率 {acc:.1%}",
                    f"LeNet on mnist-5k validation, accuracy {acc:.1%}",
                ),
            )
        )
    )

    w = model.features[0].weight.numpy()  # (20, 1, 5, 5)
    fig, axes = figure(2, 10, size=(13, 3.2))
    lim = np.abs(w).max()
    for k, ax in enumerate(axes.flat):
        ax.imshow(w[k, 0], cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set(xticks=[], yticks=[], title=tr(f"滤波器 {k}", f"filter {k}"))
        ax.title.set_fontsize(8)
    fig.suptitle(
        tr(
            "第一层的 20 个 5×5 滤波器（红正蓝负）：笔画与边缘检测器",
            "First-layer filters (5×5), red positive, blue negative: stroke and edge detectors",
        )
    )
    pngs.append(save(fig, folder, "filters.png"))

    idx = int(np.flatnonzero(labels == pred)[0])
    maps = feature_maps(model, val.images[idx])
    show = 8
    fig, axes = figure(len(maps) + 1, show, size=(12, 8.6))
    axes[0, 0].imshow(val.images[idx, 0], cmap="gray_r")
    axes[0, 0].set_title(tr(f"输入：数字 {labels[idx]}", f"input: digit {labels[idx]}"), fontsize=9)
    for ax in axes[0]:
        ax.set(xticks=[], yticks=[])
    for a in axes[0, 1:]:
        a.axis("off")
    for r, (name, m) in enumerate(maps, start=1):
        for c in range(show):
            axes[r, c].imshow(m[c], cmap="viridis")
            axes[r, c].set(xticks=[], yticks=[])
        axes[r, 0].set_ylabel(f"{name}\n{m.shape[0]}×{m.shape[1]}×{m.shape[2]}", fontsize=9)
    fig.suptitle(
        tr(
            f"一个数字在每层之后的特征图（前 {show} 个通道）",
            f"Feature maps of one digit after each layer (first {show} channels)",
        )
    )
    pngs.append(save(fig, folder, "feature_maps.png"))

    fig, axes = figure(2, 5, size=(11, 5.2))
    for ax, i in zip(axes.flat, order, strict=True):
        ax.imshow(val.images[i, 0], cmap="gray_r")
        ax.set(
            xticks=[],
            yticks=[],
            title=tr(
                f"真实 {labels[i]} → {pred[i]}\n（把握 {probs[i, pred[i]]:.0%}）",
                f"true {labels[i]} → {pred[i]}\n({probs[i, pred[i]]:.0%} sure)",
            ),
        )
        ax.title.set_fontsize(9)
    for ax in axes.flat[len(order) :]:
        ax.axis("off")
    fig.suptitle(
        tr(
            "LeNet 最有把握却分错的验证集数字",
            "The validation digits LeNet got wrong with the most confidence",
        )
    )
    pngs.append(save(fig, folder, "confident_mistakes.png"))
    say.figures(pngs)

    return {
        "epochs": epochs,
        "n_train": int(len(train_x)),
        "n_val": int(len(labels)),
        "val_accuracy": float(acc),
        "history_val_acc": [float(v) for v in history["val_acc"]],
        "history_train_loss": [float(v) for v in history["train_loss"]],
        "confusion_matrix": cm.tolist(),
        "predictions": pred.tolist(),
        "labels": labels.tolist(),
        "mistakes": [int(i) for i in order],
        "mistake_confidence": [float(probs[i, pred[i]]) for i in order],
        "filters_shape": list(w.shape),
        "feature_map_shapes": [list(m.shape) for _, m in maps],
        "lenet5_params": sum(p.numel() for p in classic.parameters()),
        "first_map_sizes": {"32": first_32, "28": first_28, "28 padded 2": first_28_padded},
        "pngs": pngs,
    }
