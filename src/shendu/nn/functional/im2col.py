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

Both functions work on plain arrays: the differentiable op is ``conv.Conv2d``.
"""

from __future__ import annotations

import numpy as np

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
