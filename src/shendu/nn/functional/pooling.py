"""The pooling layer (池化层) as functions: max and average pooling over sliding windows.

Every pool here loops over the offsets of the window, never over pixels: at offset j the
strided slice ``x_pad[..., j·D::S]`` holds the j-th column of *every* window at once, so each
step is one vectorised NumPy operation on the whole batch. Max and sum are separable — a max
over the window is a max over its rows of the max over its columns — so a pool takes KW steps
along the width, then KH along the height, instead of KH·KW steps.

Semantics are ``torch.nn.functional``'s: ``stride`` defaults to ``kernel_size``; ``padding`` is
at most half the kernel; max pooling pads with −∞, average pooling with 0; with ``ceil_mode``
the last window may hang over the edge, provided it starts inside the input or its left padding.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from shendu import backend, compiled, ops, parallel
from shendu.autograd import grad_mode
from shendu.autograd.function import Function
from shendu.backend import contiguous, get_array_module, matmul_precision
from shendu.nn.functional._geometry import adaptive_output_size, pool_window, window_span
from shendu.tensor import Tensor, as_tensor

__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "max_pool1d", "avg_pool1d"]

IntOrPair = int | Sequence[int]
# Overlapping max-pool windows of up to this many taps send the gradient tap by tap (G or 0 at
# every tap, vectorised); larger ones scatter it to each window's argmax alone.
MASKED_TAPS = 16


# ---- window geometry ----------------------------------------------------------------------


def pool_output_size(size: int, kernel: int, stride: int, pad: int, dilation: int, ceil_mode: bool) -> int:
    """⌊ or ⌈(H + 2P − D·(K − 1) − 1) / S⌉ + 1; a ceil-mode window starting past H + P is dropped."""
    span = window_span(kernel, dilation)
    extra = stride - 1 if ceil_mode else 0
    out = (size + 2 * pad - span + extra) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def _pad_after(size: int, out: int, kernel: int, stride: int, pad: int, dilation: int) -> int:
    """Padding needed after the input so the last window fits: P plus any ceil-mode overhang."""
    needed = (out - 1) * stride + window_span(kernel, dilation)
    return max(pad, needed - size - pad)


def _nhwc(a: np.ndarray) -> np.ndarray:
    """An (N, C, H, W) array indexed (N, H, W, C), as the compiled kernels take it (a view)."""
    return a.transpose(0, 2, 3, 1)


def _pad(x: np.ndarray, before: tuple[int, int], after: tuple[int, int], value: float) -> np.ndarray:
    """x: (N, C, H, W) surrounded by ``value``, in x's memory layout (no copy when there is nothing
    to add). Only the border is filled; the inside is x, copied on the threads."""
    if not any(before) and not any(after):
        return x
    n, c, h, w = x.shape
    (top, left), (bottom, right) = before, after
    xp = np.empty_like(x, shape=(n, c, top + h + bottom, left + w + right))
    xp[:, :, :top] = value
    xp[:, :, top + h :] = value
    xp[:, :, top : top + h, :left] = value
    xp[:, :, top : top + h, left + w :] = value
    inside = xp[:, :, top : top + h, left : left + w]
    if type(xp) is np.ndarray:
        parallel.copyto(inside, x)
    else:  # a GPU's arrays
        inside[...] = x
    return xp


class _Pool2d(Function):
    """Shared bookkeeping: geometry, padding, and the un-padding of the input gradient."""

    def setup(self, x, kernel, stride, padding, dilation, out):
        self.kernel, self.stride, self.dilation, self.out = kernel, stride, dilation, out
        self.x_shape = x.shape
        self.before = padding
        self.after = tuple(
            _pad_after(x.shape[2 + a], out[a], kernel[a], stride[a], padding[a], dilation[a]) for a in (0, 1)
        )

    def padded_size(self) -> tuple[int, int]:
        """(Hp, Wp): the input's size with padding and any ceil-mode overhang."""
        h, w = self.x_shape[2:]
        return self.before[0] + h + self.after[0], self.before[1] + w + self.after[1]

    def crop(self, gp: np.ndarray, channels_last: bool = False) -> np.ndarray:
        """The gradient of the padded input, gp: (N, C, Hp, Wp), cut to x's (N, C, H, W), C-contiguous;
        with ``channels_last`` gp is stored (N, Hp, Wp, C) and the result is a channels-last view."""
        (h, w), (top, left) = self.x_shape[2:], self.before
        if channels_last:
            return contiguous(gp[:, top : top + h, left : left + w]).transpose(0, 3, 1, 2)
        return contiguous(gp[:, :, top : top + h, left : left + w])


