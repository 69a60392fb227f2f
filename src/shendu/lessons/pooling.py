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
from shendu.lessons._plot import arr, figure, make_run, matrix, save, source, table
from shendu.reference.conv import Pooling

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


NO_POOL = "input (no pooling)"
POOLS = {
    "max 2×2": lambda a: arr(F.max_pool2d(shendu.tensor(a), 2)),
    "average 2×2": lambda a: arr(F.avg_pool2d(shendu.tensor(a), 2)),
    "max 3×3, stride 3": lambda a: arr(F.max_pool2d(shendu.tensor(a), 3, stride=3)),
}
NAMES = {  # shown in the reader's language (called when printing)
    NO_POOL: lambda: tr("输入（不池化）", "input (no pooling)"),
    "max 2×2": lambda: tr("最大池化 2×2", "max 2×2"),
    "average 2×2": lambda: tr("平均池化 2×2", "average 2×2"),
    "max 3×3, stride 3": lambda: tr("最大池化 3×3，步幅 3", "max 3×3, stride 3"),
}


def compute(quick: bool = False) -> dict:
    """The course's example (library and the book's Pooling), parameters and channels, the shift test."""
    x = np.array(COURSE_X, np.float32).reshape(1, 1, 4, 4)
    mx = arr(F.max_pool2d(shendu.tensor(x), 2, stride=2))[0, 0]
    av = arr(F.avg_pool2d(shendu.tensor(x), 2, stride=2))[0, 0]
    book = Pooling(2, 2, stride=2).forward(x)[0, 0]
    feature_maps = shendu.randn(1, 6, 28, 28)
    pool, conv = nn.MaxPool2d(2), nn.Conv2d(6, 6, 2, stride=2)

    digits = load_dataset("mnist-5k", "val").images[: 200 if quick else 500]  # (N, 1, 28, 28)
    shifted = shift_right(digits)
    change = {NO_POOL: float(relative_change(digits, shifted).mean())}
    for name, fn in POOLS.items():
        change[name] = float(relative_change(fn(digits), fn(shifted)).mean())
    p0, p1 = POOLS["max 2×2"](digits), POOLS["max 2×2"](shifted)
    inked = p0 > 0  # windows that hold part of a stroke (blank background trivially stays blank)
    out = {
        "max_pool": mx.tolist(),
        "avg_pool": av.tolist(),
        "book_max_pool": book.tolist(),
        "pool_params": sum(p.numel() for p in pool.parameters()),
        "conv_params": sum(p.numel() for p in conv.parameters()),
        "pooled_shape": list(pool(feature_maps).shape),
        "n_digits": int(len(digits)),
        "example": {
            "digit": digits[0, 0],
            "shifted": shifted[0, 0],
            "pooled": p0[0, 0],
            "pooled_shifted": p1[0, 0],
        },
        "example_change": float(relative_change(digits[:1], shifted[:1])[0]),
        "example_pooled_change": float(relative_change(p0[:1], p1[:1])[0]),
        "relative_change": change,
        "max_pool_unchanged_fraction": float((np.abs(p1 - p0) < 0.05)[inked].mean()),
        "pixel_unchanged_fraction": float((np.abs(shifted - digits) < 0.05)[digits > 0].mean()),
    }
    out.update(conclusions(out))
    return out


def conclusions(r: dict) -> dict:
    """How much each pooling cuts the change a shift makes, which cuts most, and whether bigger is better."""
    change = r["relative_change"]
    base = change[NO_POOL]
    cut = {k: 1 - v / base for k, v in change.items() if k != NO_POOL}
    return {
        "reduction": cut,
        "best": max(cut, key=lambda k: cut[k]),
        "bigger_window_helps": cut["max 3×3, stride 3"] > cut["max 2×2"],
        "book_equals_library": r["book_max_pool"] == r["max_pool"],
        "all_reduce": all(v > 0 for v in cut.values()),
    }


