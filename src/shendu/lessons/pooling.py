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
from shendu.lessons._plot import figure, lesson, matrix, save, start, table

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
    mx = F.max_pool2d(x, 2, stride=2).numpy()[0, 0]
    av = F.avg_pool2d(x, 2, stride=2).numpy()[0, 0]
    say(
        f"1. The course's 4×4 input {COURSE_X}, 2×2 windows, stride 2:",
        f"   max pooling     -> {mx.tolist()}",
        f"   average pooling -> {av.tolist()}",
    )

    digits = load_dataset("mnist-5k", "val").images[: 200 if quick else 500]  # (N, 1, 28, 28)
    shifted = shift_right(digits)
    pooled = {
        "max 2×2": lambda a: F.max_pool2d(shendu.tensor(a), 2).numpy(),
        "average 2×2": lambda a: F.avg_pool2d(shendu.tensor(a), 2).numpy(),
        "max 3×3, stride 3": lambda a: F.max_pool2d(shendu.tensor(a), 3, stride=3).numpy(),
    }
    change = {"input (no pooling)": float(relative_change(digits, shifted).mean())}
    for name, fn in pooled.items():
        change[name] = float(relative_change(fn(digits), fn(shifted)).mean())
    p0 = F.max_pool2d(shendu.tensor(digits), 2).numpy()
    p1 = F.max_pool2d(shendu.tensor(shifted), 2).numpy()
    inked = p0 > 0  # windows that hold part of a stroke (blank background trivially stays blank)
    unchanged_frac = float((np.abs(p1 - p0) < 0.05)[inked].mean())
    pixel_frac = float((np.abs(shifted - digits) < 0.05)[digits > 0].mean())
    say(
        "",
        "2. Shift each digit one pixel to the right.",
        f"   Mean relative change ‖f(shifted) − f(x)‖ / ‖f(x)‖ over {len(digits)} MNIST digits:",
        table(["f", "relative change"], [[k, v] for k, v in change.items()], ".3f"),
        f"   Of the inked pixels, {pixel_frac:.0%} keep their value (within 0.05) after the shift; of the inked",
        f"   2×2 max-pooled values, {unchanged_frac:.0%} do: the window's maximum often stays inside the window.",
    )

    pngs = []
    fig, axes = figure(1, 3, size=(10, 3.6))
    matrix(axes[0], np.array(COURSE_X), "input 4×4")
    matrix(axes[1], mx, "max pooling 2×2, stride 2")
    matrix(axes[2], av, "average pooling 2×2, stride 2")
    fig.suptitle("Pooling on the course's example")
    pngs.append(save(fig, folder, "pooling_example.png"))

    d, s = digits[0, 0], shifted[0, 0]
    pd, ps = (
        F.max_pool2d(shendu.tensor(digits[:1]), 2).numpy()[0, 0],
        F.max_pool2d(shendu.tensor(shifted[:1]), 2).numpy()[0, 0],
    )
    fig, axes = figure(2, 4, size=(13, 7))
    panels = [
        (d, "digit (28×28)"),
        (s, "shifted right 1 pixel"),
        (np.abs(s - d), f"|difference|: {relative_change(digits[:1], shifted[:1])[0]:.2f} relative"),
        (pd, "max pool 2×2 (14×14)"),
        (ps, "max pool of the shifted digit"),
        (np.abs(ps - pd), f"|difference|: {relative_change(pd[None], ps[None])[0]:.2f} relative"),
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
    names = list(change)
    bar.barh(names, [change[k] for k in names], color=["0.5", "tab:blue", "tab:orange", "tab:green"])
    bar.invert_yaxis()
    bar.set(title=f"Mean relative change, {len(digits)} digits", xlabel="‖f(shifted) − f(x)‖ / ‖f(x)‖")
    fig.suptitle("Pooling makes the features robust to a one-pixel shift")
    pngs.append(save(fig, folder, "shift_robustness.png"))
    say.figures(pngs)

    return {
        "max_pool": mx.tolist(),
        "avg_pool": av.tolist(),
        "relative_change": change,
        "max_pool_unchanged_fraction": unchanged_frac,
        "pixel_unchanged_fraction": pixel_frac,
        "n_digits": int(len(digits)),
        "pngs": pngs,
    }
