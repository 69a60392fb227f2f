"""Draw a computational graph (计算图), DeZero-style: Graphviz DOT text, and a PNG.

Variables are ellipses labelled with their value and gradient; ops are boxes. Call it after
``backward(retain_graph=True)`` so the graph still exists, and keep the intermediate tensors
you want labelled alive (with ``retain_grad()`` to see their gradients). The PNG comes from
Graphviz's ``dot`` where it is installed, else from matplotlib's own simple layered layout.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from shendu.autograd.function import Function
from shendu.tensor import Tensor


@dataclass
class Graph:
    """Nodes (id -> (kind, label)) and edges (src, dst), in the order found from the output."""

    nodes: dict[str, tuple[str, str]] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)


def _fmt(a: np.ndarray | None) -> str:
    a = np.asarray(a)
    return f"{a.item():g}" if a.size == 1 else np.array2string(a, precision=3, separator=",")


def _var_label(t: Tensor | None, names: dict[int, str]) -> str:
    if t is None:
        return "(freed)"
    name = names.get(id(t), "")
    grad = _fmt(t.grad._data) if t.grad is not None else "—"
    return (f"{name}\n" if name else "") + f"value = {_fmt(t._data)}\ngrad = {grad}"


def build_graph(output: Tensor, names: dict[str, Tensor] | None = None) -> Graph:
    """Walk the graph behind ``output`` (iteratively) into a :class:`Graph`."""
    by_id = {id(t): n for n, t in (names or {}).items()}
    g = Graph()
    var_ids: dict[int, str] = {}

    def var(t: Tensor | None, key: int) -> str:
        if key not in var_ids:
            var_ids[key] = f"v{len(var_ids)}"
            g.nodes[var_ids[key]] = ("var", _var_label(t, by_id))
        return var_ids[key]

    if output._ctx is None:
        var(output, id(output))
        return g
    seen: set[int] = set()
    stack: list[Function] = [output._ctx]
    while stack:
        fn = stack.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        if fn.parents is None:
            raise RuntimeError("the graph was freed by backward(); pass retain_graph=True to draw it")
        fid = f"f{len(seen)}"
        g.nodes[fid] = ("op", fn.name)
        g.edges.append((fid, var(fn.out_ref(), id(fn))))
        for p in fn.parents:
            if isinstance(p, Function):
                g.edges.append((var(p.out_ref(), id(p)), fid))
                stack.append(p)
            elif p is not None:
                g.edges.append((var(p, id(p)), fid))
    return g


def to_dot(output: Tensor, names: dict[str, Tensor] | None = None) -> str:
    """DOT text of the graph that produced ``output``; ``names`` labels chosen tensors."""
    g = build_graph(output, names)
    lines = ["digraph G {", "  rankdir=LR;"]
    for nid, (kind, label) in g.nodes.items():
        label = label.replace("\n", "\\n")
        style = 'shape=box, fillcolor="#dae8fc"' if kind == "op" else 'shape=ellipse, fillcolor="#fff2cc"'
        lines.append(f'  {nid} [label="{label}", {style}, style=filled];')
    lines += [f"  {a} -> {b};" for a, b in g.edges]
    return "\n".join(lines + ["}"])


def _layers(g: Graph) -> dict[str, int]:
    """Column of each node: the longest path from a source (inputs on the left)."""
    preds: dict[str, list[str]] = {n: [] for n in g.nodes}
    for a, b in g.edges:
        preds[b].append(a)
    col: dict[str, int] = {}
    for n in reversed(list(g.nodes)):  # found output-first, so reversed is roughly input-first
        stack = [n]
        while stack:
            m = stack[-1]
            todo = [p for p in preds[m] if p not in col]
            if todo:
                stack.extend(todo)
                continue
            col[m] = 1 + max((col[p] for p in preds[m]), default=-1)
            stack.pop()
    return col


def draw_png(output: Tensor, path: str | Path, names: dict[str, Tensor] | None = None) -> Path:
    """Render the graph with matplotlib (no Graphviz needed) into ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    g = build_graph(output, names)
    col = _layers(g)
    rows: dict[int, list[str]] = {}
    for n in g.nodes:
        rows.setdefault(col[n], []).append(n)
    pos = {n: (c * 2.6, -i * 1.6 + (len(ns) - 1) * 0.8) for c, ns in rows.items() for i, n in enumerate(ns)}
    fig, ax = plt.subplots(figsize=(2.4 * (len(rows) + 1), 1.6 * (max(len(v) for v in rows.values()) + 1)))
    gap = {"op": 32, "var": 40}  # points between a node's centre and the arrow's end
    for a, b in g.edges:
        ax.annotate(
            "",
            xy=pos[b],
            xytext=pos[a],
            arrowprops=dict(
                arrowstyle="-|>", color="0.35", shrinkA=gap[g.nodes[a][0]], shrinkB=gap[g.nodes[b][0]]
            ),
        )
    for n, (kind, label) in g.nodes.items():
        box = dict(
            boxstyle="round,pad=0.4" if kind == "op" else "ellipse,pad=0.3",
            fc="#dae8fc" if kind == "op" else "#fff2cc",
            ec="0.3",
        )
        ax.text(*pos[n], label, ha="center", va="center", fontsize=9, bbox=box)
    xs, ys = zip(*pos.values(), strict=True)
    ax.set_xlim(min(xs) - 1.4, max(xs) + 1.4)
    ax.set_ylim(min(ys) - 1.2, max(ys) + 1.2)
    ax.set_axis_off()
    ax.set_title("Computational graph: value and gradient at every node (inputs left, output right)")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return Path(path)


def write_dot(output: Tensor, path: str | Path, names: dict[str, Tensor] | None = None) -> list[Path]:
    """Write ``path`` (.dot) and a PNG beside it (Graphviz's ``dot`` if installed, else matplotlib)."""
    path = Path(path)
    path.write_text(to_dot(output, names), encoding="utf-8")
    png = path.with_suffix(".png")
    dot = shutil.which("dot")
    if dot:
        subprocess.run([dot, "-Tpng", str(path), "-o", str(png)], check=True, capture_output=True)
    else:
        draw_png(output, png, names)
    return [path, png]
