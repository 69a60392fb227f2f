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

from shendu.lessons._i18n import tr
from shendu.lessons._plot import figure, make_run, save, source, table
from shendu.models.perceptron import (
    AND_WEIGHTS,
    NAND_WEIGHTS,
    OR_WEIGHTS,
    Perceptron,
    and_gate,
    gate,
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
            label=tr(f"输出 {cls}", f"output {cls}"),
            zorder=3,
        )
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel, xlim=(-0.5, 1.5), ylim=(-0.5, 1.5), aspect="equal")


def compute(quick: bool = False) -> dict:
    """Every number the lesson prints and draws: truth tables, best XOR line, hidden layer, learning."""
    x1, x2 = X[:, 0], X[:, 1]
    tables = {
        "AND": and_gate(x1, x2).tolist(),
        "OR": or_gate(x1, x2).tolist(),
        "NAND": nand_gate(x1, x2).tolist(),
        "XOR (AND(NAND, OR))": xor_gate(x1, x2, method="and-nand-or").tolist(),
        "XOR (4 NAND)": xor_gate(x1, x2, method="nand").tolist(),
    }
    best = best_line(X.astype(float), XOR_T, n_angles=180 if quick else 360)
    hidden = np.stack([nand_gate(x1, x2), or_gate(x1, x2)], axis=1)
    # In (s1, s2) space: which points are class 1, and does AND's single line finish XOR?
    ones = sorted({tuple(h) for h, t in zip(hidden.tolist(), XOR_T, strict=True) if t == 1})
    zeros = sorted({tuple(h) for h, t in zip(hidden.tolist(), XOR_T, strict=True) if t == 0})
    max_epochs = 20 if quick else 30
    learnt = {name: Perceptron(lr=0.1, max_epochs=max_epochs) for name in ("AND", "OR", "XOR")}
    results = {
        name: learnt[name].fit(X, target)
        for name, target in (("AND", and_gate(x1, x2)), ("OR", or_gate(x1, x2)), ("XOR", XOR_T))
    }
    out = {
        "truth_tables": tables,
        "xor_truth": XOR_T.tolist(),
        "xor_best_line_errors": best["errors"],
        "xor_best_line": best,
        "hidden": hidden.tolist(),
        "hidden_class1": [list(h) for h in ones],
        "hidden_class0": [list(h) for h in zeros],
        "and_on_hidden": and_gate(hidden[:, 0], hidden[:, 1]).tolist(),
        "max_epochs": max_epochs,
        "learnt": {
            k: {"converged": r.converged, "epochs": r.epochs, "errors": r.errors} for k, r in results.items()
        },
        "and_learnt_predictions": learnt["AND"].predict(X).tolist(),
    }
    out.update(conclusions(out))
    return out


def conclusions(r: dict) -> dict:
    """What the numbers say: which gates are XOR, whether one line can do XOR, whether two layers can."""
    xor = r["xor_truth"]
    return {
        "xor_methods_right": [k for k, v in r["truth_tables"].items() if k.startswith("XOR") and v == xor],
        "xor_separable_by_one_line": r["xor_best_line_errors"] == 0,
        "two_layers_solve_xor": r["and_on_hidden"] == xor,
        "hidden_class1_is_one_point": len(r["hidden_class1"]) == 1,
        "converged": {k: v["converged"] for k, v in r["learnt"].items()},
    }


_GATE = {"AND": "与门", "OR": "或门", "NAND": "与非门", "XOR": "异或门"}


def _learnt(name: str, res: dict) -> str:
    """One line on how the learning rule did on one gate."""
    if res["converged"]:
        zh, en = f"{res['epochs']} 轮后收敛", f"converged after {res['epochs']} epochs"
    else:
        zh, en = f"{res['epochs']} 轮后仍不收敛", f"did NOT converge in {res['epochs']} epochs"
    return tr(
        f"   {_GATE[name]}：{zh}（每轮错误数：{res['errors']}）", f"   {name}: {en} (errors: {res['errors']})"
    )


