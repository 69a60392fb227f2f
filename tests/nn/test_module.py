"""Module mechanics: registration, traversal order, modes, gradients, hooks, repr, containers.

Each behaviour is compared with the same toy network written in PyTorch where PyTorch defines it.
"""

import copy
from collections import OrderedDict

import numpy as np
import pytest
import torch

import shendu
from shendu import nn
from shendu.nn import Parameter


def _toy(lib):
    """The same toy network for shendu.nn and torch.nn: own params, a buffer, nested children."""

    class Block(lib.Module):
        def __init__(self):
            super().__init__()
            self.scale = lib.Parameter(lib_ones(lib, 3))
            self.fc = lib.Linear(3, 3)
            self.register_buffer("count", lib_ones(lib, 1))

        def forward(self, x):
            return self.fc(x) * self.scale

    class Net(lib.Module):
        def __init__(self):
            super().__init__()
            self.first = Block()
            self.alpha = lib.Parameter(lib_ones(lib, 2))
            self.seq = lib.Sequential(lib.Linear(3, 4), lib.ReLU(), lib.Linear(4, 3))
            self.last = Block()
            self.register_buffer("temp", lib_ones(lib, 2), persistent=False)

        def forward(self, x):
            return self.last(self.seq(self.first(x)))

    return Net()


def lib_ones(lib, n):
    return torch.ones(n) if lib is torch.nn else shendu.ones(n)


def test_parameter_names_and_order_match_torch():
    s, t = _toy(nn), _toy(torch.nn)
    assert [n for n, _ in s.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [p.shape for p in s.parameters()] == [tuple(p.shape) for p in t.parameters()]
    assert [n for n, _ in s.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in s.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in s.named_children()] == [n for n, _ in t.named_children()]
    assert list(s.state_dict()) == list(t.state_dict())
    assert [n for n, _ in s.named_parameters(recurse=False)] == ["alpha"]


def test_repr_matches_torch_for_nested_custom_modules():
    assert repr(_toy(nn)) == repr(_toy(torch.nn))


def test_parameter_is_a_leaf_that_requires_grad():
    p = Parameter(shendu.zeros(2, 3))
    assert isinstance(p, shendu.Tensor) and p.requires_grad and p.is_leaf
    assert (
        repr(p) == "Parameter containing:\ntensor([[0., 0., 0.],\n        [0., 0., 0.]], requires_grad=True)"
    )
    assert repr(p) == repr(torch.nn.Parameter(torch.zeros(2, 3)))
    arr = np.ones(3, dtype=np.float32)
    assert Parameter(arr).detach().numpy() is arr  # shares memory, as torch.nn.Parameter(tensor)
    assert not Parameter(arr, requires_grad=False).requires_grad
    assert Parameter([1.0, 2.0]).dtype == np.float32
    with pytest.raises(RuntimeError):
        Parameter(np.arange(3))  # integers cannot require grad


def test_assignment_registers_and_reassignment_moves():
    m = nn.Module()
    m.w = Parameter(shendu.ones(2))
    m.child = nn.Linear(2, 2)
    m.plain = shendu.ones(2)  # a plain tensor attribute is not registered
    assert list(m._parameters) == ["w"] and list(m._modules) == ["child"]
    assert "plain" not in m.state_dict() and "plain" in m.__dict__
    m.w = None  # a registered parameter may be set to None
    assert m.w is None and "w" not in m.state_dict()
    with pytest.raises(TypeError, match="parameter 'w'"):
        m.w = shendu.ones(2)
    m.child = nn.Identity()
    assert isinstance(m.child, nn.Identity)
    with pytest.raises(TypeError, match="child module 'child'"):
        m.child = 3
    del m.child
    assert "child" not in m._modules
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'child'"):
        _ = m.child


def test_forgetting_super_init_is_a_clear_error():
    class Bad(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Bad()


def test_register_errors():
    m = nn.Module()
    with pytest.raises(KeyError):
        m.register_buffer("a.b", shendu.ones(1))
    with pytest.raises(TypeError):
        m.register_buffer("b", [1, 2])
    with pytest.raises(TypeError):
        m.register_parameter("p", shendu.ones(1))
    with pytest.raises(TypeError, match="is not a Module subclass"):
        m.add_module("x", 3)
    m.x = 5
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("x", shendu.ones(1))


def test_buffers_are_saved_but_not_trained():
    m = nn.BatchNorm2d(4)
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    assert [n for n, _ in m.named_buffers()] == ["running_mean", "running_var", "num_batches_tracked"]
    assert list(m.state_dict()) == list(torch.nn.BatchNorm2d(4).state_dict())
    m.register_buffer("scratch", shendu.zeros(1), persistent=False)
    assert "scratch" in dict(m.named_buffers()) and "scratch" not in m.state_dict()
    m.running_mean = shendu.ones(4)  # reassigning a buffer keeps it a buffer
    assert m._buffers["running_mean"].numpy().tolist() == [1.0] * 4


def test_train_eval_propagate():
    net = _toy(nn)
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.seq.train()
    assert net.seq[0].training and not net.first.training
    with pytest.raises(ValueError):
        net.train("no")


def test_zero_grad_and_requires_grad():
    net = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    out = net(shendu.randn(5, 3)).sum()
    out.backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net[0].requires_grad_(False)
    net(shendu.randn(5, 3)).sum().backward()
    assert net[0].weight.grad is None and net[1].weight.grad is not None


def test_shared_parameter_listed_once_and_counted_once():
    fc = nn.Linear(3, 3)
    net = nn.Sequential(fc, nn.ReLU(), fc)
    tfc = torch.nn.Linear(3, 3)
    tnet = torch.nn.Sequential(tfc, torch.nn.ReLU(), tfc)
    assert [n for n, _ in net.named_parameters()] == [n for n, _ in tnet.named_parameters()]
    assert list(net.state_dict()) == list(tnet.state_dict())  # state_dict keeps both names
    assert net.num_parameters() == 12 == sum(p.numel() for p in tnet.parameters())


def test_num_parameters_trainable_only():
    net = nn.Sequential(nn.Linear(10, 5), nn.Linear(5, 2))
    assert net.num_parameters() == 55 + 12
    net[0].requires_grad_(False)
    assert net.num_parameters(trainable_only=True) == 12


def test_apply_visits_children_first():
    seen = []
    net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU()))
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    tseen = []
    torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Sequential(torch.nn.ReLU())).apply(
        lambda m: tseen.append(type(m).__name__)
    )
    assert seen == tseen == ["Linear", "ReLU", "Sequential", "Sequential"]


