"""反向传播 — backpropagation on a computational graph (计算图), as the notes draw it.

1. Two apples at 10 with 10% tax: pay = price × count × tax = 22; backward gives
   ∂pay/∂price = 2.2, ∂pay/∂count = 11, ∂pay/∂tax = 20.
2. Apples and oranges: pay = (10 × 2 + 15 × 3) × 1.1 = 71.5, and the gradient at every node.
3. The two rules: an 加法节点 (add node) passes the upstream gradient on unchanged (局部导数 1);
   a 乘法节点 (multiply node) multiplies it by the *other* input.
4. The 链式法则 (chain rule) on z = t², t = x + y, checked by central differences.

Every number comes from shendu's autograd engine (``shendu.ops.arithmetic.Mul``/``Add``); the
book-style twins ``shendu.reference.layers.MulLayer``/``AddLayer`` are printed and agree.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import shendu
from shendu.autograd import numerical_grad
from shendu.lessons._graph import Edge, draw_graph
from shendu.lessons._i18n import tr
from shendu.lessons._plot import figure, grad_of, make_run, save, source
from shendu.ops.arithmetic import Add, Mul
from shendu.reference.layers import AddLayer, MulLayer

NODES = [
    "apple_price",
    "apple_count",
    "orange_price",
    "orange_count",
    "tax",
    "apple_total",
    "orange_total",
    "subtotal",
]


def _leaf(v: float) -> shendu.Tensor:
    # float64 so 2.2 prints as 2.2, not 2.2000000476837.
    return shendu.tensor(np.float64(v), requires_grad=True)


def apples(price: float = 10.0, count: float = 2.0, tax: float = 1.1) -> dict[str, float]:
    """pay = price × count × tax; gradients of pay with respect to each input (and the subtotal)."""
    p, n, t = _leaf(price), _leaf(count), _leaf(tax)
    total = p * n
    total.retain_grad()
    pay = total * t
    pay.backward()
    return {
        "pay": pay.item(),
        "total": total.item(),
        "d_total": grad_of(total).item(),
        "d_price": grad_of(p).item(),
        "d_count": grad_of(n).item(),
        "d_tax": grad_of(t).item(),
    }


def apples_by_layers(price: float = 10.0, count: float = 2.0, tax: float = 1.1) -> dict[str, float]:
    """The same with the book's MulLayer objects: forward, then backward from dout = 1."""
    mul_apple, mul_tax = MulLayer(), MulLayer()
    pay = mul_tax.forward(mul_apple.forward(price, count), tax)
    d_total, d_tax = mul_tax.backward(1.0)
    d_price, d_count = mul_apple.backward(d_total)
    return {"pay": pay, "d_price": d_price, "d_count": d_count, "d_tax": d_tax}


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
    nodes = dict(zip(NODES, (ap, an, op, on, t, apple_total, orange_total, subtotal), strict=True))
    out = {"pay": pay.item()}
    out.update({f"value_{k}": v.item() for k, v in nodes.items()})
    out.update({f"d_{k}": grad_of(v).item() for k, v in nodes.items()})
    return out


def chain_rule(x: float = 3.0, y: float = 2.0) -> dict:
    """z = t², t = x + y: autograd's dz/dx against 2(x + y) and a central difference."""
    xt, yt = _leaf(x), _leaf(y)
    t = xt + yt
    t.retain_grad()
    z = t**2
    z.backward()
    numeric = numerical_grad(lambda a, b: (a + b) ** 2, xt.detach(), yt.detach())
    return {
        "x": x,
        "y": y,
        "t": t.item(),
        "z": z.item(),
        "dz_dx": grad_of(xt).item(),
        "dz_dy": grad_of(yt).item(),
        "dz_dt": grad_of(t).item(),
        "formula_2_x_plus_y": 2 * (x + y),
        "numerical_dz_dx": float(numeric[0]),
        "numerical_dz_dy": float(numeric[1]),
    }


