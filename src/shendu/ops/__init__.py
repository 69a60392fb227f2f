"""Differentiable tensor operations, one family per module.

Each op is a :class:`~shendu.autograd.Function` with its forward and backward side by side,
plus a lowercase function that users call (``shendu.exp(x)``, ``x.exp()``). Importing this
package attaches the Tensor methods and operators that compute through ops
(:mod:`shendu.ops.tensor_methods`).
"""

from shendu.ops.activation import relu, sigmoid, softmax, tanh
from shendu.ops.arithmetic import add, bmm, div, matmul, mm, mul, neg, pow, sub
from shendu.ops.elementwise import abs, cast, clip, exp, log, maximum, minimum, sqrt, where
from shendu.ops.indexing import cat, getitem, masked_fill, pad, stack, topk
from shendu.ops.reduction import amax, amin, argmax, argmin, max, mean, min, std, sum, var
from shendu.ops.shape import (
    broadcast_to,
    chunk,
    expand,
    flatten,
    permute,
    repeat,
    reshape,
    split,
    squeeze,
    transpose,
    unsqueeze,
    zero_size,
)

from shendu.ops.tensor_methods import install_methods

concatenate = cat
clamp = clip

# x + y, x.exp(), x.sum(), x[i], x.relu() ...: the ops attach themselves to Tensor (see tensor_methods).
install_methods()

__all__ = [
    "bmm",
    "chunk",
    "masked_fill",
    "mm",
    "relu",
    "repeat",
    "sigmoid",
    "softmax",
    "split",
    "tanh",
    "topk",
    "add",
    "sub",
    "mul",
    "div",
    "pow",
    "neg",
    "matmul",
    "exp",
    "log",
    "sqrt",
    "abs",
    "maximum",
    "minimum",
    "where",
    "cast",
    "clip",
    "clamp",
    "sum",
    "mean",
    "max",
    "min",
    "amax",
    "amin",
    "argmax",
    "argmin",
    "var",
    "std",
    "reshape",
    "transpose",
    "permute",
    "flatten",
    "squeeze",
    "unsqueeze",
    "expand",
    "broadcast_to",
    "getitem",
    "cat",
    "concatenate",
    "stack",
    "pad",
    "zero_size",
]
