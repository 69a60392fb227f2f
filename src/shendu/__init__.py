"""shendu (深度): deep learning from scratch on NumPy, with PyTorch's names.

>>> import shendu
>>> x = shendu.tensor(2.0, requires_grad=True)
>>> y = x ** 3
>>> y.backward()
>>> x.grad.item()
12.0
"""

# Layer by layer (docs/architecture.md): autograd first (it sits below tensor.py), then Tensor,
# then the ops, whose import attaches Tensor's operators and op methods.
from shendu.autograd.grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from shendu.random import Generator, get_rng_state, manual_seed, set_rng_state
from shendu.parallel import get_num_threads, set_num_threads
from shendu.tensor import (
    Tensor,
    allclose,
    arange,
    as_tensor,
    bool_,
    double,
    empty,
    equal,
    eye,
    float16,
    float32,
    float64,
    from_numpy,
    full,
    int8,
    int32,
    int64,
    isclose,
    linspace,
    long,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    randperm,
    tensor,
    uint8,
    zeros,
    zeros_like,
)
from shendu.tensor import float  # noqa: A004  (shendu.float is float32, as torch.float)
from shendu.ops import (
    abs,
    amax,
    amin,
    argmax,
    argmin,
    bmm,
    broadcast_to,
    cat,
    chunk,
    clamp,
    clip,
    concatenate,
    exp,
    expand,
    flatten,
    log,
    masked_fill,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mm,
    pad,
    permute,
    relu,
    repeat,
    reshape,
    sigmoid,
    softmax,
    split,
    sqrt,
    squeeze,
    stack,
    sum,
    tanh,
    topk,
    transpose,
    std,
    unsqueeze,
    var,
    where,
)
from shendu import autograd, backends, cuda
from shendu.device import device
from shendu.serialization import load, save

__version__ = "0.1.0"

_SUBPACKAGES = {
    "distributed", "nn", "optim", "data", "metrics", "models", "training", "lessons", "serialization",
    "utils", "vision", "onnx",
}  # fmt: skip


def __getattr__(name: str):
    # `shendu.nn`, `shendu.optim`, ... load on first use, so `import shendu` stays quick.
    if name in _SUBPACKAGES:
        import importlib

        return importlib.import_module(f"shendu.{name}")
    raise AttributeError(f"module 'shendu' has no attribute {name!r}")
