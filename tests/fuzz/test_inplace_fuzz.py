"""The in-place fuzzer: random programs that change tensors in place after they were saved, viewed or
detached; shendu must raise exactly where PyTorch raises and agree where PyTorch agrees.

A program starts from two leaves that require grad and two that do not (float64, 3×4) and draws
4-14 steps: ops that save their inputs or outputs for backward (mul, div, exp, sigmoid, tanh, relu,
sin, square), views (rows, column slices, transposes, reshapes, ``view(-1)``, which raises on a
transposed or sliced tensor, ``contiguous()``, which copies one; 0-d elements; some made under
``no_grad``), ``detach()``, and in-place changes (``add_ sub_ mul_ div_ clamp_ copy_ fill_ zero_
masked_fill_``, ``x[i] = v``, ``+=``), some under ``no_grad``, of any value: leaves, views, results,
detached tensors. A view made under ``no_grad`` is only changed in place, never an operand: torch's
handling of such a view inside the graph is not consistent (a saved one changed in place is
sometimes refused, sometimes dropped from backward without a word); shendu refuses it once it
changed. Then a loss over several values and ``backward()``. The program runs in torch,
then in shendu; both must raise at the same step with the same kind of error, or both finish with
the same values, the same ``requires_grad`` on every value and the same leaf gradients
(rtol 1e-7).

CI runs 3,000 programs; SHENDU_FUZZ_LONG=1 (or ``--fuzz-long``) runs 50,000, SHENDU_FUZZ_PROGRAMS=N
any other count. A failure names the program's seed: ``make_program(seed)`` rebuilds it.
"""

from __future__ import annotations

import os
from collections import Counter
from contextlib import nullcontext

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import shendu

LONG = bool(os.environ.get("SHENDU_FUZZ_LONG"))
PROGRAMS = int(os.environ.get("SHENDU_FUZZ_PROGRAMS", 50_000 if LONG else 3_000))
STATS: Counter = Counter()
torch.set_num_threads(1)

ERROR_KINDS = (
    "modified by an inplace operation",
    "a view of a leaf Variable that requires grad",
    "a leaf Variable that requires grad",
    "created in no_grad mode and is being modified",
    "created in no_grad mode and its base",
    "is not compatible with input",  # view() of elements that are not one run in memory
)


def error_kind(e: Exception) -> str:
    msg = str(e)
    for k in ERROR_KINDS:
        if k.lower() in msg.lower():
            return k
    return f"{type(e).__name__}: {msg[:160]}"


# ---- steps: plain tuples, applied to either library ---------------------------------------------
UNARY = {
    "exp": lambda a: a.exp(),
    "sigmoid": lambda a: a.sigmoid(),
    "tanh": lambda a: a.tanh(),
    "relu": lambda a: a.relu(),
    "square": lambda a: a * a,
}
BINARY = {
    "mul": lambda a, b: a * b,
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "div": lambda a, b: a / (b * b + 1.0),
}


def _view(a, kind: str, p: int):
    if kind == "row":
        return a[p]
    if kind == "rows":
        return a[1:]
    if kind == "cols":
        return a[:, 1:3]
    if kind == "t":
        return a.t()
    if kind == "flat":
        return a.reshape(-1)
    if kind == "fold":
        return a.reshape(2, -1)
    if kind == "view":
        return a.view(-1)  # raises, as torch, where a is not one run in memory
    if kind == "contig":
        return a.contiguous()  # a itself, or a copy that writes never reach a
    if kind == "part":
        return a[1:3]
    if kind == "elem":
        return a[p]
    raise AssertionError(kind)


def _operand(lib, vals, o):
    if o[0] == "num":
        return o[1]
    if o[0] == "val":
        return vals[o[1]]
    return lib.tensor(np.asarray(o[1]), dtype=lib.float64)


def apply_step(lib, vals, step):
    """Run one step; returns the new value (or None for an in-place step)."""
    kind = step[0]
    if kind == "unary":
        return UNARY[step[1]](vals[step[2]])
    if kind == "binary":
        return BINARY[step[1]](vals[step[2]], vals[step[3]])
    if kind == "view":
        ctx = lib.no_grad() if step[4] else nullcontext()
        with ctx:
            return _view(vals[step[2]], step[1], step[3])
    if kind == "detach":
        return vals[step[1]].detach()
    assert kind == "inplace"
    _, op, target, operand, no_grad, extra = step
    t = vals[target]
    with lib.no_grad() if no_grad else nullcontext():
        o = None if operand is None else _operand(lib, vals, operand)
        if op in ("add_", "sub_", "mul_", "copy_"):
            getattr(t, op)(o)
        elif op == "div_":
            t.div_(o * o + 1.0 if not isinstance(o, float) else o)
        elif op == "iadd":
            t += o
        elif op == "clamp_":
            t.clamp_(-0.5, 0.7)
        elif op == "fill_":
            t.fill_(o)
        elif op == "zero_":
            t.zero_()
        elif op == "masked_fill_":
            t.masked_fill_(lib.tensor(np.asarray(extra)), 0.25)
        elif op == "setitem":
            t[extra] = o
        else:
            raise AssertionError(op)
    return None


