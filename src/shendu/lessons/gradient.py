"""数值微分与梯度 — numerical differentiation, partial derivatives, the gradient, gradient descent.

1. The derivative as a limit: forward difference (f(x+h) − f(x))/h has error O(h), the central
   difference (f(x+h) − f(x−h))/2h has error O(h²); a too small h drowns in float rounding.
2. Partial derivatives of f(x, y, z) = x² + 3xy + y² + z³ at a point, three ways: central
   differences (``shendu.autograd.numerical_grad``), autograd (``backward``) and by hand
   (∂f/∂x = 2x + 3y, ∂f/∂y = 3x + 2y, ∂f/∂z = 3z²).
3. The gradient of f(x0, x1) = x0² + x1² as a vector field: −∇f points downhill; gradient
   descent x ← x − η ∇f(x) walks along it.
4. The learning rate η on a stretched bowl f = 0.2·x0² + x1² (a valley, as real losses are):
   too small crawls, a good one converges, too large overshoots across the valley and diverges.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import shendu
from shendu.autograd import numerical_grad
from shendu.lessons._i18n import tr
from shendu.lessons._plot import grad_of, figure, lesson, save, start, table

POINT = (1.0, 2.0, 3.0)  # where the partial derivatives are taken
START = (-3.0, 4.0)  # the course's starting point for gradient descent on x0² + x1²
GOOD_LR = 0.1  # for the round bowl
LEARNING_RATES = {"too small": 0.02, "good": 0.4, "too large": 1.05}  # for the valley


def f3(x: shendu.Tensor, y: shendu.Tensor, z: shendu.Tensor) -> shendu.Tensor:
    """f(x, y, z) = x² + 3xy + y² + z³."""
    return x**2 + 3 * x * y + y**2 + z**3


def bowl(p: shendu.Tensor) -> shendu.Tensor:
    """f(x0, x1) = x0² + x1²; p: (2,) -> scalar."""
    return (p**2).sum()


def valley(p: shendu.Tensor) -> shendu.Tensor:
    """f(x0, x1) = 0.2·x0² + x1²: steep across (x1), shallow along (x0); p: (2,) -> scalar."""
    return 0.2 * p[0] ** 2 + p[1] ** 2


def course_f(x: np.ndarray | float) -> np.ndarray | float:
    """The course's 1-D example f(x) = 0.01x² + 0.1x (f'(x) = 0.02x + 0.1)."""
    return 0.01 * x**2 + 0.1 * x


def difference_errors(x: float = 1.0, steps: np.ndarray | None = None) -> dict:
    """Absolute error of forward and central differences of exp at x for each step h.

    (exp, not the course's quadratic: central differences are exact on quadratics, up to rounding.)
    """
    hs = np.logspace(-16, -1, 31) if steps is None else steps
    exact = np.exp(x)
    fwd = (np.exp(x + hs) - np.exp(x)) / hs
    ctr = (np.exp(x + hs) - np.exp(x - hs)) / (2 * hs)
    return {"h": hs, "forward": np.abs(fwd - exact), "central": np.abs(ctr - exact), "exact": exact}


def partials(point: tuple[float, float, float] = POINT) -> dict:
    """∂f/∂x, ∂f/∂y, ∂f/∂z of ``f3`` at ``point``: numerical, autograd and analytic."""
    xs = [shendu.tensor(v, dtype=shendu.float64, requires_grad=True) for v in point]
    numerical = [float(g) for g in numerical_grad(f3, *xs, eps=1e-4)]
    f3(*xs).backward()
    autograd = [float(grad_of(t)) for t in xs]
    x, y, z = point
    analytic = [2 * x + 3 * y, 3 * x + 2 * y, 3 * z**2]
    return {"numerical": numerical, "autograd": autograd, "analytic": analytic}


def descend(f, start, lr: float, steps: int) -> np.ndarray:
    """Plain gradient descent x ← x − lr·∇f(x) with autograd; returns the path, (steps + 1, 2)."""
    p = shendu.tensor(np.array(start, dtype=np.float64), requires_grad=True)
    path = [p.detach().numpy().copy()]
    for _ in range(steps):
        f(p).backward()
        with shendu.no_grad():
            p = (p - lr * shendu.tensor(grad_of(p))).detach().requires_grad_()
        path.append(p.detach().numpy().copy())
    return np.array(path)


def _lr_name(name: str) -> str:
    return tr({"too small": "太小", "good": "合适", "too large": "太大"}.get(name, name), name)


def _outcome(final: float, start: float) -> str:
    """What the run did, read off its numbers: diverged, crawled (still far) or converged."""
    if not np.isfinite(final) or final > start:
        return tr("发散", "diverges")
    if final > 0.01 * start:
        return tr("下降太慢", "crawls")
    return tr("收敛", "converges")


@lesson
def run(out: str | Path | None = None, quick: bool = False, verbose: bool = True) -> dict:
    folder, say = start("gradient", out, quick, verbose)
    steps = 20 if quick else 30  # the course uses 100 steps; 20 already shows everything

    # 1. numerical derivative of the course's f at x = 5 and x = 10
    h = 1e-4
    d5 = (course_f(5 + h) - course_f(5 - h)) / (2 * h)
    d10 = (course_f(10 + h) - course_f(10 - h)) / (2 * h)
    errs = difference_errors(1.0)
    best_fwd = float(errs["h"][np.argmin(errs["forward"])])
    best_ctr = float(errs["h"][np.argmin(errs["central"])])
    say(
        tr(
            "1. 数值微分：f(x) = 0.01x² + 0.1x（精确导数 f'(x) = 0.02x + 0.1）",
            "1. Numerical differentiation of f(x) = 0.01x² + 0.1x (exact f'(x) = 0.02x + 0.1)",
        ),
        tr(
            f"   中心差分，h = 1e-4：f'(5) ≈ {d5:.12f}（精确值 0.2），f'(10) ≈ {d10:.12f}（精确值 0.3）",
            f"   central difference, h = 1e-4: f'(5) ≈ {d5:.12f} (exact 0.2), f'(10) ≈ {d10:.12f} (exact "
            "0.3)",
        ),
        tr(
            f"   exp'(1) 的步长 h：前向差分最好在 h ≈ {best_fwd:.0e}（误差 O(h)），中心差分最好在 "
            f"h ≈ {best_ctr:.0e}（误差 O(h²)）；步长再小就输给 float64 的舍入误差"
            "（h = 1e-50 得 0.0，因为 x + h == x）。",
            f"   The step h for exp'(1): best forward difference h ≈ {best_fwd:.0e} (error O(h)), best "
            "central "
            f"difference h ≈ {best_ctr:.0e} (error O(h²)); smaller steps lose to float64 rounding "
            "(h = 1e-50 gives 0.0 because x + h == x).",
        ),
    )

    # 2. partial derivatives at a point
    parts = partials()
    rows = [
        [name, parts["numerical"][i], parts["autograd"][i], parts["analytic"][i]]
        for i, name in enumerate(["∂f/∂x = 2x+3y", "∂f/∂y = 3x+2y", "∂f/∂z = 3z²"])
    ]
    say(
        "",
        tr(
            f"2. 偏导数：f = x² + 3xy + y² + z³ 在 (x, y, z) = {POINT} 处",
            f"2. Partial derivatives of f = x² + 3xy + y² + z³ at (x, y, z) = {POINT}",
        ),
        table(
            [
                tr("偏导数", "derivative"),
                tr("数值微分", "numerical"),
                tr("自动微分", "autograd"),
                tr("手算", "by hand"),
            ],
            rows,
            ".10f",
        ),
    )

    # 3. the gradient field and a descent path
    path = descend(bowl, START, GOOD_LR, steps)
    bowl_final = float((path[-1] ** 2).sum())
    # 4. the learning rate
    paths = {name: descend(valley, START, lr, steps) for name, lr in LEARNING_RATES.items()}
    losses = {name: 0.2 * p[:, 0] ** 2 + p[:, 1] ** 2 for name, p in paths.items()}
    final = {name: float(v[-1]) for name, v in losses.items()}
    say(
        "",
        tr(
            f"3. 梯度下降：f = x0² + x1²，从 {START} 出发，{steps} 步，η = {GOOD_LR}："
            f"停在 ({path[-1, 0]:.4f}, {path[-1, 1]:.4f})，f = {bowl_final:.3g}",
            f"3. Gradient descent on f = x0² + x1² from {START}, {steps} steps, "
            f"η = {GOOD_LR}: ends at ({path[-1, 0]:.4f}, {path[-1, 1]:.4f}), f = {bowl_final:.3g}",
        ),
        tr(
            f"4. 学习率 η，在山谷 f = 0.2·x0² + x1² 上（起点 f = {losses['good'][0]:.4g}）：",
            "4. The learning rate η on the valley f = 0.2·x0² + x1² (f at the start = "
            f"{losses['good'][0]:.4g}):",
        ),
        table(
            [
                tr("学习率 η", "learning rate η"),
                tr("类别", "setting"),
                tr("最终 f", "final f"),
                tr("结果", "outcome"),
            ],
            [
                [f"{lr:g}", _lr_name(name), final[name], _outcome(final[name], losses["good"][0])]
                for name, lr in LEARNING_RATES.items()
            ],
            ".4g",
        ),
    )

    pngs = []
    # figure: forward vs central difference error
    fig, ax = figure()
    ax.loglog(
        errs["h"],
        np.maximum(errs["forward"], 1e-17),
        "o-",
        ms=3,
        label=tr("前向差分 (f(x+h) − f(x)) / h", "forward (f(x+h) − f(x)) / h"),
    )
    ax.loglog(
        errs["h"],
        np.maximum(errs["central"], 1e-17),
        "s-",
        ms=3,
        label=tr("中心差分 (f(x+h) − f(x−h)) / 2h", "central (f(x+h) − f(x−h)) / 2h"),
    )
    ax.set(
        title=tr("exp(x) 在 x = 1 处的数值导数", "Numerical derivative of exp(x) at x = 1"),
        xlabel=tr("步长 h", "step h"),
        ylabel=tr("估计的绝对误差", "absolute error of the estimate"),
    )
    ax.legend()
    ax.grid(True, which="major", alpha=0.3)
    pngs.append(save(fig, folder, "difference_error.png"))

    # figure: gradient field with the descent path
    fig, ax = figure(size=(5.6, 5.0))
    g = np.linspace(-4.5, 4.5, 19)
    gx, gy = np.meshgrid(g, g)
    ax.contour(gx, gy, gx**2 + gy**2, levels=10, colors="0.8", linewidths=0.8)
    ax.quiver(gx, gy, -2 * gx, -2 * gy, angles="xy", color="tab:blue", alpha=0.6, width=0.003)
    ax.plot(
        path[:, 0],
        path[:, 1],
        "o-",
        color="tab:red",
        ms=4,
        label=tr(f"下降路径，η = {GOOD_LR}", f"descent path, η = {GOOD_LR}"),
    )
    ax.plot(*START, "k*", ms=12, label=tr(f"起点 {START}", f"start {START}"))
    ax.set(
        title=tr("f = x0² + x1² 的负梯度 −∇f 指向最小值", "−∇f of f = x0² + x1² points to the minimum"),
        xlabel="x0",
        ylabel="x1",
        aspect="equal",
    )
    ax.legend(loc="lower right")
    pngs.append(save(fig, folder, "gradient_field.png"))

    # figure: learning rates, paths and loss curves
    fig, (a1, a2) = figure(1, 2, size=(10.5, 4.4))
    cx = np.linspace(-6, 6, 121)
    mx, my = np.meshgrid(cx, cx)
    a1.contour(mx, my, 0.2 * mx**2 + my**2, levels=12, colors="0.85", linewidths=0.8)
    for name, lr in LEARNING_RATES.items():
        p = paths[name]
        a1.plot(p[:, 0], p[:, 1], "o-", ms=3, label=f"η = {lr:g} ({_lr_name(name)})")
        a2.semilogy(losses[name], "o-", ms=3, label=f"η = {lr:g} ({_lr_name(name)})")
    a1.set(
        title=tr("在 f = 0.2·x0² + x1² 上的路径", "Paths on f = 0.2·x0² + x1²"),
        xlabel="x0",
        ylabel="x1",
        xlim=(-6, 6),
        ylim=(-6, 6),
        aspect="equal",
    )
    a1.legend(loc="lower right", fontsize=8)
    a2.set(
        title=tr("每一步的 f(x)", "f(x) per step"),
        xlabel=tr("步数", "step"),
        ylabel=tr("f(x0, x1)，对数坐标", "f(x0, x1), log scale"),
    )
    a2.legend(fontsize=8)
    a2.grid(True, alpha=0.3)
    fig.suptitle(
        tr(
            "学习率："
            + "，".join(f"{_lr_name(k)} → {_outcome(v, losses['good'][0])}" for k, v in final.items()),
            "The learning rate: "
            + ", ".join(f"{k} → {_outcome(v, losses['good'][0])}" for k, v in final.items()),
        )
    )
    pngs.append(save(fig, folder, "learning_rate.png"))
    say.figures(pngs)

    return {
        "derivative_at_5": float(d5),
        "derivative_at_10": float(d10),
        "best_h_forward": best_fwd,
        "best_h_central": best_ctr,
        "point": list(POINT),
        "numerical": parts["numerical"],
        "autograd": parts["autograd"],
        "analytic": parts["analytic"],
        "path": path.tolist(),
        "bowl_final": bowl_final,
        "learning_rates": dict(LEARNING_RATES),
        "final_loss": final,
        "losses": {k: v.tolist() for k, v in losses.items()},
        "pngs": pngs,
    }
