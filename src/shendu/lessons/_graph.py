"""Draw a small computational graph (计算图) as the notes do: circles for ops, arrows carrying values.

Each arrow shows its forward value above it (black) and, when given, its backward gradient
below it (red). Used by the ``backprop`` lesson.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RADIUS = 0.32


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    forward: str
    backward: str = ""


def draw_graph(
    ax,
    ops: dict[str, tuple[float, float, str]],
    ends: dict[str, tuple[float, float, str]],
    edges: Sequence[Edge],
) -> None:
    """``ops``: name → (x, y, symbol) drawn as circles; ``ends``: name → (x, y, label) for inputs/outputs."""
    pos = {k: (x, y) for k, (x, y, _) in {**ops, **ends}.items()}
    for x, y, sym in ops.values():
        ax.add_patch(_circle((x, y)))
        ax.text(x, y, sym, ha="center", va="center", fontsize=15, zorder=4)
    for x, y, label in ends.values():
        ax.text(x, y, label, ha="center", va="center", fontsize=9.5, zorder=4)
    for e in edges:
        (x0, y0), (x1, y1) = pos[e.src], pos[e.dst]
        d = np.array([x1 - x0, y1 - y0])
        u = d / np.linalg.norm(d)
        start = np.array([x0, y0]) + u * (RADIUS if e.src in ops else 0.45)
        end = np.array([x1, y1]) - u * (RADIUS if e.dst in ops else 0.45)
        ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="-|>", lw=1.3, color="0.2"))
        mid = (start + end) / 2
        normal = np.array([-u[1], u[0]])  # left of the arrow's direction: "above" for left-to-right arrows
        if normal[1] < 0:
            normal = -normal
        ax.text(*(mid + 0.2 * normal), e.forward, ha="center", va="center", fontsize=10, zorder=5)
        if e.backward:
            ax.text(
                *(mid - 0.2 * normal),
                e.backward,
                ha="center",
                va="center",
                fontsize=10,
                color="tab:red",
                zorder=5,
            )
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax.set(xlim=(min(xs) - 0.9, max(xs) + 0.9), ylim=(min(ys) - 0.7, max(ys) + 0.7), aspect="equal")
    ax.axis("off")


def _circle(center: tuple[float, float]):
    from matplotlib.patches import Circle

    return Circle(center, RADIUS, facecolor="white", edgecolor="0.2", lw=1.4, zorder=3)
