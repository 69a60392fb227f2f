"""The fast library computes what the book-style reference computes, and both give the notes' numbers.

Torch-free on purpose: a student runs ``pytest tests/course`` with NumPy, SciPy and shendu only.
"""

from __future__ import annotations

import numpy as np
import pytest

import shendu
import shendu.nn.functional as F
from shendu import optim
from shendu.reference import conv, engine, layers
from shendu.reference import optim as ref_optim


def leaf(a):
    return shendu.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def grad(t):
    assert t.grad is not None
    return t.grad.numpy()


# ---- 反向传播: the apples -------------------------------------------------------------------------


def apples_by_layers(price=100.0, count=2.0, tax=1.1):
    mul_apple, mul_tax = layers.MulLayer(), layers.MulLayer()
    total = mul_apple.forward(price, count)
    pay = mul_tax.forward(total, tax)
    d_total, d_tax = mul_tax.backward(1.0)
    d_price, d_count = mul_apple.backward(d_total)
    return pay, d_price, d_count, d_tax


def test_apples_by_layers_engine_and_autograd_agree_with_the_notes():
    pay, d_price, d_count, d_tax = apples_by_layers(10.0, 2.0, 1.1)
    assert (pay, d_price, d_count, d_tax) == pytest.approx((22.0, 2.2, 11.0, 20.0))
    p, n, t = engine.Value(10.0), engine.Value(2.0), engine.Value(1.1)
    out = p * n * t
    out.backward()
    assert (out.data, p.grad, n.grad, t.grad) == pytest.approx((22.0, 2.2, 11.0, 20.0))
    ps, ns, ts = leaf(10.0), leaf(2.0), leaf(1.1)
    (ps * ns * ts).backward()
    assert (grad(ps), grad(ns), grad(ts)) == pytest.approx((d_price, d_count, d_tax), abs=1e-12)


def test_apples_and_oranges_every_node():
    ma, mo, add, mt = layers.MulLayer(), layers.MulLayer(), layers.AddLayer(), layers.MulLayer()
    apple, orange = ma.forward(10.0, 2.0), mo.forward(15.0, 3.0)
    subtotal = add.forward(apple, orange)
    pay = mt.forward(subtotal, 1.1)
    d_sub, d_tax = mt.backward(1.0)
    d_apple, d_orange = add.backward(d_sub)
    d_ap, d_an = ma.backward(d_apple)
    d_op, d_on = mo.backward(d_orange)
    assert pay == pytest.approx(71.5) and d_tax == pytest.approx(65.0)
    assert (d_ap, d_an, d_op, d_on) == pytest.approx((2.2, 11.0, 3.3, 16.5))
    assert d_apple == d_orange == d_sub == pytest.approx(1.1)  # 加法节点 passes the gradient on unchanged
    vals = [engine.Value(v) for v in (10.0, 2.0, 15.0, 3.0, 1.1)]
    out = (vals[0] * vals[1] + vals[2] * vals[3]) * vals[4]
    out.backward()
    assert [v.grad for v in vals] == pytest.approx([2.2, 11.0, 3.3, 16.5, 65.0])


def test_engine_chain_rule_and_reused_node():
    x, y = engine.Value(3.0), engine.Value(2.0)
    z = (x + y) ** 2
    z.backward()
    assert z.data == 25 and x.grad == y.grad == 10  # dz/dx = 2(x + y)
    a = engine.Value(3.0)
    b = a * a  # a used twice: both contributions add up
    c = b + a
    c.backward()
    assert a.grad == pytest.approx(2 * 3.0 + 1)


def test_engine_handles_a_long_chain_without_recursion():
    x = engine.Value(1.0)
    y = x
    for _ in range(5000):
        y = y * 1.0
    y.backward()
    assert x.grad == 1.0


# ---- activations, Affine, SoftmaxWithLoss ---------------------------------------------------------


def test_relu_sigmoid_affine_equal_the_library(rng):
    x = rng.normal(size=(4, 5))
    dout = rng.normal(size=(4, 5))
    for ref, fn in ((layers.Relu(), F.relu), (layers.Sigmoid(), F.sigmoid)):
        keep = dout.copy()
        xt = leaf(x)
        y = fn(xt)
        np.testing.assert_allclose(ref.forward(x), y.numpy(), rtol=1e-12)
        y.backward(shendu.tensor(dout))
        np.testing.assert_allclose(ref.backward(dout), grad(xt), rtol=1e-12)
        np.testing.assert_array_equal(dout, keep)  # backward leaves dout alone
    W, b = rng.normal(size=(5, 3)), rng.normal(size=3)
    aff = layers.Affine(W, b)
    xt, Wt, bt = leaf(x), leaf(W.T), leaf(b)  # F.linear keeps W as (out, in), PyTorch's layout
    y = F.linear(xt, Wt, bt)
    np.testing.assert_allclose(aff.forward(x), y.numpy(), rtol=1e-12)
    g = rng.normal(size=(4, 3))
    y.backward(shendu.tensor(g))
    np.testing.assert_allclose(aff.backward(g), grad(xt), rtol=1e-12)
    np.testing.assert_allclose(aff.dW, grad(Wt).T, rtol=1e-12)
    np.testing.assert_allclose(aff.db, grad(bt), rtol=1e-12)


