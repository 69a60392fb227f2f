"""池化层 — max and average pooling, and why pooling makes a CNN robust to small shifts.

1. The course's 4×4 example with 2×2 windows and stride 2: max pooling keeps each window's
   largest value, average pooling its mean. No weights to learn; the channel count is unchanged.
2. Robustness: shift a digit by one pixel. Many pixels change (strokes are thin), but a pooled
   window mostly still contains the same strokes, so the pooled map changes much less. Measured as
   the relative change ‖f(shifted) − f(x)‖ / ‖f(x)‖ over real MNIST digits (``mnist-5k``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import shendu
import shendu.nn.functional as F
from shendu.data import load_dataset
from shendu import nn
from shendu.lessons._i18n import tr
from shendu.lessons._plot import arr, figure, lesson, matrix, save, start, table

COURSE_X = [[1, 2, 1, 0], [0, 1, 2, 3], [3, 0, 1, 2], [2, 4, 0, 1]]


def shift_right(x: np.ndarray, pixels: int = 1) -> np.ndarray:
    """Move an image (…, H, W) ``pixels`` to the right, filling with zeros on the left."""
    out = np.zeros_like(x)
    out[..., pixels:] = x[..., :-pixels]
    return out


def relative_change(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """‖b − a‖ / ‖a‖ per sample (over all but the first axis)."""
    axes = tuple(range(1, a.ndim))
    return np.sqrt(((b - a) ** 2).sum(axes)) / np.sqrt((a**2).sum(axes))


@lesson
def run(out: str | Path | None = None, quick: bool = False, verbose: bool = True) -> dict:
    folder, say = start("pooling", out, quick, verbose)

    x = shendu.tensor(np.array(COURSE_X, np.float32)).reshape(1, 1, 4, 4)
    mx = arr(F.max_pool2d(x, 2, stride=2))[0, 0]
    av = arr(F.avg_pool2d(x, 2, stride=2))[0, 0]
    say(
        tr(
            f"1. 课程中的 4×4 输入 {COURSE_X}，2×2 窗口，步幅 2：",
            f"1. The course's 4×4 input {COURSE_X}, 2×2 windows, stride 2:",
        ),
        tr(f"   最大池化 -> {mx.tolist()}", f"   max pooling     -> {mx.tolist()}"),
        tr(f"   平均池化 -> {av.tolist()}", f"   average pooling -> {av.tolist()}"),
    )
    feature_maps = shendu.randn(1, 6, 28, 28)
    pool, conv = nn.MaxPool2d(2), nn.Conv2d(6, 6, 2, stride=2)
    pool_params = sum(p.numel() for p in pool.parameters())
    conv_params = sum(p.numel() for p in conv.parameters())
    pool_shape = list(pool(feature_maps).shape)
    say(
        tr(
            f"   池化层没有要学习的参数：nn.MaxPool2d(2) 有 {pool_params} 个参数，"
            f"同样窗口的 nn.Conv2d(6, 6, 2, stride=2) 有 {conv_params} 个；",
            f"   Pooling has nothing to learn: nn.MaxPool2d(2) has {pool_params} parameters, "
            f"nn.Conv2d(6, 6, 2, stride=2) with the same window has {conv_params};",
        ),
        tr(
            f"   通道数不变：(1, 6, 28, 28) → {tuple(pool_shape)}，每个通道各自池化。",
            f"   the channel count stays: (1, 6, 28, 28) → {tuple(pool_shape)}, each channel pooled on its "
            "own.",
        ),
    )

    digits = load_dataset("mnist-5k", "val").images[: 200 if quick else 500]  # (N, 1, 28, 28)
    shifted = shift_right(digits)
    pooled = {
        "max 2×2": lambda a: arr(F.max_pool2d(shendu.tensor(a), 2)),
        "average 2×2": lambda a: arr(F.avg_pool2d(shendu.tensor(a), 2)),
        "max 3×3, stride 3": lambda a: arr(F.max_pool2d(shendu.tensor(a), 3, stride=3)),
    }
    change = {"input (no pooling)": float(relative_change(digits, shifted).mean())}
    for name, fn in pooled.items():
        change[name] = float(relative_change(fn(digits), fn(shifted)).mean())
    p0 = arr(F.max_pool2d(shendu.tensor(digits), 2))
    p1 = arr(F.max_pool2d(shendu.tensor(shifted), 2))
    inked = p0 > 0  # windows that hold part of a stroke (blank background trivially stays blank)
    unchanged_frac = float((np.abs(p1 - p0) < 0.05)[inked].mean())
    pixel_frac = float((np.abs(shifted - digits) < 0.05)[digits > 0].mean())
    base = change["input (no pooling)"]
    cut = {k: 1 - v / base for k, v in change.items() if k != "input (no pooling)"}
    best = max(cut, key=lambda k: cut[k])
    bigger = cut["max 3×3, stride 3"] > cut["max 2×2"]
    names = {
        "input (no pooling)": tr("输入（不池化）", "input (no pooling)"),
        "max 2×2": tr("最大池化 2×2", "max 2×2"),
        "average 2×2": tr("平均池化 2×2", "average 2×2"),
        "max 3×3, stride 3": tr("最大池化 3×3，步幅 3", "max 3×3, stride 3"),
    }
    say(
        "",
        tr("2. 把每个数字向右平移一个像素。", "2. Shift each digit one pixel to the right."),
        tr(
            f"   {len(digits)} 个 MNIST 数字上的平均相对变化 ‖f(平移后) − f(x)‖ / ‖f(x)‖：",
            f"   Mean relative change ‖f(shifted) − f(x)‖ / ‖f(x)‖ over {len(digits)} MNIST digits:",
        ),
        table(
            ["f", tr("相对变化", "relative change"), tr("比输入少", "less than input")],
            [[names[k], v, "" if k not in cut else f"{cut[k]:.0%}"] for k, v in change.items()],
            ".3f",
        ),
        tr(
            f"   有墨迹的像素中 {pixel_frac:.0%} 在平移后保持不变（误差 0.05 内）；"
            f"有墨迹的 2×2 最大池化值中 {unchanged_frac:.0%} 保持不变。",
            f"   Of the inked pixels, {pixel_frac:.0%} keep their value (within 0.05) after the shift; "
            f"of the inked 2×2 max-pooled values, {unchanged_frac:.0%} do.",
        ),
        tr(
            f"   结论（来自上面的数字）：池化把变化减少了 {min(cut.values()):.0%}–{max(cut.values()):.0%}，"
            f"{names[best]} 减少得最多；但变化没有消失（仍有 {change[best]:.2f}），"
            "池化只带来部分的平移不变性" + ("，窗口越大越明显。" if bigger else "。"),
            f"   Conclusion (from the numbers above): pooling cuts the change by {min(cut.values()):.0%}–"
            f"{max(cut.values()):.0%}, most with {names[best]}; the change does not vanish (still "
            f"{change[best]:.2f}): pooling gives partial robustness to shifts"
            + (", more with larger windows." if bigger else "."),
        ),
    )

    pngs = []
    fig, axes = figure(1, 3, size=(10, 3.6))
    matrix(axes[0], np.array(COURSE_X), tr("输入 4×4", "input 4×4"))
    matrix(axes[1], mx, tr("最大池化 2×2，步幅 2", "max pooling 2×2, stride 2"))
    matrix(axes[2], av, tr("平均池化 2×2，步幅 2", "average pooling 2×2, stride 2"))
    fig.suptitle(
        tr(
            f"课程中的池化例子（没有参数：{pool_params} 个；通道数不变）",
            f"Pooling on the course's example (no parameters: {pool_params}; channels unchanged)",
        )
    )
    pngs.append(save(fig, folder, "pooling_example.png"))

    d, s = digits[0, 0], shifted[0, 0]
    pd, ps = (
        arr(F.max_pool2d(shendu.tensor(digits[:1]), 2))[0, 0],
        arr(F.max_pool2d(shendu.tensor(shifted[:1]), 2))[0, 0],
    )
    fig, axes = figure(2, 4, size=(13, 7))
    panels = [
        (d, tr("数字（28×28）", "digit (28×28)")),
        (s, tr("向右平移 1 像素", "shifted right 1 pixel")),
        (
            np.abs(s - d),
            tr("|差|：相对 ", "|difference|: relative ")
            + f"{relative_change(digits[:1], shifted[:1])[0]:.2f}",
        ),
        (pd, tr("最大池化 2×2（14×14）", "max pool 2×2 (14×14)")),
        (ps, tr("平移后数字的最大池化", "max pool of the shifted digit")),
        (
            np.abs(ps - pd),
            tr("|差|：相对 ", "|difference|: relative ") + f"{relative_change(pd[None], ps[None])[0]:.2f}",
        ),
    ]
    for ax, (img, title) in zip(
        [axes[0, 0], axes[0, 1], axes[0, 2], axes[1, 0], axes[1, 1], axes[1, 2]], panels, strict=True
    ):
        ax.imshow(img, cmap="gray_r", vmin=0, vmax=1)
        ax.set(title=title, xticks=[], yticks=[])
    gs = axes[0, 3].get_gridspec()
    for a in axes[:, 3]:
        a.remove()
    bar = fig.add_subplot(gs[:, 3])
    keys = list(change)
    bar.barh(
        [names[k] for k in keys],
        [change[k] for k in keys],
        color=["0.5", "tab:blue", "tab:orange", "tab:green"],
    )
    bar.invert_yaxis()
    bar.set(
        title=tr(f"平均相对变化，{len(digits)} 个数字", f"Mean relative change, {len(digits)} digits"),
        xlabel="‖f(shifted) − f(x)‖ / ‖f(x)‖",
    )
    fig.suptitle(
        tr(
            f"池化把一像素平移带来的变化减少 {min(cut.values()):.0%}–{max(cut.values()):.0%}，但没有消除",
            "Pooling cuts the change from a one-pixel shift by "
            f"{min(cut.values()):.0%}–{max(cut.values()):.0%}, "
            "not to zero",
        )
    )
    pngs.append(save(fig, folder, "shift_robustness.png"))
    say.figures(pngs)

    return {
        "max_pool": mx.tolist(),
        "avg_pool": av.tolist(),
        "relative_change": change,
        "max_pool_unchanged_fraction": unchanged_frac,
        "pixel_unchanged_fraction": pixel_frac,
        "n_digits": int(len(digits)),
        "reduction": cut,
        "pool_params": pool_params,
        "conv_params": conv_params,
        "pooled_shape": pool_shape,
        "pngs": pngs,
    }
