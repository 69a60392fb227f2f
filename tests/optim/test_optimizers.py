"""Optimisers and schedulers against torch.optim: same parameters, same gradients, same numbers."""

from __future__ import annotations

import json
from contextlib import contextmanager
from unittest import mock

import numpy as np
import pytest
import torch

import shendu
from shendu import optim, parallel
from shendu.optim import lr_scheduler
from tests.helpers import assert_close, to_torch

SHAPES = [(3, 4), (5,), ()]

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.2, eps=1e-6)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.5, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.3, eps=1e-4)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.95), weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.02, weight_decay=0.3, amsgrad=True, eps=1e-5)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1)),
    ("Adamax", dict(lr=0.01)),
    ("Adamax", dict(lr=0.02, betas=(0.8, 0.99), weight_decay=0.1, eps=1e-4)),
    ("NAdam", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, momentum_decay=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.01)),  # 20 steps cross rho_t > 5 at step 6: both branches
    ("RAdam", dict(lr=0.01, betas=(0.7, 0.9), weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
]


def _pair(arrays):
    s = [shendu.tensor(a, requires_grad=True) for a in arrays]
    t = [to_torch(a, requires_grad=True) for a in arrays]
    return s, t


def _set_grads(s_params, t_params, rng, skip: int | None = None):
    for i, (s, t) in enumerate(zip(s_params, t_params, strict=True)):
        if i == skip:
            s.grad, t.grad = None, None
            continue
        g = rng.standard_normal(s.shape)
        s.grad = shendu.tensor(g.astype(s.dtype))
        t.grad = to_torch(g.astype(s.dtype))


def _run(s_opt, t_opt, s_params, t_params, rng, steps):
    for k in range(steps):
        _set_grads(s_params, t_params, rng, skip=(k % 7 == 3) and 1 or None)  # now and then a None grad
        s_opt.step()
        t_opt.step()


@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{'-'.join(k)}" for n, k in CASES])
def test_matches_torch_20_steps(name, kw):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s) for s in SHAPES]
    s_params, t_params = _pair(arrays)
    s_opt = getattr(optim, name)(s_params, **kw)
    t_opt = getattr(torch.optim, name)(t_params, **kw)
    _run(s_opt, t_opt, s_params, t_params, rng, 20)
    for s, t in zip(s_params, t_params, strict=True):
        assert s.dtype == np.float64
        assert_close(s.detach().numpy(), t, rtol=1e-6, atol=1e-10, what=f"{name} {kw}")
    # the parameters moved: a no-op optimiser would not pass
    assert not np.allclose(s_params[0].detach().numpy(), arrays[0])


@contextmanager
def _threads_and_tiny_pieces(n: int):
    """n threads, and even these small parameters shared out (the pool's side-by-side path)."""
    before = shendu.get_num_threads()
    shendu.set_num_threads(n)
    try:
        with mock.patch.object(parallel, "ELEMENTWISE_PIECE", 2):
            yield
    finally:
        shendu.set_num_threads(before)


@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{'-'.join(k)}" for n, k in CASES])
def test_parameters_updated_side_by_side_give_the_same_bits_for_any_thread_count(name, kw):
    """step() updates a group's parameters on shendu's threads, the largest first: with 1, 2 or 3
    threads the parameters and the state have the same bits, and still follow torch."""
    shapes = [(3, 4), (40, 3), (5,), (), (7, 2, 3), (17,)]
    results = []
    for n in (1, 2, 3):
        rng = np.random.default_rng(5)
        arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
        s_params, t_params = _pair(arrays)
        s_opt = getattr(optim, name)(s_params, **kw)
        t_opt = getattr(torch.optim, name)(t_params, **kw)
        with _threads_and_tiny_pieces(n), mock.patch.object(parallel, "run", wraps=parallel.run) as run:
            _run(s_opt, t_opt, s_params, t_params, rng, 8)
        assert run.call_count == (0 if n == 1 else 8)  # one hand-out per step
        for s, t in zip(s_params, t_params, strict=True):
            assert_close(s.detach().numpy(), t, rtol=1e-4, atol=1e-5, what=f"{name} {kw} {n} threads")
        state = [v for p in s_params for v in s_opt.state[p].values() if isinstance(v, np.ndarray)]
        results.append([p.detach().numpy().tobytes() for p in s_params] + [v.tobytes() for v in state])
    assert results[0] == results[1] == results[2]


