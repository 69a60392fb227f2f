"""im2col (图像到矩阵): unfold every receptive field of a batch into a column of one matrix.

With all windows laid side by side, a convolution is ONE matrix product (the course's im2col
figure)::

    col[(c, i, j), (n, p, q)] = x_pad[n, c, p·S + i·D, q·S + j·D]      (C·KH·KW, N·OH·OW)
    y[o, (n, p, q)]           = Σ_(c,i,j) W[o, (c, i, j)] · col[(c, i, j), (n, p, q)]

and the backward of im2col, col2im, adds every column entry back onto the pixel it came from.

Column order. NumPy copies fast when it moves long contiguous runs. With the columns ordered
(n, p, q) a run is one output row of OW numbers: fine for big feature maps, slow for small
ones (8×8 in LeNet's second layer). There the columns are ordered (p, q, n) instead — the
batch innermost, from a (C, H, W, N) copy of the input — and a run is OW·N numbers.
:func:`batch_inner` picks the order; both give the same matrix up to a permutation of
columns, which the caller undoes when it reshapes the product back to (N, O, OH, OW).

Both functions work on plain arrays (NumPy or a GPU's): the differentiable op is
``conv.Conv2dColumns``. On the CPU, ``conv.Conv2d`` uses the channels-last kernels at the end of
this file instead:

* **Channels last.** The input is stored (N, H, W, C) — PyTorch's ``channels_last`` — so a
  window's pixels are contiguous runs of C channels (KW·C with no dilation), and a row of col
  is ordered (i, j, c): col is a handful of long block copies. The matrix product then writes
  y as (N·OH·OW, O), which *is* (N, OH, OW, O) channels-last: no transpose of the output, and
  the next convolution reads it as it is.
* **Taps outer for thin inputs.** With few channels (the first layer: 1 or 3) a run of KW·C is
  short, while a run along an output row is OW long: there :func:`taps_outer` picks the
  transposed matrix colᵀ (KH·KW·C, N·OH·OW). The product reads it transposed, at no cost.
* **A few images at a time.** ``conv.py`` unfolds a chunk of images, multiplies, and moves on,
  so col stays small (in cache, and no gigabyte of columns for ResNet at batch 128), and the
  chunks run on shendu's threads (:mod:`shendu.parallel`).

:func:`im2col_reference` and :func:`col2im_reference` are the book's code (a loop over the
KH·KW kernel offsets, rows = windows): what a learner reads, and the tests' oracle.
"""

from __future__ import annotations

import numpy as np

from numpy.lib.stride_tricks import as_strided as np_as_strided

from shendu import compiled, parallel
from shendu.backend import as_strided, contiguous

Pair = tuple[int, int]
Padding = tuple[int, int, int, int]  # (top, bottom, left, right)

# Output rows shorter than this copy faster with the batch innermost (measured on LeNet).
SHORT_ROW = 16


def batch_inner(out_width: int) -> bool:
    """Whether to order columns (p, q, n) rather than (n, p, q): for narrow outputs."""
    return out_width < SHORT_ROW


def to_columns_order(a: np.ndarray, inner: bool) -> np.ndarray:
    """(N, C, H, W) -> C-contiguous (C, H, W, N) if ``inner`` else (C, N, H, W)."""
    return contiguous(a.transpose(1, 2, 3, 0) if inner else a.transpose(1, 0, 2, 3))


def from_columns_order(a: np.ndarray, inner: bool) -> np.ndarray:
    """The inverse of :func:`to_columns_order`: back to a C-contiguous (N, C, H, W) array."""
    return contiguous(a.transpose(3, 0, 1, 2) if inner else a.transpose(1, 0, 2, 3))


def padded(x: np.ndarray, padding: Padding, inner: bool, value: float = 0.0) -> np.ndarray:
    """x: (N, C, H, W) surrounded by ``value``; still indexed (N, C, H, W), but stored batch-last
    when ``inner`` (one copy that both pads and transposes). No copy when nothing changes."""
    top, bottom, left, right = padding
    if not inner and not any(padding):
        return x
    n, c, h, w = x.shape
    hp, wp = top + h + bottom, left + w + right
    if inner:
        xp = np.full_like(x, value, shape=(c, hp, wp, n)).transpose(3, 0, 1, 2)
    else:
        xp = np.full_like(x, value, shape=(n, c, hp, wp))
    xp[:, :, top : top + h, left : left + w] = x
    return xp


