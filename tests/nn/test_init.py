"""shendu.nn.init: formulas, statistics against torch.nn.init on large tensors, in-place and dtype rules."""

import math

import numpy as np
import pytest
import torch

import shendu
from shendu.nn import init
from torch.nn.init import _calculate_fan_in_and_fan_out as torch_fans

SHAPES = [(300, 400), (64, 32, 3, 3), (500, 20)]


@pytest.mark.parametrize(
    "nonlinearity,param",
    [
        ("linear", None),
        ("conv2d", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("leaky_relu", math.sqrt(5)),
        ("selu", None),
    ],
)
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param)
    )


def test_calculate_gain_rejects_unknown():
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swishy")


@pytest.mark.parametrize("shape", SHAPES + [(7, 3, 5)])
def test_fans_match_torch(shape):
    assert init._calculate_fan_in_and_fan_out(shendu.zeros(*shape)) == torch_fans(torch.zeros(shape))


def test_fans_need_two_dims():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(shendu.zeros(5))


def _stats_like_torch(shendu_fn, torch_fn, shape, **kw):
    """shendu's fill and torch's fill of the same shape have the same mean, std and range."""
    s = shendu.zeros(*shape)
    out = shendu_fn(s, **kw)
    assert out is s and s.dtype == np.float32
    torch.manual_seed(0)
    t = torch_fn(torch.empty(shape), **kw).numpy()
    a = s.detach().numpy()
    tol = 5 * t.std() / math.sqrt(a.size)  # five standard errors of the mean
    assert abs(a.mean() - t.mean()) < 2 * tol
    assert abs(a.std() - t.std()) < 0.03 * t.std()
    return a, t


@pytest.mark.parametrize("shape", SHAPES)
def test_xavier_and_kaiming_statistics_match_torch(shape):
    for name, kw in [
        ("xavier_uniform_", {}),
        ("xavier_uniform_", {"gain": 2.0}),
        ("xavier_normal_", {}),
        ("kaiming_uniform_", {}),
        ("kaiming_uniform_", {"a": math.sqrt(5)}),
        ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}),
        ("kaiming_normal_", {}),
        ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "relu"}),
    ]:
        a, t = _stats_like_torch(getattr(init, name), getattr(torch.nn.init, name), shape, **kw)
        if "uniform" in name:  # same bound: both ranges nearly fill [-bound, bound]
            bound = np.abs(t).max()
            assert np.abs(a).max() <= bound * 1.001 and np.abs(a).max() > bound * 0.99


def test_xavier_uniform_bound_formula():
    w = init.xavier_uniform_(shendu.zeros(200, 100))
    bound = math.sqrt(6 / (200 + 100))
    assert np.abs(w.detach().numpy()).max() <= bound
    assert abs(w.detach().numpy().std() - bound / math.sqrt(3)) < 0.01 * bound


def test_kaiming_normal_std_formula():
    w = init.kaiming_normal_(shendu.zeros(128, 64, 3, 3), nonlinearity="relu")
    assert abs(w.detach().numpy().std() - math.sqrt(2 / (64 * 9))) < 0.01 * math.sqrt(2 / (64 * 9))
    assert abs(w.detach().numpy().mean()) < 0.005


def test_basic_fills():
    t = shendu.zeros(1000, 100)
    init.uniform_(t, -2.0, 3.0)
    assert (
        t.detach().numpy().min() >= -2
        and t.detach().numpy().max() < 3
        and abs(t.detach().numpy().mean() - 0.5) < 0.02
    )
    init.normal_(t, 1.0, 0.5)
    assert abs(t.detach().numpy().mean() - 1.0) < 0.01 and abs(t.detach().numpy().std() - 0.5) < 0.01
    assert (init.constant_(t, 0.25).detach().numpy() == 0.25).all()
    assert (init.ones_(t).detach().numpy() == 1).all() and (init.zeros_(t).detach().numpy() == 0).all()
    assert (init.eye_(shendu.zeros(3, 4)).detach().numpy() == np.eye(3, 4)).all()
    assert t.dtype == np.float32


def test_trunc_normal_matches_torch():
    a, t = _stats_like_torch(
        init.trunc_normal_, torch.nn.init.trunc_normal_, (400, 500), mean=0.5, std=1.0, a=-1.0, b=1.5
    )
    assert a.min() >= -1.0 and a.max() <= 1.5
    with pytest.raises(ValueError):
        init.trunc_normal_(shendu.zeros(3), a=1.0, b=0.0)


def test_init_keeps_dtype_and_works_on_parameters_and_arrays():
    p = shendu.nn.Parameter(np.zeros((50, 40)))  # float64 parameter stays float64
    init.kaiming_uniform_(p)
    assert p.dtype == np.float64 and p.requires_grad and p.detach().numpy().any()
    arr = np.zeros((10, 10), np.float32)
    assert init.xavier_normal_(arr) is arr and arr.any()


def test_init_is_reproducible_with_manual_seed():
    shendu.manual_seed(3)
    a = init.kaiming_normal_(shendu.zeros(20, 20)).detach().numpy().copy()
    shendu.manual_seed(3)
    b = init.kaiming_normal_(shendu.zeros(20, 20)).detach().numpy()
    assert (a == b).all()


def test_bad_mode():
    with pytest.raises(ValueError, match="fan_in, fan_out"):
        init.kaiming_uniform_(shendu.zeros(3, 3), mode="fan_avg")
