"""Tensor construction, dtypes, factories, randomness and conversions."""

import subprocess
import sys

import numpy as np
import pytest
import torch

import shendu


@pytest.mark.parametrize("data", [1.5, [1.0, 2.0], [[1, 2.5]], np.float64(2.0).item()])
def test_python_floats_become_float32_like_torch(data):
    assert shendu.tensor(data).dtype == np.float32
    assert str(torch.tensor(data).dtype) == "torch.float32"


def test_dtype_rules_match_torch():
    cases = [[1, 2], True, np.zeros(3), np.zeros(3, np.float32), np.arange(3, dtype=np.int32)]
    for data in cases:
        s, t = shendu.tensor(data), torch.tensor(data)
        assert s.dtype == np.dtype(str(t.dtype).replace("torch.", "")), data
    assert shendu.tensor([1, 2], dtype=shendu.float64).dtype == np.float64


def test_tensor_copies_but_from_numpy_shares():
    a = np.zeros(3, np.float32)
    t, f = shendu.tensor(a), shendu.from_numpy(a)
    a[0] = 5
    assert t[0] == 0 and f[0] == 5


def test_factories_shapes_and_dtypes():
    assert shendu.zeros(2, 3).shape == (2, 3) and shendu.zeros((2, 3)).dtype == np.float32
    assert shendu.ones(4).numpy().sum() == 4
    assert shendu.full((2, 2), 7.0).dtype == np.float32 and shendu.full((2,), 7).dtype == np.int64
    assert shendu.arange(5).dtype == np.int64 and shendu.arange(0, 1, 0.25).tolist() == [0, 0.25, 0.5, 0.75]
    assert shendu.eye(3).numpy().trace() == 3
    assert shendu.rand(100).numpy().min() >= 0 and shendu.rand(100).numpy().max() < 1
    assert shendu.randn(2, 3).dtype == np.float32
    z = shendu.randn(2, 3)
    assert shendu.zeros_like(z).shape == (2, 3) and shendu.ones_like(z).numpy().sum() == 6
    assert sorted(shendu.randperm(5).tolist()) == [0, 1, 2, 3, 4]


def test_manual_seed_reproduces_every_draw():
    def draws():
        shendu.manual_seed(42)
        return np.concatenate(
            [shendu.rand(3).numpy(), shendu.randn(3).numpy(), shendu.randint(0, 9, (3,)).numpy()]
        )

    np.testing.assert_array_equal(draws(), draws())
    shendu.manual_seed(43)
    assert not np.array_equal(draws()[:3], shendu.rand(3).numpy())


def test_rng_state_round_trip():
    shendu.manual_seed(1)
    state = shendu.get_rng_state()
    a = shendu.randn(4).numpy()
    shendu.set_rng_state(state)
    np.testing.assert_array_equal(a, shendu.randn(4).numpy())


def test_attributes_and_conversions():
    x = shendu.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    assert x.shape == (1, 3) and x.ndim == 2 and x.T.shape == (3, 1)
    assert x.size() == (1, 3) and x.size(1) == 3 and x.numel() == 3
    assert isinstance(x.numpy(), np.ndarray)
    assert shendu.tensor(2.5).item() == 2.5
    with pytest.raises(ValueError, match=r"one-element.*\(1, 3\)"):
        x.item()
    d = x.detach()
    assert not d.requires_grad and np.shares_memory(d.numpy(), x.numpy())
    assert x.double().dtype == np.float64 and x.long().dtype == np.int64


def test_cast_is_differentiable():
    x = shendu.tensor([1.0, 2.0], requires_grad=True)
    x.double().sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [1.0, 1.0]


def test_scalar_operands_keep_tensor_dtype_and_int_promotion_as_torch():
    x = shendu.ones(2)
    assert (x * 2.5).dtype == np.float32 and (2.5 - x).dtype == np.float32
    i = shendu.tensor([1, 2])
    assert (i * 2).dtype == np.int64 and (i * 2.5).dtype == np.float32 and (i / 2).dtype == np.float32
    assert (i + shendu.ones(2)).dtype == np.float32
    assert (x + shendu.tensor(np.ones(2))).dtype == np.float64


def test_repr_is_like_torch():
    assert repr(shendu.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(shendu.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    assert "grad_fn=<MulBackward>" in repr(shendu.tensor([1.0], requires_grad=True) * 2)
    assert "dtype=shendu.float64" in repr(shendu.tensor(np.zeros(1)))


def test_comparisons_give_bool_tensors_without_grad():
    x = shendu.tensor([1.0, -1.0], requires_grad=True)
    m = x > 0
    assert m.dtype == np.bool_ and not m.requires_grad and m.tolist() == [True, False]


def test_setitem_rules():
    x = shendu.zeros(3)
    x[1] = 5.0
    assert x.tolist() == [0, 5, 0]
    w = shendu.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        w[0] = 1.0
    with shendu.no_grad():
        w[0] = 1.0
    assert w.tolist()[0] == 1.0


def test_import_shendu_does_not_import_torch():
    code = "import sys, shendu, shendu.autograd, shendu.lessons; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