def test_parameters_that_share_memory_are_updated_one_after_another():
    """Two parameters that are views of one array (or one listed twice) must not be updated at
    the same time: step() then runs them in order, as with one thread."""
    base = np.arange(12, dtype=np.float32)
    results = []
    for n in (1, 2):
        a, b = shendu.from_numpy(base.copy()), None
        halves = [a[:6].detach().requires_grad_(True), a[6:].detach().requires_grad_(True)]
        b = shendu.ones(5, requires_grad=True)
        opt = optim.SGD([*halves, b], lr=0.5, momentum=0.9)
        with _threads_and_tiny_pieces(n), mock.patch.object(parallel, "run", wraps=parallel.run) as run:
            for k in range(3):
                for p in (*halves, b):
                    p.grad = shendu.ones(*p.shape) * (k + 1)
                opt.step()
        assert run.call_count == 0  # the halves share one array
        results.append(a.numpy().copy())
        expected = base - 0.5 * np.array([1, 2.9, 5.61], dtype=np.float32).sum()
        np.testing.assert_allclose(a.numpy(), expected, rtol=1e-6)
    assert results[0].tobytes() == results[1].tobytes()


@pytest.mark.parametrize("name,kw", CASES[::2], ids=[n for n, _ in CASES[::2]])
def test_float32_params_and_state_stay_float32(name, kw):
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    s_params, t_params = _pair(arrays)
    s_opt = getattr(optim, name)(s_params, **kw)
    t_opt = getattr(torch.optim, name)(t_params, **kw)
    _run(s_opt, t_opt, s_params, t_params, rng, 5)
    for s, t in zip(s_params, t_params, strict=True):
        assert s.dtype == np.float32
        assert_close(s.detach().numpy(), t, rtol=1e-4, atol=1e-5, what=name)
    for state in s_opt.state.values():
        for key, value in state.items():
            if isinstance(value, np.ndarray):
                assert value.dtype == np.float32, f"{name} state {key} is {value.dtype}"


def test_step_builds_no_graph_and_keeps_the_array():
    w = shendu.tensor(np.ones(3), requires_grad=True)
    arr = w.detach().numpy()
    opt = optim.Adam([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    assert w.detach().numpy() is arr  # updated in place: views and modules holding the array see it
    assert w.is_leaf and w.grad_fn is None and w.requires_grad


def test_gradient_is_not_modified():
    w = shendu.tensor(np.ones(3), requires_grad=True)
    opt = optim.SGD([w], lr=0.1, momentum=0.9, weight_decay=0.5, nesterov=True)
    w.grad = shendu.tensor(np.array([1.0, 2.0, 3.0]))
    opt.step()
    opt.step()
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 2.0, 3.0])


def test_zero_grad():
    w = shendu.tensor(np.ones(3), requires_grad=True)
    v = shendu.tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([w, v], lr=0.1)
    (w.sum() * 2).backward()
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(w.grad.numpy(), np.zeros(3))
    assert v.grad is None
    opt.zero_grad()
    assert w.grad is None
    before = w.detach().numpy().copy()
    opt.step()  # no gradients: nothing moves
    np.testing.assert_array_equal(w.detach().numpy(), before)


def test_param_groups_with_their_own_lr():
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(s) for s in SHAPES]
    s_params, t_params = _pair(arrays)
    s_opt = optim.SGD(
        [{"params": s_params[:2]}, {"params": s_params[2:], "lr": 0.5, "momentum": 0.5}],
        lr=0.01,
        momentum=0.9,
    )
    t_opt = torch.optim.SGD(
        [{"params": t_params[:2]}, {"params": t_params[2:], "lr": 0.5, "momentum": 0.5}],
        lr=0.01,
        momentum=0.9,
    )
    assert [g["lr"] for g in s_opt.param_groups] == [0.01, 0.5]
    assert s_opt.param_groups[0]["momentum"] == 0.9
    _run(s_opt, t_opt, s_params, t_params, rng, 10)
    for s, t in zip(s_params, t_params, strict=True):
        assert_close(s.detach().numpy(), t, rtol=1e-6, atol=1e-10)


def test_named_parameters_are_accepted():
    w = shendu.tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([("layer.weight", w)], lr=0.1)
    assert opt.param_groups[0]["params"][0] is w
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["layer.weight"]


