"""Ops, functionals and layers run on a device and compared with the CPU (fake and real GPU tests).

Each case is ``(name, fn, inputs)``: ``fn`` maps tensors to one tensor, ``inputs`` are NumPy arrays
(float ones require grad). :func:`check_case` runs ``fn`` on the CPU and on ``device`` and compares
the outputs and every input's gradient.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

import shendu
import shendu.nn.functional as F
from shendu import nn
from shendu.models import get_model
from shendu.models.resnet import BasicBlock

_rng = np.random.default_rng(0)


def _f(*shape: int, dtype=np.float32) -> np.ndarray:
    return _rng.standard_normal(shape).astype(dtype)


def _labels(n: int, c: int) -> np.ndarray:
    return _rng.integers(0, c, n).astype(np.int64)


def _layer(make: Callable[[], nn.Module]) -> Callable:
    """A layer built with the same seed on each call, applied to the input on the input's device."""

    def run(x):
        shendu.manual_seed(0)
        return make().to(x.device)(x)

    return run


def _dropout(x):
    shendu.manual_seed(1)  # the same mask on both devices: masks are drawn on the host
    return F.dropout(x, 0.3)


CASES: list[tuple[str, Callable, list[np.ndarray]]] = [
    ("add_broadcast", lambda a, b: a + b, [_f(3, 4), _f(4)]),
    ("mul_scalar", lambda a: a * 2.5 - 1, [_f(3, 4)]),
    ("div", lambda a, b: a / (b * b + 1), [_f(3, 4), _f(3, 1)]),
    ("pow", lambda a: (a * a + 1) ** 1.5, [_f(5)]),
    ("matmul_batched", lambda a, b: a @ b, [_f(2, 3, 4), _f(4, 5)]),
    ("matmul_vector", lambda a, b: a @ b, [_f(3, 4), _f(4)]),
    ("exp_log_sqrt", lambda a: (a.exp() + 1).log() + (a * a + 1).sqrt(), [_f(3, 4)]),
    ("abs_max_min", lambda a, b: shendu.maximum(a, b) - shendu.minimum(a, b).abs(), [_f(3, 4), _f(3, 4)]),
    ("where", lambda a, b: shendu.where(a > 0, a, b), [_f(3, 4), _f(3, 4)]),
    ("clip", lambda a: a.clip(-0.5, 0.5), [_f(3, 4)]),
    ("sum_mean_var", lambda a: a.sum(1) + a.mean(0).sum() + a.var(1), [_f(3, 4)]),
    ("amax_max_dim", lambda a: a.amax(1) + a.max(dim=0)[0].sum(), [_f(3, 4)]),
    ("reshape_permute", lambda a: a.reshape(2, 6).t().flatten() * a.permute(1, 0).reshape(-1), [_f(3, 4)]),
    ("index_int_array", lambda a: a[shendu.tensor([0, 2, 2])], [_f(3, 4)]),
    ("index_mask", lambda a: a[a > 0], [_f(3, 4)]),
    ("index_slice_list", lambda a: a[1:, [0, 3, 3]], [_f(3, 4)]),
    (
        "cat_stack",
        lambda a, b: shendu.cat([a, b], 1).sum(0) + shendu.stack([a, b]).sum((0, 1)).sum(),
        [_f(3, 4), _f(3, 4)],
    ),
    ("pad", lambda a: shendu.pad(a, (1, 2, 0, 1), value=0.5), [_f(2, 3, 4)]),
    ("unsqueeze_expand", lambda a: a.unsqueeze(0).expand(2, 3, 4).sum(0), [_f(3, 4)]),
    ("relu_sigmoid_tanh", lambda a: a.relu() + a.sigmoid() * a.tanh(), [_f(3, 4)]),
    ("softmax_logsoftmax", lambda a: a.softmax(1) + a.log_softmax(0), [_f(3, 4)]),
    (
        "gelu_elu_leaky_softplus",
        lambda a: F.gelu(a) + F.elu(a) + F.leaky_relu(a, 0.1) + F.softplus(a),
        [_f(3, 4)],
    ),
    ("linear", lambda x, w, b: F.linear(x, w, b), [_f(5, 4), _f(3, 4), _f(3)]),
    (
        "conv2d",
        lambda x, w, b: F.conv2d(x, w, b, stride=1, padding=1),
        [_f(2, 3, 8, 8), _f(4, 3, 3, 3), _f(4)],
    ),
    ("conv2d_narrow", lambda x, w: F.conv2d(x, w, stride=2), [_f(3, 2, 9, 9), _f(5, 2, 3, 3)]),
    (
        "conv2d_groups_dilation",
        lambda x, w: F.conv2d(x, w, padding=2, dilation=2, groups=2),
        [_f(2, 4, 7, 7), _f(4, 2, 3, 3)],
    ),
    ("conv1d", lambda x, w: F.conv1d(x, w, padding=1), [_f(2, 3, 10), _f(4, 3, 3)]),
    ("max_pool2d", lambda x: F.max_pool2d(x, 2), [_f(2, 3, 8, 8)]),
    ("max_pool2d_overlap_pad", lambda x: F.max_pool2d(x, 3, stride=2, padding=1), [_f(2, 3, 9, 9)]),
    (
        "avg_pool2d",
        lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False),
        [_f(2, 3, 9, 9)],
    ),
    ("adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, (2, 3)), [_f(2, 3, 7, 8)]),
    ("global_avg_pool", lambda x: F.adaptive_avg_pool2d(x, 1), [_f(2, 3, 5, 5)]),
    ("batch_norm_train", _layer(lambda: nn.BatchNorm2d(3)), [_f(4, 3, 5, 5)]),
    ("batch_norm_1d", _layer(lambda: nn.BatchNorm1d(4)), [_f(6, 4)]),
    ("layer_norm", _layer(lambda: nn.LayerNorm(4)), [_f(3, 4)]),
    ("dropout_seeded", _dropout, [_f(50)]),
    ("cross_entropy", lambda x, y: F.cross_entropy(x, y), [_f(6, 5), _labels(6, 5)]),
    (
        "cross_entropy_smoothing_weights",
        lambda x, y, w: F.cross_entropy(x, y, weight=w.detach(), label_smoothing=0.1),
        [_f(6, 5), _labels(6, 5), np.abs(_f(5)) + 0.1],
    ),
    ("nll_loss", lambda x, y: F.nll_loss(x.log_softmax(1), y), [_f(6, 5), _labels(6, 5)]),
    ("mse_l1", lambda a, b: F.mse_loss(a, b) + F.l1_loss(a, b), [_f(3, 4), _f(3, 4)]),
    (
        "bce_with_logits",
        lambda a, b: F.binary_cross_entropy_with_logits(a, b.detach().sigmoid()),
        [_f(3, 4), _f(3, 4)],
    ),
    # index tensors on the device, as PyTorch code has them
    ("embedding", lambda w, i: F.embedding(i, w, padding_idx=1), [_f(6, 4), np.array([[0, 2], [5, 2]])]),
    (
        "embedding_renorm_scaled",
        lambda w, i: F.embedding(i, w * 1, max_norm=1.0, scale_grad_by_freq=True),
        [_f(6, 4), np.array([3, 0, 3, 1])],
    ),
    ("one_hot", lambda a, i: a * F.one_hot(i, 4).float(), [_f(3, 4), np.array([0, 3, 1])]),
    ("topk", lambda a: a.topk(2, dim=1)[0] + a.topk(1, dim=0, largest=False)[0].sum(), [_f(3, 5)]),
    ("masked_fill", lambda a: a.masked_fill(a > 0.5, 0.0) + (a * 1).masked_fill_(a < 0, 2.0), [_f(3, 4)]),
    ("lenet", _layer(lambda: get_model("lenet")), [_f(2, 1, 28, 28)]),
    ("resnet_block", _layer(lambda: BasicBlock(4, 4)), [_f(2, 4, 6, 6)]),
]