def test_forward_hooks_and_pre_hooks():
    layer = nn.Linear(2, 3)
    calls = []
    h1 = layer.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
    h2 = layer.register_forward_hook(lambda m, args, out: calls.append((args[0].tolist(), out.shape)))
    x = shendu.ones(1, 2)
    y = layer(x)
    assert calls == [([[2.0, 2.0]], (1, 3))]
    np.testing.assert_allclose(
        y.detach().numpy(),
        layer.weight.detach().numpy().sum(1, keepdims=True).T * 2 + layer.bias.detach().numpy(),
        rtol=1e-6,
    )
    h3 = layer.register_forward_hook(lambda m, args, out: out * 0)  # a hook may replace the output
    assert not layer(x).detach().numpy().any()
    for h in (h1, h2, h3):
        h.remove()
    assert np.allclose(
        layer(x).detach().numpy(),
        x.detach().numpy() @ layer.weight.detach().numpy().T + layer.bias.detach().numpy(),
    )
    assert len(calls) == 2


def test_hook_order_and_prepend():
    order = []
    layer = nn.Identity()
    layer.register_forward_hook(lambda m, a, o: order.append("first"))
    layer.register_forward_hook(lambda m, a, o: order.append("second"))
    layer.register_forward_hook(lambda m, a, o: order.append("prepended"), prepend=True)
    with layer.register_forward_pre_hook(lambda m, a: order.append("pre")):
        layer(shendu.ones(1))
    layer(shendu.ones(1))
    assert order == ["pre", "prepended", "first", "second", "prepended", "first", "second"]


def test_missing_forward():
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(1)


def test_deepcopy_is_independent():
    net = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    twin = copy.deepcopy(net)
    assert isinstance(twin[0].weight, Parameter) and twin[0].weight.requires_grad
    twin[0].weight.data.zero_()
    assert net[0].weight.detach().numpy().any()
    assert [n for n, _ in twin.named_parameters()] == [n for n, _ in net.named_parameters()]


def test_to_double_and_float():
    net = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    w = net[0].weight
    assert net.double() is net
    assert net[0].weight is w and w.dtype == np.float64
    assert net[1].running_mean.dtype == np.float64 and net[1].num_batches_tracked.dtype == np.int64
    net.to("cpu").float()
    assert all(p.dtype == np.float32 for p in net.parameters())
    # net.to("cuda"): tests/device (a GPU when present, else a clear error saying how to install CuPy)


def test_get_submodule():
    net = nn.Sequential(OrderedDict(features=nn.Sequential(nn.Linear(2, 2)), head=nn.Linear(2, 1)))
    assert net.get_submodule("features.0") is net.features[0]
    assert net.get_submodule("") is net
    with pytest.raises(AttributeError, match="no submodule 'x'"):
        net.get_submodule("features.x")