@pytest.mark.parametrize(
    "name,kw",
    [CASES[2], CASES[5], CASES[8], CASES[10], CASES[12]],
    ids=["SGD", "Adagrad", "RMSprop", "Adam", "AdamW"],
)
def test_state_dict_round_trip_continues_identically(name, kw):
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal(s) for s in SHAPES]
    params, _ = _pair(arrays)
    opt = getattr(optim, name)(params, **kw)
    for _ in range(5):
        for p in params:
            p.grad = shendu.tensor(rng.standard_normal(p.shape))
        opt.step()
    sd = opt.state_dict()
    # same shape of dict as torch's after the same steps
    t_params = [to_torch(p.detach().numpy(), requires_grad=True) for p in params]
    t_opt = getattr(torch.optim, name)(t_params, **kw)
    for t in t_params:
        t.grad = torch.zeros_like(t)
    t_opt.step()
    t_sd = t_opt.state_dict()
    assert set(sd["state"]) == set(t_sd["state"]) == {0, 1, 2}
    assert set(sd["state"][0]) == set(t_sd["state"][0])
    assert sd["param_groups"][0]["params"] == t_sd["param_groups"][0]["params"]
    for key, value in kw.items():
        assert sd["param_groups"][0][key] == value

    # a fresh optimiser over copies of the weights, loaded from the (flattened) state dict
    arrays2, meta = optim.flatten_state_dict(sd)
    copies = [p.detach().clone().requires_grad_() for p in params]
    opt2 = getattr(optim, name)(copies, lr=123.0)
    opt2.load_state_dict(optim.unflatten_state_dict(arrays2, json.loads(json.dumps(meta))))
    assert opt2.param_groups[0]["lr"] == kw["lr"]
    for _ in range(5):
        grads = [rng.standard_normal(p.shape) for p in params]
        for p, c, g in zip(params, copies, grads, strict=True):
            p.grad, c.grad = shendu.tensor(g), shendu.tensor(g.copy())
        opt.step()
        opt2.step()
    for p, c in zip(params, copies, strict=True):
        np.testing.assert_array_equal(p.detach().numpy(), c.detach().numpy())


def test_state_dict_is_a_snapshot_and_load_casts_to_param_dtype():
    w = shendu.tensor(np.ones(3, np.float32), requires_grad=True)
    opt = optim.Adam([w])
    w.grad = shendu.ones(3)
    opt.step()
    sd = opt.state_dict()
    saved = sd["state"][0]["exp_avg"].copy()
    opt.step()
    np.testing.assert_array_equal(sd["state"][0]["exp_avg"], saved)  # not aliased
    sd["state"][0]["exp_avg"] = sd["state"][0]["exp_avg"].astype(np.float64)
    opt.load_state_dict(sd)
    assert opt.state[w]["exp_avg"].dtype == np.float32
    assert opt.state[w]["step"] == 1


def test_load_state_dict_mismatch_errors():
    a, b = (shendu.tensor(np.ones(2), requires_grad=True) for _ in range(2))
    sd = optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="1 parameters.*2|2 parameters.*1"):
        optim.SGD([a], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="parameter groups"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)


def test_flatten_round_trip_through_safetensors(tmp_path):
    from safetensors.numpy import load_file, save_file
    from safetensors import safe_open

    w = shendu.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    b = shendu.tensor(np.zeros(3, np.float32), requires_grad=True)
    s = shendu.tensor(np.float32(2.0), requires_grad=True)  # 0-d state must stay 0-d
    opt = optim.Adam([{"params": [w]}, {"params": [b, s], "lr": 0.5}], betas=(0.5, 0.6), amsgrad=True)
    sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        w.grad, b.grad, s.grad = shendu.ones(2, 3), shendu.ones(3), shendu.tensor(np.float32(1.0))
        opt.step()
        sched.step()
    sd = opt.state_dict()
    arrays, meta = optim.flatten_state_dict(sd, prefix="optimizer.")
    assert set(arrays) == {
        f"optimizer.state.{i}.{k}" for i in (0, 1, 2) for k in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    }
    path = tmp_path / "ckpt.safetensors"
    save_file(arrays, str(path), metadata={"optimizer": json.dumps(meta)})
    with safe_open(str(path), "np") as f:
        meta_text = f.metadata()["optimizer"]
    back = optim.unflatten_state_dict(load_file(str(path)), meta_text, prefix="optimizer.")
    assert back["param_groups"] == sd["param_groups"]
    assert back["param_groups"][1]["betas"] == (0.5, 0.6)
    assert back["state"].keys() == sd["state"].keys()
    for i in sd["state"]:
        assert back["state"][i].keys() == sd["state"][i].keys()
        assert back["state"][i]["step"] == sd["state"][i]["step"] == 3
        for k, v in sd["state"][i].items():
            if isinstance(v, np.ndarray):
                assert back["state"][i][k].dtype == v.dtype and back["state"][i][k].shape == v.shape
                np.testing.assert_array_equal(back["state"][i][k], v)
    # the scheduler's state is JSON as well
    sched_sd = json.loads(json.dumps(sched.state_dict()))
    sched2 = lr_scheduler.StepLR(opt, step_size=7)
    sched2.load_state_dict(sched_sd)
    assert sched2.get_last_lr() == sched.get_last_lr() and sched2.step_size == 1