def node_rules(x: float = 3.0, y: float = 5.0, upstream: float = 1.3) -> dict:
    """What an add and a multiply node pass back for one upstream gradient ∂L/∂z."""
    out = {"x": x, "y": y, "upstream": upstream}
    for name, fn in (("add", lambda a, b: a + b), ("mul", lambda a, b: a * b)):
        a, b = _leaf(x), _leaf(y)
        fn(a, b).backward(shendu.tensor(np.float64(upstream)))
        out[f"{name}_dx"], out[f"{name}_dy"] = grad_of(a).item(), grad_of(b).item()
    return out


def compute(quick: bool = False) -> dict:
    return {
        "apples": apples(),
        "apples_layers": apples_by_layers(),
        "apples_oranges": apples_oranges(),
        "rules": node_rules(),
        "chain_rule": chain_rule(),
    }


def report(r: dict) -> list[str]:
    a, ao, ru, cr, lay = r["apples"], r["apples_oranges"], r["rules"], r["chain_rule"], r["apples_layers"]
    same = all(np.isclose(lay[k], a[k]) for k in ("pay", "d_price", "d_count", "d_tax"))
    names = {
        "apple_price": tr("苹果单价", "apple price"),
        "apple_count": tr("苹果个数", "apple count"),
        "orange_price": tr("橘子单价", "orange price"),
        "orange_count": tr("橘子个数", "orange count"),
        "tax": tr("消费税", "tax"),
        "apple_total": tr("苹果总价", "apple total"),
        "orange_total": tr("橘子总价", "orange total"),
        "subtotal": tr("税前合计", "subtotal"),
    }
    w = max(len(v) for v in names.values())
    lines = [
        tr(
            "反向传播：在计算图上，每个节点把“上游传来的梯度 × 局部导数”传给它的输入（链式法则）。",
            "Backpropagation: on the computational graph each node passes "
            "upstream gradient × local derivative "
            "to its inputs (the chain rule).",
        ),
        "",
        tr(
            "1. 买 2 个苹果，单价 10，消费税 10%：支付金额 = 单价 × 个数 × 税",
            "1. Two apples at 10, 10% tax: pay = price × count × tax",
        ),
        tr(f"   正向传播：支付金额 = {a['pay']:g}", f"   forward: pay = {a['pay']:g}"),
        tr(
            f"   反向传播：∂支付/∂单价 = {a['d_price']:g}（个数 × 税），"
            f"∂支付/∂个数 = {a['d_count']:g}（单价 × 税），"
            f"∂支付/∂税 = {a['d_tax']:g}（单价 × 个数）",
            f"   backward: ∂pay/∂price = {a['d_price']:g} (count × tax), ∂pay/∂count = {a['d_count']:g} "
            f"(price × tax), ∂pay/∂tax = {a['d_tax']:g} (price × count)",
        ),
        tr(
            f"   用书中的 MulLayer 逐层计算：{'结果相同' if same else '结果不同！'}"
            f"（{lay['pay']:g}, {lay['d_price']:g}, {lay['d_count']:g}, {lay['d_tax']:g}）",
            f"   with the book's MulLayer, layer by layer: {'the same' if same else 'DIFFERENT!'} "
            f"({lay['pay']:g}, {lay['d_price']:g}, {lay['d_count']:g}, {lay['d_tax']:g})",
        ),
        tr(
            "   乘法节点的代码（shendu 的自动微分与书中的写法）：",
            "   The multiply node's code (shendu's autograd and the book's):",
        ),
        source(Mul),
        source(MulLayer),
        "",
        tr(
            "2. 买 2 个苹果（单价 10）和 3 个橘子（单价 15），消费税 10%：",
            "2. Two apples at 10 and three oranges at 15, 10% tax:",
        ),
        tr(
            f"   支付金额 = (10 × 2 + 15 × 3) × 1.1 = {ao['pay']:g}；每个节点的值和梯度：",
            f"   pay = (10 × 2 + 15 × 3) × 1.1 = {ao['pay']:g}; every node's value and gradient:",
        ),
    ]
    pad = lambda s: s + " " * (w - len(s) + (w - len(s) if tr("中", "") else 0))  # noqa: E731
    lines.append(f"   {pad(tr('节点', 'node'))}  {tr('值', 'value'):>8}  {'∂pay/∂node':>12}")
    for k in NODES:
        lines.append(f"   {pad(names[k])}  {ao['value_' + k]:>8g}  {ao['d_' + k]:>12g}")
    lines += [
        "",
        tr(
            f"3. 两条规则（x = {ru['x']:g}, y = {ru['y']:g}, 上游梯度 ∂L/∂z = {ru['upstream']:g}）：",
            f"3. The two rules (x = {ru['x']:g}, y = {ru['y']:g}, "
            f"upstream gradient ∂L/∂z = {ru['upstream']:g}):",
        ),
        tr(
            f"   加法节点 z = x + y：∂L/∂x = {ru['add_dx']:g}，∂L/∂y = {ru['add_dy']:g}"
            f"（局部导数为 1，梯度原样传下去）",
            f"   add node z = x + y: ∂L/∂x = {ru['add_dx']:g}, ∂L/∂y = {ru['add_dy']:g} "
            "(local derivative 1: passed on unchanged)",
        ),
        tr(
            f"   乘法节点 z = x × y：∂L/∂x = {ru['mul_dx']:g} = {ru['upstream']:g} × y，"
            f"∂L/∂y = {ru['mul_dy']:g} = {ru['upstream']:g} × x（交换输入）",
            f"   multiply node z = x × y: ∂L/∂x = {ru['mul_dx']:g} = {ru['upstream']:g} × y, "
            f"∂L/∂y = {ru['mul_dy']:g} = {ru['upstream']:g} × x (inputs swapped)",
        ),
        source(Add.backward),
        source(AddLayer.backward),
        "",
        tr(
            f"4. 链式法则：z = t²，t = x + y，x = {cr['x']:g}，y = {cr['y']:g}",
            f"4. The chain rule: z = t², t = x + y, at x = {cr['x']:g}, y = {cr['y']:g}",
        ),
        tr(
            f"   ∂z/∂x = ∂z/∂t · ∂t/∂x = 2t · 1：反向传播得 {cr['dz_dx']:g}，公式 2(x + y) = "
            f"{cr['formula_2_x_plus_y']:g}，数值微分 {cr['numerical_dz_dx']:.6f}",
            f"   ∂z/∂x = ∂z/∂t · ∂t/∂x = 2t · 1: by backprop {cr['dz_dx']:g}, by the formula 2(x + y) = "
            f"{cr['formula_2_x_plus_y']:g}, numerically {cr['numerical_dz_dx']:.6f}",
        ),
    ]
    return lines


