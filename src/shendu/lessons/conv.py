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
from typing import Any

import numpy as np

import shendu
import shendu.nn.functional as F
from shendu import nn
from shendu.lessons._i18n import tr
from shendu.lessons._plot import figure, make_run, matrix, save, sizes, source, table
from shendu.reference.conv import Convolution, im2col


# the course's 2-D example
COURSE_X = [[1, 2, 3, 0], [0, 1, 2, 3], [3, 0, 1, 2], [2, 3, 0, 1]]
COURSE_W = [[2, 0, 1], [0, 1, 2], [1, 0, 2]]
COURSE_BIAS = 3.0
SIGNAL = [1.0, 2.0, 3.0, 4.0, 5.0]
KERNEL_1D = [1.0, 0.5, -1.0]
INNER = (slice(4, -4), slice(4, -4))  # the photograph without its zero-padded border
KERNEL_NAMES = {  # the kernels' names in the reader's language (called when printing)
    "sharpen": lambda: tr("锐化", "sharpen"),
    "box blur 5×5": lambda: tr("均值模糊 5×5", "box blur 5×5"),
    "Gaussian blur σ=1": lambda: tr("Gaussian 模糊 σ=1", "Gaussian blur σ=1"),
    "vertical edges (Sobel x)": lambda: tr("x 方向的边缘（Sobel x）", "vertical edges (Sobel x)"),
    "all edges (Laplacian)": lambda: tr("所有边缘（Laplacian）", "all edges (Laplacian)"),
}


def _t(a) -> shendu.Tensor:
    return shendu.tensor(np.asarray(a, dtype=np.float32))


def convolve_1d(x, h) -> np.ndarray:
    """Full 1-D convolution with ``F.conv1d``: flip the kernel (conv1d correlates), pad K − 1."""
    x = np.asarray(x, np.float32)
    h = np.asarray(h, np.float32)
    out = F.conv1d(_t(x).reshape(1, 1, -1), _t(h[::-1].copy()).reshape(1, 1, -1), padding=len(h) - 1)
    return out.numpy().ravel()


def classic_kernels() -> dict[str, np.ndarray]:
    """Sharpen, box blur, Gaussian blur and edge kernels, each padded to 5×5 (one conv2d runs them all)."""

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
    """Grace Hopper's portrait (matplotlib's sample data): grey (size, size·w/h) float32 in [0, 1]."""
    import matplotlib.cbook as cbook
    from PIL import Image

    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    with Image.open(path) as im:
        grey = im.convert("L")
        w, h = grey.size
        grey = grey.resize((round(size * w / h), size), Image.Resampling.BILINEAR)
        return np.asarray(grey, dtype=np.float32) / 255.0