def test_flatten_keeps_parameters_with_only_array_state():
    sd = {
        "state": {0: {"momentum_buffer": np.ones(2)}, 1: {}},
        "param_groups": [{"lr": 0.1, "params": [0, 1]}],
    }
    arrays, meta = optim.flatten_state_dict(sd)
    back = optim.unflatten_state_dict(arrays, meta)
    assert back["state"].keys() == {0, 1}
    with pytest.raises(TypeError, match="JSON"):
        optim.flatten_state_dict({"state": {0: {"x": object()}}, "param_groups": []})


# ---- schedulers --------------------------------------------------------------------------

SCHEDULERS = [
    ("StepLR", dict(step_size=4, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[3, 10, 10, 20], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=10)),  # 30 steps: down, back up, down again
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01)),
]


@pytest.mark.parametrize("name,kw", SCHEDULERS, ids=[n for n, _ in SCHEDULERS])
def test_scheduler_matches_torch_over_30_steps(name, kw):
    s_opt = optim.SGD(
        [
            {"params": [shendu.zeros(1, requires_grad=True)]},
            {"params": [shendu.zeros(1, requires_grad=True)], "lr": 0.5},
        ],
        lr=0.1,
    )
    t_opt = torch.optim.SGD(
        [
            {"params": [torch.zeros(1, requires_grad=True)]},
            {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.5},
        ],
        lr=0.1,
    )
    s_sched = getattr(lr_scheduler, name)(s_opt, **kw)
    t_sched = getattr(torch.optim.lr_scheduler, name)(t_opt, **kw)
    s_lrs, t_lrs = [], []
    for _ in range(30):
        s_lrs.append(s_sched.get_last_lr())
        t_lrs.append(t_sched.get_last_lr())
        t_opt.step()
        s_sched.step()
        t_sched.step()
    np.testing.assert_allclose(s_lrs, t_lrs, rtol=1e-12, atol=1e-15)
    assert [g["lr"] for g in s_opt.param_groups] == pytest.approx([g["lr"] for g in t_opt.param_groups])
    assert len(set(np.round(np.array(s_lrs)[:, 0], 12))) > 2  # the rate changed


def test_scheduler_resume_from_state_dict():
    def make():
        opt = optim.SGD([shendu.zeros(1, requires_grad=True)], lr=1.0)
        return opt, lr_scheduler.CosineAnnealingLR(opt, T_max=12, eta_min=0.1)

    opt, sched = make()
    for _ in range(5):
        sched.step()
    opt_sd, sched_sd = opt.state_dict(), json.loads(json.dumps(sched.state_dict()))
    opt2, sched2 = make()
    opt2.load_state_dict(opt_sd)
    sched2.load_state_dict(sched_sd)
    for _ in range(10):
        sched.step()
        sched2.step()
        assert sched2.get_last_lr() == sched.get_last_lr()
        assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]


