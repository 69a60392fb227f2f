"""state_dict / load_state_dict: PyTorch's key names, round trips with torch modules, strict errors."""

from collections import OrderedDict

import numpy as np
import pytest
import torch

import shendu
from shendu import nn
from tests.helpers import assert_close, to_torch


def small_cnn(lib):
    return lib.Sequential(
        OrderedDict(
            [
                (
                    "features",
                    lib.Sequential(
                        lib.Conv2d(1, 4, 3, padding=1),
                        lib.BatchNorm2d(4),
                        lib.ReLU(),
                        lib.MaxPool2d(2),
                        lib.Conv2d(4, 6, 3, groups=2),
                        lib.ReLU(),
                    ),
                ),
                ("flatten", lib.Flatten()),
                ("classifier", lib.Sequential(lib.Dropout(0.5), lib.Linear(6 * 2 * 2, 10))),
            ]
        )
    )


TWINS = {
    "Linear": lambda lib: lib.Linear(5, 3),
    "Conv2d": lambda lib: lib.Conv2d(3, 4, 3, stride=2, padding=1),
    "BatchNorm2d": lambda lib: lib.BatchNorm2d(3),
    "small_cnn": small_cnn,
}
INPUTS = {"Linear": (4, 5), "Conv2d": (2, 3, 7, 7), "BatchNorm2d": (4, 3, 5, 5), "small_cnn": (3, 1, 8, 8)}


def torch_state(t_mod):
    return {k: v.detach().numpy().copy() for k, v in t_mod.state_dict().items()}


def _randomise_torch(t_mod):
    """Non-default values everywhere (BatchNorm's affine parameters and running statistics too)."""
    torch.manual_seed(0)
    with torch.no_grad():
        for m in t_mod.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-1, 1)
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
                m.num_batches_tracked.fill_(7)
    return t_mod


@pytest.mark.parametrize("name", list(TWINS))
def test_keys_shapes_dtypes_match_torch(name):
    s, t = TWINS[name](nn), TWINS[name](torch.nn)
    ss, ts = s.state_dict(), t.state_dict()
    assert isinstance(ss, OrderedDict)
    assert list(ss) == list(ts)
    for k in ss:
        assert ss[k].shape == tuple(ts[k].shape), k
        assert str(ss[k].dtype) == str(ts[k].dtype).replace("torch.", ""), k


@pytest.mark.parametrize("name", list(TWINS))
def test_load_torch_state_then_outputs_match(name):
    t = _randomise_torch(TWINS[name](torch.nn)).eval()
    s = TWINS[name](nn).eval()
    result = s.load_state_dict(torch_state(t))
    assert result.missing_keys == [] and result.unexpected_keys == []
    for k, v in s.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), t.state_dict()[k].numpy(), err_msg=k)
    x = np.random.default_rng(0).standard_normal(INPUTS[name]).astype(np.float32)
    with torch.no_grad():
        expected = t(to_torch(x))
    assert_close(s(shendu.tensor(x)).detach().numpy(), expected, 1e-5, 1e-5, name)


@pytest.mark.parametrize("name", list(TWINS))
def test_torch_loads_shendu_state_strictly(name):
    """The other direction: torch accepts shendu's state dict as is (same keys, shapes, dtypes)."""
    s, t = TWINS[name](nn).eval(), TWINS[name](torch.nn).eval()
    t.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in s.state_dict().items()}, strict=True)
    x = np.random.default_rng(1).standard_normal(INPUTS[name]).astype(np.float32)
    with torch.no_grad():
        expected = t(to_torch(x))
    assert_close(s(shendu.tensor(x)).detach().numpy(), expected, 1e-5, 1e-5, name)


def test_torch_tensors_are_accepted_directly():
    t = torch.nn.Linear(3, 2)
    s = nn.Linear(3, 2)
    s.load_state_dict(t.state_dict())
    np.testing.assert_array_equal(s.weight.detach().numpy(), t.weight.detach().numpy())


def test_load_copies_in_place_keeping_dtype_and_identity():
    s = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    weight, rm = s[0].weight, s[1].running_mean
    array_before = weight.detach().numpy()
    state = {k: v.numpy().astype(np.float64) + 1 for k, v in s.state_dict().items()}
    state["1.num_batches_tracked"] = np.array(5)
    s.load_state_dict(state)
    assert (
        s[0].weight is weight and weight.detach().numpy() is array_before
    )  # optimisers keep their references
    assert weight.dtype == np.float32 and rm.dtype == np.float32
    np.testing.assert_allclose(weight.detach().numpy(), state["0.weight"], rtol=1e-6)
    assert s[1].num_batches_tracked.dtype == np.int64 and s[1].num_batches_tracked.item() == 5
    state["0.weight"][...] = 0  # no aliasing of the caller's arrays
    assert weight.detach().numpy().any()