def compute(quick: bool = False) -> dict:
    """Every number the lesson prints and draws."""
    # 1. 1-D
    ours = convolve_1d(SIGNAL, KERNEL_1D)
    ref = np.convolve(SIGNAL, KERNEL_1D)
    corr = F.conv1d(_t(SIGNAL).reshape(1, 1, -1), _t(KERNEL_1D).reshape(1, 1, -1)).numpy().ravel()
    # 2. 2-D course example, and the book's im2col Convolution on the same numbers
    x = _t(COURSE_X).reshape(1, 1, 4, 4)
    w = _t(COURSE_W).reshape(1, 1, 3, 3)
    plain = F.conv2d(x, w).numpy()[0, 0]
    biased = F.conv2d(x, w, _t([COURSE_BIAS])).numpy()[0, 0]
    padded = F.conv2d(x, w, padding=1).numpy()[0, 0]
    book = Convolution(w.numpy(), np.array([COURSE_BIAS], np.float32)).forward(x.numpy())[0, 0]
    cols = im2col(x.numpy(), 3, 3)
    x7 = _t(np.arange(49).reshape(1, 1, 7, 7))
    strided = F.conv2d(x7, _t(np.ones((1, 1, 3, 3))), stride=2).numpy()[0, 0]
    # 3. output size
    size = sizes(F.conv_output_size((28, 31), 5, stride=3, padding=2))
    real = F.conv2d(shendu.zeros(1, 1, 28, 31), shendu.zeros(1, 1, 5, 5), stride=3, padding=2).shape[2:]
    # 4. channels and filters
    rng = np.random.default_rng(0)
    xc = _t(rng.standard_normal((1, 3, 7, 7)))
    w1 = _t(rng.standard_normal((1, 3, 5, 5)))
    one = F.conv2d(xc, w1)
    per_channel: Any = sum(F.conv2d(xc[:, c : c + 1], w1[:, c : c + 1]) for c in range(3))
    multi = F.conv2d(
        _t(rng.standard_normal((2, 3, 7, 7))), _t(rng.standard_normal((4, 3, 5, 5))), _t(np.zeros(4))
    )
    fc_params = sum(p.numel() for p in nn.Linear(28 * 28, 6 * 24 * 24).parameters())
    conv_params = sum(p.numel() for p in nn.Conv2d(1, 6, 5).parameters())
    size_grid = {
        f"S={s},P={p}": sizes(F.conv_output_size((28, 28), 5, stride=s, padding=p))[0]
        for s in (1, 2, 3)
        for p in (0, 1, 2)
    }
    # 5. classic kernels on a photograph, all in one conv2d call
    img = photograph(128 if quick else 256)
    kernels = classic_kernels()
    bank = _t(np.stack(list(kernels.values()))[:, None])  # (5, 1, 5, 5)
    filtered = F.conv2d(_t(img)[None, None], bank, padding=2).numpy()[0]  # (5, H, W)
    stats = {
        name: {"mean": float(f[INNER].mean()), "std": float(f[INNER].std()), "kernel_sum": float(k.sum())}
        for (name, k), f in zip(kernels.items(), filtered, strict=True)
    }
    out = {
        "conv1d": ours.tolist(),
        "numpy_convolve": ref.tolist(),
        "cross_correlation": corr.tolist(),
        "course_output": plain.tolist(),
        "course_output_bias": biased.tolist(),
        "course_output_padded": padded.tolist(),
        "book_output_bias": book.tolist(),
        "im2col_shape": list(cols.shape),
        "im2col_first_row": cols[0].tolist(),
        "strided_shape": list(strided.shape),
        "strided": strided.tolist(),
        "output_size": [int(v) for v in size],
        "output_size_real": [int(v) for v in real],
        "channel_sum_error": float(np.abs(one.numpy() - per_channel.numpy()).max()),
        "one_filter_shape": list(one.shape),
        "multi_shape": list(multi.shape),
        "image": img,
        "image_shape": list(img.shape),
        "image_mean": float(img[INNER].mean()),
        "image_std": float(img[INNER].std()),
        "filtered": filtered,
        "bank_shape": list(bank.shape),
        "kernel_stats": stats,
        "fc_params": fc_params,
        "conv_params": conv_params,
        "output_size_grid": size_grid,
    }
    out.update(conclusions(out))
    return out


def conclusions(r: dict) -> dict:
    """What the numbers say: which implementations agree, what each kernel did to the photograph."""
    st, mean, std = r["kernel_stats"], r["image_mean"], r["image_std"]
    return {
        "library_equals_numpy": bool(np.allclose(r["conv1d"], r["numpy_convolve"], atol=1e-5)),
        "book_equals_library": bool(np.allclose(r["book_output_bias"], r["course_output_bias"])),
        "size_formula_matches": r["output_size"] == r["output_size_real"],
        "keeps_brightness": [k for k, v in st.items() if abs(v["mean"] - mean) < 0.01 * max(mean, 1e-3)],
        "lowers_contrast": [k for k, v in st.items() if v["kernel_sum"] > 0.5 and v["std"] < std],
        "raises_contrast": [k for k, v in st.items() if v["kernel_sum"] > 0.5 and v["std"] > std],
        "flat_to_zero": [k for k, v in st.items() if abs(v["kernel_sum"]) < 1e-6 and abs(v["mean"]) < 0.01],
    }


