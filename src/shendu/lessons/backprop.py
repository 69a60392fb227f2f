"""Lesson 反向传播 / backpropagation on a computational graph.

Every number printed here is computed by shendu's autograd engine (and the chain-rule
example is checked against numerical differentiation), never typed in.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import shendu
from shendu.autograd import numerical_grad
from shendu.autograd.graphviz import write_dot
from shendu.lessons._plot import lesson, start


def _leaf(v: float) -> shendu.Tensor:
    # float64 so 2.2 prints as 2.2, not 2.2000000476837.
    return shendu.tensor(np.float64(v), requires_grad=True)


def apples(price: float = 10.0, count: float = 2.0, tax: float = 1.1) -> dict[str, float]:
    """pay = price × count × tax; gradients of pay with respect to each input."""
    p, n, t = _leaf(price), _leaf(count), _leaf(tax)
    pay = p * n * t
    pay.backward()
    return {"pay": pay.item(), "d_price": p.grad.item(), "d_count": n.grad.item(), "d_tax": t.grad.item()}


def apples_oranges(
    apple_price: float = 10.0,
    apple_count: float = 2.0,
    orange_price: float = 15.0,
    orange_count: float = 3.0,
    tax: float = 1.1,
) -> dict[str, float]:
    """pay = (apple_price × apple_count + orange_price × orange_count) × tax, with every node's gradient."""
    ap, an, op, on, t = (_leaf(v) for v in (apple_price, apple_count, orange_price, orange_count, tax))
    apple_total = ap * an
    orange_total = op * on
    subtotal = apple_total + orange_total
    pay = subtotal * t
    for node in (apple_total, orange_total, subtotal):
        node.retain_grad()
    pay.backward()
    nodes = {
        "apple_price": ap,
        "apple_count": an,
        "orange_price": op,
        "orange_count": on,
        "tax": t,
        "apple_total": apple_total,
        "orange_total": orange_total,
        "subtotal": subtotal,
    }
    out = {"pay": pay.item()}
    out.update({f"value_{k}": v.item() for k, v in nodes.items()})
    out.update({f"d_{k}": v.grad.item() for k, v in nodes.items()})
    return out


def chain_rule(x: float = 3.0, y: float = 2.0, out: Path | None = None) -> dict:
    """z = t², t = x + y: autograd's dz/dx against 2(x + y) and a central difference."""
    xt, yt = _leaf(x), _leaf(y)
    t = xt + yt
    z = t**2
    t.retain_grad()
    z.retain_grad()
    z.backward(retain_graph=True)
    numeric = numerical_grad(lambda a, b: (a + b) ** 2, xt.detach(), yt.detach())
    result = {
        "z": z.item(),
        "dz_dx": xt.grad.item(),
        "dz_dy": yt.grad.item(),
        "dz_dt": t.grad.item(),
        "formula_2_x_plus_y": 2 * (x + y),
        "numerical_dz_dx": float(numeric[0]),
        "numerical_dz_dy": float(numeric[1]),
    }
    if out is not None:
        result["files"] = [
            str(p) for p in write_dot(z, out / "chain_rule.dot", {"x": xt, "y": yt, "t": t, "z": z})
        ]
    return result


@lesson
def run(out: str | Path | None = None, quick: bool = False, verbose: bool = True) -> dict:
    """Run the lesson: print the three examples and write the chain-rule graph."""
    folder, say = start("backprop", out, quick, verbose)
    a, ao, cr = apples(), apples_oranges(), chain_rule(out=folder)
    if True:
        say(
            "Backpropagation (反向传播): each node passes  upstream gradient × local derivative  to its inputs.\n"
        )
        say("1. Two apples at 10 each, 10% consumption tax:  pay = price × count × tax")
        say(f"   pay = {a['pay']:g}")
        say(f"   d pay / d price = {a['d_price']:g}   (count × tax)")
        say(f"   d pay / d count = {a['d_count']:g}   (price × tax)")
        say(f"   d pay / d tax   = {a['d_tax']:g}   (price × count)\n")
        say("2. Two apples at 10 and three oranges at 15, 10% tax:")
        say("   pay = (apple_price × apple_count + orange_price × orange_count) × tax")
        say(f"   pay = {ao['pay']:g}")
        say(f"   {'node':<14}{'value':>8}{'d pay / d node':>18}")
        for k in (
            "apple_price",
            "apple_count",
            "orange_price",
            "orange_count",
            "tax",
            "apple_total",
            "orange_total",
            "subtotal",
        ):
            say(f"   {k:<14}{ao['value_' + k]:>8g}{ao['d_' + k]:>18g}")
        say(
            "   (an addition node passes its gradient on unchanged; a multiplication node swaps its inputs)\n"
        )
        say("3. Chain rule (链式法则): z = t², t = x + y, at x = 3, y = 2")
        say(
            f"   dz/dx by backprop = {cr['dz_dx']:g}, by the formula 2(x + y) = {cr['formula_2_x_plus_y']:g}, "
            f"numerically = {cr['numerical_dz_dx']:.6f}"
        )
        say(f"   dz/dt = 2t = {cr['dz_dt']:g};  dt/dx = 1")
        say(f"\nGraph of example 3 (values and gradients): {', '.join(cr['files'])}")
    return {
        "apples": a,
        "apples_oranges": ao,
        "chain_rule": cr,
        "files": cr["files"],
        "pngs": [f for f in cr["files"] if f.endswith(".png")],
    }
