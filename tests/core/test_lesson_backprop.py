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


def test_run_writes_graph_with_values_and_gradients(tmp_path, capsys):
    res = backprop.run(out=tmp_path)
    dot = (tmp_path / "chain_rule.dot").read_text()
    assert "digraph" in dot and "value = 25" in dot and "grad = 10" in dot and "grad = 1\\n" not in dot
    assert str(tmp_path / "chain_rule.dot") in res["files"]
    png = tmp_path / "chain_rule.png"
    assert str(png) in res["files"] and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    assert "pay = 22" in printed and "pay = 71.5" in printed
    assert np.isclose(res["apples_oranges"]["d_tax"], 65)