def _names(keys) -> str:
    return tr("、", ", ").join(KERNEL_NAMES[k]() for k in keys) or tr("没有", "none")


def report(r: dict) -> list[str]:
    plain, biased, padded = (
        np.array(r[k]) for k in ("course_output", "course_output_bias", "course_output_padded")
    )
    same = tr("相同", "the same") if r["library_equals_numpy"] else tr("不同！", "DIFFERENT!")
    lines = [
        tr(f"1. 一维卷积：x = {SIGNAL}，卷积核 h = {KERNEL_1D}", f"1. 1-D: x = {SIGNAL}, h = {KERNEL_1D}"),
        f"   numpy.convolve(x, h)                      = {r['numpy_convolve']}",
        f"   F.conv1d(x, flip(h), padding=K−1)         = {r['conv1d']}  " + tr(f"（{same}）", f"({same})"),
        f"   F.conv1d(x, h)                            = {r['cross_correlation']}  "
        + tr("← 不翻转：CNN 实际计算的是互相关", "← no flip: what CNNs compute is cross-correlation"),
        "",
        tr(
            "2. 课程中的二维卷积（4×4 输入，3×3 滤波器/卷积核）：",
            "2. 2-D on the course's example (4×4 input, 3×3 filter):",
        ),
        tr("   不填充            -> ", "   no padding            -> ") + f"{plain.astype(int).tolist()}",
        tr(f"   加偏置 {COURSE_BIAS:g}          -> ", f"   + bias {COURSE_BIAS:g}              -> ")
        + f"{biased.astype(int).tolist()}",
        tr("   填充 1（大小不变）-> ", "   padding 1 (size kept) -> ") + f"{padded.astype(int).tolist()}",
        tr("   7×7 输入，步幅 2  -> 输出 ", "   7×7 input, stride 2   -> output ")
        + f"{tuple(r['strided_shape'])} ({[int(v) for v in r['strided'][0]]} …)",
        tr(
            f"   书中的 im2col 把每个 3×3 窗口展开成一行：{tuple(r['im2col_shape'])}，第一行 "
            f"{[int(v) for v in r['im2col_first_row']]}；再乘以展开的滤波器，加偏置："
            f"{np.array(r['book_output_bias']).astype(int).tolist()}"
            + ("（与 F.conv2d 相同）" if r["book_equals_library"] else "（与 F.conv2d 不同！）"),
            f"   The book's im2col unrolls each 3×3 window into a row: {tuple(r['im2col_shape'])}, first row "
            f"{[int(v) for v in r['im2col_first_row']]}; times the unrolled filter, plus the bias: "
            f"{np.array(r['book_output_bias']).astype(int).tolist()}"
            + (" (the same as F.conv2d)" if r["book_equals_library"] else " (NOT F.conv2d's!)"),
        ),
        tr("   读代码（书中的写法）：", "   Read the code (the book's way):"),
        source(im2col),
        source(Convolution.forward),
        "",
        tr(
            "3. 输出大小 OH = (H + 2P − FH)/S + 1，OW = (W + 2P − FW)/S + 1：",
            "3. OH = (H + 2P − FH)/S + 1, OW = (W + 2P − FW)/S + 1:",
        ),
        tr(
            f"   输入 (28, 31)，填充 P = 2，步幅 S = 3，滤波器 (5, 5)：F.conv_output_size -> "
            f"{tuple(r['output_size'])}；conv2d 实际输出 {tuple(r['output_size_real'])}"
            + ("（一致）" if r["size_formula_matches"] else "（不一致！）"),
            f"   input (28, 31), P = 2, S = 3, filter (5, 5): F.conv_output_size -> "
            f"{tuple(r['output_size'])}; conv2d really gives {tuple(r['output_size_real'])}"
            + (" (they agree)" if r["size_formula_matches"] else " (they DISAGREE!)"),
        ),
        "",
        tr(
            "4. 多通道：输入 (1, 3, 7, 7) * 一个滤波器 (1, 3, 5, 5) -> ",
            "4. Channels: input (1, 3, 7, 7) * one filter (1, 3, 5, 5) -> ",
        )
        + f"{tuple(r['one_filter_shape'])}"
        + tr(
            f"：三个通道各自卷积再相加（最大差 {r['channel_sum_error']:.1e}）；",
            f": the sum of the three per-channel convolutions (max difference {r['channel_sum_error']:.1e});",
        ),
        tr(
            f"   一批 (2, 3, 7, 7) * FN = 4 个滤波器 (4, 3, 5, 5) + 偏置 (4,) -> {tuple(r['multi_shape'])} "
            "= (N, FN, OH, OW)。",
            f"   a batch (2, 3, 7, 7) * FN = 4 filters (4, 3, 5, 5) + bias (4,) -> {tuple(r['multi_shape'])} "
            "= (N, FN, OH, OW).",
        ),
        tr(
            f"   全连接层的局限：把 28×28 图像变成 6×24×24 个输出，全连接层要 {r['fc_params']:,} 个参数，"
            f"6 个 5×5 卷积核只要 {r['conv_params']:,} 个（少 {r['fc_params'] // r['conv_params']:,} 倍），"
            "而且保留了图像的空间结构。",
            f"   The limit of fully connected layers: 28×28 image → 6×24×24 outputs takes "
            f"{r['fc_params']:,} parameters fully connected, {r['conv_params']:,} with six 5×5 kernels "
            f"({r['fc_params'] // r['conv_params']:,}× fewer), and the convolution keeps the image's "
            "spatial layout.",
        ),
    ]
    h, w = r["image_shape"]
    lines += [
        "",
        tr(
            f"5. 五个经典卷积核作用在灰度照片上（{h} 行 × {w} 列），一次 F.conv2d，权重 "
            f"{tuple(r['bank_shape'])}：",
            f"5. Five classic kernels on a grey photograph ({h} rows × {w} columns), one F.conv2d with "
            f"weight {tuple(r['bank_shape'])}:",
        ),
        table(
            [tr("卷积核", "kernel"), tr("核之和", "kernel sum"), tr("输出均值", "output mean"), "std"],
            [[tr("原图", "original"), "", r["image_mean"], r["image_std"]]]
            + [
                [KERNEL_NAMES[k](), f"{s['kernel_sum']:+.2f}", s["mean"], s["std"]]
                for k, s in r["kernel_stats"].items()
            ],
            ".3f",
        ),
        tr(
            f"   保持亮度（均值与原图相差不到 1%）：{_names(r['keeps_brightness'])}；"
            f"降低对比度（std 变小）：{_names(r['lowers_contrast'])}；"
            f"提高对比度：{_names(r['raises_contrast'])}；"
            f"核之和为 0、平坦区域变成 0（均值 ≈ 0）：{_names(r['flat_to_zero'])}。",
            f"   Keep the brightness (mean within 1% of the original): {_names(r['keeps_brightness'])}; "
            f"lower the contrast (smaller std): {_names(r['lowers_contrast'])}; raise it: "
            f"{_names(r['raises_contrast'])}; sum to 0 and turn flat areas to 0 (mean ≈ 0): "
            f"{_names(r['flat_to_zero'])}.",
        ),
    ]
    return lines


