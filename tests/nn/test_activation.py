"""Activations of shendu.nn.functional against torch.nn.functional: values, gradients, stability."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import shendu
import shendu.nn.functional as F
from shendu.autograd import gradcheck
from tests.helpers import assert_close, check_op, to_torch

shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
seeds = st.integers(0, 2**16)

# (name, shendu function, torch function); kinks (relu at 0) are avoided by drawing from a
# continuous distribution.
ELEMENTWISE = [
    ("sigmoid", F.sigmoid, torch.sigmoid),
    ("tanh", F.tanh, torch.tanh),
    ("relu", F.relu, TF.relu),
    ("leaky_relu", F.leaky_relu, TF.leaky_relu),
    (
        "leaky_relu_0.2",
        lambda x: F.leaky_relu(x, negative_slope=0.2),
        lambda x: TF.leaky_relu(x, negative_slope=0.2),
    ),
    ("softplus", F.softplus, TF.softplus),
    (
        "softplus_beta",
        lambda x: F.softplus(x, beta=2.0, threshold=3.0),
        lambda x: TF.softplus(x, beta=2.0, threshold=3.0),
    ),
    ("elu", F.elu, TF.elu),
    ("elu_alpha", lambda x: F.elu(x, alpha=0.5), lambda x: TF.elu(x, alpha=0.5)),
    ("silu", F.silu, TF.silu),
    ("gelu", F.gelu, TF.gelu),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), lambda x: TF.gelu(x, approximate="tanh")),
    ("identity", F.identity, lambda x: x * 1),
    ("step", F.step, lambda x: (x > 0).to(x.dtype) + 0 * x),
]
IDS = [e[0] for e in ELEMENTWISE]


def _draw(shape, seed, dtype=np.float64, scale=2.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


@pytest.mark.parametrize("name,fn,tfn", ELEMENTWISE, ids=IDS)
@given(shape=shapes, seed=seeds)
def test_elementwise_matches_torch_float64(name, fn, tfn, shape, seed):
    check_op(fn, tfn, [_draw(shape, seed)])


@pytest.mark.parametrize("name,fn,tfn", ELEMENTWISE, ids=IDS)
@given(shape=shapes, seed=seeds)
def test_elementwise_matches_torch_float32(name, fn, tfn, shape, seed):
    check_op(fn, tfn, [_draw(shape, seed, np.float32)], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("which", ["softmax", "log_softmax"])
@given(shape=shapes, seed=seeds, data=st.data())
def test_softmax_matches_torch(which, shape, seed, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1), label="dim")
    fn, tfn = getattr(F, which), getattr(TF, which)
    x = _draw(shape, seed, scale=3.0)
    check_op(lambda t: fn(t, dim=dim), lambda t: tfn(t, dim=dim), [x])
    check_op(lambda t: fn(t, dim), lambda t: tfn(t, dim), [x.astype(np.float32)], rtol=1e-4, atol=1e-6)


def test_step_is_the_perceptron_threshold_with_zero_gradient():
    x = shendu.tensor([-2.0, 0.0, 1e-3, 5.0], requires_grad=True)
    y = F.step(x)
    assert y.tolist() == [0.0, 0.0, 1.0, 1.0]
    y.backward(np.ones(4, dtype=np.float32))
    assert x.grad.tolist() == [0.0, 0.0, 0.0, 0.0]


def test_softplus_derivative_is_sigmoid():
    x = shendu.tensor(np.linspace(-8, 8, 33), requires_grad=True)
    F.softplus(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), F.sigmoid(x.detach()).numpy(), rtol=1e-12)


EXTREME = np.array([[-1000.0, -100.0, -20.5, 0.0, 20.5, 100.0, 1000.0]], dtype=np.float32)
STABLE = [
    ("sigmoid", F.sigmoid, torch.sigmoid),
    ("softplus", F.softplus, TF.softplus),
    ("softplus_beta", lambda x: F.softplus(x, beta=0.5), lambda x: TF.softplus(x, beta=0.5)),
    ("softmax", lambda x: F.softmax(x, dim=1), lambda x: TF.softmax(x, dim=1)),
    ("log_softmax", lambda x: F.log_softmax(x, dim=1), lambda x: TF.log_softmax(x, dim=1)),
    ("tanh", F.tanh, torch.tanh),
    ("silu", F.silu, TF.silu),
    ("elu", F.elu, TF.elu),
    ("gelu", F.gelu, TF.gelu),
]


@pytest.mark.parametrize("name,fn,tfn", STABLE, ids=[s[0] for s in STABLE])
def test_stable_at_plus_minus_1000_float32(name, fn, tfn):
    x = shendu.tensor(EXTREME, requires_grad=True)
    y = fn(x)
    gy = np.linspace(-1, 1, EXTREME.size, dtype=np.float32).reshape(EXTREME.shape)
    y.backward(gy)
    tx = to_torch(EXTREME, requires_grad=True)
    ty = tfn(tx)
    ty.backward(to_torch(gy))
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    assert np.isfinite(y.numpy()).all() and np.isfinite(x.grad.numpy()).all()
    assert_close(y.numpy(), ty, rtol=1e-5, atol=1e-6, what="forward")
    assert_close(x.grad.numpy(), tx.grad, rtol=1e-5, atol=1e-6, what="grad")


def test_stable_values_by_hand():
    x = shendu.tensor([[-1000.0, 1000.0]])
    assert F.sigmoid(x).tolist() == [[0.0, 1.0]]
    assert F.softplus(x).tolist() == [[0.0, 1000.0]]
    assert F.softmax(x, dim=1).tolist() == [[0.0, 1.0]]
    assert F.log_softmax(x, dim=1).tolist() == [[-2000.0, 0.0]]


def test_backward_does_not_modify_upstream_gradient():
    # A node feeding two consumers: relu's backward must not mask gy in place.
    xs = np.array([-1.0, 2.0, -3.0, 4.0])
    x = shendu.tensor(xs, requires_grad=True)
    h = x * 2
    (F.relu(h) + F.sigmoid(h) + F.tanh(h)).sum().backward()
    tx = to_torch(xs, True)
    th = tx * 2
    (TF.relu(th) + torch.sigmoid(th) + torch.tanh(th)).sum().backward()
    assert_close(x.grad.numpy(), tx.grad, what="grad")


def test_softmax_implicit_dim_warns_and_follows_torch():
    x = _draw((2, 3), 0)
    with pytest.warns(UserWarning, match="dim=X"):
        y = F.softmax(shendu.tensor(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ty = TF.softmax(to_torch(x))
    assert_close(y.numpy(), ty)


def test_softmax_bad_dim():
    with pytest.raises(IndexError, match=r"dim 2 .*\(2, 3\)"):
        F.softmax(shendu.zeros(2, 3), dim=2)


def test_integer_input_computes_in_float32():
    y = F.sigmoid(shendu.tensor([0, 1]))
    assert y.dtype == np.float32
    assert F.relu(shendu.tensor([-1, 2])).tolist() == [0, 2]


def test_gradcheck_softmax_with_repeated_use():
    x = shendu.tensor(_draw((3, 4), 5), requires_grad=True)
    gradcheck(lambda t: F.softmax(t, dim=0) * F.log_softmax(t, dim=1), x)


def test_gelu_bad_approximate():
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(shendu.zeros(2), approximate="fast")


def test_tensor_methods_call_the_functional_ops():
    x = _draw((2, 3), 9)
    t = shendu.tensor(x)
    tt = to_torch(x)
    assert_close(t.relu().numpy(), tt.relu())
    assert_close(t.sigmoid().numpy(), tt.sigmoid())
    assert_close(t.tanh().numpy(), tt.tanh())
    assert_close(t.softmax(1).numpy(), tt.softmax(1))
    assert_close(t.log_softmax(dim=0).numpy(), tt.log_softmax(dim=0))