def report(r: dict) -> list[str]:
    tables, best = r["truth_tables"], r["xor_best_line"]
    rows = [[f"({a}, {b})", *(tables[k][i] for k in tables)] for i, (a, b) in enumerate(X)]
    pts = lambda ps: ", ".join(f"({a}, {b})" for a, b in ps)  # noqa: E731
    right = r["xor_methods_right"]
    lines = [
        tr(
            "1. 感知机实现的逻辑门：w1·x1 + w2·x2 + b > 0 时 y = 1，否则 y = 0（b = −θ，θ 为阈值）：",
            "1. Perceptron gates, y = 1 if w1·x1 + w2·x2 + b > 0 else 0 (b = −θ, θ the threshold):",
        ),
        tr("   与门 AND、或门 OR、与非门 NAND：", "   AND, OR and NAND gates:"),
        f"   AND w = {AND_WEIGHTS[:2]}, b = {AND_WEIGHTS[2]};  OR w = {OR_WEIGHTS[:2]}, b = {OR_WEIGHTS[2]};"
        f"  NAND w = {NAND_WEIGHTS[:2]}, b = {NAND_WEIGHTS[2]}",
        table(["(x1, x2)", *tables], rows),
        tr(
            f"   两种两层接法中与异或真值表一致的：{len(right)} 种（共 2 种）。",
            f"   Two-layer circuits that match XOR's truth table: {len(right)} of 2.",
        ),
        tr(
            "   读代码：一个感知机，和用它实现的异或门：",
            "   Read the code: one perceptron, and XOR built from it:",
        ),
        source(gate, max_lines=14),
        source(xor_gate),
        "",
        tr(
            f"2. 单层感知机做异或门：搜索了 {best['lines_searched']:,} 条直线，最好的仍错 {best['errors']} "
            "个点（共 4 个）",
            f"2. XOR with one perceptron: searched {best['lines_searched']:,} lines; the best still gets "
            f"{best['errors']} of 4 points wrong",
        ),
        tr(
            "   （异或的两类不是线性可分的：一条直线分不开它们。）"
            if not r["xor_separable_by_one_line"]
            else "   （找到了一条分开异或的直线？那就与理论矛盾了。）",
            "   (XOR's classes are not linearly separable: one straight line cannot split them)."
            if not r["xor_separable_by_one_line"]
            else "   (a line separating XOR? that would contradict the theory).",
        ),
        "",
        tr(
            "3. 两层感知机：第一层把 (x1, x2) 映射到 (s1, s2) = (与非门, 或门)：",
            "3. Two layers: the first maps (x1, x2) to (s1, s2) = (NAND, OR):",
        ),
        "   " + ", ".join(f"{tuple(x)} -> {tuple(h)}" for x, h in zip(X.tolist(), r["hidden"], strict=True)),
        tr(
            f"   在 (s1, s2) 空间里，类别 1 是 {pts(r['hidden_class1'])}，"
            f"类别 0 是 {pts(r['hidden_class0'])}；"
            f"第二层的与门输出 {r['and_on_hidden']}，"
            + ("正是异或：一条直线就完成了。" if r["two_layers_solve_xor"] else "不是异或。"),
            f"   In (s1, s2) space class 1 is {pts(r['hidden_class1'])}, class 0 is "
            f"{pts(r['hidden_class0'])}; AND in layer 2 outputs {r['and_on_hidden']}, "
            + ("exactly XOR: one line finishes the job." if r["two_layers_solve_xor"] else "not XOR."),
        ),
        "",
        tr(
            "4. 感知机学习规则 w ← w + η(t − y)x，b ← b + η(t − y)，η = 0.1，从 0 开始：",
            "4. The perceptron learning rule w ← w + η(t − y)x, b ← b + η(t − y), η = 0.1, from zeros:",
        ),
        *(_learnt(name, res) for name, res in r["learnt"].items()),
        tr(
            "   读代码：学习规则只在分错时更新权重（里面那一层 for）：",
            "   Read the code: the rule updates the weights only on a mistake (the inner loop):",
        ),
        source(Perceptron.fit),
    ]
    return lines


