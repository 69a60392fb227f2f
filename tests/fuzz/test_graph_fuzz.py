"""The graph fuzzer: random expression DAGs, shendu's leaf gradients against PyTorch's.

Hypothesis draws a program: 2-4 leaves, then 4-20 ops from every differentiable family
(broadcasting arithmetic, unary math, activations, reductions with keepdim, matmul, views,
indexing, cat/stack, conv/pool/normalisation/loss functionals), each op taking its operands from
everything computed so far, so intermediates are reused, directly and through longer paths, in
both orders. Several values feed the loss. The program runs in shendu while it is drawn, then
is replayed in torch; every leaf gradient must agree in float64 to rtol 1e-7.

CI runs 2,000 graphs; ``pytest tests/fuzz --fuzz-long`` or SHENDU_FUZZ_LONG=1 runs 50,000
(SHENDU_FUZZ_GRAPHS=N for any other count). A failure names the program's seed:
``make_program(seed)`` rebuilds it.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import shendu
import shendu.nn.functional as F

LONG = bool(os.environ.get("SHENDU_FUZZ_LONG"))
GRAPHS = int(os.environ.get("SHENDU_FUZZ_GRAPHS", 50_000 if LONG else 2_000))
STATS: dict[str, float] = {"graphs": 0, "ops": 0, "seconds": 0.0}


class Lib:
    """The few calls whose spelling differs between shendu and torch."""

    def __init__(self, mod, functional) -> None:
        self.mod, self.F = mod, functional

    def tensor(self, arr, grad):
        if self.mod is torch:
            return torch.tensor(arr, dtype=torch.float64, requires_grad=grad)
        return shendu.tensor(arr, dtype=np.float64, requires_grad=grad)

    def long(self, arr):
        return (torch if self.mod is torch else shendu).tensor(arr, dtype=self.mod.int64)


SH, TO = Lib(shendu, F), Lib(torch, TF)


class _ContiguousGrad(torch.autograd.Function):
    """Identity whose backward makes the gradient contiguous. PyTorch 2.13's CPU batch_norm
    backward is wrong when grad_output looks channels-last and the input does not (with N = 1 a
    permuted gradient does: strides (2, 1, 8, 2) for (1, 2, 3, 4)); shendu agrees with the formula
    there, torch does not, so the oracle is given a contiguous gradient
    (tests/nn/test_normalization.py shows the torch bug)."""

    @staticmethod
    def forward(ctx, x):
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g):
        return g.contiguous()
torch.set_num_threads(1)  # tiny tensors: threads only add overhead (and fight the other worker)


# ---- the ops: name -> (applies to these shapes?, params drawer, builder) --------------------------
# A builder gets (lib, operands, params) and returns one tensor. ``tie`` marks values that may hold
# exact ties (after relu, clamp, max...), where max-like ops may route gradients differently.


def _bin(fn):
    return lambda L, a, p: fn(a[0], a[1])


UNARY = {
    "neg": lambda L, x, p: -x,
    "exp": lambda L, x, p: (x * 0.3).exp(),
    "log": lambda L, x, p: (x * x + 1.0).log(),
    "sqrt": lambda L, x, p: (x * x + 0.5).sqrt(),
    "abs": lambda L, x, p: x.abs(),
    "pow2": lambda L, x, p: x**2,
    "pow3": lambda L, x, p: x**3,
    "rpow": lambda L, x, p: 1.5 ** (x * 0.5),
    "recip": lambda L, x, p: 1.0 / (x * x + 1.0),
    "sigmoid": lambda L, x, p: x.sigmoid(),
    "tanh": lambda L, x, p: x.tanh(),
    "relu": lambda L, x, p: x.relu(),
    "leaky_relu": lambda L, x, p: L.F.leaky_relu(x, 0.1),
    "elu": lambda L, x, p: L.F.elu(x),
    "gelu": lambda L, x, p: L.F.gelu(x),
    "silu": lambda L, x, p: L.F.silu(x),
    "softplus": lambda L, x, p: L.F.softplus(x),
    "clamp": lambda L, x, p: x.clamp(-0.7, 0.9),
    "scale": lambda L, x, p: x * p["c"],
    "rsub": lambda L, x, p: p["c"] - x,
    "clone": lambda L, x, p: x.clone(),
}
TIE_MAKERS = {"relu", "clamp", "abs", "max", "amax", "min", "maximum", "minimum", "max_pool"}


def _draw_unary(d, x):
    name = d.choice(sorted(UNARY))
    if name in ("relu", "leaky_relu", "abs") and _near_zero(x):
        name = "tanh"  # a kink at 0 under a value that is 0 up to rounding: see _near_zero
    return name, {"c": d.choice([-2.0, 0.5, 3.0])}


class Program:
    """Values computed so far (shendu tensors while drawing) and the recorded steps."""

    def __init__(self) -> None:
        self.values: list = []
        self.tie: list[bool] = []
        self.steps: list[tuple] = []


def _shape(v) -> tuple[int, ...]:
    return tuple(v.shape)


def _broadcastable(a, b) -> bool:
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


def _near_zero(v) -> bool:
    """Whether some element of v is 0 up to rounding (|x| ≤ 1e-12 · max|v|, or tiny): a sum that
    cancels exactly in one library's order (−ab + ab) leaves ±1e-17 in another's (a fused
    multiply-add), so ``x > 0`` there is a coin toss, not a disagreement."""
    a = np.abs(np.asarray(v.tolist(), dtype=np.float64))
    return bool((a <= 1e-12 * max(1.0, float(a.max(initial=0.0)))).any())


def _pick(d, prog, cond=lambda s: True, recent: bool = True):
    idx = [i for i, v in enumerate(prog.values) if cond(_shape(v))]
    if not idx:
        return None
    if recent and d.bool():
        return idx[-1 - d.int(0, min(2, len(idx) - 1))]
    return d.choice(idx)


def _dim(d, ndim):
    return d.int(-ndim, ndim - 1)


def draw_step(d, prog):
    """Draw one op that fits the current values; return (name, operand indices, params)."""
    families = ["unary", "binary", "binary", "reduce", "view", "index", "matmul", "join", "nn", "loss"]
    family = d.choice(families)
    if family == "unary":
        i = _pick(d, prog)
        name, p = _draw_unary(d, prog.values[i])
        return "u:" + name, [i], p
    if family == "binary":
        i = _pick(d, prog)
        si = _shape(prog.values[i])
        j = _pick(d, prog, lambda s: _broadcastable(s, si), recent=False)
        op = d.choice(["add", "sub", "mul", "div", "maximum", "minimum", "where"])
        if op in ("maximum", "minimum") and (prog.tie[i] or prog.tie[j]) and i != j:
            op = "mul"
        if op == "where" and _near_zero(prog.values[i]):
            op = "mul"  # the branch of a value that is 0 up to rounding is the libraries' rounding
        return op, [i, j], {}
    if family == "reduce":
        i = _pick(d, prog, lambda s: len(s) >= 1)
        if i is None:
            return None
        nd = len(_shape(prog.values[i]))
        op = d.choice(["sum", "mean", "var", "amax", "max", "sum_all", "mean_all", "std"])
        if op in ("amax", "max") and prog.tie[i]:
            op = "sum"
        return op, [i], {"dim": _dim(d, nd), "keepdim": d.bool()}
    if family == "view":
        i = _pick(d, prog, lambda s: len(s) >= 1)
        if i is None:
            return None
        s = _shape(prog.values[i])
        op = d.choice(["reshape", "T", "transpose", "permute", "flatten", "unsqueeze", "squeeze", "expand"])
        p: dict = {}
        if op == "reshape":
            p["shape"] = (int(np.prod(s)),) if d.bool() else (-1, s[-1])
        elif op == "transpose":
            p["dims"] = (_dim(d, len(s)), _dim(d, len(s)))
        elif op == "permute":
            p["dims"] = tuple(d.perm(len(s)))
        elif op == "unsqueeze":
            p["dim"] = d.int(-len(s) - 1, len(s))
        elif op == "expand":
            if len(s) > 3:
                return None
            p["shape"] = (2, *s)
        elif op == "squeeze":
            if 1 not in s:
                op, p = "unsqueeze", {"dim": 0}
        return op, [i], p
    if family == "index":
        i = _pick(d, prog, lambda s: len(s) >= 1 and s[0] >= 2)
        if i is None:
            return None
        s = _shape(prog.values[i])
        kind = d.choice(["int", "slice", "step", "list", "mask_last", "ellipsis"])
        p = {"kind": kind, "n": s[0]}
        if kind == "list":
            p["idx"] = d.ints(0, s[0] - 1, 1, 4)
        return "index", [i], p
    if family == "matmul":
        i = _pick(d, prog, lambda s: 1 <= len(s) <= 3)
        if i is None:
            return None
        si = _shape(prog.values[i])
        k = si[-1]
        j = _pick(d, prog, lambda s: 2 <= len(s) <= 3 and s[-2] == k and len(si) >= 1, recent=False)
        return ("matmul", [i, j], {}) if j is not None else ("matmul_T", [i], {})
    if family == "join":
        i = _pick(d, prog, lambda s: len(s) >= 1)
        if i is None:
            return None
        si = _shape(prog.values[i])
        j = _pick(d, prog, lambda s: s == si, recent=False)
        op = d.choice(["cat", "stack"])
        return op, [i, j], {"dim": _dim(d, len(si) + (op == "stack"))}
    if family == "nn":
        i = _pick(d, prog, lambda s: len(s) == 4 and s[2] >= 3 and s[3] >= 3)
        if i is None:
            return None
        op = d.choice(
            [
                "conv2d",
                "max_pool",
                "avg_pool",
                "adaptive",
                "batch_norm",
                "layer_norm",
                "softmax",
                "log_softmax",
            ]
        )
        c = _shape(prog.values[i])[1]
        p = {"c": c}
        if op == "conv2d":
            p.update(
                out=d.int(1, 3),
                k=d.choice([1, 2, 3]),
                stride=d.choice([1, 2]),
                padding=d.choice([0, 1]),
                w=d.int(0, 2**31 - 1),
            )
        elif op == "max_pool" and prog.tie[i]:
            op = "avg_pool"
        if op in ("batch_norm", "layer_norm"):
            p["w"] = d.int(0, 2**31 - 1)
        if op in ("softmax", "log_softmax"):
            p["dim"] = _dim(d, 4)
        return op, [i], p
    # loss functionals: the result is a scalar that also joins the pool
    i = _pick(d, prog, lambda s: len(s) >= 1)
    si = _shape(prog.values[i])
    op = d.choice(["mse", "l1", "bce_logits", "cross_entropy", "nll"])
    if op in ("cross_entropy", "nll"):
        if len(si) != 2:
            return None
        return op, [i], {"target": d.ints(0, si[1] - 1, si[0], si[0])}
    j = _pick(d, prog, lambda s: s == si, recent=False)
    return op, [i, j], {}


def apply_step(L, vals, step):
    """Run one recorded step with library ``L`` on the tensors ``vals``."""
    name, idx, p = step
    a = [vals[i] for i in idx]
    mod, fn = L.mod, L.F
    if name.startswith("u:"):
        return UNARY[name[2:]](L, a[0], p)
    if name in ("add", "sub", "mul"):
        return {"add": a[0] + a[1], "sub": a[0] - a[1], "mul": a[0] * a[1]}[name]
    if name == "div":
        return a[0] / (a[1] * a[1] + 1.0)
    if name in ("maximum", "minimum"):
        return getattr(mod, name)(a[0], a[1])
    if name == "where":
        return mod.where(a[0].detach() > 0, a[0], a[1])
    if name in ("sum", "mean", "amax"):
        return getattr(a[0], name)(p["dim"], keepdim=p["keepdim"])
    if name == "var":
        return a[0].var(p["dim"], keepdim=p["keepdim"])
    if name == "std":
        return (a[0].var(p["dim"], keepdim=p["keepdim"]) + 0.1).sqrt()
    if name == "max":
        return a[0].max(p["dim"], keepdim=p["keepdim"])[0]
    if name == "sum_all":
        return a[0].sum()
    if name == "mean_all":
        return a[0].mean()
    if name == "reshape":
        return a[0].reshape(*p["shape"])
    if name == "T":
        return a[0].T if a[0].ndim == 2 else a[0].permute(*reversed(range(a[0].ndim)))
    if name == "transpose":
        return a[0].transpose(*p["dims"])
    if name == "permute":
        return a[0].permute(*p["dims"])
    if name == "flatten":
        return a[0].flatten()
    if name == "unsqueeze":
        return a[0].unsqueeze(p["dim"])
    if name == "squeeze":
        return a[0].squeeze(list(a[0].shape).index(1))
    if name == "expand":
        return a[0].expand(*p["shape"])
    if name == "index":
        x, n, kind = a[0], p["n"], p["kind"]
        if kind == "int":
            return x[n - 1]
        if kind == "slice":
            return x[1:]
        if kind == "step":
            return x[::2]
        if kind == "list":
            return x[L.long(p["idx"])]
        if kind == "mask_last":
            return x[..., 0] if x.ndim > 1 else x[:1]
        return x[..., :1]
    if name == "matmul":
        return a[0] @ a[1]
    if name == "matmul_T":
        x = a[0]
        return x @ (x.T if x.ndim == 2 else x.unsqueeze(-1) if x.ndim == 1 else x.transpose(-2, -1))
    if name == "cat":
        return mod.cat([a[0], a[1]], p["dim"])
    if name == "stack":
        return mod.stack([a[0], a[1]], p["dim"])
    if name == "conv2d":
        rng = np.random.default_rng(p["w"])
        w = L.tensor(rng.standard_normal((p["out"], p["c"], p["k"], p["k"])) * 0.5, False)
        b = L.tensor(rng.standard_normal(p["out"]), False)
        return fn.conv2d(a[0], w, b, stride=p["stride"], padding=p["padding"])
    if name == "max_pool":
        return fn.max_pool2d(a[0], 2, 1)
    if name == "avg_pool":
        return fn.avg_pool2d(a[0], 3, 2, 1)
    if name == "adaptive":
        return fn.adaptive_avg_pool2d(a[0], 2)
    if name == "batch_norm":
        rng = np.random.default_rng(p["w"])
        g, b = (L.tensor(rng.standard_normal(p["c"]), False) for _ in range(2))
        y = fn.batch_norm(a[0], None, None, g, b, training=True)
        return _ContiguousGrad.apply(y) if L is TO else y
    if name == "layer_norm":
        n = a[0].shape[-1]
        rng = np.random.default_rng(p["w"])
        g, b = (L.tensor(rng.standard_normal(n), False) for _ in range(2))
        return fn.layer_norm(a[0], (n,), g, b)
    if name in ("softmax", "log_softmax"):
        return getattr(fn, name)(a[0], dim=p["dim"])
    if name == "mse":
        return fn.mse_loss(a[0], a[1])
    if name == "l1":
        return fn.l1_loss(a[0], a[1])
    if name == "bce_logits":
        return fn.binary_cross_entropy_with_logits(a[0], a[1].sigmoid())
    if name == "cross_entropy":
        return fn.cross_entropy(a[0], L.long(p["target"]))
    if name == "nll":
        return fn.nll_loss(fn.log_softmax(a[0], dim=1), L.long(p["target"]))
    raise AssertionError(name)


LEAF_SHAPES = [(3,), (2, 3), (3, 3), (2, 1, 3), (2, 2, 4, 4), (1, 3), (4,), (2, 3, 4)]


class Draw:
    """The random choices of one program, from a seed (hypothesis draws the seeds)."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def choice(self, items):
        return items[int(self.rng.integers(len(items)))]

    def int(self, lo: int, hi: int) -> int:
        return int(self.rng.integers(lo, hi + 1))

    def bool(self) -> bool:
        return bool(self.rng.integers(2))

    def perm(self, n: int) -> list[int]:
        return [int(i) for i in self.rng.permutation(n)]

    def ints(self, lo: int, hi: int, min_size: int, max_size: int) -> list[int]:
        return [self.int(lo, hi) for _ in range(self.int(min_size, max_size))]


