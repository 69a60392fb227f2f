"""Logic gates with the course's weights, XOR both ways, and Rosenblatt's rule."""

import numpy as np
import pytest

from shendu.models import Perceptron, and_gate, nand_gate, or_gate, xor_gate

INPUTS = [(0, 0), (1, 0), (0, 1), (1, 1)]
TRUTH = {
    and_gate: [0, 0, 0, 1],
    or_gate: [0, 1, 1, 1],
    nand_gate: [1, 1, 1, 0],
}
X = np.array(INPUTS)


@pytest.mark.parametrize("gate", list(TRUTH), ids=lambda g: g.__name__)
def test_gate_truth_table_scalars(gate):
    out = [gate(a, b) for a, b in INPUTS]
    assert out == TRUTH[gate]
    assert all(type(o) is int for o in out)


@pytest.mark.parametrize("gate", list(TRUTH), ids=lambda g: g.__name__)
def test_gate_vectorised(gate):
    out = gate(X[:, 0], X[:, 1])
    assert isinstance(out, np.ndarray) and out.dtype == np.int64
    assert out.tolist() == TRUTH[gate]
    # broadcasting: a column against a row gives the whole table as a 2×2 grid
    grid = gate(np.array([[0], [1]]), np.array([0, 1]))
    assert grid.shape == (2, 2)
    assert grid[1, 1] == TRUTH[gate][3] and grid[0, 0] == TRUTH[gate][0]


def test_gates_use_course_thresholds():
    # AND fires at 0.5+0.5 = 1.0 > θ = 0.7 but not at 0.5 < 0.7; OR fires at 0.5 > θ = 0.2.
    assert and_gate(0.7, 0.7) == 0  # 0.7 = θ exactly: not > θ
    assert and_gate(0.8, 0.7) == 1
    assert or_gate(0.4, 0.0) == 0 and or_gate(0.5, 0.0) == 1
    assert nand_gate(0.8, 0.7) == 0 and nand_gate(0.6, 0.7) == 1


@pytest.mark.parametrize("method", ["and-nand-or", "nand"])
def test_xor_both_constructions(method):
    assert [xor_gate(a, b, method=method) for a, b in INPUTS] == [0, 1, 1, 0]
    assert xor_gate(X[:, 0], X[:, 1], method=method).tolist() == [0, 1, 1, 0]


def test_xor_bad_method():
    with pytest.raises(ValueError, match="method"):
        xor_gate(0, 1, method="or")


@pytest.mark.parametrize("targets", [[0, 0, 0, 1], [0, 1, 1, 1], [1, 1, 1, 0]], ids=["AND", "OR", "NAND"])
def test_perceptron_converges_on_separable_gates(targets):
    p = Perceptron(lr=0.1, max_epochs=100)
    result = p.fit(X, np.array(targets))
    assert result.converged
    assert result.errors[-1] == 0 and all(e > 0 for e in result.errors[:-1])
    assert result.epochs == len(result.errors) < 100
    assert p.predict(X).tolist() == targets
    # the learned line separates the classes with the returned weights
    assert ((X @ result.weights + result.bias > 0).astype(int) == targets).all()


def test_perceptron_random_init_converges_too():
    result = Perceptron(lr=0.5, max_epochs=200, init="random", seed=3).fit(X, np.array([0, 0, 0, 1]))
    assert result.converged


def test_perceptron_reports_non_convergence_on_xor():
    result = Perceptron(lr=0.1, max_epochs=50).fit(X, np.array([0, 1, 1, 0]))
    assert not result.converged
    assert result.epochs == 50 and len(result.errors) == 50
    assert min(result.errors) >= 1  # XOR is not linearly separable: every epoch makes a mistake
    assert "did NOT converge" in str(result)


def test_perceptron_rule_by_hand():
    # Zero weights, η = 1: sample (1,1) with t = 1 predicts 0 (0 > 0 is false) → w = (1, 1), b = 1.
    p = Perceptron(lr=1.0, max_epochs=1)
    r = p.fit(np.array([[1, 1]]), np.array([1]))
    assert r.weights.tolist() == [1.0, 1.0] and r.bias == 1.0 and r.errors == [1]


def test_perceptron_errors():
    with pytest.raises(ValueError, match="0 or 1"):
        Perceptron().fit(X, np.array([0, 2, 1, 0]))
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        Perceptron().fit(np.zeros(4), np.zeros(4))
    with pytest.raises(RuntimeError, match="fit"):
        Perceptron().predict(X)
    with pytest.raises(ValueError, match="features"):
        p = Perceptron()
        p.fit(X, np.array([0, 0, 0, 1]))
        p.predict(np.zeros((2, 3)))
