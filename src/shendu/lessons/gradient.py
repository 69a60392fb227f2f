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
from shendu.lessons._plot import figure, grad_of, make_run, save, source, table

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


def numerical_gradient(f, x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """The book's numerical gradient: central differences, one element of x at a time."""
    grad = np.zeros_like(x)
    for idx in range(x.size):
        tmp = x[idx]
        x[idx] = tmp + h
        fxh1 = f(x)  # f(x + h)
        x[idx] = tmp - h
        fxh2 = f(x)  # f(x − h)
        grad[idx] = (fxh1 - fxh2) / (2 * h)
        x[idx] = tmp  # put the value back
    return grad


def partials(point: tuple[float, float, float] = POINT) -> dict:
    """∂f/∂x, ∂f/∂y, ∂f/∂z of ``f3`` at ``point``: the book's loop, numerical_grad, autograd, by hand."""
    book = numerical_gradient(
        lambda v: float(v[0] ** 2 + 3 * v[0] * v[1] + v[1] ** 2 + v[2] ** 3),
        np.array(point, dtype=np.float64),
    )
    xs = [shendu.tensor(v, dtype=shendu.float64, requires_grad=True) for v in point]
    numerical = [float(g) for g in numerical_grad(f3, *xs, eps=1e-4)]
    f3(*xs).backward()
    autograd = [float(grad_of(t)) for t in xs]
    x, y, z = point
    analytic = [2 * x + 3 * y, 3 * x + 2 * y, 3 * z**2]
    return {"book": book.tolist(), "numerical": numerical, "autograd": autograd, "analytic": analytic}


def descend(f, start, lr: float, steps: int) -> np.ndarray:
    """Plain gradient descent x ← x − lr·∇f(x) with autograd; returns the path, (steps + 1, 2)."""
    p = shendu.tensor(start, dtype=shendu.float64, requires_grad=True)
    path = [p.detach().numpy().copy()]
    for _ in range(steps):
        f(p).backward()  # p.grad = ∇f(p)
        with shendu.no_grad():
            p -= lr * grad_of(p)  # x ← x − η∇f(x)  (grad_of(p): p.grad, checked to exist)
        p.grad = None  # backward adds to .grad: clear it before the next step
        path.append(p.detach().numpy().copy())
    return np.array(path)


def _lr_name(name: str) -> str:
    return tr({"too small": "太小", "good": "合适", "too large": "太大"}.get(name, name), name)


def outcome(final: float, start: float) -> str:
    """What the run did, read off its numbers: "diverges", "crawls" (still above 1% of the start)
    or "converges"."""
    if not np.isfinite(final) or final > start:
        return "diverges"
    if final > 0.01 * start:
        return "crawls"
    return "converges"


def _outcome_name(key: str) -> str:
    return tr({"diverges": "发散", "crawls": "下降太慢", "converges": "收敛"}[key], key)


def compute(quick: bool = False) -> dict:
    """Derivatives, partials three ways, the descent path, and the three learning rates."""
    steps = 20 if quick else 30  # the course uses 100 steps; 20 already shows everything
    h = 1e-4
    errs = difference_errors(1.0)
    tiny = 1e-50  # the course's warning: x + h == x in float64, so the difference is 0
    parts = partials()
    path = descend(bowl, START, GOOD_LR, steps)
    paths = {name: descend(valley, START, lr, steps) for name, lr in LEARNING_RATES.items()}
    losses = {name: 0.2 * p[:, 0] ** 2 + p[:, 1] ** 2 for name, p in paths.items()}
    start_loss = float(losses["good"][0])
    final = {name: float(v[-1]) for name, v in losses.items()}
    return {
        "steps": steps,
        "derivative_at_5": float((course_f(5 + h) - course_f(5 - h)) / (2 * h)),
        "derivative_at_10": float((course_f(10 + h) - course_f(10 - h)) / (2 * h)),
        "tiny_h": tiny,
        "derivative_tiny_h": float((course_f(5 + tiny) - course_f(5)) / tiny),
        "tiny_h_lost": 5 + tiny == 5,
        "h": errs["h"].tolist(),
        "forward_error": errs["forward"].tolist(),
        "central_error": errs["central"].tolist(),
        "best_h_forward": float(errs["h"][np.argmin(errs["forward"])]),
        "best_h_central": float(errs["h"][np.argmin(errs["central"])]),
        "best_error_forward": float(errs["forward"].min()),
        "best_error_central": float(errs["central"].min()),
        "point": list(POINT),
        **parts,
        "path": path.tolist(),
        "bowl_final": float((path[-1] ** 2).sum()),
        "learning_rates": dict(LEARNING_RATES),
        "start_loss": start_loss,
        "final_loss": final,
        "outcome": {name: outcome(v, start_loss) for name, v in final.items()},
        "paths": {k: v.tolist() for k, v in paths.items()},
        "losses": {k: v.tolist() for k, v in losses.items()},
    }


def report(r: dict) -> list[str]:
    d5, d10 = r["derivative_at_5"], r["derivative_at_10"]
    central_wins = r["best_error_central"] < r["best_error_forward"]
    lines = [
        tr(
            "1. 数值微分：f(x) = 0.01x² + 0.1x（精确导数 f'(x) = 0.02x + 0.1）",
            "1. Numerical differentiation of f(x) = 0.01x² + 0.1x (exact f'(x) = 0.02x + 0.1)",
        ),
        tr(
            f"   中心差分，h = 1e-4：f'(5) ≈ {d5:.12f}（精确值 0.2，误差 {abs(d5 - 0.2):.0e}），"
            f"f'(10) ≈ {d10:.12f}（精确值 0.3，误差 {abs(d10 - 0.3):.0e}）",
            f"   central difference, h = 1e-4: f'(5) ≈ {d5:.12f} (exact 0.2, error {abs(d5 - 0.2):.0e}), "
            f"f'(10) ≈ {d10:.12f} (exact 0.3, error {abs(d10 - 0.3):.0e})",
        ),
        tr(
            f"   exp'(1) 的步长 h：前向差分最好在 h ≈ {r['best_h_forward']:.0e}"
            f"（最小误差 {r['best_error_forward']:.0e}，误差 O(h)），中心差分最好在 "
            f"h ≈ {r['best_h_central']:.0e}（最小误差 {r['best_error_central']:.0e}，误差 O(h²)），"
            + ("中心差分更准；" if central_wins else "前向差分更准；")
            + "步长再小就输给 float64 的舍入误差",
            f"   The step h for exp'(1): best forward difference at h ≈ {r['best_h_forward']:.0e} (smallest "
            f"error {r['best_error_forward']:.0e}, error O(h)), best central difference at h ≈ "
            f"{r['best_h_central']:.0e} (smallest error {r['best_error_central']:.0e}, error O(h²)); "
            + ("central is more accurate; " if central_wins else "forward is more accurate; ")
            + "smaller steps lose to float64 rounding",
        ),
        tr(
            f"   （h = {r['tiny_h']:.0e} 时 f'(5) 算成 {r['derivative_tiny_h']:g}"
            + ("，因为 5 + h == 5）。" if r["tiny_h_lost"] else "）。"),
            f"   (h = {r['tiny_h']:.0e} gives f'(5) = {r['derivative_tiny_h']:g}"
            + (" because 5 + h == 5)." if r["tiny_h_lost"] else ")."),
        ),
    ]
    agree = max(abs(a - b) for a, b in zip(r["numerical"], r["analytic"], strict=True))
    rows = [
        [name, r["book"][i], r["numerical"][i], r["autograd"][i], r["analytic"][i]]
        for i, name in enumerate(["∂f/∂x = 2x+3y", "∂f/∂y = 3x+2y", "∂f/∂z = 3z²"])
    ]
    lines += [
        "",
        tr(
            f"2. 偏导数：f = x² + 3xy + y² + z³ 在 (x, y, z) = {POINT} 处",
            f"2. Partial derivatives of f = x² + 3xy + y² + z³ at (x, y, z) = {POINT}",
        ),
        table(
            [
                tr("偏导数", "derivative"),
                tr("书中的 numerical_gradient", "the book's numerical_gradient"),
                "numerical_grad",
                tr("自动微分", "autograd"),
                tr("手算", "by hand"),
            ],
            rows,
            ".10f",
        ),
        tr(
            f"   数值微分与手算最多差 {agree:.1e}；自动微分与手算完全相同"
            if r["autograd"] == r["analytic"]
            else f"   数值微分与手算最多差 {agree:.1e}；自动微分与手算不完全相同",
            f"   numerical and by hand differ by at most {agree:.1e}; autograd equals the hand result "
            + ("exactly" if r["autograd"] == r["analytic"] else "not exactly"),
        )
        + tr(
            "。读代码：书中的数值梯度（中心差分，逐个元素）：",
            ". Read the code: the book's numerical gradient (central differences, one element at a time):",
        ),
        source(numerical_gradient),
    ]
    path = np.array(r["path"])
    lines += [
        "",
        tr(
            f"3. 梯度下降：f = x0² + x1²，从 {START} 出发，{r['steps']} 步，η = {GOOD_LR}："
            f"停在 ({path[-1, 0]:.4f}, {path[-1, 1]:.4f})，f = {r['bowl_final']:.3g}",
            f"3. Gradient descent on f = x0² + x1² from {START}, {r['steps']} steps, "
            f"η = {GOOD_LR}: ends at ({path[-1, 0]:.4f}, {path[-1, 1]:.4f}), f = {r['bowl_final']:.3g}",
        ),
        tr(
            "   读代码：每一步 x ← x − η∇f(x)，梯度由反向传播得到：",
            "   Read the code: each step x ← x − η∇f(x), the gradient from backward:",
        ),
        source(descend),
        "",
        tr(
            f"4. 学习率 η，在山谷 f = 0.2·x0² + x1² 上（起点 f = {r['start_loss']:.4g}，{r['steps']} 步）：",
            f"4. The learning rate η on the valley f = 0.2·x0² + x1² (f at the start = "
            f"{r['start_loss']:.4g}, {r['steps']} steps):",
        ),
        table(
            [
                tr("学习率 η", "learning rate η"),
                tr("类别", "setting"),
                tr("最终 f", "final f"),
                tr("结果", "outcome"),
            ],
            [
                [f"{lr:g}", _lr_name(name), r["final_loss"][name], _outcome_name(r["outcome"][name])]
                for name, lr in LEARNING_RATES.items()
            ],
            ".4g",
        ),
    ]
    return lines


def draw(r: dict, folder: Path) -> list[str]:
    pngs = []
    h = np.array(r["h"])
    fig, ax = figure()
    ax.loglog(
        h,
        np.maximum(r["forward_error"], 1e-17),
        "o-",
        ms=3,
        label=tr("前向差分 (f(x+h) − f(x)) / h", "forward (f(x+h) − f(x)) / h"),
    )
    ax.loglog(
        h,
        np.maximum(r["central_error"], 1e-17),
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

    path = np.array(r["path"])
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

    fig, (a1, a2) = figure(1, 2, size=(10.5, 4.4))
    cx = np.linspace(-6, 6, 121)
    mx, my = np.meshgrid(cx, cx)
    a1.contour(mx, my, 0.2 * mx**2 + my**2, levels=12, colors="0.85", linewidths=0.8)
    for name, lr in LEARNING_RATES.items():
        p = np.array(r["paths"][name])
        label = f"η = {lr:g} ({_lr_name(name)})"
        a1.plot(p[:, 0], p[:, 1], "o-", ms=3, label=label)
        a2.semilogy(r["losses"][name], "o-", ms=3, label=label)
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
        tr("学习率：", "The learning rate: ")
        + tr("，", ", ").join(f"{_lr_name(k)} → {_outcome_name(v)}" for k, v in r["outcome"].items())
    )
    pngs.append(save(fig, folder, "learning_rate.png"))
    return pngs


run = make_run("gradient", compute, report, draw)
