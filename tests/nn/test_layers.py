"""Layers against torch.nn: repr, forward/backward with torch's weights loaded, input checks, defaults."""

import math

import numpy as np
import pytest
import torch

import shendu
from shendu import nn
from tests.helpers import assert_close, to_torch

RTOL, ATOL = 1e-5, 1e-5  # float32 layers against torch's float32


def copy_weights(s_mod, t_mod):
    """Load torch's parameters and buffers into the shendu twin."""
    s_mod.load_state_dict({k: v.detach().numpy() for k, v in t_mod.state_dict().items()})
    return s_mod


def run_both(s_mod, t_mod, x, train_grad=True, rtol=RTOL, atol=ATOL):
    """Forward both modules on ``x``; backward a random upstream gradient; compare everything."""
    sx = shendu.tensor(x, requires_grad=train_grad)
    tx = to_torch(x, requires_grad=train_grad)
    sy, ty = s_mod(sx), t_mod(tx)
    assert sy.dtype == np.float32
    assert_close(sy.detach().numpy(), ty, rtol, atol, "forward")
    if train_grad:
        gy = np.random.default_rng(3).standard_normal(sy.shape).astype(np.float32)
        sy.backward(gy)
        ty.backward(to_torch(gy))
        assert_close(sx.grad.numpy(), tx.grad, rtol, atol, "input grad")
        t_params = dict(t_mod.named_parameters())
        for name, p in s_mod.named_parameters():
            assert p.grad is not None and p.grad.dtype == np.float32, name
            assert_close(p.grad.numpy(), t_params[name].grad, rtol, 1e-4, f"grad of {name}")
    return sy, ty


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ---- repr ----------------------------------------------------------------------------------

REPR_CASES = [
    "Linear(784, 10)",
    "Linear(4, 3, bias=False)",
    "Identity()",
    "Flatten()",
    "Flatten(0, 2)",
    "Unflatten(1, (1, 28, 28))",
    "Conv2d(3, 96, kernel_size=11, stride=4)",
    "Conv2d(1, 30, 5)",
    "Conv2d(96, 256, 5, padding=2, groups=2)",
    "Conv2d(3, 8, (3, 5), stride=(2, 1), padding=(1, 2), dilation=2, bias=False)",
    "Conv2d(4, 4, 3, padding='same')",
    "Conv2d(4, 4, 3, padding='valid')",
    "Conv1d(2, 4, 3)",
    "Conv1d(2, 4, 5, stride=2, padding=1, dilation=2, groups=2, bias=False)",
    "MaxPool2d(3, 2)",
    "MaxPool2d(2)",
    "MaxPool2d((3, 2), stride=(2, 1), padding=1, ceil_mode=True)",
    "MaxPool1d(2)",
    "AvgPool2d(2)",
    "AvgPool2d(3, stride=2, padding=1)",
    "AvgPool1d(3)",
    "AdaptiveAvgPool2d((6, 6))",
    "AdaptiveAvgPool2d(1)",
    "Sigmoid()",
    "Tanh()",
    "ReLU()",
    "ReLU(inplace=True)",
    "LeakyReLU()",
    "LeakyReLU(0.2, inplace=True)",
    "Softplus()",
    "Softplus(beta=2.0, threshold=10.0)",
    "Softmax(dim=1)",
    "Softmax()",
    "LogSoftmax(dim=-1)",
    "GELU()",
    "GELU(approximate='tanh')",
    "ELU()",
    "SiLU()",
    "Dropout()",
    "Dropout(0.2)",
    "Dropout2d(0.1)",
    "BatchNorm1d(100)",
    "BatchNorm2d(64)",
    "BatchNorm2d(8, eps=1e-3, momentum=None, affine=False)",
    "BatchNorm2d(8, track_running_stats=False)",
    "LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)",
    "LocalResponseNorm(3)",
    "LayerNorm(10)",
    "LayerNorm((3, 4), elementwise_affine=False)",
    "MSELoss()",
    "L1Loss()",
    "CrossEntropyLoss()",
    "CrossEntropyLoss(label_smoothing=0.1)",
    "NLLLoss()",
    "BCELoss()",
    "BCEWithLogitsLoss()",
]