def draw(r: dict, folder: Path) -> list[str]:
    tables, best = r["truth_tables"], r["xor_best_line"]
    pngs = []
    fig, axes = figure(1, 4, size=(16, 4.3))
    for ax, name, wts in zip(
        axes, ["AND", "OR", "NAND"], [AND_WEIGHTS, OR_WEIGHTS, NAND_WEIGHTS], strict=False
    ):
        _points(
            ax, X, np.array(tables[name]), f"{tr(_GATE[name], name)}: w = ({wts[0]}, {wts[1]}), b = {wts[2]}"
        )
        _draw_line(ax, *wts, color="k", label="w·x + b = 0")
        ax.legend(loc="upper right", fontsize=8)
    ax = axes[3]
    _points(
        ax,
        X,
        XOR_T,
        tr(
            f"异或：最好的直线也错 {best['errors']} 个", f"XOR: best single line, {best['errors']} of 4 wrong"
        ),
    )
    _draw_line(
        ax, best["w"][0], best["w"][1], best["b"], color="k", ls="--", label=tr("最好的直线", "best line")
    )
    ax.legend(loc="upper right", fontsize=8)
    separable = [_GATE[k] if tr("中", "") else k for k in ("AND", "OR", "NAND")]
    fig.suptitle(
        tr(
            f"一个感知机 = 一条直线：{'、'.join(separable)}线性可分，异或门"
            + ("不可分" if not r["xor_separable_by_one_line"] else "也可分"),
            f"One perceptron = one straight line: {', '.join(separable)} are separable, XOR "
            + ("is not" if not r["xor_separable_by_one_line"] else "is too"),
        )
    )
    pngs.append(save(fig, folder, "gates_lines.png"))

    fig, (a1, a2) = figure(1, 2, size=(9.5, 4.6))
    _points(a1, X, XOR_T, tr("输入空间中的异或：不可分", "XOR in input space: not separable"))
    _draw_line(a1, *NAND_WEIGHTS, color="tab:purple", label=tr("与非门的直线", "NAND line"))
    _draw_line(a1, *OR_WEIGHTS, color="tab:green", label=tr("或门的直线", "OR line"))
    a1.legend(loc="upper right", fontsize=8)
    jitter = np.array([[0.0, 0.0], [-0.04, 0.04], [0.04, -0.04], [0.0, 0.0]])  # (1,0),(0,1) both map to (1,1)
    _points(
        a2,
        np.array(r["hidden"]) + jitter,
        XOR_T,
        tr("第一层之后：(s1, s2) = (与非门, 或门)", "After layer 1: (s1, s2) = (NAND, OR)"),
        "s1 = NAND(x1, x2)",
        "s2 = OR(x1, x2)",
    )
    _draw_line(a2, *AND_WEIGHTS, color="k", label=tr("与门的直线（第二层）", "AND line (layer 2)"))
    a2.legend(loc="lower left", fontsize=8)
    fig.suptitle(
        tr(
            "异或 = 与(与非(x1, x2), 或(x1, x2))：两层使它可分",
            "XOR = AND(NAND(x1, x2), OR(x1, x2)): two layers make it separable",
        )
        if r["two_layers_solve_xor"]
        else tr("与(与非, 或) 没有得到异或", "AND(NAND, OR) did not give XOR")
    )
    pngs.append(save(fig, folder, "xor_two_layers.png"))

    fig, ax = figure(size=(6.5, 4.0))
    for (name, res), m in zip(r["learnt"].items(), ("o-", "s-", "^-"), strict=True):
        state = tr("收敛", "converged") if res["converged"] else tr("不收敛", "no convergence")
        ax.plot(
            range(1, res["epochs"] + 1),
            res["errors"],
            m,
            ms=4,
            label=f"{tr(_GATE[name], name)} ({state})",
        )
    ax.set(
        title=tr("感知机学习规则：每轮的错误数", "Perceptron learning rule: mistakes per epoch"),
        xlabel=tr("轮次 epoch", "epoch"),
        ylabel=tr("分错的样本数（共 4 个）", "misclassified samples (of 4)"),
    )
    ax.set_ylim(-0.2, 4.2)
    ax.set_yticks(range(5))
    ax.legend()
    ax.grid(True, alpha=0.3)
    pngs.append(save(fig, folder, "learning_rule.png"))
    return pngs


run = make_run("gates", compute, report, draw)
