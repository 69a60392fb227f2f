"""No float64 sneaks into a float32 network: every op's output and every gradient stays float32.

Function.apply is wrapped so that each node's forward output, its incoming gradient and the
gradients it returns are all checked, for a small CNN with BatchNorm, LRN, pooling, dropout
and every loss, plus the NumPy float64 scalars students write (np.sqrt(2), np.float64(0.5)).
"""

import gc
import weakref

import numpy as np
import pytest

import shendu
import shendu.nn.functional as F
from shendu import nn
from shendu.autograd.function import Function


@pytest.fixture
def dtype_log(monkeypatch):
    """Records (where, op, dtype) for every float array that is not float32."""
    bad = []
    original = Function.apply.__func__

    def watch_backward(fn):
        backward = fn.backward

        def checked(gy):
            if gy.dtype != np.float32:
                bad.append(("incoming gradient", fn.name, gy.dtype))
            grads = backward(gy)
            for g in grads if isinstance(grads, tuple) else (grads,):
                if g is not None and np.asarray(g).dtype.kind == "f" and np.asarray(g).dtype != np.float32:
                    bad.append(("gradient", fn.name, np.asarray(g).dtype))
            return grads

        fn.backward = checked

    def apply(cls, *inputs, **params):
        out = original(cls, *inputs, **params)
        if out.dtype.kind == "f" and out.dtype != np.float32:
            bad.append(("forward", cls.__name__, out.dtype))
        if out.grad_fn is not None:
            watch_backward(out.grad_fn)
        return out

    monkeypatch.setattr(Function, "apply", classmethod(apply))
    return bad


def _cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 4, 3),
        nn.LocalResponseNorm(2),
        nn.AvgPool2d(2, ceil_mode=True),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.5),
        nn.Linear(16, 8),
        nn.BatchNorm1d(8),
        nn.LeakyReLU(),
        nn.Tanh(),
        nn.Sigmoid(),
        nn.Softplus(),
        nn.GELU(),
        nn.ELU(),
        nn.SiLU(),
        nn.GELU("tanh"),
        nn.Linear(8, 3),
    )


def _losses(out: shendu.Tensor, y: shendu.Tensor) -> list:
    target64 = np.zeros(out.shape)  # a float64 target, as np.zeros gives
    return [
        F.cross_entropy(out, y),
        F.cross_entropy(out, y, label_smoothing=0.1, weight=np.ones(3)),
        F.cross_entropy(out, F.softmax(out.detach(), dim=1)),
        F.nll_loss(F.log_softmax(out, dim=1), y),
        F.mse_loss(out, target64),
        F.l1_loss(out, target64),
        F.binary_cross_entropy(F.sigmoid(out), np.ones(out.shape)),
        F.binary_cross_entropy_with_logits(out, np.ones(out.shape), pos_weight=np.ones(3)),
        (out * np.sqrt(2.0)).sum() + (np.float64(2.0) - out).mean() + (out / np.float64(3.0)).sum(),
        (out ** np.float64(2)).sum() + out.var() + out.std() + out.amax() + out.max(1)[0].sum(),
        out.clamp(np.float64(-1.0), np.float64(1.0)).sum(),
        shendu.where(out > 0, out, np.float64(0.0)).sum(),
        shendu.cat([out, shendu.tensor([[1, 2, 3]])]).sum(),
        (out * shendu.tensor(np.float64(0.5))).sum(),
        (out @ shendu.ones(3, 2, dtype=np.int64)).sum() + (out * shendu.tensor([1, 2, 3])).sum(),
        F.layer_norm(out, 3).sum(),
    ]


def test_float32_cnn_with_every_loss_stays_float32(dtype_log):
    shendu.manual_seed(0)
    net = _cnn()
    x = shendu.randn(4, 1, 10, 10)
    out = net(x)
    assert out.dtype == np.float32
    for loss in _losses(out, shendu.tensor([0, 1, 2, 1])):
        assert loss.dtype == np.float32
        loss.backward(retain_graph=True)
    assert dtype_log == []
    for name, p in net.named_parameters():
        assert p.grad is not None and p.grad.dtype == np.float32, name
    for name, b in net.state_dict().items():
        assert b.dtype == (np.int64 if name.endswith("num_batches_tracked") else np.float32), name


def test_conv_bn_net_releases_intermediate_arrays_after_backward(monkeypatch):
    refs = []
    original = Function.apply.__func__

    def apply(cls, *inputs, **params):
        out = original(cls, *inputs, **params)
        refs.append((cls.__name__, weakref.ref(out.numpy())))
        return out

    monkeypatch.setattr(Function, "apply", classmethod(apply))
    shendu.manual_seed(0)
    net = _cnn()
    loss = F.cross_entropy(net(shendu.randn(4, 1, 10, 10)), shendu.tensor([0, 1, 2, 1]))
    loss.backward()
    gc.collect()
    alive = [name for name, r in refs if r() is not None and r() is not loss.numpy()]
    assert alive == []