def report(r: dict) -> list[str]:
    change, cut, best = r["relative_change"], r["reduction"], r["best"]
    lo, hi = min(cut.values()), max(cut.values())
    lines = [
        tr(
            f"1. 课程中的 4×4 输入 {COURSE_X}，2×2 窗口，步幅 2：",
            f"1. The course's 4×4 input {COURSE_X}, 2×2 windows, stride 2:",
        ),
        tr(f"   最大池化 -> {r['max_pool']}", f"   max pooling     -> {r['max_pool']}"),
        tr(f"   平均池化 -> {r['avg_pool']}", f"   average pooling -> {r['avg_pool']}"),
        tr(
            f"   书中的 Pooling（im2col 后每行取最大值）-> {r['book_max_pool']}"
            + ("，与 F.max_pool2d 相同：" if r["book_equals_library"] else "，与 F.max_pool2d 不同！"),
            f"   the book's Pooling (im2col, then each row's max) -> {r['book_max_pool']}"
            + (", the same as F.max_pool2d:" if r["book_equals_library"] else ", NOT F.max_pool2d's!"),
        ),
        source(Pooling.forward),
        tr(
            f"   池化层{'没有' if r['pool_params'] == 0 else '也有'}要学习的参数："
            f"nn.MaxPool2d(2) 有 {r['pool_params']} 个参数，"
            f"同样窗口的 nn.Conv2d(6, 6, 2, stride=2) 有 {r['conv_params']} 个；",
            f"   Pooling has {'nothing' if r['pool_params'] == 0 else 'something'} to learn: "
            f"nn.MaxPool2d(2) has {r['pool_params']} parameters, "
            f"nn.Conv2d(6, 6, 2, stride=2) with the same window has {r['conv_params']};",
        ),
        tr(
            f"   通道数{'不变' if r['pooled_shape'][1] == 6 else '变了'}：(1, 6, 28, 28) → "
            f"{tuple(r['pooled_shape'])}，每个通道各自池化。",
            f"   the channel count {'stays' if r['pooled_shape'][1] == 6 else 'changes'}: (1, 6, 28, 28) → "
            f"{tuple(r['pooled_shape'])}, each channel pooled on its own.",
        ),
        "",
        tr("2. 把每个数字向右平移一个像素。", "2. Shift each digit one pixel to the right."),
        tr(
            f"   {r['n_digits']} 个 MNIST 数字上的平均相对变化 ‖f(平移后) − f(x)‖ / ‖f(x)‖：",
            f"   Mean relative change ‖f(shifted) − f(x)‖ / ‖f(x)‖ over {r['n_digits']} MNIST digits:",
        ),
        table(
            ["f", tr("相对变化", "relative change"), tr("比输入少", "less than input")],
            [[NAMES[k](), v, "" if k not in cut else f"{cut[k]:.0%}"] for k, v in change.items()],
            ".3f",
        ),
        tr(
            f"   有墨迹的像素中 {r['pixel_unchanged_fraction']:.0%} 在平移后保持不变（误差 0.05 内）；"
            f"有墨迹的 2×2 最大池化值中 {r['max_pool_unchanged_fraction']:.0%} 保持不变。",
            f"   Of the inked pixels, {r['pixel_unchanged_fraction']:.0%} keep their value (within 0.05) "
            "after the shift; of the inked 2×2 max-pooled values, "
            f"{r['max_pool_unchanged_fraction']:.0%} do.",
        ),
    ]
    if r["all_reduce"]:
        lines.append(
            tr(
                f"   结论（来自上面的数字）：池化把变化减少了 {lo:.0%}–{hi:.0%}，{NAMES[best]()} 减少得最多；"
                f"但变化没有消失（仍有 {change[best]:.2f}），池化只带来部分的平移不变性"
                + ("，窗口越大越明显。" if r["bigger_window_helps"] else "。"),
                f"   Conclusion (from the numbers above): pooling cuts the change by {lo:.0%}–{hi:.0%}, "
                f"most with {NAMES[best]()}; the change does not vanish (still {change[best]:.2f}): pooling "
                "gives partial robustness to shifts"
                + (", more with larger windows." if r["bigger_window_helps"] else "."),
            )
        )
    else:
        lines.append(
            tr(
                "   结论（来自上面的数字）：不是每种池化都减少了变化，这里看不出平移不变性。",
                "   Conclusion (from the numbers above): not every pooling reduced the change; no "
                "robustness to shifts shows here.",
            )
        )
    return lines


def draw(r: dict, folder: Path) -> list[str]:
    pngs = []
    change, cut = r["relative_change"], r["reduction"]
    fig, axes = figure(1, 3, size=(10, 3.6))
    matrix(axes[0], np.array(COURSE_X), tr("输入 4×4", "input 4×4"))
    matrix(axes[1], np.array(r["max_pool"]), tr("最大池化 2×2，步幅 2", "max pooling 2×2, stride 2"))
    matrix(axes[2], np.array(r["avg_pool"]), tr("平均池化 2×2，步幅 2", "average pooling 2×2, stride 2"))
    fig.suptitle(
        tr(
            f"课程中的池化例子（参数：{r['pool_params']} 个；通道数不变）",
            f"Pooling on the course's example (parameters: {r['pool_params']}; channels unchanged)",
        )
    )
    pngs.append(save(fig, folder, "pooling_example.png"))

    ex = r["example"]
    fig, axes = figure(2, 4, size=(13, 7))
    diff = tr("|差|：相对 ", "|difference|: relative ")
    panels = [
        (ex["digit"], tr("数字（28×28）", "digit (28×28)")),
        (ex["shifted"], tr("向右平移 1 像素", "shifted right 1 pixel")),
        (np.abs(ex["shifted"] - ex["digit"]), diff + f"{r['example_change']:.2f}"),
        (ex["pooled"], tr("最大池化 2×2（14×14）", "max pool 2×2 (14×14)")),
        (ex["pooled_shifted"], tr("平移后数字的最大池化", "max pool of the shifted digit")),
        (np.abs(ex["pooled_shifted"] - ex["pooled"]), diff + f"{r['example_pooled_change']:.2f}"),
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
        [NAMES[k]() for k in keys],
        [change[k] for k in keys],
        color=["0.5", "tab:blue", "tab:orange", "tab:green"],
    )
    bar.invert_yaxis()
    bar.set(
        title=tr(f"平均相对变化，{r['n_digits']} 个数字", f"Mean relative change, {r['n_digits']} digits"),
        xlabel="‖f(shifted) − f(x)‖ / ‖f(x)‖",
    )
    lo, hi = min(cut.values()), max(cut.values())
    fig.suptitle(
        tr(
            f"池化把一像素平移带来的变化减少 {lo:.0%}–{hi:.0%}，但没有消除",
            f"Pooling cuts the change from a one-pixel shift by {lo:.0%}–{hi:.0%}, not to zero",
        )
    )
    pngs.append(save(fig, folder, "shift_robustness.png"))
    return pngs


run = make_run("pooling", compute, report, draw)
