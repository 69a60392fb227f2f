"""The convolution layer (卷积层) as functions: ``conv2d``, ``conv1d`` and ``conv_output_size``.

As in PyTorch (and every deep-learning library), "convolution" here is cross-correlation: the
filter is not flipped. A true convolution is ``conv1d`` / ``conv2d`` with a flipped weight.
The work is done by im2col (:mod:`shendu.nn.functional.im2col`) and one matrix product.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from shendu import ops, parallel
from shendu.autograd.function import Function
from shendu.backend import matmul_precision
from shendu.nn.functional._geometry import (
    check_positive,
    conv_padding,
    non_negative,
    ntuple,
    positive,
    sliding_output_size,
    window_span,
)
from shendu.nn.functional.im2col import (
    batch_inner,
    col2im,
    col2im_channels_last,
    from_columns_order,
    im2col,
    im2col_channels_last,
    pad_channels_last,
    taps_outer,
    to_columns_order,
)
from shendu.tensor import Tensor, as_tensor

__all__ = ["conv2d", "conv1d", "conv_output_size"]

IntOrPair = int | Sequence[int]

# A chunk of images whose col is about this size stays in the cache, and there are enough
# chunks to share among threads (measured on a CIFAR-10 ResNet-18 step).
CHUNK_BYTES = 4 << 20
MIN_ROWS = 256
MIN_CHUNKS = 16  # enough to keep 16 threads busy; a constant, so results never depend on the threads


class Conv2dColumns(Function):
    """2-D convolution of a batch with a bank of filters, as one matrix product per group.

    In the notes' symbols: FN filters of (C, FH, FW), OH = (H + 2P − FH)/S + 1. 卷积层、滤波器、填充、步幅.
    Book-style twin (loop-filled im2col in the (N·OH·OW, C·FH·FW) layout, equal by
    ``tests/course``): ``shendu.reference.conv.Convolution``.

    x: (N, C, H, W), W: (O, C/g, KH, KW), b: (O,) -> y: (N, O, OH, OW);  g = groups.

        y[n, o, p, q] = b[o] + Σ_(c,i,j) W[o, c, i, j] · x_pad[n, g(o)·C/g + c, p·S + i·D, q·S + j·D]

    With col = im2col(x): (C·KH·KW, N·OH·OW) and W₂ = W reshaped to (O, C/g·KH·KW), per group:

        Y = W₂ · col + b          ∂L/∂W₂ = G · colᵀ      ∂L/∂b = Σ_(p,q,n) G
        ∂L/∂col = W₂ᵀ · G         ∂L/∂x = col2im(∂L/∂col)

    where G = ∂L/∂Y: (O, N·OH·OW), its columns in col's order ((n, p, q), or (p, q, n) for
    narrow outputs: see :mod:`~shendu.nn.functional.im2col`). ``padding`` is (top, bottom, left, right).
    """

    def forward(self, x, w, *b, stride, padding, dilation, groups):
        n = x.shape[0]
        o, _, kh, kw = w.shape
        top, bottom, left, right = padding
        oh = sliding_output_size(x.shape[2], kh, stride[0], top + bottom, dilation[0])
        ow = sliding_output_size(x.shape[3], kw, stride[1], left + right, dilation[1])
        self.inner = batch_inner(ow)
        self.geometry = ((kh, kw), stride, padding, dilation, (oh, ow), self.inner)
        self.x_shape, self.groups = x.shape, groups
        matmul_precision(x, conv=True)  # on a GPU: TF32 as shendu.backends.cudnn.allow_tf32 says
        col = im2col(x, *self.geometry)
        col_g = col.reshape(groups, -1, col.shape[1])  # (g, C/g·KH·KW, N·OH·OW)
        y = np.matmul(w.reshape(groups, o // groups, -1), col_g)
        y = y.reshape((o, oh, ow, n) if self.inner else (o, n, oh, ow))
        self.save(col_g, w)
        if not b:
            return from_columns_order(y, self.inner)
        # Add the bias while copying back to (N, O, OH, OW): one pass over y instead of two.
        out = np.empty_like(y, shape=(n, o, oh, ow))
        y_nchw = y.transpose(3, 0, 1, 2) if self.inner else y.transpose(1, 0, 2, 3)
        return np.add(y_nchw, b[0][:, None, None], out=out)

    def backward(self, gy):
        col_g, w = self.saved
        o, g = w.shape[0], self.groups
        matmul_precision(w, conv=True)
        gy_g = to_columns_order(gy, self.inner).reshape(g, o // g, -1)  # G per group, col's order
        w_g = w.reshape(g, o // g, -1)
        gx = gw = gb = None
        if self.needs_grad[1]:
            gw = np.matmul(gy_g, col_g.transpose(0, 2, 1)).reshape(w.shape)
        if len(self.needs_grad) > 2 and self.needs_grad[2]:
            gb = gy_g.reshape(o, -1).sum(axis=1)
        if self.needs_grad[0]:
            gcol = np.matmul(w_g.transpose(0, 2, 1), gy_g)
            gx = col2im(gcol.reshape(-1, gcol.shape[2]), self.x_shape, *self.geometry)
        return gx, gw, gb


class Conv2d(Function):
    """2-D convolution of a batch with a bank of filters, as one matrix product per chunk of images.

    In the notes' symbols: FN filters of (C, FH, FW), OH = (H + 2P − FH)/S + 1. 卷积层、滤波器、填充、步幅.
    Book-style twin: ``shendu.reference.conv.Convolution`` (loop-filled im2col, ``tests/course``).

    x: (N, C, H, W), W: (O, C/g, KH, KW), b: (O,) -> y: (N, O, OH, OW);  g = groups.

        y[n, o, p, q] = b[o] + Σ_(c,i,j) W[o, c, i, j] · x_pad[n, g(o)·C/g + c, p·S + i·D, q·S + j·D]

    With col = im2col(x): (N·OH·OW, KH·KW·C/g) and W₂ = W as (O, KH·KW·C/g), per group:

        Y = col · W₂ᵀ + b         ∂L/∂W₂ = Gᵀ · col      ∂L/∂b = Σ_(n,p,q) G
        ∂L/∂col = G · W₂          ∂L/∂x = col2im(∂L/∂col)

    where G = ∂L/∂Y: (N·OH·OW, O). Inside, images are channels-last (see
    :mod:`~shendu.nn.functional.im2col`): y comes back as an (N, O, OH, OW) view of an
    (N, OH, OW, O) array, and col is built a few images at a time (``chunk_images``), each chunk
    on one of shendu's threads; the chunks' shares of ∂L/∂W and ∂L/∂b are added in chunk order,
    so the result does not depend on the number of threads. col is rebuilt in backward rather
    than kept: the input is saved instead, a KH·KW-th of the memory.
    ``padding`` is (top, bottom, left, right).
    """

    def forward(self, x, w, *b, stride, padding, dilation, groups):
        n, c = x.shape[:2]
        o, cg, kh, kw = w.shape
        top, bottom, left, right = padding
        oh = sliding_output_size(x.shape[2], kh, stride[0], top + bottom, dilation[0])
        ow = sliding_output_size(x.shape[3], kw, stride[1], left + right, dilation[1])
        self.transposed = taps_outer(kw, cg, ow, stride[1], dilation[1])
        self.kernel, self.stride, self.dilation, self.padding = (kh, kw), stride, dilation, padding
        self.out_size, self.groups, self.x_shape = (oh, ow), groups, x.shape
        self.out_channels, self.itemsize = o, x.dtype.itemsize
        self.weight_channels_last = w.transpose(0, 2, 3, 1).flags.c_contiguous
        # W₂ per group, columns in col's (i, j, c) order: (g, O/g, KH·KW·C/g). Free for a weight
        # stored channels-last (nn.Conv2d's); any other is copied, a tenth of the work for one
        # image at 224×224, so shared out.
        w2 = w.transpose(0, 2, 3, 1)
        if not self.weight_channels_last:
            w2 = parallel.copyto(np.empty((o, kh, kw, cg), w.dtype), w2)
        w2 = w2.reshape(groups, o // groups, -1)
        y = np.empty((n, oh, ow, o), dtype=np.result_type(x, w))
        bias = b[0] if b else None

        chunks = self._chunks()
        bands = self._line_bands(w2.shape[2]) if len(chunks) == 1 else []
        if bands:  # a small batch: bands of output rows, each unfolded and multiplied on a thread
            xp = pad_channels_last(x, padding)
            parallel.run(lambda band: self._multiply(xp, w2, bias, y, *band), bands)
        else:  # chunks of images on the threads; a lone chunk shares its products instead
            split = len(chunks) == 1
            parallel.run(
                lambda s: self._multiply(pad_channels_last(x[s], padding), w2, bias, y[s], split=split),
                chunks,
            )
        # w too, so that backward refuses a weight changed in place since (as PyTorch), W₂ being
        # a view of it when it is stored channels-last
        self.save(x, w2, w)
        return y.transpose(0, 3, 1, 2)

    def _multiply(
        self, xp: np.ndarray, w2: np.ndarray, bias, y: np.ndarray, image=None, rows=None, split=False
    ) -> None:
        """y = col · W₂ᵀ + b for a padded channels-last chunk xp (y: its (n, OH, OW, O) part), or
        for output rows ``rows`` of one ``image`` only (its input rows p·S … p·S + D·(KH − 1))."""
        out_size = self.out_size
        if image is not None:
            first, last = rows.start * self.stride[0], (rows.stop - 1) * self.stride[0]
            xp = xp[image : image + 1, first : last + self.dilation[0] * (self.kernel[0] - 1) + 1]
            y, out_size = y[image, rows], (rows.stop - rows.start, out_size[1])
        y2 = y.reshape(-1, self.out_channels)
        for g in range(self.groups):
            col = self._columns(xp, g, out_size)
            a = col.T if self.transposed else col
            parallel.matmul(a, w2[g].T, out=y2[:, self._outs(g)], split=split)
        if bias is not None:
            y2 += bias

    def _line_bands(self, k: int) -> list[tuple[int, slice]]:
        """(image, output rows) bands of a batch too small to chunk by images, each with at
        least MIN_ROWS rows of col and MATMUL_BAND_WORK multiply-adds (from the shapes only);
        [] when there would be fewer than two. k: a group's KH·KW·C/g."""
        oh, ow = self.out_size
        per_line = ow * k * self.out_channels
        lines = max(-(-MIN_ROWS // ow), -(-parallel.MATMUL_BAND_WORK // max(1, per_line)))
        bands = [(i, s) for i in range(self.x_shape[0]) for s in parallel.pieces(oh, lines)]
        return bands if len(bands) > 1 else []

    def _chunks(self) -> list[slice]:
        """The batch cut into chunks of ``chunk_images`` images (from the shapes only)."""
        n, c = self.x_shape[:2]
        k = self.kernel[0] * self.kernel[1] * c
        return parallel.pieces(n, chunk_images(n, self.out_size, k, self.itemsize))

    def _columns(self, xp: np.ndarray, g: int, out_size: tuple[int, int] | None = None) -> np.ndarray:
        """col (or colᵀ) of group g for a padded channels-last chunk xp (of ``out_size`` outputs)."""
        cg = xp.shape[3] // self.groups
        xg = xp if self.groups == 1 else xp[..., g * cg : (g + 1) * cg]
        return im2col_channels_last(
            xg, self.kernel, self.stride, self.dilation, out_size or self.out_size, self.transposed
        )

    def _outs(self, g: int) -> slice:
        """Group g's output channels."""
        og = self.out_channels // self.groups
        return slice(None) if self.groups == 1 else slice(g * og, (g + 1) * og)

    def backward(self, gy):
        x, w2 = self.saved[:2]
        n, c, h, w = self.x_shape
        groups, (og, k) = self.groups, w2.shape[1:]
        gy_nhwc = gy.transpose(0, 2, 3, 1)  # channels-last view: G's rows, free if gy is channels-last
        want_x, want_w = self.needs_grad[0], self.needs_grad[1]
        want_b = len(self.needs_grad) > 2 and self.needs_grad[2]
        gx = np.empty((n, h, w, c), dtype=gy.dtype) if want_x else None
        chunks = self._chunks()
        split = len(chunks) == 1

        def chunk(s: slice) -> tuple[np.ndarray | None, np.ndarray | None]:
            g2 = gy_nhwc[s].reshape(-1, og * groups)  # G of these images (a copy only if not channels-last)
            if gx is not None:
                self._input_grad(g2, w2, gx[s], split)
            gw = self._weight_grad(g2, x[s], split) if want_w else None
            return gw, (parallel.column_sums(g2) if want_b else None)

        parts = parallel.run(chunk, chunks)
        gw = gb = None
        if want_w:
            gw2 = _sum_in_order([p for p, _ in parts], (groups, og, k), gy.dtype)
            (kh, kw), cg = self.kernel, c // groups
            gw = gw2.reshape(og * groups, kh, kw, cg).transpose(0, 3, 1, 2)
            if not self.weight_channels_last:  # ∂L/∂W in the weight's own layout
                gw = np.ascontiguousarray(gw)
        if want_b:
            gb = _sum_in_order([b for _, b in parts], (og * groups,), gy.dtype)
        return (None if gx is None else gx.transpose(0, 3, 1, 2)), gw, gb

    def _weight_grad(self, g2: np.ndarray, x: np.ndarray, split: bool) -> np.ndarray:
        """This chunk's share of ∂L/∂W₂ = Gᵀ · col, per group: (g, O/g, KH·KW·C/g)."""
        xp = pad_channels_last(x, self.padding)
        og = g2.shape[1] // self.groups
        parts = []
        for g in range(self.groups):
            col = self._columns(xp, g)
            parts.append(
                parallel.matmul(
                    g2[:, g * og : (g + 1) * og].T, col.T if self.transposed else col, split=split
                )
            )
        return np.stack(parts)

    def _input_grad(self, g2: np.ndarray, w2: np.ndarray, gx: np.ndarray, split: bool) -> None:
        """Write this chunk's ∂L/∂x = col2im(G · W₂) into gx: (images, H, W, C), channels-last."""
        top, bottom, left, right = self.padding
        nb, h, w, c = gx.shape
        og, cg = g2.shape[1] // self.groups, c // self.groups
        padded = any(self.padding)
        gxp = np.zeros((nb, top + h + bottom, left + w + right, c), gx.dtype) if padded else gx
        if not padded:
            gxp[...] = 0
        for g in range(self.groups):
            gg = g2[:, g * og : (g + 1) * og]  # (R, O/g)
            if self.transposed:  # ∂L/∂colᵀ = W₂ᵀ · Gᵀ
                gcol = parallel.matmul(w2[g].T, gg.T, split=split)
            else:
                gcol = parallel.matmul(gg, w2[g], split=split)
            target = gxp if self.groups == 1 else gxp[..., g * cg : (g + 1) * cg]
            geometry = (self.kernel, self.stride, self.dilation, self.out_size, self.transposed)
            col2im_channels_last(gcol, target.shape, *geometry, out=target)
        if padded:
            gx[...] = gxp[:, top : top + h, left : left + w]


def chunk_images(n: int, out_size: tuple[int, int], k: int, itemsize: int) -> int:
    """Images per chunk, from the shapes only (never the thread count).

    A chunk's col is at most about CHUNK_BYTES, has at least MIN_ROWS rows (narrower matrix
    products run BLAS well below its speed), and there are MIN_CHUNKS chunks or more. A batch
    too small for that is one chunk, whose matrix products are then split into bands instead.
    """
    per_image = out_size[0] * out_size[1]
    fewest = -(-MIN_ROWS // per_image)
    if n < MIN_CHUNKS * fewest:
        return max(1, n)
    by_size = CHUNK_BYTES // max(1, per_image * k * itemsize)
    return max(fewest, min(by_size, -(-n // MIN_CHUNKS)))


def _sum_in_order(parts: list[np.ndarray], shape: tuple[int, ...], dtype) -> np.ndarray:
    """Σ of the chunks' shares, always added first to last (same bits whatever the threads)."""
    if not parts:  # an empty batch
        return np.zeros(shape, dtype)
    return parallel.sum_in_order(parts).reshape(shape)


def conv_output_size(
    in_size: IntOrPair,
    kernel_size: IntOrPair,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
) -> int | tuple[int, ...]:
    """Output size of a convolution or pooling window: OH = (H + 2P − FH) / S + 1.

    With dilation D the filter covers D·(FH − 1) + 1 pixels, and a stride that does not divide
    evenly drops the last partial window (floor), as PyTorch does. Give ints for one axis or
    tuples for several (an int is used on every axis of a tuple argument).

    >>> conv_output_size((28, 31), (5, 5), stride=3, padding=2)
    (10, 11)
    >>> conv_output_size(28, 5)
    24
    """
    sizes = [in_size, kernel_size, stride, padding, dilation]
    names = ("in_size", "kernel_size", "stride", "padding", "dilation")
    lengths = {a: len(v) for a, v in zip(names, sizes, strict=True) if isinstance(v, (tuple, list))}
    if len(set(lengths.values())) > 1:
        raise ValueError(
            f"conv_output_size: tuple arguments must have the same length, got lengths {lengths}"
        )
    ndim = next(iter(lengths.values()), 0)
    n = ndim or 1
    name = "conv_output_size"
    h = ntuple(in_size, n, name, "in_size")
    k = positive(kernel_size, n, name, "kernel_size")
    s = positive(stride, n, name, "stride")
    d = positive(dilation, n, name, "dilation")
    p = non_negative(padding, n, name, "padding")
    out = tuple(sliding_output_size(*args) for args in zip(h, k, s, (2 * pi for pi in p), d, strict=True))
    if any(o <= 0 for o in out):
        raise ValueError(
            f"conv_output_size: input {in_size} with padding {padding} is smaller than the kernel "
            f"{kernel_size} (dilation {dilation}): output size {out if ndim else out[0]} is not positive"
        )
    return out if ndim else out[0]


# ---- argument checks ----------------------------------------------------------------------


def _shape_str(dims: Sequence) -> str:
    return "(" + ", ".join(str(d) for d in dims) + ")"


def _check_conv(name: str, x: Tensor, w: Tensor, b: Tensor | None, groups: int, nd: int) -> None:
    spatial = ("H", "W") if nd == 2 else ("L",)
    if x.ndim not in (nd + 1, nd + 2):
        raise ValueError(
            f"{name} expects a {nd + 1}-D {_shape_str(('C', *spatial))} or {nd + 2}-D "
            f"{_shape_str(('N', 'C', *spatial))} input, got shape {x.shape}"
        )
    if w.ndim != nd + 2:
        raise ValueError(
            f"{name} expects a {nd + 2}-D weight (out_channels, in_channels/groups, "
            f"{', '.join('k' + s for s in spatial)}), got shape {w.shape}"
        )
    if not np.issubdtype(x.dtype, np.floating) or x.dtype != w.dtype:
        hint = " (images stored as 0–255 integers: use x.float() / 255)" if x.dtype == np.uint8 else ""
        raise ValueError(
            f"{name}: input dtype {x.dtype} and weight dtype {w.dtype} must be the same float type{hint}"
        )
    if not isinstance(groups, (int, np.integer)) or groups <= 0:
        raise ValueError(f"{name}: groups must be a positive int, got {groups!r}")
    c_in = x.shape[-nd - 1]
    if c_in % groups:
        raise ValueError(f"{name}: in_channels {c_in} of input {x.shape} is not divisible by groups {groups}")
    if w.shape[0] % groups:
        raise ValueError(
            f"{name}: out_channels {w.shape[0]} of weight {w.shape} is not divisible by groups {groups}"
        )
    if c_in != w.shape[1] * groups:
        expect = (w.shape[1] * groups, *spatial)
        batch = ("N",) if x.ndim == nd + 2 else ()
        g = f" and groups={groups}" if groups > 1 else ""
        raise ValueError(
            f"{name} expects input {_shape_str((*batch, *expect))} for weight {tuple(w.shape)}{g}, "
            f"got {x.shape}"
        )
    if b is not None and b.shape != (w.shape[0],):
        raise ValueError(f"{name} expects bias of shape ({w.shape[0]},) for weight {w.shape}, got {b.shape}")
    if b is not None and b.dtype != x.dtype:
        raise ValueError(f"{name}: bias dtype {b.dtype} differs from input dtype {x.dtype}")


def _conv(name, input, weight, bias, stride, padding, dilation, groups, nd: int) -> Tensor:
    """Validate, lift 1-D and unbatched inputs to (N, C, H, W), run Conv2d, and shape back."""
    x, w = as_tensor(input), as_tensor(weight)
    b = None if bias is None else as_tensor(bias)
    _check_conv(name, x, w, b, groups, nd)
    kernel = tuple(w.shape[2:])
    s = positive(stride, nd, name, "stride")
    d = positive(dilation, nd, name, "dilation")
    check_positive(kernel, name, "kernel size")
    p = conv_padding(padding, kernel, s, d, name)
    in_spatial = x.shape[-nd:]
    padded = tuple(h + p[2 * i] + p[2 * i + 1] for i, h in enumerate(in_spatial))
    span = tuple(window_span(k, di) for k, di in zip(kernel, d, strict=True))
    if any(sp > pd for sp, pd in zip(span, padded, strict=True)):
        dil = f" (spanning {span} with dilation {d})" if any(di > 1 for di in d) else ""
        raise ValueError(
            f"{name}: kernel size {kernel}{dil} is larger than the padded input {padded} "
            f"(input {tuple(in_spatial)}, padding {padding})"
        )
    unbatched = x.ndim == nd + 1
    if unbatched:
        x = ops.unsqueeze(x, 0)
    if nd == 1:  # a 1-D signal is an image of height 1
        x = ops.unsqueeze(x, 2)
        w = ops.unsqueeze(w, 2)
        s, d, p = (1, *s), (1, *d), (0, 0, *p)
    if x.shape[0] == 0:  # an empty batch: an empty result, still in the graph (zero gradients)
        out = tuple(
            sliding_output_size(h, k, si, 0, di)
            for h, k, si, di in zip(padded, kernel, s[-nd:], d[-nd:], strict=True)
        )
        y = ops.zero_size((0, w.shape[0], *([1] if nd == 1 else []), *out), x, w, b)
    else:
        args = (x, w) if b is None else (x, w, b)
        # NumPy arrays: the channels-last threaded kernel; a GPU's arrays: the plain im2col op
        op = Conv2d if type(x._data) is np.ndarray else Conv2dColumns
        y = op.apply(*args, stride=s, padding=p, dilation=d, groups=int(groups))
    if nd == 1:
        y = ops.squeeze(y, 2)
    return ops.squeeze(y, 0) if unbatched else y


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOrPair = 1,
    padding: IntOrPair | str = 0,
    dilation: IntOrPair = 1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution (cross-correlation), as ``torch.nn.functional.conv2d``.

    input: (N, C, H, W) or (C, H, W); weight: (O, C/groups, KH, KW); bias: (O,)
    -> (N, O, OH, OW) with OH = ⌊(H + 2P − D·(KH − 1) − 1)/S⌋ + 1 (see :func:`conv_output_size`).
    ``padding`` is an int, a pair, 'valid' (0) or 'same' (stride 1 only). ``groups`` splits the
    channels into independent convolutions (groups = C: depthwise).

    >>> import shendu
    >>> import shendu.nn.functional as F
    >>> F.conv2d(shendu.ones(8, 3, 32, 32), shendu.ones(16, 3, 5, 5), padding=2).shape
    (8, 16, 32, 32)
    """
    return _conv("conv2d", input, weight, bias, stride, padding, dilation, groups, nd=2)


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOrPair = 1,
    padding: IntOrPair | str = 0,
    dilation: IntOrPair = 1,
    groups: int = 1,
) -> Tensor:
    """1-D discrete convolution (cross-correlation), as ``torch.nn.functional.conv1d``.

    y[n, o, t] = b[o] + Σ_(c,k) W[o, c, k] · x_pad[n, c, t·S + k·D]
    input: (N, C, L) or (C, L); weight: (O, C/groups, K); bias: (O,) -> (N, O, OL).
    Computed as a conv2d on an image of height 1.

    >>> import shendu
    >>> import shendu.nn.functional as F
    >>> x = shendu.tensor([[[1.0, 2.0, 3.0, 4.0]]])
    >>> F.conv1d(x, shendu.tensor([[[1.0, 0.0, -1.0]]])).tolist()  # x[t] − x[t + 2]
    [[[-2.0, -2.0]]]
    """
    return _conv("conv1d", input, weight, bias, stride, padding, dilation, groups, nd=1)