# ---- drawing a program ----------------------------------------------------------------------------
def _views_for(shape, contiguous: bool):
    if len(shape) == 2:
        kinds = [("row", shape[1:]), ("t", shape[::-1]), ("view", (shape[0] * shape[1],)), ("contig", shape)]
        if shape[0] >= 2:
            kinds.append(("rows", (shape[0] - 1, shape[1])))
        if shape[1] >= 2:
            kinds.append(("cols", (shape[0], min(shape[1], 3) - 1)))
        if contiguous:
            kinds += [("flat", (shape[0] * shape[1],))]
            if (shape[0] * shape[1]) % 2 == 0:
                kinds.append(("fold", (2, shape[0] * shape[1] // 2)))
        return kinds
    if len(shape) == 1 and shape[0] >= 3:
        return [("part", (2,)), ("elem", ())]
    return []


def make_program(seed: int):
    rng = np.random.default_rng(seed)
    leaves = [rng.uniform(-1.5, 1.5, (3, 4)) for _ in range(4)]  # w0, w1 need grad; x0, x1 do not
    meta = [((3, 4), True)] * 4  # (shape, contiguous) per value
    no_grad_views: set[int] = set()  # made under no_grad (or views of those): never used in ops
    steps = []
    for _ in range(int(rng.integers(4, 15))):
        r = rng.random()
        i = int(rng.integers(len(meta)))
        shape, contig = meta[i]
        same = [j for j, (s, _) in enumerate(meta) if s == shape and j not in no_grad_views]
        if r < 0.3:
            if i in no_grad_views:
                continue
            if rng.random() < 0.5:
                steps.append(("unary", str(rng.choice(list(UNARY))), i))
            else:
                steps.append(("binary", str(rng.choice(list(BINARY))), i, int(rng.choice(same))))
            meta.append((shape, True))
        elif r < 0.5:
            kinds = _views_for(shape, contig)
            if not kinds:
                continue
            kind, vshape = kinds[int(rng.integers(len(kinds)))]
            p = int(rng.integers(shape[0])) if shape else 0
            steps.append(("view", kind, i, p, bool(rng.random() < 0.15)))
            if steps[-1][4] or i in no_grad_views:
                no_grad_views.add(len(meta))
            keeps_runs = kind in ("row", "rows", "flat", "fold", "view", "part", "elem") and contig
            meta.append((vshape, kind == "contig" or keeps_runs))
        elif r < 0.55:
            steps.append(("detach", i))
            meta.append((shape, contig))
        else:
            if i < 2 and rng.random() < 0.85:  # in place on a leaf that requires grad: always refused
                i = int(rng.integers(2, len(meta)))
                shape, contig = meta[i]
                same = [j for j, (s, _) in enumerate(meta) if s == shape and j not in no_grad_views]
            steps.append(_draw_inplace(rng, meta, i, shape, same or [i], no_grad_views))
    n_out = int(rng.integers(1, 4))
    usable = [j for j in range(len(meta)) if j not in no_grad_views]
    outs = [int(j) for j in rng.choice(usable, size=min(n_out, len(usable)), replace=False)]
    weights = [rng.standard_normal(meta[j][0]) for j in outs]
    return leaves, steps, outs, weights


def _draw_inplace(rng, meta, i, shape, same, no_grad_views):
    op = str(
        rng.choice(
            [
                "add_",
                "sub_",
                "mul_",
                "div_",
                "iadd",
                "clamp_",
                "copy_",
                "fill_",
                "zero_",
                "masked_fill_",
                "setitem",
            ]
        )
    )
    no_grad = bool(rng.random() < 0.25)
    r = rng.random()
    if r < 0.6:
        operand = ("val", int(rng.choice(same)))
    elif r < 0.8:
        operand = ("num", float(rng.uniform(0.5, 2.0)))
    else:
        operand = ("const", rng.uniform(-1, 1, shape).tolist())
    extra = None
    if op in ("clamp_", "zero_"):
        operand = None
    elif op == "fill_":
        operand = ("num", float(rng.uniform(-1, 1)))
    elif op == "masked_fill_":
        operand, extra = None, (rng.random(shape) < 0.5).tolist()
    elif op == "setitem":
        if not shape:
            return ("inplace", "fill_", i, ("num", 0.5), no_grad, None)
        extra = int(rng.integers(shape[0]))
        sub = [j for j, (s, _) in enumerate(meta) if s == shape[1:] and j not in no_grad_views]
        if sub and rng.random() < 0.6:
            operand = ("val", int(rng.choice(sub)))
        else:
            operand = ("num", float(rng.uniform(-1, 1)))
    return ("inplace", op, i, operand, no_grad, extra)


# ---- running and comparing ------------------------------------------------------------------------
def _touch_grad_fns(vals) -> None:
    """torch re-derives a view's node lazily, when ``grad_fn`` is read, and until then may take
    the view for a leaf (an in-place op on it then raises or not depending on whether anyone
    looked). shendu re-derives views eagerly, at the in-place op: read every ``grad_fn`` after
    each step so that torch behaves the same whatever the program prints."""
    for v in vals:
        try:
            v.grad_fn  # noqa: B018 (read for its effect)
        except RuntimeError:
            pass  # a view made under no_grad whose base changed: using it will raise


def run(lib, leaves, steps, outs, weights):
    """('raises', step index, kind) or ('ok', values, requires_grad flags, leaf grads)."""
    vals = [lib.tensor(a, dtype=lib.float64, requires_grad=k < 2) for k, a in enumerate(leaves)]
    for n, step in enumerate(steps):
        try:
            new = apply_step(lib, vals, step)
        except RuntimeError as e:
            return ("raises", n, error_kind(e))
        if new is not None:
            vals.append(new)
        if lib is torch:
            _touch_grad_fns(vals)
    try:
        loss = None
        for j, w in zip(outs, weights, strict=True):
            if vals[j].requires_grad:
                term = (vals[j] * lib.tensor(w, dtype=lib.float64)).sum()
                loss = term if loss is None else loss + term
        if loss is not None:
            loss.backward()
    except RuntimeError as e:
        return ("raises", len(steps), error_kind(e))
    values = [v.detach().numpy().copy() for v in vals]
    flags = [bool(v.requires_grad) for v in vals]
    grads = [None if v.grad is None else v.grad.detach().numpy().copy() for v in vals[:2]]
    return ("ok", values, flags, grads)


def check_program(seed: int) -> None:
    program = make_program(seed)
    with np.errstate(all="ignore"):
        expected = run(torch, *program)
        got = run(shendu, *program)
    where = f"program seed {seed} (make_program({seed})): steps {program[1]}"
    if expected[0] == "raises":
        STATS["raises"] += 1
        STATS[expected[2]] += 1
        assert got[0] == "raises", f"torch raises at step {expected[1]} ({expected[2]}), shendu not. {where}"
        assert got[1:] == expected[1:], f"torch raises {expected[1:]}, shendu {got[1:]}. {where}"
        return
    STATS["agrees"] += 1
    assert got[0] == "ok", f"shendu raises {got[1:]} where torch does not. {where}"
    _, values, flags, grads = got
    _, t_values, t_flags, t_grads = expected
    assert flags == t_flags, f"requires_grad {flags} != torch's {t_flags}. {where}"
    for k, (v, t) in enumerate(zip(values, t_values, strict=True)):
        if np.isfinite(t).all():
            np.testing.assert_allclose(v, t, rtol=1e-7, atol=1e-12, err_msg=f"value {k}. {where}")
    for k, (g, t) in enumerate(zip(grads, t_grads, strict=True)):
        assert (g is None) == (t is None), f"leaf {k}: grad {g is not None}, torch's {t is not None}. {where}"
        if t is not None and np.isfinite(t).all():
            np.testing.assert_allclose(g, t, rtol=1e-7, atol=1e-12, err_msg=f"grad of leaf {k}. {where}")


PER_EXAMPLE = 50


@settings(
    max_examples=max(1, PROGRAMS // PER_EXAMPLE),
    deadline=None,
    database=None,
    derandomize=not LONG,
    suppress_health_check=list(HealthCheck),
)
@given(st.integers(0, 2**63 - 1))
def test_inplace_programs_raise_and_agree_where_torch_does(seed):
    for k in range(PER_EXAMPLE):
        check_program((seed + k * 0x9E3779B97F4A7C15) % 2**63)


def test_inplace_fuzzer_ran_enough_programs_of_both_kinds():
    """Runs after the fuzzer in the same module: say how many programs raised and how many agreed."""
    n = STATS["raises"] + STATS["agrees"]
    if n == 0:
        pytest.skip("the in-place fuzz test did not run in this process")
    kinds = {k: STATS[k] for k in ERROR_KINDS if STATS[k]}
    print(f"\nin-place fuzzer: {n} programs, {STATS['agrees']} agree, {STATS['raises']} raise: {kinds}")
    assert n >= PROGRAMS * 0.9
    assert STATS["agrees"] > 0.2 * n and STATS["raises"] > 0.05 * n
