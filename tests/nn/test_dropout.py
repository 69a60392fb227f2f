"""Inverted dropout: scaling, masks, gradient, modes, reproducibility, errors."""

import numpy as np
import pytest

import shendu
import shendu.nn.functional as F


def test_kept_elements_are_scaled_and_fraction_matches_p():
    shendu.manual_seed(0)
    p = 0.3
    y = F.dropout(shendu.ones(200_000), p=p).numpy()
    assert y.dtype == np.float32
    values = np.unique(y)
    np.testing.assert_allclose(values, [0.0, 1 / (1 - p)], rtol=1e-6)
    assert abs((y == 0).mean() - p) < 0.005
    assert abs(y.mean() - 1.0) < 0.01  # the expectation is unchanged


def test_gradient_is_the_mask():
    shendu.manual_seed(1)
    x = shendu.randn(50, 20, requires_grad=True)
    y = F.dropout(x, p=0.5)
    y.sum().backward()
    mask = y.detach().numpy() / x.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), mask, rtol=1e-5)
    assert x.grad.dtype == np.float32
    assert set(np.unique(x.grad.numpy())) <= {0.0, 2.0}


def test_eval_mode_and_p_zero_are_identity():
    x = shendu.randn(3, 4)
    assert F.dropout(x, p=0.5, training=False) is x
    assert F.dropout(x, p=0.0) is x


def test_p_one_drops_everything():
    x = shendu.randn(3, 4, requires_grad=True)
    y = F.dropout(x, p=1.0)
    assert (y.numpy() == 0).all()
    y.sum().backward()
    assert (x.grad.numpy() == 0).all()


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_p_outside_unit_interval_is_an_error(p):
    with pytest.raises(ValueError, match=f"between 0 and 1, but got {p}"):
        F.dropout(shendu.ones(2), p=p)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout2d(shendu.ones(1, 2, 2, 2), p=p)


def test_mask_comes_from_the_library_generator():
    shendu.manual_seed(7)
    a = F.dropout(shendu.ones(100), p=0.5).numpy()
    shendu.manual_seed(7)
    b = F.dropout(shendu.ones(100), p=0.5).numpy()
    c = F.dropout(shendu.ones(100), p=0.5).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)


def test_float64_input_keeps_float64():
    y = F.dropout(shendu.tensor(np.ones(10)), p=0.5)
    assert y.dtype == np.float64


def test_dropout2d_zeroes_whole_channels():
    shendu.manual_seed(3)
    x = shendu.ones(8, 16, 3, 3)
    y = F.dropout2d(x, p=0.5).numpy()
    per_channel = y.reshape(8, 16, 9)
    # every channel is all zeros or all 2
    assert ((per_channel == 0).all(axis=2) | (per_channel == 2).all(axis=2)).all()
    assert 0 < (per_channel[:, :, 0] == 0).mean() < 1
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        F.dropout2d(shendu.ones(2, 3), p=0.5)