@pytest.mark.parametrize("expr", REPR_CASES)
def test_repr_equals_torch(expr):
    s = eval("nn." + expr)
    t = eval("torch.nn." + expr)
    assert repr(s) == repr(t)
    assert [n for n, _ in s.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert list(s.state_dict()) == list(t.state_dict())
    assert [p.shape for p in s.parameters()] == [tuple(p.shape) for p in t.parameters()]


def test_repr_examples_from_the_course():
    assert (
        repr(nn.Conv2d(3, 96, kernel_size=11, stride=4))
        == "Conv2d(3, 96, kernel_size=(11, 11), stride=(4, 4))"
    )
    assert (
        repr(nn.MaxPool2d(3, 2))
        == "MaxPool2d(kernel_size=3, stride=2, padding=0, dilation=1, ceil_mode=False)"
    )


# ---- forward and backward against torch -------------------------------------------------------


@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(bias):
    t = torch.nn.Linear(6, 4, bias=bias)
    s = copy_weights(nn.Linear(6, 4, bias=bias), t)
    run_both(s, t, randn(5, 6))
    t.zero_grad()
    run_both(copy_weights(nn.Linear(6, 4, bias=bias), t), t, randn(2, 3, 6, seed=1))  # any leading dims


CONV2D_CASES = [
    dict(in_channels=3, out_channels=4, kernel_size=3),
    dict(in_channels=3, out_channels=6, kernel_size=(3, 2), stride=2, padding=1),
    dict(in_channels=4, out_channels=6, kernel_size=3, padding=2, dilation=2, groups=2, bias=False),
    dict(in_channels=2, out_channels=2, kernel_size=3, padding="same"),
    dict(in_channels=1, out_channels=5, kernel_size=5, stride=(1, 2), padding=(2, 0)),
]


@pytest.mark.parametrize("kw", CONV2D_CASES)
def test_conv2d_matches_torch(kw):
    t = torch.nn.Conv2d(**kw)
    s = copy_weights(nn.Conv2d(**kw), t)
    run_both(s, t, randn(2, kw["in_channels"], 9, 8))


def test_conv2d_unbatched_input():
    t = torch.nn.Conv2d(3, 4, 3)
    s = copy_weights(nn.Conv2d(3, 4, 3), t)
    x = randn(3, 7, 7)
    assert_close(s(shendu.tensor(x)).detach().numpy(), t(to_torch(x)), RTOL, ATOL)


@pytest.mark.parametrize(
    "kw",
    [
        dict(in_channels=2, out_channels=3, kernel_size=3),
        dict(in_channels=4, out_channels=2, kernel_size=2, stride=2, padding=1, dilation=2, groups=2),
    ],
)
def test_conv1d_matches_torch(kw):
    t = torch.nn.Conv1d(**kw)
    s = copy_weights(nn.Conv1d(**kw), t)
    run_both(s, t, randn(3, kw["in_channels"], 11))


POOL_CASES = [
    ("MaxPool2d(2)", (2, 3, 8, 8)),
    ("MaxPool2d(3, 2)", (2, 3, 9, 9)),
    ("MaxPool2d(3, stride=2, padding=1, ceil_mode=True)", (1, 2, 8, 7)),
    ("AvgPool2d(2)", (2, 3, 8, 8)),
    ("AvgPool2d(3, stride=2, padding=1)", (1, 2, 9, 8)),
    ("AdaptiveAvgPool2d((3, 2))", (2, 2, 7, 9)),
    ("AdaptiveAvgPool2d(1)", (2, 4, 5, 5)),
    ("MaxPool1d(2)", (2, 3, 9)),
    ("AvgPool1d(3, stride=2)", (2, 3, 9)),
]


@pytest.mark.parametrize("expr,shape", POOL_CASES)
def test_pooling_matches_torch(expr, shape):
    run_both(eval("nn." + expr), eval("torch.nn." + expr), randn(*shape))


def test_pooling_unbatched_input():
    x = randn(3, 8, 8)
    assert_close(
        nn.MaxPool2d(2)(shendu.tensor(x)).detach().numpy(), torch.nn.MaxPool2d(2)(to_torch(x)), RTOL, ATOL
    )


ACTIVATIONS = [
    "Sigmoid()",
    "Tanh()",
    "ReLU()",
    "LeakyReLU(0.1)",
    "Softplus()",
    "Softplus(beta=2.0, threshold=5.0)",
    "Softmax(dim=1)",
    "LogSoftmax(dim=1)",
    "GELU()",
    "GELU(approximate='tanh')",
    "ELU()",
    "SiLU()",
    "Identity()",
    "Flatten()",
    "Unflatten(1, (2, 3))",
]


@pytest.mark.parametrize("expr", ACTIVATIONS)
def test_activation_layers_match_torch(expr):
    run_both(eval("nn." + expr), eval("torch.nn." + expr), randn(4, 6) * 3)


def test_step_layer():
    y = nn.Step()(shendu.tensor([-2.0, 0.0, 0.5]))
    assert y.tolist() == [0.0, 0.0, 1.0] and y.dtype == np.float32


def test_layer_norm_and_lrn_match_torch():
    t = torch.nn.LayerNorm(6)
    with torch.no_grad():
        t.weight.uniform_(0.5, 1.5)
        t.bias.uniform_(-1, 1)
    run_both(copy_weights(nn.LayerNorm(6), t), t, randn(4, 6))
    run_both(
        nn.LocalResponseNorm(3, alpha=1e-2, beta=0.75, k=2.0),
        torch.nn.LocalResponseNorm(3, 1e-2, 0.75, 2.0),
        randn(2, 6, 4, 4),
    )


@pytest.mark.parametrize(
    "cls,shape", [("BatchNorm1d", (8, 5)), ("BatchNorm1d", (8, 5, 3)), ("BatchNorm2d", (6, 5, 4, 3))]
)
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_train_then_eval_matches_torch(cls, shape, momentum):
    t = getattr(torch.nn, cls)(5, momentum=momentum)
    with torch.no_grad():
        t.weight.uniform_(0.5, 1.5)
        t.bias.uniform_(-1, 1)
    s = copy_weights(getattr(nn, cls)(5, momentum=momentum), t)
    for step in range(3):
        x = randn(*shape, seed=step) * 2 + 1
        run_both(s, t, x)
        s.zero_grad()
        t.zero_grad()
    for name, buf in t.named_buffers():
        assert_close(s.state_dict()[name].numpy(), buf, 1e-5, 1e-6, name)
    assert int(s.num_batches_tracked.item()) == 3 and s.num_batches_tracked.dtype == np.int64
    s.eval()
    t.eval()
    run_both(s, t, randn(*shape, seed=9))


def test_batchnorm_without_running_stats_or_affine():
    for kw in (dict(track_running_stats=False), dict(affine=False)):
        t = torch.nn.BatchNorm2d(3, **kw)
        s = copy_weights(nn.BatchNorm2d(3, **kw), t)
        run_both(s, t, randn(4, 3, 2, 2))
        s.eval()
        t.eval()
        run_both(s, t, randn(4, 3, 2, 2, seed=1))


def test_batchnorm_normalises_per_channel():
    x = shendu.tensor(randn(16, 3, 5, 5) * np.array([1, 5, 10], np.float32).reshape(1, 3, 1, 1) + 7)
    y = nn.BatchNorm2d(3)(x).detach().numpy()
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, atol=1e-3)