# ---- containers ------------------------------------------------------------------------


def test_sequential_repr_indexing_slicing():
    s = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    t = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    assert repr(s) == repr(t)
    assert repr(s) == (
        "Sequential(\n  (0): Linear(in_features=4, out_features=3, bias=True)\n  (1): ReLU()\n"
        "  (2): Linear(in_features=3, out_features=2, bias=True)\n)"
    )
    assert len(s) == 3 and s[-1] is s[2] and isinstance(s[1], nn.ReLU)
    assert [type(m) for m in s] == [nn.Linear, nn.ReLU, nn.Linear]
    head = s[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is s[0]
    assert repr(head) == repr(t[:2])
    with pytest.raises(IndexError, match="out of range"):
        s[3]


def test_sequential_forward_chains():
    s = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    x = shendu.randn(5, 4)
    expected = np.maximum(x.detach().numpy() @ s[0].weight.detach().numpy().T + s[0].bias.detach().numpy(), 0)
    np.testing.assert_allclose(s(x).detach().numpy(), expected, rtol=1e-6)


def test_sequential_from_ordered_dict_and_mutation():
    s = nn.Sequential(OrderedDict([("conv", nn.Identity()), ("act", nn.ReLU())]))
    t = torch.nn.Sequential(OrderedDict([("conv", torch.nn.Identity()), ("act", torch.nn.ReLU())]))
    assert repr(s) == repr(t) and s.act is s[1]
    s2 = nn.Sequential(nn.Identity(), nn.ReLU(), nn.Tanh())
    t2 = torch.nn.Sequential(torch.nn.Identity(), torch.nn.ReLU(), torch.nn.Tanh())
    del s2[0]
    del t2[0]
    assert repr(s2) == repr(t2)  # renumbered 0, 1
    s2.append(nn.Sigmoid())
    t2.append(torch.nn.Sigmoid())
    s2.insert(0, nn.Identity())
    t2.insert(0, torch.nn.Identity())
    s2[1] = nn.LeakyReLU()
    t2[1] = torch.nn.LeakyReLU()
    assert repr(s2) == repr(t2)
    assert isinstance(s2.pop(0), nn.Identity) and len(s2) == 3
    with pytest.raises(TypeError, match="not a Module subclass"):
        nn.Sequential(nn.ReLU(), lambda x: x)


def test_module_list_registers_and_compresses_repr():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU()])
    tl = torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(3)] + [torch.nn.ReLU()])
    assert repr(ml) == repr(tl)
    assert "(0-2): 3 x Linear" in repr(ml)
    assert [n for n, _ in ml.named_parameters()] == [n for n, _ in tl.named_parameters()]
    assert len(ml) == 4 and ml[-1] is ml[3] and isinstance(ml[1:3], nn.ModuleList)
    ml.append(nn.Tanh())
    ml.extend([nn.Sigmoid()])
    ml.insert(0, nn.Identity())
    tl.append(torch.nn.Tanh())
    tl.extend([torch.nn.Sigmoid()])
    tl.insert(0, torch.nn.Identity())
    del ml[1]
    del tl[1]
    assert repr(ml) == repr(tl)
    assert repr(nn.ModuleList()) == repr(torch.nn.ModuleList()) == "ModuleList()"
    with pytest.raises(NotImplementedError):
        ml(1)


def test_module_dict():
    md = nn.ModuleDict({"b": nn.Linear(2, 2), "a": nn.ReLU()})
    td = torch.nn.ModuleDict({"b": torch.nn.Linear(2, 2), "a": torch.nn.ReLU()})
    assert repr(md) == repr(td)
    assert list(md) == ["b", "a"] and "a" in md and len(md) == 2
    md["c"] = nn.Tanh()
    assert list(md.keys()) == ["b", "a", "c"]
    assert isinstance(md.pop("a"), nn.ReLU) and list(md) == ["b", "c"]
    assert [n for n, _ in md.named_parameters()] == ["b.weight", "b.bias"]
    md.update([("d", nn.Identity())])
    assert list(md) == ["b", "c", "d"]


def test_dir_lists_registered_names():
    names = dir(nn.BatchNorm2d(2))
    assert {"weight", "bias", "running_mean", "forward"} <= set(names)


def test_incompatible_keys_repr():
    r = nn.Linear(2, 2).load_state_dict(nn.Linear(2, 2).state_dict())
    assert repr(r) == "<All keys matched successfully>" and r.missing_keys == [] and r.unexpected_keys == []
