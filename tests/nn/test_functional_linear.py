"""F.linear against torch, and the shendu.nn.functional namespace."""

import numpy as np
import pytest
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import shendu
import shendu.nn.functional as F
from tests.helpers import check_op


@given(
    seed=st.integers(0, 2**16),
    lead=st.sampled_from([(), (1,), (3,), (2, 3)]),
    fin=st.integers(1, 4),
    fout=st.integers(1, 4),
    bias=st.booleans(),
)
def test_linear_matches_torch(seed, lead, fin, fout, bias):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(lead + (fin,)), rng.standard_normal((fout, fin))]
    if bias:
        arrays.append(rng.standard_normal(fout))
    check_op(F.linear, TF.linear, arrays)
    check_op(F.linear, TF.linear, [a.astype(np.float32) for a in arrays], rtol=1e-4, atol=1e-5)


def test_linear_feature_mismatch_names_shapes():
    with pytest.raises(ValueError, match=r"\(2, 5\).*5 features.*\(3, 4\).*expects 4"):
        F.linear(shendu.zeros(2, 5), shendu.zeros(3, 4))
    with pytest.raises(ValueError, match=r"bias must have shape \(3,\)"):
        F.linear(shendu.zeros(2, 4), shendu.zeros(3, 4), shendu.zeros(4))


def test_functional_namespace_matches_torch_names():
    names = [
        "step",
        "sigmoid",
        "tanh",
        "relu",
        "leaky_relu",
        "softplus",
        "softmax",
        "log_softmax",
        "gelu",
        "elu",
        "silu",
        "mse_loss",
        "l1_loss",
        "cross_entropy",
        "nll_loss",
        "binary_cross_entropy",
        "binary_cross_entropy_with_logits",
        "linear",
        "conv2d",
        "conv1d",
        "conv_output_size",
        "max_pool2d",
        "avg_pool2d",
        "adaptive_avg_pool2d",
        "max_pool1d",
        "avg_pool1d",
        "batch_norm",
        "layer_norm",
        "local_response_norm",
        "dropout",
        "dropout2d",
        "pad",
    ]
    missing = [n for n in names if not callable(getattr(F, n, None))]
    assert not missing, f"missing from shendu.nn.functional: {missing}"
    assert set(names) <= set(F.__all__)


@pytest.mark.parametrize("pad,value", [((1, 2), None), ((1, 1, 2, 0), 3.5), ((0, 1, 1, 0, 2, 1), -1.0)])
def test_pad_follows_torch_convention(pad, value):
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    kw = {} if value is None else {"value": value}
    check_op(lambda a: F.pad(a, pad, **kw), lambda a: TF.pad(a, pad, **kw), [x])


def test_pad_other_modes_not_implemented():
    with pytest.raises(NotImplementedError, match="reflect"):
        F.pad(shendu.zeros(1, 2, 3), (1, 1), mode="reflect")