# ---- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda p: optim.SGD(p, lr=-0.1), "learning rate: -0.1"),
        (lambda p: optim.SGD(p, lr=0.1, momentum=-0.5), "momentum value: -0.5"),
        (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov"),
        (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov"),
        (lambda p: optim.SGD(p, weight_decay=-1.0), "weight_decay value: -1.0"),
        (lambda p: optim.Adam(p, betas=(1.0, 0.999)), "beta parameter at index 0: 1.0"),
        (lambda p: optim.Adam(p, betas=(0.9, -0.1)), "beta parameter at index 1: -0.1"),
        (lambda p: optim.AdamW(p, eps=-1e-8), "epsilon value: -1e-08"),
        (lambda p: optim.Adagrad(p, lr_decay=-0.1), "lr_decay value: -0.1"),
        (lambda p: optim.RMSprop(p, alpha=-0.9), "alpha value: -0.9"),
        (lambda p: optim.SGD([{"params": p, "lr": -2.0}], lr=0.1), "learning rate: -2.0"),
        # NaN compares false with everything; torch.optim rejects it (`not 0.0 <= lr`)
        (lambda p: optim.Adam(p, lr=float("nan")), "learning rate: nan"),
        (lambda p: optim.RMSprop(p, momentum=float("nan")), "momentum value: nan"),
        (lambda p: optim.Adagrad(p, initial_accumulator_value=-1.0), "initial_accumulator_value value: -1.0"),
    ],
)
def test_invalid_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make([shendu.zeros(2, requires_grad=True)])


@pytest.mark.parametrize("n_threads", [1, 2])
def test_duplicate_parameters_like_torch(n_threads):
    """SGD([b, b]) warns and steps b twice, as torch does (momentum included), also where the
    group's updates would otherwise run side by side on the threads."""
    with _threads_and_tiny_pieces(n_threads):
        _duplicate_parameters_like_torch()


def _duplicate_parameters_like_torch():
    for kw in (dict(lr=0.1), dict(lr=0.1, momentum=0.9), dict(lr=0.1, momentum=0.9, nesterov=True)):
        s_b, t_b = shendu.ones(3, requires_grad=True), torch.ones(3, dtype=torch.float32, requires_grad=True)
        s_c, t_c = shendu.ones(2, requires_grad=True), torch.ones(2, dtype=torch.float32, requires_grad=True)
        with pytest.warns(UserWarning, match="duplicate parameters"):
            s_opt = optim.SGD([{"params": [s_b, s_b]}, {"params": [s_c]}], **kw)
        with pytest.warns(UserWarning, match="duplicate parameters"):
            t_opt = torch.optim.SGD([{"params": [t_b, t_b]}, {"params": [t_c]}], **kw)
        for k in range(3):
            g = np.arange(3, dtype=np.float32) + k
            s_b.grad, t_b.grad = shendu.tensor(g), torch.from_numpy(g.copy())
            s_c.grad, t_c.grad = shendu.ones(2), torch.ones(2)
            s_opt.step()
            t_opt.step()
            np.testing.assert_allclose(s_b.numpy(), t_b.detach().numpy(), rtol=1e-6, atol=1e-6)
        s_sd, t_sd = s_opt.state_dict(), t_opt.state_dict()
        assert [g["params"] for g in s_sd["param_groups"]] == [g["params"] for g in t_sd["param_groups"]]
        assert sorted(s_sd["state"]) == sorted(t_sd["state"])


def test_invalid_params():
    w = shendu.zeros(2, requires_grad=True)
    with pytest.raises(TypeError, match="iterable of Tensors"):
        optim.SGD(w, lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="only optimize Tensors.*ndarray"):
        optim.SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [w]}, {"params": [w]}], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([w * 2], lr=0.1)
    with pytest.raises(TypeError, match="is not an Optimizer"):
        lr_scheduler.StepLR(object(), step_size=1)


# ---- the schedulers PyTorch scripts use beyond the classic ones ---------------------------------


def _two_group_opts(opt_name="SGD", **kw):
    def groups(lib):
        z = (
            (lambda: shendu.zeros(1, requires_grad=True))
            if lib is optim
            else (lambda: torch.zeros(1, requires_grad=True))
        )
        return [{"params": [z()]}, {"params": [z()], "lr": 0.5}]

    return getattr(optim, opt_name)(groups(optim), lr=0.1, **kw), getattr(torch.optim, opt_name)(
        groups(torch.optim), lr=0.1, **kw
    )