def test_dropout_train_and_eval():
    x = shendu.ones(200, 100)
    drop = nn.Dropout(0.3)
    y = drop(x).detach().numpy()
    assert y.dtype == np.float32
    assert abs((y == 0).mean() - 0.3) < 0.02
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / 0.7], rtol=1e-6)
    drop.eval()
    assert (drop(x).detach().numpy() == 1).all()
    y2 = nn.Dropout2d(0.5)(shendu.ones(50, 40, 3, 3)).detach().numpy()
    per_channel = y2.reshape(50, 40, 9)
    assert (per_channel.min(axis=2) == per_channel.max(axis=2)).all()  # whole channels dropped
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_dropout_is_reproducible_with_manual_seed():
    shendu.manual_seed(5)
    a = nn.Dropout()(shendu.ones(10, 10)).detach().numpy()
    shendu.manual_seed(5)
    b = nn.Dropout()(shendu.ones(10, 10)).detach().numpy()
    assert (a == b).all()


# ---- losses -------------------------------------------------------------------------------


def _loss_pair(name, kw, x, target):
    s = getattr(nn, name)(**kw)
    t = getattr(torch.nn, name)(
        **{k: (to_torch(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    )
    sx, tx = shendu.tensor(x, requires_grad=True), to_torch(x, True)
    sl, tl = s(sx, shendu.tensor(target)), t(tx, to_torch(target))
    assert_close(sl.detach().numpy(), tl, 1e-5, 1e-6, f"{name} value")
    if sl.ndim == 0:
        sl.backward()
        tl.backward()
        assert_close(sx.grad.numpy(), tx.grad, 1e-5, 1e-6, f"{name} grad")


def test_losses_match_torch():
    logits = randn(6, 4)
    labels = np.array([0, 3, 1, 2, 3, 0])
    probs = 1 / (1 + np.exp(-randn(6, 4, seed=2)))
    binary = (randn(6, 4, seed=3) > 0).astype(np.float32)
    w = np.array([1.0, 2.0, 0.5, 1.0], np.float32)
    _loss_pair("MSELoss", {}, logits, randn(6, 4, seed=1))
    _loss_pair("MSELoss", {"reduction": "sum"}, logits, randn(6, 4, seed=1))
    _loss_pair("L1Loss", {}, logits, randn(6, 4, seed=1))
    _loss_pair("CrossEntropyLoss", {}, logits, labels)
    _loss_pair("CrossEntropyLoss", {"weight": w, "label_smoothing": 0.1}, logits, labels)
    _loss_pair("CrossEntropyLoss", {"reduction": "none"}, logits, labels)
    _loss_pair("NLLLoss", {}, np.log(probs / probs.sum(1, keepdims=True)), labels)
    _loss_pair("BCELoss", {}, probs.astype(np.float32), binary)
    _loss_pair("BCEWithLogitsLoss", {"pos_weight": w}, logits, binary)


def test_weighted_loss_keeps_weight_as_buffer():
    loss = nn.CrossEntropyLoss(weight=[1.0, 2.0])
    t = torch.nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0]))
    assert list(loss.state_dict()) == list(t.state_dict()) == ["weight"]
    assert list(loss.parameters()) == []
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")