def test_softmax_with_loss_is_y_minus_t_over_n_and_equals_cross_entropy(rng):
    x = rng.normal(size=(6, 10)) * 3
    labels = rng.integers(0, 10, 6)
    t = np.eye(10)[labels]
    ref = layers.SoftmaxWithLoss()
    loss = ref.forward(x, t)
    dx = ref.backward()
    np.testing.assert_allclose(dx, (layers.softmax(x) - t) / 6, rtol=1e-12)
    xt = leaf(x)
    out = F.cross_entropy(xt, shendu.tensor(labels))
    out.backward()
    exact = -np.mean(np.log(layers.softmax(x)[np.arange(6), labels]))
    assert out.item() == pytest.approx(exact, rel=1e-12)
    assert loss == pytest.approx(exact, rel=1e-4)  # the book adds δ = 1e-7 inside its log
    np.testing.assert_allclose(grad(xt), dx, atol=1e-12)
    ref2 = layers.SoftmaxWithLoss()  # class indices work the same
    assert ref2.forward(x, labels) == pytest.approx(loss)
    np.testing.assert_allclose(ref2.backward(), dx, atol=1e-12)


def test_cross_entropy_of_the_notes_example():
    t = np.eye(10)[2]
    right = np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])
    wrong = np.array([0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0])
    assert layers.cross_entropy_error(right, t) == pytest.approx(0.510825, abs=1e-6)
    assert layers.cross_entropy_error(wrong, t) == pytest.approx(2.302584, abs=1e-6)
    assert 0.5 * np.sum((right - t) ** 2) == pytest.approx(0.0975)
    assert F.mse_loss(shendu.tensor(right), shendu.tensor(t)).item() == pytest.approx(
        np.mean((right - t) ** 2)
    )


# ---- 卷积层 and 池化层 ---------------------------------------------------------------------------------


def test_im2col_layout_of_the_book():
    x = np.arange(2 * 3 * 7 * 7, dtype=float).reshape(2, 3, 7, 7)
    col = conv.im2col(x, 5, 5, stride=1, pad=0)
    assert col.shape == (2 * 3 * 3, 3 * 5 * 5)  # (N·OH·OW, C·FH·FW), the book's (9, 75) per image
    np.testing.assert_array_equal(col[0], x[0, :, 0:5, 0:5].ravel())
    np.testing.assert_array_equal(col[4], x[0, :, 1:6, 1:6].ravel())
    np.testing.assert_array_equal(col[9], x[1, :, 0:5, 0:5].ravel())


def test_col2im_is_the_adjoint_of_im2col(rng):
    x = rng.normal(size=(2, 3, 6, 5))
    c = rng.normal(size=conv.im2col(x, 3, 2, 2, 1).shape)
    lhs = np.sum(conv.im2col(x, 3, 2, 2, 1) * c)
    rhs = np.sum(x * conv.col2im(c, x.shape, 3, 2, 2, 1))
    assert lhs == pytest.approx(rhs)


@pytest.mark.parametrize("stride,pad", [(1, 0), (2, 1), (3, 2)])
def test_convolution_equals_f_conv2d(rng, stride, pad):
    x, W, b = rng.normal(size=(2, 3, 9, 8)), rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4)
    ref = conv.Convolution(W, b, stride, pad)
    y = ref.forward(x)
    xt, Wt, bt = leaf(x), leaf(W), leaf(b)
    yt = F.conv2d(xt, Wt, bt, stride=stride, padding=pad)
    np.testing.assert_allclose(y, yt.numpy(), rtol=1e-10, atol=1e-12)
    g = rng.normal(size=y.shape)
    dx = ref.backward(g)
    yt.backward(shendu.tensor(g))
    np.testing.assert_allclose(dx, grad(xt), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ref.dW, grad(Wt), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ref.db, grad(bt), rtol=1e-10, atol=1e-12)