def draw(r: dict, folder: Path) -> list[str]:
    from matplotlib.lines import Line2D

    pngs = []
    plain, biased, padded = (
        np.array(r[k]) for k in ("course_output", "course_output_bias", "course_output_padded")
    )
    fig, axes = figure(1, 5, size=(15, 3.4))
    matrix(axes[0], np.array(COURSE_X), tr("输入 4×4", "input 4×4"))
    matrix(axes[1], np.array(COURSE_W), tr("滤波器 3×3", "filter 3×3"), "Oranges")
    matrix(axes[2], plain, tr("输出 2×2", "output 2×2"))
    matrix(axes[3], biased, tr(f"输出 + 偏置 {COURSE_BIAS:g}", f"output + bias {COURSE_BIAS:g}"))
    matrix(axes[4], padded, tr("填充 1：输出 4×4", "padding 1: output 4×4"))
    fig.suptitle(
        tr(
            "课程中的二维卷积：每个 3×3 窗口逐元素相乘再求和（互相关，CNN 的做法）",
            "The course's 2-D convolution: multiply-accumulate each 3×3 window (cross-correlation, as in "
            "CNNs)",
        )
    )
    pngs.append(save(fig, folder, "conv2d_example.png"))

    ref, ours = np.array(r["numpy_convolve"]), np.array(r["conv1d"])
    fig, ax = figure(size=(6.5, 3.8))
    n = np.arange(len(ref))
    ax.stem(n, ref, linefmt="C0-", markerfmt="C0o", basefmt="0.7")
    ax.plot(n, ours, "rx", ms=10, mew=2, ls="")
    ax.set(
        title=tr("一维卷积：shendu 与 numpy.convolve 相同", "1-D convolution: library equals numpy.convolve")
        if r["library_equals_numpy"]
        else tr("一维卷积：shendu 与 numpy.convolve 不同", "1-D convolution: library differs from numpy"),
        xlabel=tr("输出下标 n", "output index n"),
        ylabel="y[n]",
        xticks=n,
    )
    handles = [
        Line2D([], [], color="C0", marker="o", ls="-", label="numpy.convolve(x, h)"),
        Line2D([], [], color="r", marker="x", mew=2, ms=10, ls="", label="F.conv1d(x, flip(h), padding=K−1)"),
    ]
    ax.legend(handles=handles, fontsize=8)
    ax.grid(True, alpha=0.3)
    pngs.append(save(fig, folder, "conv1d.png"))
    grid = {(int(k[2]), int(k[6])): v for k, v in r["output_size_grid"].items()}
    pngs.append(_draw_shapes(folder, grid, r["fc_params"], r["conv_params"], tuple(r["multi_shape"])))

    kernels = classic_kernels()
    img = r["image"]
    fig, axes = figure(2, 3, size=(13, 9.2))
    axes.flat[0].imshow(img, cmap="gray", vmin=0, vmax=1)
    axes.flat[0].set(title=tr("原图", "original (before)"), xticks=[], yticks=[])
    for ax, (name, f) in zip(axes.flat[1:], zip(kernels, r["filtered"], strict=True), strict=True):
        if kernels[name].sum() > 0.5:
            ax.imshow(np.clip(f, 0, 1), cmap="gray", vmin=0, vmax=1)
            ax.set_title(tr(f"之后：{KERNEL_NAMES[name]()}", f"after: {KERNEL_NAMES[name]()}"))
        else:  # edge responses are signed: show their size
            ax.imshow(np.abs(f), cmap="gray_r", vmin=0, vmax=np.percentile(np.abs(f), 99))
            ax.set_title(
                tr(
                    f"之后：{KERNEL_NAMES[name]()}\n|输出|，越黑边缘越强",
                    f"after: {KERNEL_NAMES[name]()}\n|output|, dark = strong edge",
                )
            )
        ax.set(xticks=[], yticks=[])
    fig.suptitle(
        tr(
            "一次 F.conv2d 应用五个经典 5×5 卷积核（照片：Grace Hopper，matplotlib 示例数据）",
            "Classic 5×5 kernels applied by one F.conv2d (photo: Grace Hopper, matplotlib sample data)",
        )
    )
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
        ax.set(title=KERNEL_NAMES[name](), xticks=[], yticks=[])
    fig.suptitle(tr("卷积核（红为正，蓝为负）", "The kernels (red positive, blue negative)"))
    pngs.append(save(fig, folder, "kernels.png"))
    return pngs