def windows(
    xp: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair, out_size: Pair, inner: bool
) -> np.ndarray:
    """Every receptive field of a padded input, as a read-only strided view (no copy).

    xp: (N, C, Hp, Wp) -> (C, KH, KW, N, OH, OW), or (C, KH, KW, OH, OW, N) when ``inner``,
    with  view[c, i, j, n, p, q] = xp[n, c, p·S + i·D, q·S + j·D].
    """
    n, c = xp.shape[:2]
    s_n, s_c, s_h, s_w = xp.strides
    (kh, kw), (oh, ow) = kernel, out_size
    head_shape, head_strides = (c, kh, kw), (s_c, s_h * dilation[0], s_w * dilation[1])
    rows, cols = (oh, s_h * stride[0]), (ow, s_w * stride[1])
    tail = (rows, cols, (n, s_n)) if inner else ((n, s_n), rows, cols)
    shape = head_shape + tuple(t[0] for t in tail)
    strides = head_strides + tuple(t[1] for t in tail)
    return as_strided(xp, shape, strides)  # read-only where the array library allows


def im2col(
    x: np.ndarray, kernel: Pair, stride: Pair, padding: Padding, dilation: Pair, out_size: Pair, inner: bool
) -> np.ndarray:
    """x: (N, C, H, W) -> col: (C·KH·KW, N·OH·OW), columns in (p, q, n) order when ``inner``."""
    view = windows(padded(x, padding, inner), kernel, stride, dilation, out_size, inner)
    c, kh, kw = view.shape[:3]
    return view.reshape(c * kh * kw, -1)  # the one copy of im2col


def col2im(
    col: np.ndarray,
    x_shape: tuple[int, ...],
    kernel: Pair,
    stride: Pair,
    padding: Padding,
    dilation: Pair,
    out_size: Pair,
    inner: bool,
) -> np.ndarray:
    """The adjoint of :func:`im2col`: gx[n, c, h, w] = Σ of every col entry taken from x[n, c, h, w].

    col: (C·KH·KW, N·OH·OW) -> gx: (N, C, H, W), C-contiguous. One loop over the KH·KW kernel
    offsets; each step adds a whole (C, N, OH, OW) slab onto the strided pixels it was read from.
    """
    n, c, h, w = x_shape
    top, bottom, left, right = padding
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_size
    hp, wp = top + h + bottom, left + w + right
    if inner:  # accumulate in the columns' own order (batch last), indexed as (N, C, Hp, Wp)
        gp = np.zeros_like(col, shape=(c, hp, wp, n)).transpose(3, 0, 1, 2)
        cols = col.reshape(c, kh, kw, oh, ow, n).transpose(0, 1, 2, 5, 3, 4)
    else:
        gp = np.zeros_like(col, shape=(n, c, hp, wp))
        cols = col.reshape(c, kh, kw, n, oh, ow)
    for i in range(kh):
        rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
        for j in range(kw):
            gp[:, :, rows, j * dw : j * dw + sw * (ow - 1) + 1 : sw] += cols[:, i, j].transpose(1, 0, 2, 3)
    return contiguous(gp[:, :, top : top + h, left : left + w])


# ---- the book's version: the oracle ------------------------------------------------------------