def test_the_notes_convolution_example_and_output_size():
    x = np.array([[1, 2, 3, 0], [0, 1, 2, 3], [3, 0, 1, 2], [2, 3, 0, 1]], dtype=float)[None, None]
    w = np.array([[2, 0, 1], [0, 1, 2], [1, 0, 2]], dtype=float)[None, None]
    assert conv.Convolution(w, np.zeros(1)).forward(x)[0, 0].tolist() == [[15, 16], [6, 15]]
    assert conv.Convolution(w, np.array([3.0])).forward(x)[0, 0].tolist() == [[18, 19], [9, 18]]
    padded = conv.Convolution(w, np.zeros(1), pad=1).forward(x)[0, 0]
    assert padded.shape == (4, 4) and padded[1:3, 1:3].tolist() == [[15, 16], [6, 15]]
    sizes = (conv.output_size(28, 5, 3, 2), conv.output_size(31, 5, 3, 2))
    assert sizes == (10, 11) == tuple(F.conv_output_size((28, 31), 5, 3, 2))


@pytest.mark.parametrize("k,s,p", [(2, 2, 0), (3, 2, 1), (3, 3, 0)])
def test_pooling_equals_f_max_pool2d(rng, k, s, p):
    x = rng.normal(size=(2, 3, 7, 7))
    ref = conv.Pooling(k, k, s, p)
    y = ref.forward(x) if p == 0 else None
    if p:  # the book pads with 0; PyTorch pads max pooling with −∞: compare on a positive input
        x = np.abs(x) + 0.1
        y = ref.forward(x)
    xt = leaf(x)
    yt = F.max_pool2d(xt, k, s, p)
    np.testing.assert_allclose(y, yt.numpy())
    g = rng.normal(size=y.shape)
    yt.backward(shendu.tensor(g))
    np.testing.assert_allclose(ref.backward(g), grad(xt), atol=1e-12)


def test_the_notes_pooling_example():
    x = np.array([[1, 2, 1, 0], [0, 1, 2, 3], [3, 0, 1, 2], [2, 4, 0, 1]], dtype=float)[None, None]
    assert conv.Pooling(2, 2, 2).forward(x)[0, 0].tolist() == [[2, 3], [4, 2]]
    assert F.avg_pool2d(shendu.tensor(x), 2).numpy()[0, 0].tolist() == [[1, 1.5], [2.25, 1]]


# ---- optimisers: the course's form against the library's ---------------------------------------------


def quadratic_grad(w):
    """∂L/∂W of L = ½ Σ a·W² + Σ b·W, a fixed bumpy bowl."""
    a, b = np.array([1.0, 10.0, 0.3]), np.array([0.5, -1.0, 2.0])
    return a * w + b


@pytest.mark.parametrize(
    "ref,lib",
    [
        (lambda: ref_optim.SGD(lr=0.05), lambda p: optim.SGD(p, lr=0.05)),
        (lambda: ref_optim.Momentum(lr=0.05, momentum=0.9), lambda p: optim.SGD(p, lr=0.05, momentum=0.9)),
        (lambda: ref_optim.Adam(lr=0.1), lambda p: optim.Adam(p, lr=0.1)),
    ],
    ids=["sgd", "momentum", "adam"],
)
def test_optimisers_follow_the_same_path(ref, lib):
    start = np.array([1.0, -2.0, 3.0])
    params = {"W": start.copy()}
    r = ref()
    w = shendu.tensor(start.copy(), requires_grad=True)
    o = lib([w])
    for _ in range(30):
        r.update(params, {"W": quadratic_grad(params["W"])})
        w.grad = shendu.tensor(quadratic_grad(w.detach().numpy()))
        o.step()
        np.testing.assert_allclose(params["W"], w.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_fast_ops_point_to_their_reference_twin_in_the_notes_terms():
    from shendu.nn.functional.conv import Conv2d
    from shendu.nn.functional.loss import CrossEntropyIndex
    from shendu.nn.functional.pooling import MaxPool2d
    from shendu.ops.arithmetic import Add, Mul

    twins = {
        Mul: ("layers.MulLayer", "乘法节点"),
        Add: ("layers.AddLayer", "加法节点"),
        Conv2d: ("conv.Convolution", "FN"),
        MaxPool2d: ("conv.Pooling", "最大池化"),
        CrossEntropyIndex: ("layers.SoftmaxWithLoss", "E = −Σₖ tₖ log yₖ"),
        optim.SGD: ("optim.SGD", "动量"),
        optim.Adam: ("optim.Adam", "偏差修正"),
        F.mse_loss: ("mse_loss", "MSE = (1/n)Σ"),
    }
    for fast, (twin, term) in twins.items():
        doc = fast.__doc__ or ""
        assert term in doc, (fast, term)
        if twin != "mse_loss":
            assert f"shendu.reference.{twin}" in doc, (fast, twin)