run = make_run("conv", compute, report, draw)


def _draw_shapes(folder, size_grid: dict, fc_params: int, conv_params: int, multi_shape: tuple) -> str:
    """Stride and padding against output size, multi-channel shapes, and FC vs conv parameter counts."""
    from matplotlib.patches import Rectangle

    fig, (a1, a2, a3) = figure(1, 3, size=(15, 4.3))
    for p, marker in ((0, "o"), (1, "s"), (2, "^")):
        strides = [1, 2, 3]
        a1.plot(
            strides,
            [size_grid[(s, p)] for s in strides],
            marker=marker,
            label=tr(f"填充 P = {p}", f"padding P = {p}"),
        )
        for s in strides:
            a1.annotate(
                str(size_grid[(s, p)]),
                (s, size_grid[(s, p)]),
                xytext=(4, 4),
                textcoords="offset points",
                fontsize=8,
            )
    a1.set(
        title=tr("28×28 输入、5×5 滤波器的输出大小", "Output size, 28×28 input, 5×5 filter"),
        xlabel=tr("步幅 S", "stride S"),
        ylabel="OH = (H + 2P − FH)/S + 1",
        xticks=[1, 2, 3],
    )
    a1.legend(fontsize=8)
    a1.grid(True, alpha=0.3)

    n, fn, oh, ow = multi_shape
    for i, (x, label, depth, color) in enumerate(
        (
            (0.0, tr("输入 (N, C, H, W)\n(2, 3, 7, 7)", "input (N, C, H, W)\n(2, 3, 7, 7)"), 3, "#cfe0f3"),
            (
                4.0,
                tr(
                    f"{fn} 个滤波器，各 3 个通道\n(FN, C, FH, FW) = (4, 3, 5, 5)",
                    f"{fn} filters of 3 channels\n(FN, C, FH, FW) = (4, 3, 5, 5)",
                ),
                3,
                "#f9d9b9",
            ),
            (
                8.0,
                tr(f"输出 (N, FN, OH, OW)\n{multi_shape}", f"output (N, FN, OH, OW)\n{multi_shape}"),
                fn,
                "#cfeccf",
            ),
        )
    ):
        size = 2.2 if i == 0 else (0.75 if i == 1 else 1.0)
        # the filters: FN small stacks of C channels each, in a 2×2 grid; input and output one stack
        corners = [(x + 1.05 * (k % 2), 1.15 - 1.15 * (k // 2)) for k in range(fn)] if i == 1 else [(x, 0.0)]
        for cx, cy in corners:
            for d in range(depth):
                a2.add_patch(
                    Rectangle((cx + 0.12 * d, cy + 0.12 * d), size, size, facecolor=color, edgecolor="0.3")
                )
        a2.text(x + 1.1, -0.9, label, ha="center", va="top", fontsize=8.5)
    a2.text(3.2, 1.0, "*", fontsize=20, ha="center")
    a2.text(7.2, 1.0, "→", fontsize=20, ha="center")
    a2.set(
        xlim=(-0.5, 10.5),
        ylim=(-2.6, 3.2),
        title=tr("多通道、多滤波器的卷积", "Multi-channel, multi-filter convolution"),
    )
    a2.axis("off")

    a3.bar(
        [tr("全连接层", "fully connected"), tr("卷积层 6×5×5", "conv 6×5×5")],
        [fc_params, conv_params],
        color=["tab:red", "tab:blue"],
    )
    a3.set_yscale("log")
    for i, v in enumerate((fc_params, conv_params)):
        a3.text(i, v * 1.3, f"{v:,}", ha="center", fontsize=9)
    a3.set(
        title=tr("28×28 → 6×24×24 所需参数（对数坐标）", "Parameters for 28×28 → 6×24×24 (log scale)"),
        ylim=(10, fc_params * 10),
    )
    return save(fig, folder, "conv_shapes.png")
