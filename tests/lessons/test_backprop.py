"""The backprop lesson: numbers from the engine equal the course's, computed independently."""

import numpy as np
import pytest

from shendu.lessons import backprop


def test_apples():
    a = backprop.apples()
    price, count, tax = 10.0, 2.0, 1.1
    assert a["pay"] == pytest.approx(price * count * tax)
    assert a["d_price"] == pytest.approx(count * tax) and a["d_price"] == pytest.approx(2.2)
    assert a["d_count"] == pytest.approx(price * tax) and a["d_count"] == pytest.approx(11)
    assert a["d_tax"] == pytest.approx(price * count) and a["d_tax"] == pytest.approx(20)


def test_apples_and_oranges_every_node():
    r = backprop.apples_oranges()
    assert r["pay"] == pytest.approx(71.5)
    expect = {
        "apple_price": 2 * 1.1,
        "apple_count": 10 * 1.1,
        "orange_price": 3 * 1.1,
        "orange_count": 15 * 1.1,
        "tax": 2 * 10 + 3 * 15,
        "apple_total": 1.1,
        "orange_total": 1.1,
        "subtotal": 1.1,
    }
    for node, grad in expect.items():
        assert r[f"d_{node}"] == pytest.approx(grad), node


@pytest.mark.parametrize("x,y", [(3.0, 2.0), (-1.5, 0.25)])
def test_chain_rule_matches_formula_and_numerics(x, y):
    r = backprop.chain_rule(x, y)
    assert r["dz_dx"] == pytest.approx(2 * (x + y))
    assert r["dz_dy"] == pytest.approx(2 * (x + y))
    assert r["numerical_dz_dx"] == pytest.approx(2 * (x + y), rel=1e-6)


def test_node_rules_add_passes_on_multiply_swaps():
    r = backprop.node_rules(x=3.0, y=5.0, upstream=1.3)
    assert r["add_dx"] == r["add_dy"] == pytest.approx(1.3)
    assert r["mul_dx"] == pytest.approx(1.3 * 5.0) and r["mul_dy"] == pytest.approx(1.3 * 3.0)


def test_book_layers_agree_with_autograd():
    lay, auto = backprop.apples_by_layers(), backprop.apples()
    for k in ("pay", "d_price", "d_count", "d_tax"):
        assert lay[k] == pytest.approx(auto[k])


def test_run_in_chinese_draws_the_graphs_and_prints_the_code(tmp_path):
    res = backprop.run(out=tmp_path, quick=True, verbose=False)
    text = res["text"]
    for term in (
        "反向传播",
        "计算图",
        "乘法节点",
        "加法节点",
        "局部导数",
        "链式法则",
        "正向传播",
        "支付金额 = 22",
        "71.5",
    ):
        assert term in text, term
    assert "class Mul(Function)" in text and "def backward(self, dout)" in text  # the code beside the numbers
    assert "PowScalar" not in text
    names = sorted(p.rsplit("/", 1)[-1] for p in res["pngs"])
    assert names == ["apples.png", "apples_oranges.png", "chain_rule.png", "node_rules.png"]
    for p in res["pngs"]:
        assert open(p, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert np.isclose(res["apples_oranges"]["d_tax"], 65)
    en = backprop.run(out=tmp_path / "en", quick=True, verbose=False, lang="en")["text"]
    assert "multiply node" in en and "pay = 22" in en and "乘法节点" not in en.split("# shendu")[0]