def im2col_reference(
    x: np.ndarray,
    kernel: Pair,
    stride: Pair = (1, 1),
    padding: Padding = (0, 0, 0, 0),
    dilation: Pair = (1, 1),
) -> np.ndarray:
    """x: (N, C, H, W) -> col: (N·OH·OW, C·KH·KW), one row per window, columns in (c, i, j) order.

    A loop over the kernel offsets (i, j): each step copies the (i, j)-th pixel of every window.
    """
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    top, bottom, left, right = padding
    img = np.pad(x, [(0, 0), (0, 0), (top, bottom), (left, right)])
    oh = (h + top + bottom - dh * (kh - 1) - 1) // sh + 1
    ow = (w + left + right - dw * (kw - 1) - 1) // sw + 1
    col = np.zeros((n, c, kh, kw, oh, ow), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            col[:, :, i, j] = img[
                :, :, i * dh : i * dh + sh * (oh - 1) + 1 : sh, j * dw : j * dw + sw * (ow - 1) + 1 : sw
            ]
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(n * oh * ow, -1)


def col2im_reference(
    col: np.ndarray,
    x_shape: tuple[int, int, int, int],
    kernel: Pair,
    stride: Pair = (1, 1),
    padding: Padding = (0, 0, 0, 0),
    dilation: Pair = (1, 1),
) -> np.ndarray:
    """The adjoint of :func:`im2col_reference`: col (N·OH·OW, C·KH·KW) -> gx (N, C, H, W).

    gx[n, c, h, w] is the sum of every col entry that was copied from x[n, c, h, w].
    """
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    top, bottom, left, right = padding
    oh = (h + top + bottom - dh * (kh - 1) - 1) // sh + 1
    ow = (w + left + right - dw * (kw - 1) - 1) // sw + 1
    cols = col.reshape(n, oh, ow, c, kh, kw).transpose(0, 3, 4, 5, 1, 2)
    img = np.zeros((n, c, h + top + bottom, w + left + right), dtype=col.dtype)
    for i in range(kh):
        for j in range(kw):
            img[:, :, i * dh : i * dh + sh * (oh - 1) + 1 : sh, j * dw : j * dw + sw * (ow - 1) + 1 : sw] += (
                cols[:, :, i, j]
            )
    return img[:, :, top : top + h, left : left + w]


# ---- the fast kernels: channels last, a chunk of images ----------------------------------------


def taps_outer(kernel_w: int, channels: int, out_w: int, stride_w: int, dilation_w: int) -> bool:
    """Whether to build colᵀ (taps × windows) instead of col: when an output row is a longer
    contiguous run (OW, at stride 1) than a window row (KW·C, or C with dilation)."""
    window_run = kernel_w * channels if dilation_w == 1 else channels
    row_run = out_w if stride_w == 1 else 1
    return row_run > window_run


def pad_channels_last(x: np.ndarray, padding: Padding) -> np.ndarray:
    """x: (N, C, H, W), any memory layout -> (N, H + top + bottom, W + left + right, C), C-contiguous,
    zero outside the input. No copy when x is already stored channels-last and unpadded."""
    top, bottom, left, right = padding
    nhwc = x.transpose(0, 2, 3, 1)
    if not any(padding) and nhwc.flags.c_contiguous:
        return nhwc
    n, c, h, w = x.shape
    xp = np.empty((n, top + h + bottom, left + w + right, c), dtype=x.dtype)
    # Zero only the border; the inside is overwritten by the copy.
    xp[:, :top] = 0
    xp[:, top + h :] = 0
    xp[:, top : top + h, :left] = 0
    xp[:, top : top + h, left + w :] = 0
    parallel.copyto(xp[:, top : top + h, left : left + w], nhwc)  # one image: its rows are shared out
    return xp


def windows_channels_last(
    xp: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair, out_size: Pair
) -> np.ndarray:
    """Every receptive field of a padded channels-last input, as a read-only view (no copy).

    xp: (N, Hp, Wp, C) -> (N, OH, OW, KH, KW, C) with view[n, p, q, i, j, c] = xp[n, p·S + i·D, q·S + j·D, c].
    """
    s_n, s_h, s_w, s_c = xp.strides
    shape = (xp.shape[0], *out_size, *kernel, xp.shape[3])
    strides = (s_n, s_h * stride[0], s_w * stride[1], s_h * dilation[0], s_w * dilation[1], s_c)
    if type(xp) is np.ndarray and xp.flags.c_contiguous:
        # as_strided's view, made directly: a seventh of its Python time, which a chunk on one of
        # the threads spends holding the GIL
        view = np.ndarray(shape, xp.dtype, xp, 0, strides)
        view.flags.writeable = False
        return view
    return np_as_strided(xp, shape, strides, writeable=False)


def im2col_channels_last(
    xp: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair, out_size: Pair, transposed: bool
) -> np.ndarray:
    """xp: (N, Hp, Wp, C) -> col (N·OH·OW, KH·KW·C), or colᵀ (KH·KW·C, N·OH·OW) when ``transposed``.

    One copy (none for a 1×1, stride-1 convolution of an unpadded channels-last input).
    """
    view = windows_channels_last(xp, kernel, stride, dilation, out_size)
    rows = view.shape[0] * out_size[0] * out_size[1]
    if transposed:
        return view.transpose(3, 4, 5, 0, 1, 2).reshape(-1, rows)
    return view.reshape(rows, -1)


def col2im_channels_last(
    col: np.ndarray,
    padded_shape: tuple[int, int, int, int],
    kernel: Pair,
    stride: Pair,
    dilation: Pair,
    out_size: Pair,
    transposed: bool,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """The adjoint of :func:`im2col_channels_last`: gxp[n, h, w, c] = Σ of the col entries taken from there.

    col: (N·OH·OW, KH·KW·C), or its transpose -> gxp: (N, Hp, Wp, C), added into ``out`` if given
    (it must then be zero or hold what to add to). One strided add per kernel offset (i, j).
    """
    n, hp, wp, c = padded_shape
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_size
    if transposed:
        taps = col.reshape(kh, kw, c, n, oh, ow).transpose(3, 4, 5, 0, 1, 2)
    else:
        taps = col.reshape(n, oh, ow, kh, kw, c)
    gxp = np.zeros(padded_shape, dtype=col.dtype) if out is None else out
    add_taps = compiled.col2im_kernel(gxp, taps)
    if add_taps is not None:  # the same additions in one call without the GIL (see compiled.py)
        add_taps(taps, gxp, kh, kw, sh, sw, dh, dw)
        return gxp
    for i in range(kh):
        rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
        for j in range(kw):
            target = gxp[:, rows, j * dw : j * dw + sw * (ow - 1) + 1 : sw]
            np.add(target, taps[:, :, :, i, j], out=target)
    return gxp
