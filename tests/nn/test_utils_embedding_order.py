"""nn.utils (gradient clipping, parameter vectors), nn.Embedding and parameter order, against torch."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import shendu
import shendu.nn.functional as F
from shendu import nn
from tests.helpers import check_op


def _pair_grads(shapes, rng):
    s_params, t_params = [], []
    for shape in shapes:
        w, g = rng.standard_normal(shape), rng.standard_normal(shape) * 3
        sp, tp = shendu.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
        sp.grad, tp.grad = shendu.tensor(g), torch.tensor(g)
        s_params.append(sp)
        t_params.append(tp)
    return s_params, t_params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_like_torch(norm_type, max_norm):
    s, t = _pair_grads([(3, 4), (5,), ()], np.random.default_rng(0))
    s_total = nn.utils.clip_grad_norm_(s, max_norm, norm_type)
    t_total = torch.nn.utils.clip_grad_norm_(t, max_norm, norm_type)
    np.testing.assert_allclose(s_total.item(), t_total.item(), rtol=1e-12)
    for a, b in zip(s, t, strict=True):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12)


def test_clip_grad_norm_details():
    w = shendu.ones(3, requires_grad=True)
    w.grad = shendu.tensor([3.0, 4.0, 0.0])
    total = nn.utils.clip_grad_norm_(w, 1.0)  # one tensor is accepted too
    assert total.dtype == np.float32 and total.item() == pytest.approx(5.0)
    assert np.linalg.norm(w.grad.numpy()) == pytest.approx(1.0, rel=1e-5)
    assert nn.utils.clip_grad_norm_([shendu.ones(2, requires_grad=True)], 1.0).item() == 0.0  # no grads
    w.grad = shendu.tensor([float("nan"), 1.0, 0.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_([w], 1.0, error_if_nonfinite=True)


def test_clip_grad_value_like_torch():
    s, t = _pair_grads([(4, 4), (6,)], np.random.default_rng(1))
    assert nn.utils.clip_grad_value_(s, 1.5) is None
    torch.nn.utils.clip_grad_value_(t, 1.5)
    for a, b in zip(s, t, strict=True):
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    assert np.abs(s[0].grad.numpy()).max() == 1.5


def test_parameters_to_vector_and_back():
    s_net, t_net = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    vec = nn.utils.parameters_to_vector(s_net.parameters())
    ref = torch.nn.utils.parameters_to_vector(t_net.parameters())
    assert vec.shape == tuple(ref.shape) == (8,)
    vec.sum().backward()  # differentiable: every parameter gets a gradient of ones
    assert (s_net.weight.grad.numpy() == 1).all() and (s_net.bias.grad.numpy() == 1).all()
    new = shendu.arange(8.0)
    nn.utils.vector_to_parameters(new, s_net.parameters())
    assert s_net.weight.numpy().tolist() == [[0, 1, 2], [3, 4, 5]] and s_net.bias.numpy().tolist() == [6, 7]
    with pytest.raises(ValueError, match="hold 8 numbers, vec has 7"):
        nn.utils.vector_to_parameters(shendu.arange(7.0), s_net.parameters())
    with pytest.raises(TypeError, match="shendu Tensor"):
        nn.utils.vector_to_parameters(np.arange(8.0), s_net.parameters())


@given(
    idx=st.lists(st.integers(0, 5), min_size=1, max_size=12),
    padding=st.sampled_from([None, 0, 3, -1]),
    scale=st.booleans(),
)
def test_embedding_against_torch(idx, padding, scale):
    rng = np.random.default_rng(len(idx))
    w = rng.standard_normal((6, 4))
    index = np.asarray(idx, dtype=np.int64).reshape(-1, 1) if len(idx) % 2 else np.asarray(idx)
    check_op(
        lambda a: F.embedding(
            shendu.tensor(index, device=a.device), a, padding_idx=padding, scale_grad_by_freq=scale
        ),
        lambda a: torch.nn.functional.embedding(
            torch.from_numpy(index), a, padding_idx=padding, scale_grad_by_freq=scale
        ),
        [w],
        # scaling by frequency and zeroing the padding row are conventions, not derivatives: torch
        # alone is the oracle there
        numerical=not scale and padding is None,
    )


def test_embedding_module_like_torch():
    shendu.manual_seed(0)
    emb = nn.Embedding(10, 3, padding_idx=2)
    temb = torch.nn.Embedding(10, 3, padding_idx=2)
    assert emb.weight.shape == tuple(temb.weight.shape) and emb.weight.dtype == np.float32
    assert (emb.weight.numpy()[2] == 0).all() and 0.5 < emb.weight.numpy().std() < 1.5  # N(0, 1) init
    assert list(emb.state_dict()) == list(temb.state_dict()) == ["weight"]
    w = np.random.default_rng(0).standard_normal((10, 3)).astype(np.float32) * 3
    s_emb = nn.Embedding.from_pretrained(shendu.tensor(w), freeze=False, max_norm=1.0)
    t_emb = torch.nn.Embedding.from_pretrained(torch.from_numpy(w.copy()), freeze=False, max_norm=1.0)
    x = np.array([[1, 4, 4], [9, 0, 1]])
    np.testing.assert_allclose(
        s_emb(shendu.tensor(x)).numpy(), t_emb(torch.from_numpy(x)).detach().numpy(), rtol=1e-6
    )
    np.testing.assert_allclose(
        s_emb.weight.numpy(), t_emb.weight.detach().numpy(), rtol=1e-6
    )  # rows renormed
    assert not nn.Embedding.from_pretrained(shendu.tensor(w)).weight.requires_grad
    with pytest.raises(TypeError, match="integer indices"):
        emb(shendu.tensor([1.0]))
    with pytest.raises(IndexError, match="out of range"):
        emb(shendu.tensor([10]))


def test_reassigned_parameter_and_submodule_keep_their_place():
    s, t = nn.Linear(2, 3), torch.nn.Linear(2, 3)
    s.weight = nn.Parameter(shendu.zeros(3, 2))
    t.weight = torch.nn.Parameter(torch.zeros(3, 2))
    assert [n for n, _ in s.named_parameters()] == [n for n, _ in t.named_parameters()] == ["weight", "bias"]
    assert list(s.state_dict()) == ["weight", "bias"]
    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    net[0] = nn.Linear(2, 2)
    net.add_module("0", nn.Linear(2, 2))
    setattr(net, "1", nn.Tanh())
    assert list(net._modules) == ["0", "1", "2"] and isinstance(net[1], nn.Tanh)
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