def make_program(seed: int):
    """(leaf arrays, steps, indices of the values in the loss, their weights) of one random DAG."""
    d = Draw(seed)
    n_leaves = d.int(2, 4)
    shapes = [d.choice(LEAF_SHAPES) for _ in range(n_leaves)]
    leaves = [d.rng.standard_normal(s) for s in shapes]
    prog = Program()
    prog.values = [SH.tensor(a, True) for a in leaves]
    prog.tie = [False] * n_leaves
    n_ops = d.int(4, 20)
    attempts = 0
    while len(prog.steps) < n_ops and attempts < 200:
        attempts += 1
        step = draw_step(d, prog)
        if step is None:
            continue
        try:
            with np.errstate(all="ignore"):
                v = apply_step(SH, prog.values, step)
        except (ValueError, IndexError, RuntimeError):
            continue  # a shape the op refuses (torch refuses it too): draw another
        if v.ndim > 5 or v.numel() > 400 or v.numel() == 0:
            continue
        prog.steps.append(step)
        prog.values.append(v)
        prog.tie.append(step[0].removeprefix("u:") in TIE_MAKERS or any(prog.tie[i] for i in step[1]))
    # the loss: several values (the last one and 0-2 others), each weighted elementwise
    n_out = d.int(1, 3)
    outs = [len(prog.values) - 1] + [d.int(n_leaves, len(prog.values) - 1) for _ in range(n_out - 1)]
    weights = [d.rng.standard_normal(_shape(prog.values[i])) for i in outs]
    return leaves, prog.steps, outs, weights, prog.values