class MaxPool2d(_Pool2d):
    """y[n, c, p, q] = max over the KH×KW window at (p·S − P + i·D, q·S − P + j·D).

    最大池化：没有参数，通道数不变. Book-style twin (im2col + argmax): ``shendu.reference.conv.Pooling``.

    x: (N, C, H, W) -> (N, C, OH, OW). Backward routes each output gradient to the argmax of its
    window — only one element, the first in row-major order on ties (as PyTorch) — and adds
    where windows overlap:  ∂L/∂x[h, w] = Σ over windows whose argmax is (h, w) of G[p, q].
    A NaN in a window wins the max (as PyTorch: the last NaN in row-major order).

    The max is separable, so it runs in two passes, KW + KH steps instead of KH·KW:

        R[n, c, h, q] = max_j x_pad[n, c, h, q·S + j·D]       (N, C, Hp, OW), argmax j = aj
        y[n, c, p, q] = max_i R[n, c, p·S + i·D, q]           (N, C, OH, OW), argmax i = ai

    The first max of the window is in the first row holding the window's max (ai), at that
    row's first max (aj): row-major order, as one pass over the window would find it. The
    argmax is kept as its place in the window, ai·KW + aj (int8), as in a one-pass search.
    With ``argmax=False`` (no gradient, no indices wanted) only the max is computed. Once numba
    is loaded, 2×2 and 3×3 windows are scanned in one compiled pass instead, with the same bits
    (``shendu.compiled.max_pool_kernel``; these passes stay the readable version and the oracle).
    """

    def forward(self, x, kernel, stride, padding, dilation, out, argmax=True):
        self.setup(x, kernel, stride, padding, dilation, out)
        # channels-last (what conv2d gives): the gradient is made in that layout too
        self.channels_last = not x.flags.c_contiguous and x.transpose(0, 2, 3, 1).flags.c_contiguous
        xp = _pad(x, self.before, self.after, -np.inf)
        one_pass = self._argmax_pass if argmax else self._max_pass
        if (compiled_outs := self._compiled_forward(x, xp, one_pass, argmax)) is not None:
            y, *place = compiled_outs
        elif parallel.shares_rows(xp):
            # each image's windows are its own: the batch is shared among the threads, same bits;
            # each piece writes its images' results into arrays of x's layout
            images = parallel.row_pieces(xp.shape[0], xp[0].size)
            outs = self._outputs(x, argmax)
            parallel.run(lambda s: _store(one_pass(xp[s]), [o[s] for o in outs]), images)
            y, *place = outs
        else:
            y, *place = one_pass(xp) if argmax else (one_pass(xp),)
        if not argmax:
            return y
        if any(self.before) or any(self.after):
            self._inside_on_ties(y, place[0])
        self.save(place[0])
        return y

    def _inside_on_ties(self, y: np.ndarray, place: np.ndarray) -> None:
        """Windows whose max is −∞ tie with the padding (−∞ too), and the passes keep the first
        tap, which may be padding; PyTorch keeps the first tap inside the input. Their place
        becomes that tap (a window's other places are inside the input already)."""
        xp = get_array_module(y)
        low = xp.isneginf(y)
        if not bool(low.any()):
            return
        first = [self._first_inside(a) for a in (0, 1)]  # per output row / column: i0, j0
        taps = first[0][:, None] * self.kernel[1] + first[1][None, :]  # (OH, OW)
        xp.copyto(place, xp.asarray(taps.astype(place.dtype)), where=low)

    def _first_inside(self, a: int) -> np.ndarray:
        """For each window along spatial axis a: its first tap i with p·S − P + i·D ≥ 0 (inside
        the input; every window has one)."""
        start = np.arange(self.out[a]) * self.stride[a] - self.before[a]
        return np.maximum(0, -(start // self.dilation[a]))

    def _compiled_forward(
        self, x: np.ndarray, xp: np.ndarray, one_pass, argmax: bool
    ) -> list[np.ndarray] | None:
        """[max, place] ([max] without ``argmax``) by a compiled kernel, one call per piece of the
        batch; pieces that met a NaN are redone by ``one_pass`` (the NumPy passes, where NaN
        wins). None where there is no kernel (not channels-last, a window other than 2×2 or 3×3,
        numba not loaded)."""
        if type(xp) is not np.ndarray:
            return None
        outs = self._outputs(x, argmax=True)  # the kernel writes the places even when unwanted
        wanted = outs if argmax else outs[:1]
        xp_h, y_h, place_h = _nhwc(xp), _nhwc(outs[0]), _nhwc(outs[1])
        kernel = compiled.max_pool_kernel(xp_h, y_h, place_h, self.kernel)
        if kernel is None:
            return None
        geometry = (*self.stride, *self.dilation)

        def piece(s: slice) -> None:
            if kernel(xp_h[s], y_h[s], place_h[s], *geometry):
                _store(one_pass(xp[s]), [o[s] for o in wanted])

        if parallel.shares_rows(xp):
            parallel.run(piece, parallel.row_pieces(xp.shape[0], xp[0].size))
        else:
            piece(slice(None))
        return wanted

    def _outputs(self, x: np.ndarray, argmax: bool) -> list[np.ndarray]:
        """Empty (N, C, OH, OW) arrays for the max (and the argmax's place), laid out as x is:
        channels-last views for a channels-last x, as one pass over all images returns them."""
        n, c = x.shape[:2]
        place = _place_dtype(self.kernel[0] * self.kernel[1])
        dtypes = [x.dtype, place] if argmax else [x.dtype]
        if self.channels_last:
            return [np.empty((n, *self.out, c), d).transpose(0, 3, 1, 2) for d in dtypes]
        return [np.empty((n, c, *self.out), d) for d in dtypes]

    def _max_pass(self, xp: np.ndarray) -> np.ndarray:
        """The max of every window of the padded input xp (some images); np.maximum propagates
        NaN, as PyTorch's max does."""
        return _running_max(_running_max(xp, *self._axis(1)), *self._axis(0))

    def _argmax_pass(self, xp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(max, place in the window) of every window of the padded input xp (some images)."""
        r, aj = _running_argmax(xp, *self._axis(1), nan_wins=False)
        nan = bool(np.isnan(r).any())
        if nan:  # rare: redo the pass with NaN winning, as PyTorch (a non-NaN window: same result)
            r, aj = _running_argmax(xp, *self._axis(1), nan_wins=True)
        return self._row_pass(r, aj, nan_wins=nan)

    def _axis(self, a: int) -> tuple[int, int, int, int, int]:
        """(array axis, K, S, D, output size) of spatial axis a: 0 = rows, 1 = columns."""
        return 2 + a, self.kernel[a], self.stride[a], self.dilation[a], self.out[a]

    def _row_pass(self, r, aj, nan_wins: bool) -> tuple[np.ndarray, np.ndarray]:
        """Max over the window's rows of R, and the winner's place in the window, i·KW + aj."""
        kh, kw = self.kernel
        rows, cols = _tap_views(r, *self._axis(0)), _tap_views(aj, *self._axis(0))
        best = rows[0].copy(order="K")
        place = cols[0].astype(_place_dtype(kh * kw))
        for i, (v, a) in enumerate(zip(rows[1:], cols[1:], strict=True), start=1):
            # Places grow with i (aj < KW), so as in _running_argmax the winner is a maximum.
            candidate = np.add(a, place.dtype.type(i * kw), dtype=place.dtype)
            if nan_wins:
                take = (v > best) | np.isnan(v)
                np.copyto(best, v, where=take)
                np.copyto(place, candidate, where=take)
            else:
                np.multiply(candidate, v > best, out=candidate)
                np.maximum(place, candidate, out=place)
                np.maximum(best, v, out=best)
        return best, place

    def backward(self, gy):
        # Each image's gradient is its own planes, so the batch is shared among the threads
        # (same bits). The gradient takes x's memory layout, so the layer before (ReLU, a
        # convolution) reads it as it reads x: a channels-last x gets a channels-last gradient
        # (mixed layouts made ReLU's backward 5x slower).
        n, c = self.x_shape[:2]
        hp, wp = self.padded_size()
        shape = (n, hp, wp, c) if self.channels_last else (n, c, hp, wp)
        # windows apart (2×2 stride 2): per-tap writes; overlapping (3×3 stride 2), or a GPU's
        # arrays: the scatter-add (~2x faster there than adding tap by tap: KH·KW passes, each a
        # product and a strided add)
        on_host = type(gy) is np.ndarray
        spread = self._windows_apart() and on_host
        # zeroed unless per-tap writes cover every padded pixel (they then write each one)
        covered = spread and all(self.out[a] * self.stride[a] == (hp, wp)[a] for a in (0, 1))
        covered = covered and self.kernel == self.stride and self.dilation == (1, 1)
        if on_host and compiled.enabled():
            gx = self._compiled_backward(gy, shape, spread, covered)
            if gx is not None:
                return gx
        xp = get_array_module(gy)
        gp = (np.empty if covered else xp.zeros)(shape, dtype=gy.dtype)  # C order: an image is one run
        piece = self._spread if spread else self._scatter
        if parallel.shares_rows(gp):
            parallel.run(lambda s: piece(gy[s], gp[s], s), parallel.row_pieces(n, gp[0].size))
        else:
            piece(gy, gp, slice(None))
        return self.crop(gp, self.channels_last)

    def _compiled_backward(
        self, gy: np.ndarray, shape: tuple[int, ...], apart: bool, covered: bool
    ) -> np.ndarray | None:
        """∂L/∂x by a compiled kernel (G added at each window's argmax, windows in (p, q) order:
        the scatter-add's bits), one call per piece of the batch; None where there is no kernel.
        Windows ``apart`` get every tap written (G or 0), so gp is only zeroed where they do
        not ``cover`` it."""
        (place,) = self.saved
        gp = (np.empty if covered else np.zeros)(shape, gy.dtype)
        gp_h = gp if self.channels_last else _nhwc(gp)
        g_h = _nhwc(gy)
        if self.channels_last and not g_h.flags.c_contiguous:  # into place's layout, over the threads
            g_h = parallel.copyto(np.empty(g_h.shape, g_h.dtype), g_h)
        place_h = _nhwc(place)
        by_taps = apart or self.kernel[0] * self.kernel[1] <= MASKED_TAPS
        find = compiled.max_pool_grad_taps_kernel if by_taps else compiled.max_pool_grad_kernel
        kernel = find(g_h, place_h, gp_h)
        if kernel is None:
            return None
        geometry = (*self.kernel, *self.stride, *self.dilation) + ((int(not apart),) if by_taps else ())

        def piece(s: slice) -> None:
            kernel(g_h[s], place_h[s], gp_h[s], *geometry)

        if parallel.shares_rows(gp):
            parallel.run(piece, parallel.row_pieces(gp.shape[0], gp[0].size))
        else:
            piece(slice(None))
        return self.crop(gp, self.channels_last)

    def _windows_apart(self) -> bool:
        """Whether no two windows share a pixel (stride ≥ window span on both axes: 2×2 stride 2)."""
        return all(self.stride[a] >= window_span(self.kernel[a], self.dilation[a]) for a in (0, 1))

    def _spread(self, gy: np.ndarray, gp: np.ndarray, images: slice) -> None:
        """Windows that never overlap: tap t of every window gets G where t is the argmax, else 0,
        one strided write per tap — KH·KW vectorised passes instead of an unbuffered scatter-add,
        which also holds the GIL. Adding 0.0 at the end gives exactly the scatter-add's bits
        (−0.0 becomes +0.0, as 0 + G does). A non-finite G (whose product with a 0 mask would be
        NaN) takes the scatter-add."""
        if not np.isfinite(gy).all():
            gp.fill(0)  # it may be uninitialised (windows covering every pixel write each one)
            self._scatter(gy, gp, images)
            return
        (place,) = self.saved
        place = place[images]
        if self.channels_last:  # G and the places in gp's layout, (n, OH, OW, C)
            gy, place = gy.transpose(0, 2, 3, 1), place.transpose(0, 2, 3, 1)
            axes = (1, 2)
        else:
            axes = (2, 3)
        gy = np.ascontiguousarray(gy)
        kh, kw = self.kernel
        for i in range(kh):
            rows = _tap(axes[0], i, self.stride[0], self.dilation[0], self.out[0])
            for j in range(kw):
                cols = _tap(axes[1], j, self.stride[1], self.dilation[1], self.out[1])[axes[1]]
                np.multiply(gy, place == i * kw + j, out=gp[rows + (cols,)])
        np.add(gp, gp.dtype.type(0), out=gp)

    def _scatter(self, gy: np.ndarray, gp: np.ndarray, images: slice) -> None:
        """gp[n, c, h, w] += G[n, c, p, q] for every window (p, q) whose argmax is (h, w):
        gy: (n, C, OH, OW) of these images, gp: their zeroed padded gradient, (n, C, Hp, Wp) or
        channels-last (n, Hp, Wp, C). Channels-last walks the windows in (n, p, q, c) order, so
        a run of C windows adds onto C neighbours; each pixel still receives its windows' G in
        (p, q) order, as in (n, c, p, q) order: the same bits in either layout."""
        xp = get_array_module(gy)  # numpy, or cupy on a GPU
        flat = self.padded_argmax(images, self.channels_last)
        if self.channels_last:
            nb, hp, wp, c = gp.shape
            flat *= c
            flat += xp.arange(c, dtype=np.int64)  # h·Wp·C + w·C + c
            flat += (xp.arange(nb, dtype=np.int64) * (hp * wp * c)).reshape(nb, 1, 1, 1)  # each image's start
            g = gy.transpose(0, 2, 3, 1)
        else:
            nb, c, hp, wp = gp.shape
            flat += (xp.arange(nb * c, dtype=np.int64) * (hp * wp)).reshape(nb, c, 1, 1)  # each plane's start
            g = gy
        xp.add.at(gp.reshape(-1), flat.ravel(), g.ravel())

    def padded_argmax(self, images: slice = slice(None), channels_last: bool = False) -> np.ndarray:
        """Each window's argmax as h·Wp + w in the padded plane: (N, C, OH, OW), int64, or
        (N, OH, OW, C) with ``channels_last`` (of ``images`` only, when given)."""
        (place,) = self.saved
        (kh, kw), (dh, dw), wp = self.kernel, self.dilation, self.padded_size()[1]
        xp = get_array_module(place)
        # A table lookup (KH·KW entries) is much cheaper than dividing every place by KW;
        # indexing, not .take(), which is ~5x slower for an int8 index.
        step = (xp.arange(kh, dtype=np.int64)[:, None] * (dh * wp) + xp.arange(kw) * dw).ravel()
        p = xp.arange(self.out[0], dtype=np.int64).reshape(-1, 1)
        q = xp.arange(self.out[1], dtype=np.int64)
        corner = p * (self.stride[0] * wp) + q * self.stride[1]  # (OH, OW)
        place = place[images]
        if channels_last:
            place, corner = place.transpose(0, 2, 3, 1), corner[:, :, None]
        offset = step[place]
        offset += corner
        return offset

    def flat_indices(self) -> np.ndarray:
        """PyTorch's ``return_indices``: the argmax of each window as h·W + w in the input plane."""
        row, col = np.divmod(self.padded_argmax(), self.padded_size()[1])
        return contiguous((row - self.before[0]) * self.x_shape[3] + (col - self.before[1]))


# ---- one axis of a window: taps, running max and their adjoints --------------------------------
#
# Tap k of a window along an axis reads position o·S + k·D for every output o: the strided view
# a[…, k·D : k·D + S·(O − 1) + 1 : S, …] holds tap k of every window at once.


def _tap(axis: int, k: int, stride: int, dilation: int, out: int) -> tuple[slice, ...]:
    """The index of tap k along ``axis``: (O) positions k·D, k·D + S, …, k·D + S·(O − 1)."""
    return (slice(None),) * axis + (slice(k * dilation, k * dilation + stride * (out - 1) + 1, stride),)


def _place_dtype(taps: int) -> np.dtype:
    """The dtype of a tap's place in a window of ``taps`` taps: int8 while it fits."""
    return np.dtype(np.int8 if taps <= 127 else np.int32)


def _store(values: np.ndarray | tuple[np.ndarray, ...], outs: list[np.ndarray]) -> None:
    """Copy a piece's result (one array, or a tuple of them) into its slices of the outputs."""
    for out, v in zip(outs, values if isinstance(values, tuple) else (values,), strict=True):
        np.copyto(out, v)


def _tap_views(
    a: np.ndarray, axis: int, kernel: int, stride: int, dilation: int, out: int
) -> list[np.ndarray]:
    """The K views of ``a`` holding taps 0 … K − 1 of every window along ``axis``."""
    return [a[_tap(axis, k, stride, dilation, out)] for k in range(kernel)]


def _running_max(a: np.ndarray, axis: int, kernel: int, stride: int, dilation: int, out: int) -> np.ndarray:
    """Max over the K taps of a window along ``axis`` (NaN wins, as np.maximum propagates it)."""
    views = _tap_views(a, axis, kernel, stride, dilation, out)
    best = views[0].copy(order="K")
    for v in views[1:]:
        np.maximum(best, v, out=best)
    return best


def _running_argmax(
    a: np.ndarray, axis: int, kernel: int, stride: int, dilation: int, out: int, nan_wins: bool
):
    """Max over the K taps of a window along ``axis`` and the tap k it came from (int8).

    Ties keep the first tap; with ``nan_wins`` a NaN beats everything (the last NaN is kept).
    """
    views = _tap_views(a, axis, kernel, stride, dilation, out)
    best = views[0].copy(order="K")  # keeps a's memory order (channels-last stays so)
    arg = np.zeros_like(best, dtype=_place_dtype(kernel))
    for k, v in enumerate(views[1:], start=1):
        if nan_wins:
            take = (v > best) | np.isnan(v)
            np.copyto(best, v, where=take)
            np.copyto(arg, k, where=take, casting="unsafe")
        else:
            # Taps come in increasing k, so "arg = k where v wins" is a maximum: no masked
            # writes, which are several times slower in NumPy. Strict > keeps the first of ties.
            np.maximum(arg, (v > best) * arg.dtype.type(k), out=arg)
            np.maximum(best, v, out=best)
    return best, arg


def _running_sum(a: np.ndarray, axis: int, kernel: int, stride: int, dilation: int, out: int) -> np.ndarray:
    """Sum over the K taps of a window along ``axis``."""
    views = _tap_views(a, axis, kernel, stride, dilation, out)
    total = views[0].copy(order="K")
    for v in views[1:]:
        total += v
    return total


def _spread(g: np.ndarray, shape, axis: int, kernel: int, stride: int, dilation: int, out: int) -> np.ndarray:
    """The adjoint of :func:`_running_sum`: every tap's positions receive g (added where taps meet)."""
    result = np.zeros_like(g, shape=shape)
    overlap = stride < window_span(kernel, dilation)
    for k in range(kernel):
        target = result[_tap(axis, k, stride, dilation, out)]
        if overlap:
            np.add(target, g, out=target)  # not +=, which copies the view onto itself again
        else:  # taps never meet: write straight into place
            np.copyto(target, g)
    return result


class AvgPool2d(_Pool2d):
    """y[n, c, p, q] = (1/A[p, q]) Σ over the window at (p·S − P + i, q·S − P + j).

    A counts the window's pixels inside the input (plus padding if ``count_include_pad``), or
    is ``divisor_override``.  ∂L/∂x[h, w] = Σ over windows containing (h, w) of G[p, q] / A[p, q].
    """

    def forward(self, x, kernel, stride, padding, count_include_pad, divisor_override, out):
        self.setup(x, kernel, stride, padding, (1, 1), out)
        xp = _pad(x, self.before, self.after, 0.0)
        # The window sum is separable: columns first, then rows (KW + KH steps, not KH·KW).
        total = _running_sum(_running_sum(xp, *self._axis(1)), *self._axis(0))
        if divisor_override:
            self.scale = x.dtype.type(1.0 / divisor_override)
        else:
            divisor = self._divisor(count_include_pad)
            constant = divisor.min() == divisor.max()  # the common case: a scalar multiply
            self.scale = (
                x.dtype.type(1.0 / divisor.flat[0])
                if constant
                else backend.like(x, (1.0 / divisor).astype(x.dtype))
            )
        total *= self.scale
        return total

    def _axis(self, a: int) -> tuple[int, int, int, int, int]:
        """(array axis, K, S, D = 1, output size) of spatial axis a: 0 = rows, 1 = columns."""
        return 2 + a, self.kernel[a], self.stride[a], 1, self.out[a]

    def _divisor(self, count_include_pad: bool) -> np.ndarray:
        """A[p, q] = rows × cols of the window that count (PyTorch's rule), shape (OH, OW)."""
        counts = []
        for a in (0, 1):
            size, k, s, pad = self.x_shape[2 + a], self.kernel[a], self.stride[a], self.before[a]
            start = np.arange(self.out[a]) * s - pad
            end = np.minimum(start + k, size + pad)  # the window never counts ceil-mode overhang
            if not count_include_pad:
                start, end = np.maximum(start, 0), np.minimum(end, size)
            counts.append((end - start).astype(np.float64))
        return counts[0][:, None] * counts[1][None, :]

    def backward(self, gy):
        g = gy * self.scale
        (n, c), (hp, wp) = self.x_shape[:2], self.padded_size()
        rows = _spread(g, (n, c, hp, g.shape[3]), *self._axis(0))  # (N, C, OH, OW) -> (N, C, Hp, OW)
        return self.crop(_spread(rows, (n, c, hp, wp), *self._axis(1)))


class AdaptiveAvgPool2d(Function):
    """y[n, c] = A · x[n, c] · Bᵀ, the average over rows [⌊pH/OH⌋, ⌈(p+1)H/OH⌉) and likewise columns.

    A: (OH, H) and B: (OW, W) hold 1/(window length) inside each window, 0 elsewhere, so the
    pool is two matrix products and its backward the transposed ones: ∂L/∂x = Aᵀ · G · B.
    Two common cases skip the products: global pooling (OH = OW = 1, the ResNet head) is a
    mean over each plane, ∂L/∂x = G/(H·W) everywhere; an output as large as the input (VGG's
    7×7 head on a 224×224 image) is the identity.
    """

    def forward(self, x, out):
        n, c, h, w = x.shape
        self.x_shape = x.shape
        matmul_precision(x)  # its products are matmuls: full float32 unless allowed otherwise
        if out == (h, w):
            return x.copy()
        if out == (1, 1):  # a matrix-vector product with a vector of 1/(H·W): BLAS, twice numpy's mean
            return (x.reshape(n * c, h * w) @ np.full_like(x, 1.0 / (h * w), shape=h * w)).reshape(n, c, 1, 1)
        self.a = backend.like(x, _adaptive_matrix(h, out[0], x.dtype))  # on x's device
        self.b = backend.like(x, _adaptive_matrix(w, out[1], x.dtype))
        t = np.tensordot(x, self.b, axes=([3], [1]))  # (N, C, H, OW)
        return contiguous(np.tensordot(t, self.a, axes=([2], [1])).transpose(0, 1, 3, 2))

    def backward(self, gy):
        h, w = self.x_shape[2:]
        if gy.shape[2:] == (h, w):
            return gy
        if gy.shape[2:] == (1, 1):
            n, c = self.x_shape[:2]
            gx = np.empty_like(gy, shape=(n * c, h * w))  # a writeable array, not a broadcast view
            gx[...] = gy.reshape(n * c, 1) * gy.dtype.type(1.0 / (h * w))
            return gx.reshape(self.x_shape)
        matmul_precision(gy)
        t = np.tensordot(gy, self.a, axes=([2], [0]))  # (N, C, OW, H)
        return np.tensordot(t, self.b, axes=([2], [0]))  # (N, C, H, W)


def _adaptive_matrix(size: int, out: int, dtype) -> np.ndarray:
    p = np.arange(out)
    start, end = (p * size) // out, -((-(p + 1) * size) // out)  # floor and ceil, in integers
    pos = np.arange(size)
    inside = (pos >= start[:, None]) & (pos < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


# ---- argument checks ----------------------------------------------------------------------


def _pool_args(name, x, kernel_size, stride, padding, dilation, ceil_mode, nd):
    """Validate; return (x as (N, C, H, W), kernel, stride, padding, dilation, out, restore)."""
    x = as_tensor(x)
    spatial = "(N, C, H, W)" if nd == 2 else "(N, C, L)"
    if x.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"{name} expects a {nd + 1}-D or {nd + 2}-D {spatial} input, got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"{name} expects a float input, got dtype {x.dtype}")
    k, s, p, d = pool_window(name, nd, kernel_size, stride, padding, dilation)
    in_spatial = x.shape[-nd:]
    out = tuple(pool_output_size(*a, ceil_mode) for a in zip(in_spatial, k, s, p, d, strict=True))
    if any(o <= 0 for o in out):
        raise ValueError(
            f"{name}: kernel size {k} (dilation {d}) does not fit the input {tuple(in_spatial)} with "
            f"padding {p}: output size {out} is too small"
        )
    out_shape = (*x.shape[:-nd], *out)
    if x.ndim == nd + 1:  # unbatched: add N
        x = ops.unsqueeze(x, 0)
    if nd == 1:  # a 1-D signal is an image of height 1
        x = ops.unsqueeze(x, 2)
        k, s, p, d, out = (1, *k), (1, *s), (0, *p), (1, *d), (1, *out)
    return x, k, s, p, d, out, out_shape


def max_pool2d(
    input: Tensor,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Max pooling, as ``torch.nn.functional.max_pool2d``: the largest value of each window.

    input: (N, C, H, W) or (C, H, W) -> (N, C, OH, OW), OH = ⌊(H + 2P − D·(K − 1) − 1)/S⌋ + 1
    (⌈⌉ with ``ceil_mode``). ``stride`` defaults to ``kernel_size``. With ``return_indices``
    also returns each maximum's flat position h·W + w in its input plane (int64).

    >>> import shendu
    >>> import shendu.nn.functional as F
    >>> x = shendu.arange(16.0).reshape(1, 1, 4, 4)
    >>> F.max_pool2d(x, 2).tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    """
    return _max_pool(
        "max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2
    )


def max_pool1d(
    input: Tensor,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Max pooling over the last axis, as ``torch.nn.functional.max_pool1d``: (N, C, L) -> (N, C, OL).

    >>> import shendu
    >>> import shendu.nn.functional as F
    >>> F.max_pool1d(shendu.tensor([[[1.0, 3.0, 2.0, 0.0, 5.0]]]), 2).tolist()
    [[[3.0, 2.0]]]
    """
    return _max_pool(
        "max_pool1d", input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 1
    )


def _max_pool(name, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, nd):
    x4, k, s, p, d, out, out_shape = _pool_args(
        name, input, kernel_size, stride, padding, dilation, ceil_mode, nd
    )
    geometry = dict(kernel=k, stride=s, padding=p, dilation=d, out=out)
    if grad_mode.is_grad_enabled() and x4.requires_grad:
        y = MaxPool2d.apply(x4, **geometry)
        node = y._ctx
    else:  # no graph: find the argmax only for the indices (inference is then max-only)
        node = MaxPool2d()
        y = Tensor._wrap(node.forward(x4._data, **geometry, argmax=return_indices))
    if y.shape != out_shape:
        y = y.reshape(out_shape)
    if not return_indices:
        return y
    return y, Tensor._wrap(node.flat_indices().reshape(out_shape))


def avg_pool2d(
    input: Tensor,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Average pooling, as ``torch.nn.functional.avg_pool2d``: the mean of each window.

    input: (N, C, H, W) or (C, H, W) -> (N, C, OH, OW). Padding counts as zeros in the mean
    when ``count_include_pad`` (PyTorch's default), and is left out of it otherwise.

    >>> import shendu
    >>> import shendu.nn.functional as F
    >>> F.avg_pool2d(shendu.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
    [[[[2.5, 4.5], [10.5, 12.5]]]]
    """
    return _avg_pool(
        "avg_pool2d", input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 2
    )


def avg_pool1d(
    input: Tensor,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: int | Sequence[int] = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """Average pooling over the last axis, as ``torch.nn.functional.avg_pool1d``: (N, C, L) -> (N, C, OL).

    >>> import shendu
    >>> import shendu.nn.functional as F
    >>> F.avg_pool1d(shendu.tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2).tolist()
    [[[2.0, 1.0]]]
    """
    return _avg_pool("avg_pool1d", input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, 1)


def _avg_pool(name, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, nd):
    x4, k, s, p, _, out, out_shape = _pool_args(name, input, kernel_size, stride, padding, 1, ceil_mode, nd)
    if divisor_override is not None and divisor_override <= 0:
        raise ValueError(f"{name}: divisor_override must be positive, got {divisor_override}")
    y = AvgPool2d.apply(
        x4,
        kernel=k,
        stride=s,
        padding=p,
        count_include_pad=count_include_pad,
        divisor_override=divisor_override,
        out=out,
    )
    return y if y.shape == out_shape else y.reshape(out_shape)


def adaptive_avg_pool2d(input: Tensor, output_size: int | None | Sequence[int | None]) -> Tensor:
    """Average pooling to a fixed output size, as ``torch.nn.functional.adaptive_avg_pool2d``.

    Output cell p averages input rows ⌊p·H/OH⌋ … ⌈(p+1)·H/OH⌉ − 1 (and likewise columns), so
    any input size maps to (OH, OW); ``None`` keeps that axis's input size.

    >>> import shendu
    >>> import shendu.nn.functional as F
    >>> F.adaptive_avg_pool2d(shendu.ones(2, 512, 7, 7), 1).shape
    (2, 512, 1, 1)
    """
    name = "adaptive_avg_pool2d"
    x = as_tensor(input)
    if x.ndim not in (3, 4):
        raise ValueError(f"{name} expects a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"{name} expects a float input, got dtype {x.dtype}")
    sizes = adaptive_output_size(output_size, 2, name)
    out = tuple(int(h if o is None else o) for o, h in zip(sizes, x.shape[-2:], strict=True))
    if any(h == 0 for h in x.shape[-2:]):
        raise ValueError(f"{name}: input of shape {x.shape} is empty")
    unbatched = x.ndim == 3
    x4 = ops.unsqueeze(x, 0) if unbatched else x
    y = AdaptiveAvgPool2d.apply(x4, out=out)
    return ops.squeeze(y, 0) if unbatched else y