def _lambda_half(epoch):
    return 0.5 ** (epoch // 3)


MORE_SCHEDULERS = [
    ("LambdaLR", lambda L, o: L.LambdaLR(o, lr_lambda=_lambda_half), "SGD", {}),
    ("LambdaLR-per-group", lambda L, o: L.LambdaLR(o, [_lambda_half, lambda e: 1 / (e + 1)]), "SGD", {}),
    ("MultiplicativeLR", lambda L, o: L.MultiplicativeLR(o, lambda e: 0.95), "SGD", {}),
    ("LinearLR", lambda L, o: L.LinearLR(o, start_factor=0.25, total_iters=8), "SGD", {}),
    (
        "LinearLR-down",
        lambda L, o: L.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=12),
        "SGD",
        {},
    ),
    ("MultiStepLR-unsorted", lambda L, o: L.MultiStepLR(o, milestones=[20, 5, 12], gamma=0.5), "SGD", {}),
    (
        "CosineAnnealingWarmRestarts",
        lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=4, T_mult=2, eta_min=0.01),
        "SGD",
        {},
    ),
    ("CosineAnnealingWarmRestarts-1", lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=7), "SGD", {}),
    (
        "SequentialLR",
        lambda L, o: L.SequentialLR(
            o,
            [L.LinearLR(o, start_factor=0.1, total_iters=5), L.CosineAnnealingLR(o, T_max=10)],
            milestones=[5],
        ),
        "SGD",
        {},
    ),
    (
        "SequentialLR-3",
        lambda L, o: L.SequentialLR(
            o, [L.ExponentialLR(o, 0.9), L.StepLR(o, 3, 0.5), L.MultiStepLR(o, [2, 4])], milestones=[6, 15]
        ),
        "SGD",
        {},
    ),
    (
        "OneCycleLR-sgd",
        lambda L, o: L.OneCycleLR(o, max_lr=[1.0, 2.0], total_steps=30),
        "SGD",
        {"momentum": 0.9},
    ),
    (
        "OneCycleLR-adam-3phase",
        lambda L, o: L.OneCycleLR(
            o, max_lr=0.3, epochs=3, steps_per_epoch=10, three_phase=True, anneal_strategy="linear"
        ),
        "Adam",
        {},
    ),
]


@pytest.mark.parametrize("name,make,opt_name,kw", MORE_SCHEDULERS, ids=[m[0] for m in MORE_SCHEDULERS])
def test_more_schedulers_match_torch(name, make, opt_name, kw):
    s_opt, t_opt = _two_group_opts(opt_name, **kw)
    s_sched, t_sched = make(lr_scheduler, s_opt), make(torch.optim.lr_scheduler, t_opt)
    s_lrs, t_lrs, s_mom, t_mom = [], [], [], []
    for _ in range(29):
        s_lrs.append(s_sched.get_last_lr())
        t_lrs.append(t_sched.get_last_lr())
        key = "betas" if opt_name == "Adam" else "momentum"
        s_mom.append([np.ravel(g[key])[0] for g in s_opt.param_groups])
        t_mom.append([np.ravel(g[key])[0] for g in t_opt.param_groups])
        t_opt.step()
        s_sched.step()
        t_sched.step()
    np.testing.assert_allclose(s_lrs, t_lrs, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(s_mom, t_mom, rtol=1e-12)
    assert len(set(np.round(np.array(s_lrs)[:, 0], 12))) > 2
    sd = json.loads(json.dumps(s_sched.state_dict()))  # storable without pickle
    s_opt2, _ = _two_group_opts(opt_name, **kw)
    again = make(lr_scheduler, s_opt2)  # a resumed script: build both, then load both states
    s_opt2.load_state_dict(s_opt.state_dict())
    again.load_state_dict(sd)
    s_sched.step()
    again.step()
    assert again.get_last_lr() == s_sched.get_last_lr()


def test_reduce_lr_on_plateau_matches_torch():
    losses = [1.0, 0.9, 0.91, 0.92, 0.93, 0.95, 0.89, 0.9, 0.9, 0.9, 0.9, 0.9, 0.5, 0.5, 0.5, 0.5, 0.5]
    for kw in (
        dict(patience=2),
        dict(mode="max", patience=1, factor=0.5, cooldown=2, min_lr=[0.01, 0.2]),
        dict(patience=0, threshold=0.05, threshold_mode="abs"),
    ):
        s_opt, t_opt = _two_group_opts()
        s_sched = lr_scheduler.ReduceLROnPlateau(s_opt, **kw)
        t_sched = torch.optim.lr_scheduler.ReduceLROnPlateau(t_opt, **kw)
        for loss in losses:
            s_sched.step(loss)
            t_sched.step(loss)
            assert [g["lr"] for g in s_opt.param_groups] == pytest.approx(
                [g["lr"] for g in t_opt.param_groups]
            )
            assert s_sched.get_last_lr() == pytest.approx(t_sched.get_last_lr())
        assert s_opt.param_groups[0]["lr"] < 0.1
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        lr_scheduler.ReduceLROnPlateau(s_opt, factor=1.0)
