"""Convolution and pooling through im2col, as the book writes them (loops over kernel offsets).

Shapes use the notes' symbols: input (N, C, H, W); FN filters of (C, FH, FW); stride S, padding P;
output OH = (H + 2P − FH)/S + 1, OW = (W + 2P − FW)/S + 1.
"""

from __future__ import annotations

import numpy as np


def output_size(size: int, filter_size: int, stride: int = 1, pad: int = 0) -> int:
    """OH = (H + 2P − FH)/S + 1 (rounded down when the windows do not fit exactly)."""
    return (size + 2 * pad - filter_size) // stride + 1


def im2col(input_data, filter_h, filter_w, stride=1, pad=0):
    """(N, C, H, W) → (N·OH·OW, C·FH·FW): one row per output position, holding its window."""
    N, C, H, W = input_data.shape
    out_h = output_size(H, filter_h, stride, pad)
    out_w = output_size(W, filter_w, stride, pad)
    img = np.pad(input_data, [(0, 0), (0, 0), (pad, pad), (pad, pad)], "constant")
    col = np.zeros((N, C, filter_h, filter_w, out_h, out_w), dtype=input_data.dtype)
    for y in range(filter_h):  # a loop over the kernel's offsets, not over pixels
        y_max = y + stride * out_h
        for x in range(filter_w):
            x_max = x + stride * out_w
            col[:, :, y, x, :, :] = img[:, :, y:y_max:stride, x:x_max:stride]
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(N * out_h * out_w, -1)


def col2im(col, input_shape, filter_h, filter_w, stride=1, pad=0):
    """The adjoint of im2col: add each row's window back to its place (overlaps add up)."""
    N, C, H, W = input_shape
    out_h = output_size(H, filter_h, stride, pad)
    out_w = output_size(W, filter_w, stride, pad)
    col = col.reshape(N, out_h, out_w, C, filter_h, filter_w).transpose(0, 3, 4, 5, 1, 2)
    img = np.zeros((N, C, H + 2 * pad + stride - 1, W + 2 * pad + stride - 1), dtype=col.dtype)
    for y in range(filter_h):
        y_max = y + stride * out_h
        for x in range(filter_w):
            x_max = x + stride * out_w
            img[:, :, y:y_max:stride, x:x_max:stride] += col[:, :, y, x, :, :]
    return img[:, :, pad : H + pad, pad : W + pad]


class Convolution:
    """y = x ⋆ W + b with W (FN, C, FH, FW), b (FN,): one matrix product on im2col's rows."""

    def __init__(self, W, b, stride=1, pad=0):
        self.W, self.b, self.stride, self.pad = W, b, stride, pad

    def forward(self, x):
        FN, C, FH, FW = self.W.shape
        N, C, H, W = x.shape
        out_h = output_size(H, FH, self.stride, self.pad)
        out_w = output_size(W, FW, self.stride, self.pad)
        self.x = x
        self.col = im2col(x, FH, FW, self.stride, self.pad)
        self.col_W = self.W.reshape(FN, -1).T  # (C·FH·FW, FN): each filter a column
        out = self.col @ self.col_W + self.b
        return out.reshape(N, out_h, out_w, -1).transpose(0, 3, 1, 2)

    def backward(self, dout):
        FN, C, FH, FW = self.W.shape
        dout = dout.transpose(0, 2, 3, 1).reshape(-1, FN)
        self.db = dout.sum(axis=0)
        self.dW = (self.col.T @ dout).transpose(1, 0).reshape(FN, C, FH, FW)
        dcol = dout @ self.col_W.T
        return col2im(dcol, self.x.shape, FH, FW, self.stride, self.pad)


class Pooling:
    """Max pooling: each window's maximum (no parameters); backward sends dout to the argmax."""

    def __init__(self, pool_h, pool_w, stride=1, pad=0):
        self.pool_h, self.pool_w, self.stride, self.pad = pool_h, pool_w, stride, pad

    def forward(self, x):
        N, C, H, W = x.shape
        out_h = output_size(H, self.pool_h, self.stride, self.pad)
        out_w = output_size(W, self.pool_w, self.stride, self.pad)
        col = im2col(x, self.pool_h, self.pool_w, self.stride, self.pad).reshape(
            -1, self.pool_h * self.pool_w
        )
        self.x = x
        self.arg_max = np.argmax(col, axis=1)  # ties: the first, as F.max_pool2d
        out = np.max(col, axis=1)
        return out.reshape(N, out_h, out_w, C).transpose(0, 3, 1, 2)

    def backward(self, dout):
        dout = dout.transpose(0, 2, 3, 1)
        pool_size = self.pool_h * self.pool_w
        dmax = np.zeros((dout.size, pool_size), dtype=dout.dtype)
        dmax[np.arange(self.arg_max.size), self.arg_max] = dout.flatten()
        dcol = dmax.reshape(dout.shape[0] * dout.shape[1] * dout.shape[2], -1)
        return col2im(dcol, self.x.shape, self.pool_h, self.pool_w, self.stride, self.pad)
