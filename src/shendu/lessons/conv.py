"""卷积层 — convolution: 1-D, 2-D with bias/padding/stride, the output size, channels, kernels.

1. 1-D discrete convolution (y[n] = Σₖ x[k] h[n − k]) equals ``numpy.convolve``. Deep-learning
   "convolution" (``F.conv1d``, as torch's) is really cross-correlation (no kernel flip): flip
   the kernel and pad by K − 1 and it is the textbook convolution exactly.
2. 2-D on the course's 4×4 example: multiply-accumulate the 3×3 filter at each window, add the
   bias, pad with zeros to keep the size, stride to skip positions.
3. Output size OH = (H + 2P − FH)/S + 1: input (28, 31), padding 2, stride 3, filter 5×5 → (10, 11).
4. Channels: a filter has as many channels as its input and sums over them; FN filters give FN
   output channels; a batch of N images goes through at once: (N, C, H, W) * (FN, C, FH, FW) →
   (N, FN, OH, OW).
5. Classic kernels on a photograph (Grace Hopper, shipped with matplotlib): sharpen, box and
   Gaussian blur, edge detection — all five kernels in one ``F.conv2d`` call with FN = 5.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import shendu
import shendu.nn.functional as F
from shendu.lessons._plot import figure, lesson, matrix, save, start


# the course's 2-D example
COURSE_X = [[1, 2, 3, 0], [0, 1, 2, 3], [3, 0, 1, 2], [2, 3, 0, 1]]
COURSE_W = [[2, 0, 1], [0, 1, 2], [1, 0, 2]]
COURSE_BIAS = 3.0
SIGNAL = [1.0, 2.0, 3.0, 4.0, 5.0]
KERNEL_1D = [1.0, 0.5, -1.0]


def _t(a) -> shendu.Tensor:
    return shendu.tensor(np.asarray(a, dtype=np.float32))


def convolve_1d(x, h) -> np.ndarray:
    """Full 1-D convolution with ``F.conv1d``: flip the kernel (conv1d correlates), pad K − 1."""
    x = np.asarray(x, np.float32)
    h = np.asarray(h, np.float32)
    out = F.conv1d(_t(x).reshape(1, 1, -1), _t(h[::-1].copy()).reshape(1, 1, -1), padding=len(h) - 1)
    return out.numpy().ravel()


def classic_kernels() -> dict[str, np.ndarray]:
    """Sharpen, box blur, Gaussian blur, and edge kernels, each padded to 5×5 (so one conv2d runs them all)."""

    def pad5(k):
        k = np.asarray(k, np.float32)
        p = (5 - k.shape[0]) // 2
        return np.pad(k, p)

    g1 = np.exp(-0.5 * (np.arange(-2, 3) / 1.0) ** 2)
    gauss = np.outer(g1, g1)
    return {
        "sharpen": pad5([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
        "box blur 5×5": np.full((5, 5), 1 / 25, np.float32),
        "Gaussian blur σ=1": (gauss / gauss.sum()).astype(np.float32),
        "vertical edges (Sobel x)": pad5([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
        "all edges (Laplacian)": pad5([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]),
    }


def photograph(size: int = 256) -> np.ndarray:
    """Grace Hopper's portrait (matplotlib's sample data) as a grey (size, size·w/h) float32 image in [0, 1]."""
    import matplotlib.cbook as cbook
    from PIL import Image

    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    with Image.open(path) as im:
        grey = im.convert("L")
        w, h = grey.size
        grey = grey.resize((round(size * w / h), size), Image.Resampling.BILINEAR)
        return np.asarray(grey, dtype=np.float32) / 255.0


@lesson
def run(out: str | Path | None = None, quick: bool = False, verbose: bool = True) -> dict:
    folder, say = start("conv", out, quick, verbose)

    # 1. 1-D
    ours = convolve_1d(SIGNAL, KERNEL_1D)
    ref = np.convolve(SIGNAL, KERNEL_1D)
    corr = F.conv1d(_t(SIGNAL).reshape(1, 1, -1), _t(KERNEL_1D).reshape(1, 1, -1)).numpy().ravel()
    say(
        f"1. 1-D: x = {SIGNAL}, h = {KERNEL_1D}",
        f"   numpy.convolve(x, h)                   = {ref.tolist()}",
        f"   F.conv1d(x, flip(h), padding=K−1)      = {ours.tolist()}",
        f"   F.conv1d(x, h) (cross-correlation, valid) = {corr.tolist()}  <- no flip: what CNNs compute",
    )

    # 2. 2-D course example
    x = _t(COURSE_X).reshape(1, 1, 4, 4)
    w = _t(COURSE_W).reshape(1, 1, 3, 3)
    plain = F.conv2d(x, w).numpy()[0, 0]
    biased = F.conv2d(x, w, _t([COURSE_BIAS])).numpy()[0, 0]
    padded = F.conv2d(x, w, padding=1).numpy()[0, 0]
    x7 = _t(np.arange(49).reshape(1, 1, 7, 7))
    strided = F.conv2d(x7, _t(np.ones((1, 1, 3, 3))), stride=2).numpy()[0, 0]
    say(
        "",
        "2. 2-D on the course's example (4×4 input, 3×3 filter):",
        f"   no padding            -> {plain.astype(int).tolist()}",
        f"   + bias {COURSE_BIAS:g}              -> {biased.astype(int).tolist()}",
        f"   padding 1 (size kept) -> {padded.astype(int).tolist()}",
        f"   7×7 input, stride 2   -> output {strided.shape} (3×3 window sums of 0..48: first row {strided[0].astype(int).tolist()})",
    )

    # 3. output size
    size = F.conv_output_size((28, 31), 5, stride=3, padding=2)
    real = F.conv2d(shendu.zeros(1, 1, 28, 31), shendu.zeros(1, 1, 5, 5), stride=3, padding=2).shape[2:]
    say(
        "",
        "3. OH = (H + 2P − FH)/S + 1, OW = (W + 2P − FW)/S + 1:",
        f"   input (28, 31), P = 2, S = 3, filter (5, 5): F.conv_output_size -> {tuple(size)}; "
        f"conv2d really gives {tuple(real)}",
    )

    # 4. channels and filters
    rng = np.random.default_rng(0)
    xc = _t(rng.standard_normal((1, 3, 7, 7)))
    w1 = _t(rng.standard_normal((1, 3, 5, 5)))
    one = F.conv2d(xc, w1)
    per_channel = sum(F.conv2d(xc[:, c : c + 1], w1[:, c : c + 1]) for c in range(3))
    multi = F.conv2d(
        _t(rng.standard_normal((2, 3, 7, 7))), _t(rng.standard_normal((4, 3, 5, 5))), _t(np.zeros(4))
    )
    channel_sum_err = float(np.abs(one.numpy() - per_channel.numpy()).max())
    say(
        "",
        "4. Channels: input (1, 3, 7, 7) * one filter (1, 3, 5, 5) -> "
        f"{one.shape}: the sum of the three per-channel convolutions (max difference {channel_sum_err:.1e});",
        f"   a batch (2, 3, 7, 7) * FN = 4 filters (4, 3, 5, 5) + bias (4,) -> {multi.shape} = (N, FN, OH, OW).",
    )

    # 5. classic kernels on a photograph, all in one conv2d call
    img = photograph(128 if quick else 256)
    kernels = classic_kernels()
    bank = _t(np.stack(list(kernels.values()))[:, None])  # (5, 1, 5, 5)
    filtered = F.conv2d(_t(img)[None, None], bank, padding=2).numpy()[0]  # (5, H, W)
    inner = (slice(4, -4), slice(4, -4))  # ignore the zero-padded border
    stats = {}
    for name, f in zip(kernels, filtered, strict=True):
        stats[name] = {
            "mean": float(f[inner].mean()),
            "std": float(f[inner].std()),
            "kernel_sum": float(kernels[name].sum()),
        }
    say(
        "",
        f"5. Five classic kernels on a grey photograph ({img.shape[0]} rows × {img.shape[1]} columns),"
        f" one F.conv2d with weight {tuple(bank.shape)}:",
        *(
            f"   {name:<26} kernel sum {s['kernel_sum']:+.2f}: output mean {s['mean']:.3f}, std {s['std']:.3f}"
            for name, s in stats.items()
        ),
        f"   (original: mean {img[inner].mean():.3f}, std {img[inner].std():.3f}). Kernels summing to 1 keep the"
        " brightness; blur lowers the contrast (std), sharpen raises it; edge kernels sum to 0: flat areas go to 0.",
    )

    pngs = []
    fig, axes = figure(1, 5, size=(15, 3.4))
    matrix(axes[0], np.array(COURSE_X), "input 4×4")
    matrix(axes[1], np.array(COURSE_W), "filter 3×3", "Oranges")
    matrix(axes[2], plain, "output 2×2")
    matrix(axes[3], biased, f"output + bias {COURSE_BIAS:g}")
    matrix(axes[4], padded, "padding 1: output 4×4")
    fig.suptitle(
        "The course's 2-D convolution: multiply-accumulate each 3×3 window (cross-correlation, as in CNNs)"
    )
    pngs.append(save(fig, folder, "conv2d_example.png"))

    fig, ax = figure(size=(6.5, 3.8))
    n = np.arange(len(ref))
    ax.stem(n, ref, linefmt="C0-", markerfmt="C0o", basefmt="0.7", label="numpy.convolve(x, h)")
    ax.plot(n, ours, "rx", ms=10, mew=2, label="F.conv1d(x, flip(h), padding=K−1)")
    ax.set(
        title="1-D convolution: library equals numpy.convolve",
        xlabel="output index n",
        ylabel="y[n]",
        xticks=n,
    )
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    pngs.append(save(fig, folder, "conv1d.png"))

    fig, axes = figure(2, 3, size=(13, 9.2))
    axes.flat[0].imshow(img, cmap="gray", vmin=0, vmax=1)
    axes.flat[0].set(title="original (before)", xticks=[], yticks=[])
    for ax, (name, f) in zip(axes.flat[1:], zip(kernels, filtered, strict=True), strict=True):
        if kernels[name].sum() > 0.5:
            ax.imshow(np.clip(f, 0, 1), cmap="gray", vmin=0, vmax=1)
            ax.set_title(f"after: {name}")
        else:  # edge responses are signed: show their size
            ax.imshow(np.abs(f), cmap="gray_r", vmin=0, vmax=np.percentile(np.abs(f), 99))
            ax.set_title(f"after: {name}\n|output|, dark = strong edge")
        ax.set(xticks=[], yticks=[])
    fig.suptitle("Classic 5×5 kernels applied by one F.conv2d (photo: Grace Hopper, matplotlib sample data)")
    pngs.append(save(fig, folder, "kernels_photo.png"))

    fig, axes = figure(1, 5, size=(15, 3.4))
    for ax, (name, k) in zip(axes, kernels.items(), strict=True):
        lim = np.abs(k).max()
        ax.imshow(k, cmap="RdBu_r", vmin=-lim, vmax=lim)
        for (i, j), v in np.ndenumerate(k):
            if v != 0:
                ax.text(
                    j,
                    i,
                    f"{v:.2g}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if abs(v) > 0.6 * lim else "black",
                )
        ax.set(title=name, xticks=[], yticks=[])
    fig.suptitle("The kernels (red positive, blue negative)")
    pngs.append(save(fig, folder, "kernels.png"))
    say.figures(pngs)

    return {
        "conv1d": ours.tolist(),
        "numpy_convolve": ref.tolist(),
        "cross_correlation": corr.tolist(),
        "course_output": plain.tolist(),
        "course_output_bias": biased.tolist(),
        "course_output_padded": padded.tolist(),
        "strided_shape": list(strided.shape),
        "strided": strided.tolist(),
        "output_size": [int(v) for v in size],
        "output_size_real": [int(v) for v in real],
        "channel_sum_error": channel_sum_err,
        "multi_shape": list(multi.shape),
        "image_shape": list(img.shape),
        "image_std": float(img[inner].std()),
        "kernel_stats": stats,
        "pngs": pngs,
    }