# ---- input checks --------------------------------------------------------------------------


def test_conv2d_wrong_channels_message():
    conv = nn.Conv2d(3, 96, kernel_size=11, stride=4)
    with pytest.raises(ValueError) as e:
        conv(shendu.zeros(8, 1, 28, 28))
    assert (
        str(e.value)
        == "Conv2d(3, 96, kernel_size=(11, 11), stride=(4, 4)) expects input (N, 3, H, W), got (8, 1, 28, 28)"
    )
    with pytest.raises(ValueError, match=r"expects input \(N, 3, H, W\), got \(28, 28\)"):
        conv(shendu.zeros(28, 28))
    with pytest.raises(ValueError, match=r"Conv1d\(2, 4, .*expects input \(N, 2, L\), got \(5, 3, 10\)"):
        nn.Conv1d(2, 4, 3)(shendu.zeros(5, 3, 10))


def test_conv2d_kernel_larger_than_input_is_an_error():
    with pytest.raises(ValueError):
        nn.Conv2d(1, 1, 5)(shendu.zeros(1, 1, 3, 3))


def test_linear_wrong_features_message():
    fc = nn.Linear(784, 10)
    with pytest.raises(ValueError) as e:
        fc(shendu.zeros(64, 1, 28, 28))
    assert (
        str(e.value)
        == "Linear(in_features=784, out_features=10, bias=True) expects input (..., 784), got (64, 1, 28, 28)"
    )


def test_batchnorm_wrong_channels_message():
    with pytest.raises(
        ValueError, match=r"BatchNorm2d\(64, .*\) expects input \(N, 64, H, W\), got \(8, 32, 5, 5\)"
    ):
        nn.BatchNorm2d(64)(shendu.zeros(8, 32, 5, 5))
    with pytest.raises(ValueError, match=r"expects input \(N, 64, H, W\), got \(8, 64\)"):
        nn.BatchNorm2d(64)(shendu.zeros(8, 64))
    with pytest.raises(ValueError, match=r"expects input \(N, 3\) or \(N, 3, L\), got \(8, 4\)"):
        nn.BatchNorm1d(3)(shendu.zeros(8, 4))


