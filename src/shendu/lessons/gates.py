"""感知机 — the perceptron: logic gates, why XOR needs two layers, and the learning rule.

1. AND, OR and NAND are single perceptrons, y = 1 if w·x + b > 0 else 0, with the course's
   weights: AND w = (0.5, 0.5), θ = 0.7; OR θ = 0.2; NAND = AND negated (b = −θ).
2. Each gate is a straight line w·x + b = 0 that separates the 1s from the 0s. XOR's 1s, (1, 0)
   and (0, 1), sit on a diagonal and its 0s on the other: every straight line gets at least one
   of the four points wrong. We search thousands of lines and report the best.
3. Two layers fix it: XOR = AND(NAND(x1, x2), OR(x1, x2)), or four NAND gates. The first layer
   maps the four points to (NAND, OR) space, where AND's single line separates them.
4. Rosenblatt's rule w ← w + η(t − y)x learns AND in a few epochs; on XOR it never stops making
   mistakes (``shendu.models.perceptron.Perceptron``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shendu.lessons._plot import figure, lesson, save, start, table
from shendu.models.perceptron import (
    AND_WEIGHTS,
    NAND_WEIGHTS,
    OR_WEIGHTS,
    Perceptron,
    and_gate,
    nand_gate,
    or_gate,
    xor_gate,
)

X = np.array([[0, 0], [1, 0], [0, 1], [1, 1]])
XOR_T = np.array([0, 1, 1, 0])


def best_line(X: np.ndarray, t: np.ndarray, n_angles: int = 360, n_offsets: int = 241) -> dict:
    """Search lines w·x + b = 0 (w = (cos a, sin a)) for the fewest misclassified points.

    Among the lines with the fewest errors, return the one farthest from its nearest point
    (the most convincing picture). Vectorised over all lines and points at once.
    """
    a = np.linspace(0, 2 * np.pi, n_angles, endpoint=False)
    w = np.stack([np.cos(a), np.sin(a)], axis=1)  # (A, 2)
    b = np.linspace(-1.6, 1.6, n_offsets)  # (B,)
    score = (X @ w.T)[:, :, None] + b[None, None, :]  # (N, A, B)
    pred = (score > 0).astype(int)
    errors = (pred != t[:, None, None]).sum(axis=0)  # (A, B)
    margin = np.abs(score).min(axis=0)
    fewest = errors.min()
    cand = np.where(errors == fewest, margin, -np.inf)
    i, j = np.unravel_index(np.argmax(cand), cand.shape)
    return {"errors": int(fewest), "w": w[i].tolist(), "b": float(b[j]), "lines_searched": int(errors.size)}


def _draw_line(ax, w1: float, w2: float, b: float, **kw) -> None:
    xs = np.linspace(-0.5, 1.5, 2)
    if abs(w2) > 1e-9:
        ax.plot(xs, -(w1 * xs + b) / w2, **kw)
    else:
        ax.axvline(-b / w1, **kw)


def _points(ax, X: np.ndarray, t: np.ndarray, title: str, xlabel: str = "x1", ylabel: str = "x2") -> None:
    for cls, marker, color in [(0, "o", "tab:blue"), (1, "^", "tab:red")]:
        m = t == cls
        ax.scatter(
            X[m, 0],
            X[m, 1],
            s=110,
            marker=marker,
            color=color,
            edgecolor="k",
            label=f"output {cls}",
            zorder=3,
        )
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel, xlim=(-0.5, 1.5), ylim=(-0.5, 1.5), aspect="equal")


@lesson
def run(out: str | Path | None = None, quick: bool = False, verbose: bool = True) -> dict:
    folder, say = start("gates", out, quick, verbose)
    x1, x2 = X[:, 0], X[:, 1]

    # 1. truth tables from the course's weights
    tables = {
        "AND": and_gate(x1, x2).tolist(),
        "OR": or_gate(x1, x2).tolist(),
        "NAND": nand_gate(x1, x2).tolist(),
        "XOR (AND(NAND, OR))": xor_gate(x1, x2, method="and-nand-or").tolist(),
        "XOR (4 NAND)": xor_gate(x1, x2, method="nand").tolist(),
    }
    rows = [[f"({a}, {b})", *(tables[k][i] for k in tables)] for i, (a, b) in enumerate(X)]
    say(
        "1. Perceptron gates, y = 1 if w1·x1 + w2·x2 + b > 0 else 0 (b = −θ):",
        f"   AND w = {AND_WEIGHTS[:2]}, b = {AND_WEIGHTS[2]};  OR w = {OR_WEIGHTS[:2]}, b = {OR_WEIGHTS[2]};"
        f"  NAND w = {NAND_WEIGHTS[:2]}, b = {NAND_WEIGHTS[2]}",
        table(["(x1, x2)", *tables], rows),
    )

    # 2. no single line separates XOR
    best = best_line(X.astype(float), XOR_T, n_angles=180 if quick else 360)
    say(
        "",
        f"2. XOR with one perceptron: searched {best['lines_searched']:,} lines; the best still gets "
        f"{best['errors']} of 4 points wrong",
        "   (XOR's classes are not linearly separable: one straight line cannot split them).",
    )

    # 3. the hidden layer makes XOR separable
    hidden = np.stack([nand_gate(x1, x2), or_gate(x1, x2)], axis=1)
    say(
        "",
        "3. Two layers: the first maps (x1, x2) to (s1, s2) = (NAND, OR):",
        "   "
        + ", ".join(f"{tuple(x)} -> {tuple(h)}" for x, h in zip(X.tolist(), hidden.tolist(), strict=True)),
        "   In (s1, s2) space, (1, 1) is the only point of class 1, so AND's line finishes the job.",
    )

    # 4. Rosenblatt's learning rule
    max_epochs = 20 if quick else 30
    learn_and = Perceptron(lr=0.1, max_epochs=max_epochs).fit(X, and_gate(x1, x2))
    learn_or = Perceptron(lr=0.1, max_epochs=max_epochs).fit(X, or_gate(x1, x2))
    learn_xor = Perceptron(lr=0.1, max_epochs=max_epochs).fit(X, XOR_T)
    say(
        "",
        "4. The perceptron learning rule w ← w + η(t − y)x, b ← b + η(t − y), η = 0.1, from zeros:",
        f"   AND: {learn_and}",
        f"   OR:  {learn_or}",
        f"   XOR: {learn_xor}",
    )

    pngs = []
    fig, axes = figure(1, 4, size=(16, 4.3))
    for ax, name, wts in zip(
        axes, ["AND", "OR", "NAND"], [AND_WEIGHTS, OR_WEIGHTS, NAND_WEIGHTS], strict=False
    ):
        _points(ax, X, np.array(tables[name]), f"{name}: w = ({wts[0]}, {wts[1]}), b = {wts[2]}")
        _draw_line(ax, *wts, color="k", label="w·x + b = 0")
        ax.legend(loc="upper right", fontsize=8)
    ax = axes[3]
    _points(ax, X, XOR_T, f"XOR: best single line, {best['errors']} of 4 wrong")
    _draw_line(ax, *best["w"], best["b"], color="k", ls="--", label="best line")
    ax.legend(loc="upper right", fontsize=8)
    fig.suptitle("One perceptron = one straight line: AND, OR, NAND are separable, XOR is not")
    pngs.append(save(fig, folder, "gates_lines.png"))

    fig, (a1, a2) = figure(1, 2, size=(9.5, 4.6))
    _points(a1, X, XOR_T, "XOR in input space: not separable")
    _draw_line(a1, *NAND_WEIGHTS, color="tab:purple", label="NAND line")
    _draw_line(a1, *OR_WEIGHTS, color="tab:green", label="OR line")
    a1.legend(loc="upper right", fontsize=8)
    jitter = np.array([[0.0, 0.0], [-0.04, 0.04], [0.04, -0.04], [0.0, 0.0]])  # (1,0),(0,1) both map to (1,1)
    _points(
        a2,
        hidden + jitter,
        XOR_T,
        "After layer 1: (s1, s2) = (NAND, OR)",
        "s1 = NAND(x1, x2)",
        "s2 = OR(x1, x2)",
    )
    _draw_line(a2, *AND_WEIGHTS, color="k", label="AND line (layer 2)")
    a2.legend(loc="lower left", fontsize=8)
    fig.suptitle("XOR = AND(NAND(x1, x2), OR(x1, x2)): two layers make it separable")
    pngs.append(save(fig, folder, "xor_two_layers.png"))

    fig, ax = figure(size=(6.5, 4.0))
    for name, res, m in [("AND", learn_and, "o-"), ("OR", learn_or, "s-"), ("XOR", learn_xor, "^-")]:
        ax.plot(
            range(1, res.epochs + 1),
            res.errors,
            m,
            ms=4,
            label=f"{name} ({'converged' if res.converged else 'no convergence'})",
        )
    ax.set(
        title="Perceptron learning rule: mistakes per epoch",
        xlabel="epoch",
        ylabel="misclassified samples (of 4)",
    )
    ax.set_ylim(-0.2, 4.2)
    ax.set_yticks(range(5))
    ax.legend()
    ax.grid(True, alpha=0.3)
    pngs.append(save(fig, folder, "learning_rule.png"))
    say.figures(pngs)

    return {
        "truth_tables": tables,
        "xor_best_line_errors": best["errors"],
        "xor_best_line": best,
        "hidden": hidden.tolist(),
        "and_converged": learn_and.converged,
        "and_epochs": learn_and.epochs,
        "and_errors": learn_and.errors,
        "and_learnt_predictions": (learn_and.weights @ X.T + learn_and.bias > 0).astype(int).tolist(),
        "or_converged": learn_or.converged,
        "xor_converged": learn_xor.converged,
        "xor_errors": learn_xor.errors,
        "pngs": pngs,
    }