def test_state_dict_values_are_detached_and_share_memory():
    fc = nn.Linear(2, 2)
    sd = fc.state_dict()
    assert not sd["weight"].requires_grad and sd["weight"].numpy() is fc.weight.detach().numpy()
    kept = fc.state_dict(keep_vars=True)
    assert kept["weight"] is fc.weight


def test_buffers_saved_but_non_persistent_ones_not_expected():
    m = nn.BatchNorm2d(2)
    m.register_buffer("cache", shendu.zeros(3), persistent=False)
    sd = m.state_dict()
    assert list(sd) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert "cache" not in sd
    m.load_state_dict({k: v.numpy().copy() for k, v in sd.items()})  # strict: cache is not required


def test_strict_error_lists_every_bad_key():
    s = small_cnn(nn)
    state = {k: v.numpy().copy() for k, v in s.state_dict().items()}
    del state["features.0.weight"], state["features.1.running_var"]
    state["features.9.weight"] = np.zeros(3, np.float32)
    state["extra"] = np.zeros(1, np.float32)
    state["classifier.1.weight"] = np.zeros((10, 25), np.float32)
    state["features.4.bias"] = np.zeros(7, np.float32)
    before = {k: v.numpy().copy() for k, v in s.state_dict().items()}
    with pytest.raises(RuntimeError) as e:
        s.load_state_dict(state)
    msg = str(e.value)
    assert isinstance(e.value, ValueError)
    assert msg.startswith("Error(s) in loading state_dict for Sequential:")
    assert 'Missing key(s) in state_dict: "features.0.weight", "features.1.running_var".' in msg
    assert 'Unexpected key(s) in state_dict: "features.9.weight", "extra".' in msg
    assert (
        "size mismatch for classifier.1.weight: copying a param with shape (10, 25) from checkpoint, "
        "the shape in current model is (10, 24)." in msg
    )
    assert "size mismatch for features.4.bias" in msg
    # nothing was half-loaded
    assert all((before[k] == v.numpy()).all() for k, v in s.state_dict().items())


def test_error_message_matches_torch_up_to_shape_spelling():
    s, t = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    bad = {"weight": np.zeros((2, 4), np.float32), "other": np.zeros(1, np.float32)}
    with pytest.raises(RuntimeError) as se:
        s.load_state_dict(bad)
    with pytest.raises(RuntimeError) as te:
        t.load_state_dict({k: torch.from_numpy(v) for k, v in bad.items()})
    assert str(se.value) == str(te.value).replace("torch.Size([2, 4])", "(2, 4)").replace(
        "torch.Size([2, 3])", "(2, 3)"
    )


def test_non_strict_returns_incompatible_keys_and_loads_the_rest():
    s = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    new_w = np.full((2, 3), 0.5, np.float32)
    result = s.load_state_dict({"0.weight": new_w, "zzz": np.zeros(1)}, strict=False)
    assert result.missing_keys == ["0.bias", "1.weight", "1.bias"] and result.unexpected_keys == ["zzz"]
    assert (s[0].weight.detach().numpy() == 0.5).all()
    t = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 1))
    t_result = t.load_state_dict({"0.weight": torch.from_numpy(new_w), "zzz": torch.zeros(1)}, strict=False)
    assert tuple(result) == tuple(t_result)
    with pytest.raises(RuntimeError, match="size mismatch for 0.weight"):
        s.load_state_dict({"0.weight": np.zeros((3, 3))}, strict=False)


def test_load_state_dict_rejects_non_mapping():
    with pytest.raises(TypeError, match="dict-like"):
        nn.Linear(2, 2).load_state_dict([1, 2])


def test_shared_parameters_round_trip():
    fc = nn.Linear(2, 2)
    net = nn.Sequential(fc, fc)
    state = {k: np.ones_like(v.numpy()) for k, v in net.state_dict().items()}
    net.load_state_dict(state)
    assert (fc.weight.detach().numpy() == 1).all()


def test_load_after_training_step_matches_torch_training():
    """Copy torch's weights, train both one step in train mode: BatchNorm buffers agree too."""
    t = _randomise_torch(small_cnn(torch.nn))
    s = small_cnn(nn)
    s.load_state_dict(torch_state(t))
    t.classifier[0].p = s.classifier[0].p = 0.0  # dropout off so both see the same network
    x = np.random.default_rng(2).standard_normal((4, 1, 8, 8)).astype(np.float32)
    assert_close(s(shendu.tensor(x)).detach().numpy(), t(to_torch(x)), 1e-5, 1e-5, "train-mode forward")
    for k, v in t.state_dict().items():
        assert_close(s.state_dict()[k].numpy(), v, 1e-5, 1e-6, k)