def test_pooling_wrong_rank_message():
    with pytest.raises(
        ValueError, match=r"MaxPool2d\(.*\) expects input \(N, C, H, W\) or \(C, H, W\), got \(4, 5\)"
    ):
        nn.MaxPool2d(2)(shendu.zeros(4, 5))


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: nn.Conv2d(3, 8, 0), "kernel_size"),
        (lambda: nn.Conv2d(3, 8, 3, stride=0), "stride"),
        (lambda: nn.Conv2d(3, 8, 3, padding=-1), "padding"),
        (lambda: nn.Conv2d(3, 8, 3, dilation=0), "dilation"),
        (lambda: nn.Conv2d(3, 8, 3, groups=2), "in_channels .3. must be divisible by groups .2."),
        (lambda: nn.Conv2d(4, 6, 3, groups=4), "out_channels .6. must be divisible by groups .4."),
        (lambda: nn.Conv2d(0, 8, 3), "in_channels"),
        (lambda: nn.Conv2d(3, 8, 3, stride=2, padding="same"), "strided"),
        (lambda: nn.Conv1d(3, 8, -1), "kernel_size"),
        (lambda: nn.MaxPool2d(0), "kernel_size"),
        (lambda: nn.MaxPool2d(2, stride=0), "stride"),
        (lambda: nn.MaxPool2d(2, padding=-1), "padding"),
        (lambda: nn.MaxPool2d(2, padding=2), "at most half"),
        (lambda: nn.AvgPool2d(3, padding=2), "at most half"),
        (lambda: nn.AdaptiveAvgPool2d(0), "output_size"),
        (lambda: nn.Linear(0, 3), "positive"),
        (lambda: nn.Linear(784 / 2, 10), r"positive integers, got in_features=392\.0"),  # n / 2 is a float
        (lambda: nn.Linear(4, 2.0), "out_features=2.0"),
        (lambda: nn.LayerNorm(2.5), "normalized_shape.*2.5"),
        (lambda: nn.BatchNorm2d(0), "num_features"),
        (lambda: nn.LocalResponseNorm(0), "size"),
    ],
)
def test_construction_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# ---- default initialisation ------------------------------------------------------------------


def test_default_init_bounds_and_dtype():
    fc = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    for p in (fc.weight, fc.bias):
        assert p.dtype == np.float32 and np.abs(p.detach().numpy()).max() <= bound
    # U(-b, b) has std b/√3
    assert abs(fc.weight.detach().numpy().std() - bound / math.sqrt(3)) < 0.02 * bound
    conv = nn.Conv2d(16, 32, 5, groups=2)
    fan_in = 8 * 25
    assert np.abs(conv.weight.detach().numpy()).max() <= 1 / math.sqrt(fan_in)
    assert abs(conv.weight.detach().numpy().std() - 1 / math.sqrt(3 * fan_in)) < 0.05 / math.sqrt(3 * fan_in)
    assert np.abs(conv.bias.detach().numpy()).max() <= 1 / math.sqrt(fan_in)
    bn = nn.BatchNorm2d(7)
    assert (bn.weight.detach().numpy() == 1).all() and (bn.bias.detach().numpy() == 0).all()
    assert all(p.dtype == np.float32 for m in (fc, conv, bn) for p in m.parameters())
    assert bn.running_mean.dtype == np.float32 and bn.num_batches_tracked.dtype == np.int64


def test_default_init_reproducible_with_manual_seed():
    shendu.manual_seed(42)
    a = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Linear(8, 2)).state_dict()
    shendu.manual_seed(42)
    b = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Linear(8, 2)).state_dict()
    c = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Linear(8, 2)).state_dict()
    assert all((a[k].numpy() == b[k].numpy()).all() for k in a)
    assert not (a["0.weight"].numpy() == c["0.weight"].numpy()).all()


def test_float32_end_to_end():
    net = nn.Sequential(
        nn.Conv2d(1, 4, 3),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.2),
        nn.Linear(36, 10),
    )
    x = shendu.tensor(randn(4, 1, 8, 8))
    loss = nn.CrossEntropyLoss()(net(x), shendu.tensor([1, 2, 3, 4]))
    assert loss.dtype == np.float32
    loss.backward()
    assert all(p.grad.dtype == np.float32 for p in net.parameters())


def test_linear_accepts_array_like_input():
    fc = nn.Linear(3, 2)
    out = fc([[1.0, 2.0, 3.0]])
    np.testing.assert_allclose(out.numpy(), fc(shendu.tensor([[1.0, 2.0, 3.0]])).numpy())