def _v(x: float) -> str:
    return f"{x:g}"


def draw(r: dict, folder: Path) -> list[str]:
    a, ao, ru, cr = r["apples"], r["apples_oranges"], r["rules"], r["chain_rule"]
    fwd, bwd = (
        tr("黑：正向传播的值", "black: forward values"),
        tr("红：反向传播的梯度", "red: backward gradients"),
    )
    pngs = []

    fig, ax = figure(size=(8.5, 3.6))
    draw_graph(
        ax,
        {"m1": (2.2, 1.6, "×"), "m2": (4.6, 0.9, "×")},
        {
            "price": (0, 2.2, tr("苹果单价", "apple price")),
            "count": (0, 0.9, tr("苹果个数", "apple count")),
            "tax": (2.2, -0.3, tr("消费税", "tax")),
            "pay": (6.9, 0.9, tr("支付金额", "pay")),
        },
        [
            Edge("price", "m1", "10", _v(a["d_price"])),
            Edge("count", "m1", "2", _v(a["d_count"])),
            Edge("m1", "m2", _v(a["total"]), _v(a["d_total"])),
            Edge("tax", "m2", "1.1", _v(a["d_tax"])),
            Edge("m2", "pay", _v(a["pay"]), "1"),
        ],
    )
    ax.set_title(tr(f"买苹果的计算图（{fwd}，{bwd}）", f"Buying apples ({fwd}, {bwd})"), fontsize=11)
    pngs.append(save(fig, folder, "apples.png"))

    fig, ax = figure(size=(10, 5.0))
    draw_graph(
        ax,
        {"ma": (2.2, 3.5, "×"), "mo": (2.2, 1.3, "×"), "add": (4.6, 2.4, "+"), "mt": (7.0, 1.6, "×")},
        {
            "ap": (0, 4.1, tr("苹果单价", "apple price")),
            "an": (0, 2.9, tr("苹果个数", "apple count")),
            "op": (0, 1.9, tr("橘子单价", "orange price")),
            "on": (0, 0.7, tr("橘子个数", "orange count")),
            "tax": (4.6, 0.4, tr("消费税", "tax")),
            "pay": (9.3, 1.6, tr("支付金额", "pay")),
        },
        [
            Edge("ap", "ma", _v(ao["value_apple_price"]), _v(ao["d_apple_price"])),
            Edge("an", "ma", _v(ao["value_apple_count"]), _v(ao["d_apple_count"])),
            Edge("op", "mo", _v(ao["value_orange_price"]), _v(ao["d_orange_price"])),
            Edge("on", "mo", _v(ao["value_orange_count"]), _v(ao["d_orange_count"])),
            Edge("ma", "add", _v(ao["value_apple_total"]), _v(ao["d_apple_total"])),
            Edge("mo", "add", _v(ao["value_orange_total"]), _v(ao["d_orange_total"])),
            Edge("add", "mt", _v(ao["value_subtotal"]), _v(ao["d_subtotal"])),
            Edge("tax", "mt", _v(ao["value_tax"]), _v(ao["d_tax"])),
            Edge("mt", "pay", _v(ao["pay"]), "1"),
        ],
    )
    ax.set_title(
        tr(f"买苹果和橘子的计算图（{fwd}，{bwd}）", f"Apples and oranges ({fwd}, {bwd})"), fontsize=11
    )
    pngs.append(save(fig, folder, "apples_oranges.png"))

    fig, (a1, a2) = figure(1, 2, size=(10, 3.4))
    ends = {"x": (0, 1.4, "x"), "y": (0, 0, "y"), "z": (3.6, 0.7, "z → L")}
    draw_graph(
        a1,
        {"op": (1.8, 0.7, "+")},
        ends,
        [Edge("x", "op", "x", "∂L/∂z·1"), Edge("y", "op", "y", "∂L/∂z·1"), Edge("op", "z", "x + y", "∂L/∂z")],
    )
    a1.set_title(
        tr(
            f"加法节点：梯度原样传下去（∂L/∂z = {ru['upstream']:g} → {ru['add_dx']:g}, {ru['add_dy']:g}）",
            f"Add node: gradient passed on unchanged "
            f"({ru['upstream']:g} → {ru['add_dx']:g}, {ru['add_dy']:g})",
        ),
        fontsize=9.5,
    )
    draw_graph(
        a2,
        {"op": (1.8, 0.7, "×")},
        ends,
        [Edge("x", "op", "x", "∂L/∂z·y"), Edge("y", "op", "y", "∂L/∂z·x"), Edge("op", "z", "x·y", "∂L/∂z")],
    )
    a2.set_title(
        tr(
            f"乘法节点：乘以另一个输入（x={ru['x']:g}, y={ru['y']:g} → {ru['mul_dx']:g}, {ru['mul_dy']:g}）",
            f"Multiply node: times the other input "
            f"(x={ru['x']:g}, y={ru['y']:g} → {ru['mul_dx']:g}, {ru['mul_dy']:g})",
        ),
        fontsize=9.5,
    )
    pngs.append(save(fig, folder, "node_rules.png"))

    fig, ax = figure(size=(8, 3.0))
    draw_graph(
        ax,
        {"add": (1.8, 0.7, "+"), "sq": (4.2, 0.7, "x²")},
        {"x": (0, 1.4, "x"), "y": (0, 0, "y"), "z": (6.2, 0.7, "z")},
        [
            Edge("x", "add", _v(cr["x"]), _v(cr["dz_dx"])),
            Edge("y", "add", _v(cr["y"]), _v(cr["dz_dy"])),
            Edge("add", "sq", f"t = {_v(cr['t'])}", f"2t = {_v(cr['dz_dt'])}"),
            Edge("sq", "z", _v(cr["z"]), "1"),
        ],
    )
    ax.set_title(tr("链式法则：z = t²，t = x + y", "The chain rule: z = t², t = x + y"), fontsize=11)
    pngs.append(save(fig, folder, "chain_rule.png"))
    return pngs


run = make_run("backprop", compute, report, draw)