def _loss(L, vals, outs, weights):
    return sum((vals[i] * L.tensor(w, False)).sum() for i, w in zip(outs, weights, strict=True))


def _grads(L, leaves):
    return [None if t.grad is None else (t.grad.detach() if L is TO else t.grad).numpy() for t in leaves]


def check_program(leaves_np, steps, outs, weights, values=None):
    """Replay ``steps`` in torch (and in shendu, unless ``values`` holds shendu's run already,
    leaves first) and compare the loss and every leaf gradient."""
    t0 = time.perf_counter()
    tvals = [TO.tensor(a, True) for a in leaves_np]
    for step in steps:
        tvals.append(apply_step(TO, tvals, step))
    tloss = _loss(TO, tvals, outs, weights)
    tloss.backward()
    tgrads = _grads(TO, tvals[: len(leaves_np)])
    if not np.isfinite(tloss.item()) or any(g is not None and not np.isfinite(g).all() for g in tgrads):
        return  # an overflow in torch as well: nothing to compare
    if values is None:
        values = [SH.tensor(a, True) for a in leaves_np]
        for step in steps:
            values.append(apply_step(SH, values, step))
    sloss = _loss(SH, values, outs, weights)
    sloss.backward()
    sgrads = _grads(SH, values[: len(leaves_np)])
    scale = max(1.0, abs(tloss.item()))
    np.testing.assert_allclose(sloss.item(), tloss.item(), rtol=1e-7, atol=1e-9 * scale)
    for k, (g, t) in enumerate(zip(sgrads, tgrads, strict=True)):
        assert (g is None) == (t is None), (
            f"leaf {k}: shendu grad {g is not None}, torch grad {t is not None}"
        )
        if t is not None:
            atol = 1e-9 * max(1.0, float(np.abs(t).max()))
            np.testing.assert_allclose(g, t, rtol=1e-7, atol=atol, err_msg=f"leaf {k}, steps {steps}")
    STATS["graphs"] += 1
    STATS["ops"] += len(steps)
    STATS["seconds"] += time.perf_counter() - t0


PER_EXAMPLE = 20  # programs per hypothesis example: drawing is cheap, hypothesis' bookkeeping is not


@settings(
    max_examples=GRAPHS // PER_EXAMPLE,
    deadline=None,
    database=None,
    derandomize=not LONG,
    suppress_health_check=list(HealthCheck),
)
@given(st.integers(0, 2**63 - 1))
def test_random_graphs_match_torch(seed):
    for k in range(PER_EXAMPLE):
        program_seed = (seed + k * 0x9E3779B97F4A7C15) % 2**63
        try:
            with np.errstate(all="ignore"):
                check_program(*make_program(program_seed))
        except AssertionError as e:
            raise AssertionError(f"program seed {program_seed} (make_program({program_seed})): {e}") from None


def test_fuzzer_ran_enough_graphs():
    """Runs after the fuzzer in the same module: say how many graphs were compared."""
    if STATS["graphs"] == 0:
        pytest.skip("the fuzz test did not run in this process")
    print(f"\ngraph fuzzer: {STATS['graphs']:.0f} graphs, {STATS['ops']:.0f} ops, {STATS['seconds']:.1f} s")
    assert STATS["graphs"] >= 0.9 * GRAPHS
