"""Draw a computational graph (计算图) as Graphviz DOT text, DeZero-style.

Variables are ellipses labelled with their value and gradient; ops are boxes. Call it after
``backward(retain_graph=True)`` so the graph still exists, and keep the intermediate tensors
you want labelled alive (with ``retain_grad()`` to see their gradients).
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

from shendu.autograd.function import Function
from shendu.tensor import Tensor


def _fmt(a: np.ndarray | None) -> str:
    if a is None:
        return "None"
    a = np.asarray(a)
    return f"{a.item():g}" if a.size == 1 else np.array2string(a, precision=3, separator=",")


def _var_node(t: Tensor | None, names: dict[int, str], node_id: str) -> str:
    if t is None:
        return f'{node_id} [label="(freed)", shape=ellipse, style=dashed];'
    name = names.get(id(t), "")
    grad = _fmt(t.grad.data) if t.grad is not None else "—"
    label = (f"{name}\\n" if name else "") + f"value = {_fmt(t.data)}\\ngrad = {grad}"
    return f'{node_id} [label="{label}", shape=ellipse, style=filled, fillcolor="#fff2cc"];'


def to_dot(output: Tensor, names: dict[str, Tensor] | None = None) -> str:
    """DOT text of the graph that produced ``output``; ``names`` labels chosen tensors."""
    by_id = {id(t): n for n, t in (names or {}).items()}
    lines = ["digraph G {", "  rankdir=LR;"]
    var_ids: dict[int, str] = {}

    def var(t: Tensor | None, key: int) -> str:
        if key not in var_ids:
            var_ids[key] = f"v{len(var_ids)}"
            lines.append("  " + _var_node(t, by_id, var_ids[key]))
        return var_ids[key]

    if output._ctx is None:
        var(output, id(output))
        return "\n".join(lines + ["}"])
    seen: set[int] = set()
    stack: list[Function] = [output._ctx]
    while stack:
        fn = stack.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        if fn.parents is None:
            raise RuntimeError("to_dot: the graph was freed by backward(); pass retain_graph=True")
        fid = f"f{len(seen)}"
        lines.append(f'  {fid} [label="{fn.name}", shape=box, style=filled, fillcolor="#dae8fc"];')
        out = fn.out_ref()
        lines.append(f"  {fid} -> {var(out, id(fn))};")
        for p in fn.parents:
            if p is None:
                continue
            if isinstance(p, Function):
                src = var(p.out_ref(), id(p))
                stack.append(p)
            else:
                src = var(p, id(p))
            lines.append(f"  {src} -> {fid};")
    return "\n".join(lines + ["}"])


def write_dot(output: Tensor, path: str | Path, names: dict[str, Tensor] | None = None) -> list[Path]:
    """Write ``path`` (.dot) and, where Graphviz's ``dot`` program is installed, a PNG beside it."""
    path = Path(path)
    path.write_text(to_dot(output, names), encoding="utf-8")
    written = [path]
    dot = shutil.which("dot")
    if dot:
        png = path.with_suffix(".png")
        subprocess.run([dot, "-Tpng", str(path), "-o", str(png)], check=True, capture_output=True)
        written.append(png)
    return written