def check_case(fn: Callable, inputs: list[np.ndarray], device: str, rtol: float, atol: float) -> None:
    """``fn`` on ``device`` gives the CPU's output and input gradients; all its results live there."""
    results = []
    for dev in ("cpu", device):
        xs = [
            shendu.tensor(a, device=dev, requires_grad=bool(np.issubdtype(a.dtype, np.floating)))
            for a in inputs
        ]
        y = fn(*xs)
        assert y.device.type == shendu.device(dev).type, f"output on {y.device}, inputs on {dev}"
        gy = shendu.tensor(np.random.default_rng(1).standard_normal(y.shape).astype(y.dtype), device=dev)
        y.backward(gy)
        for x in xs:
            assert x.grad is None or x.grad.device == x.device, f"gradient not on {x.device}"
        results.append((y, [x.grad for x in xs]))
    (cpu_y, cpu_g), (dev_y, dev_g) = results
    assert dev_y.dtype == cpu_y.dtype
    np.testing.assert_allclose(dev_y.cpu().numpy(), cpu_y.numpy(), rtol=rtol, atol=atol, err_msg="forward")
    for i, (g_dev, g_cpu) in enumerate(zip(dev_g, cpu_g, strict=True)):
        assert (g_dev is None) == (g_cpu is None), f"grad {i}: {g_dev} on the device, {g_cpu} on the CPU"
        if g_cpu is None:
            continue
        np.testing.assert_allclose(
            g_dev.cpu().numpy(), g_cpu.numpy(), rtol=rtol, atol=atol, err_msg=f"grad {i}"
        )
