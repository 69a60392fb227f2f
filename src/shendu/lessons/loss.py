"""损失函数 — loss functions: mean squared error and cross-entropy, on the course's example.

A 10-class prediction y (softmax output) against the one-hot target t for class 2:

    MSE = (1/n) Σₖ (yₖ − tₖ)²      (均方误差, the notes' definition: ``F.mse_loss``, n = 10 here)
    E   = ½ Σₖ (yₖ − tₖ)²          (the backprop-friendly variant: ∂E/∂yₖ = yₖ − tₖ, no factor 2)
    E   = −Σₖ tₖ log(yₖ + δ)       (交叉熵 cross-entropy; with one-hot t it is −log y_correct)

The confident correct prediction gives ½Σ = 0.0975 and cross-entropy 0.51; the same numbers on
the wrong class give 0.5975 and 2.30. Cross-entropy's curve −log y is steep where the prediction
is bad, so its gradient is large exactly when the network is most wrong; squared error's stays
bounded. δ = 1e-7 keeps log(0) from being −∞.
"""

from __future__ import annotations

import numpy as np

import shendu
import shendu.nn.functional as F
from shendu.lessons._i18n import tr
from shendu.lessons._plot import figure, grad_of, make_run, save, source, table
from shendu.nn.functional.loss import SquaredError
from shendu.reference.layers import cross_entropy_error

TARGET = 2
Y_RIGHT = [0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0]  # most probability on class 2
Y_WRONG = [0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0]  # most probability on class 7
DELTA = 1e-7
PROBE = [0.01, 0.1, 0.5, 0.9]


def one_hot(index: int, n: int = 10) -> np.ndarray:
    t = np.zeros(n, dtype=np.float64)
    t[index] = 1.0
    return t


def mean_squared_error(y, t) -> shendu.Tensor:
    """MSE = (1/n) Σ (y − t)², the notes' 均方误差: ``F.mse_loss`` with its default reduction='mean'."""
    return F.mse_loss(shendu.as_tensor(y), shendu.as_tensor(t))


def half_sum_squared_error(y, t) -> shendu.Tensor:
    """½ Σ (y − t)², through ``F.mse_loss`` with reduction='sum'; its gradient is simply y − t."""
    return 0.5 * F.mse_loss(shendu.as_tensor(y), shendu.as_tensor(t), reduction="sum")


def cross_entropy_of_probs(y, index: int) -> shendu.Tensor:
    """−log(y[index] + δ) for a probability vector y, as ``F.nll_loss`` of log-probabilities."""
    logp = shendu.log(shendu.as_tensor(y) + DELTA)
    return F.nll_loss(logp.reshape(1, -1), shendu.tensor([index]))


def _curve(loss, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """loss(p) and its gradient d loss / dp by autograd, elementwise over p."""
    pt = shendu.tensor(p, requires_grad=True)
    values = loss(pt)
    values.sum().backward()
    return values.numpy().copy(), grad_of(pt)


def compute(quick: bool = False) -> dict:
    """The losses of the two predictions, the gradient of y − t, and the loss curves against y_correct."""
    t = one_hot(TARGET)
    out: dict = {"n": len(t)}
    for case, probs in (("right", Y_RIGHT), ("wrong", Y_WRONG)):
        y = np.array(probs)
        out[f"mse_{case}"] = mean_squared_error(y, t).item()
        out[f"sse_{case}"] = half_sum_squared_error(y, t).item()
        out[f"ce_{case}"] = cross_entropy_of_probs(y, TARGET).item()
    yt = shendu.tensor(np.array(Y_RIGHT), requires_grad=True)
    half_sum_squared_error(yt, t).backward()
    out["half_sse_grad"] = grad_of(yt).tolist()  # y − t: why the ½ is there
    # The same loss from logits: softmax(log y) = y, so cross_entropy(log y) is −log y[2] again.
    logits = shendu.log(shendu.tensor(np.array(Y_RIGHT)) + DELTA).reshape(1, -1)
    out["ce_from_logits"] = F.cross_entropy(logits, shendu.tensor([TARGET])).item()
    p = np.linspace(0.01, 1.0, 100)  # probability given to the correct class, steps of 0.01
    ce_curve, ce_grad = _curve(lambda q: -shendu.log(q), p)
    ones = shendu.ones(len(p), dtype=shendu.float64)
    se_curve, se_grad = _curve(lambda q: 0.5 * F.mse_loss(q, ones, reduction="none"), p)
    out.update(p=p.tolist(), ce_curve=ce_curve.tolist(), ce_grad=ce_grad.tolist())
    out.update(se_curve=se_curve.tolist(), se_grad=se_grad.tolist())
    # the book's NumPy cross_entropy_error on the same predictions
    out["book_ce_right"] = float(cross_entropy_error(np.array(Y_RIGHT), t))
    out["book_ce_wrong"] = float(cross_entropy_error(np.array(Y_WRONG), t))
    out["max_se_push"] = float(np.abs(se_grad).max())
    out["ratio_sse"] = out["sse_wrong"] / out["sse_right"]
    out["ratio_ce"] = out["ce_wrong"] / out["ce_right"]
    return out


def report(r: dict) -> list[str]:
    rows = [
        [tr("正确（y[2] = 0.6）", "right (y[2] = 0.6)"), r["mse_right"], r["sse_right"], r["ce_right"]],
        [tr("错误（y[7] = 0.6）", "wrong (y[7] = 0.6)"), r["mse_wrong"], r["sse_wrong"], r["ce_wrong"]],
    ]
    p = np.array(r["p"])
    idx = [int(np.argmin(np.abs(p - q))) for q in PROBE]
    d_sse, d_ce = r["sse_wrong"] - r["sse_right"], r["ce_wrong"] - r["ce_right"]
    bigger_ce = d_ce > d_sse
    grad = ", ".join(f"{g:g}" for g in r["half_sse_grad"])
    book_same = (
        abs(r["book_ce_right"] - r["ce_right"]) < 1e-6 and abs(r["book_ce_wrong"] - r["ce_wrong"]) < 1e-6
    )
    steeper = abs(r["ce_grad"][idx[0]]) > abs(r["se_grad"][idx[0]])
    return [
        tr(
            f"损失函数：目标 t = one-hot({TARGET})（独热编码）；预测 y 是 softmax 的输出，和为 1。",
            f"Loss functions: target t = one-hot({TARGET}); predictions y are softmax outputs (sum 1).",
        ),
        tr(
            f"   均方误差 MSE = (1/n)Σ(y−t)²，n = {r['n']}；½Σ(y−t)² 是便于反向传播的写法；"
            "交叉熵 E = −Σ t·log(y+δ)：",
            f"   mean squared error MSE = (1/n)Σ(y−t)², n = {r['n']}; ½Σ(y−t)² is the backprop-friendly "
            "variant; cross-entropy E = −Σ t·log(y+δ):",
        ),
        table([tr("预测", "prediction"), "MSE (1/n)Σ(y−t)²", "½Σ(y−t)²", "−Σ t·log(y+δ)"], rows, ".6f"),
        tr(
            f"   ½Σ 不是均值：上表中 ½Σ / MSE = {r['sse_right'] / r['mse_right']:.4g} = n/2。"
            f"½ 是为了让导数干净：∂E/∂y = y − t = ({grad})。",
            f"   ½Σ is not a mean: in the table ½Σ / MSE = {r['sse_right'] / r['mse_right']:.4g} = n/2. "
            "The ½ makes the derivative "
            f"clean: ∂E/∂y = y − t = ({grad}).",
        ),
        tr(
            f"   书中的 cross_entropy_error（NumPy）：{r['book_ce_right']:.6f} 与 {r['book_ce_wrong']:.6f}"
            + ("，与上表相同。" if book_same else "，与上表不同！"),
            "   the book's cross_entropy_error (NumPy): "
            f"{r['book_ce_right']:.6f} and {r['book_ce_wrong']:.6f}"
            + (", the same as above." if book_same else ", NOT the same as above!"),
        ),
        tr(
            "   读代码：书中的交叉熵；shendu 的平方误差节点（forward 与 backward），以及本课的两种写法：",
            "   Read the code: the book's cross-entropy; shendu's squared-error node (forward and "
            "backward), and this lesson's two variants:",
        ),
        source(cross_entropy_error),
        source(SquaredError),
        source(mean_squared_error),
        source(half_sum_squared_error),
        tr(
            f"   用 logits log(y) 调用 F.cross_entropy：{r['ce_from_logits']:.4f}"
            "（log-softmax 与 NLL 一步完成）",
            f"   F.cross_entropy on logits log(y): {r['ce_from_logits']:.4f} (log-softmax + NLL in one step)",
        ),
        tr(
            f"   错误的预测使平方误差增大 {r['ratio_sse']:.1f} 倍，交叉熵增大 {r['ratio_ce']:.1f} 倍"
            f"；绝对增量 {d_sse:.2f} 与 {d_ce:.2f}，"
            f"{'交叉熵' if bigger_ce else '平方误差'}的增量更大。",
            f"   The wrong prediction costs {r['ratio_sse']:.1f}× more squared error and "
            f"{r['ratio_ce']:.1f}× more cross-entropy; in absolute terms +{d_sse:.2f} and +{d_ce:.2f}, "
            f"{'cross-entropy' if bigger_ce else 'squared error'} grows more.",
        ),
        "",
        tr(
            "损失及其梯度（自动微分）随正确类别概率 y 的变化：",
            "Loss and its gradient (autograd) against the probability y given to the correct class:",
        ),
        table(
            ["y", "−log y", "d/dy", "½(y−1)²", "d/dy"],
            [
                [f"{p[i]:.2f}", r["ce_curve"][i], r["ce_grad"][i], r["se_curve"][i], r["se_grad"][i]]
                for i in idx
            ],
            ".4f",
        ),
        tr(
            f"   网络错得最厉害时（y = {p[idx[0]]:.2f}），交叉熵的梯度为 {r['ce_grad'][idx[0]]:.1f}，"
            f"平方误差的{'只有' if steeper else '却有'} {r['se_grad'][idx[0]]:.2f}："
            + ("交叉熵推得最用力（−1/y）" if steeper else "平方误差推得更用力")
            + f"，平方误差的推力 |1 − y| 最大只有 {r['max_se_push']:.2f}。",
            f"   When the network is most wrong (y = {p[idx[0]]:.2f}) cross-entropy's gradient is "
            f"{r['ce_grad'][idx[0]]:.1f}, squared error's {'only' if steeper else 'even'} "
            f"{r['se_grad'][idx[0]]:.2f}: "
            + ("cross-entropy pushes hardest (−1/y)" if steeper else "squared error pushes harder")
            + f"; squared error's push |1 − y| is at most {r['max_se_push']:.2f}.",
        ),
    ]


def draw(r: dict, folder) -> list[str]:
    fig, (a1, a2) = figure(1, 2, size=(10.5, 4.2))
    k = np.arange(10)
    for shift, y, case, word in (
        (-0.2, Y_RIGHT, "right", tr("正确", "right")),
        (0.2, Y_WRONG, "wrong", tr("错误", "wrong")),
    ):
        a1.bar(
            k + shift,
            y,
            width=0.4,
            label=f"y {word}: MSE {r[f'mse_{case}']:.4f}, ½Σ {r[f'sse_{case}']:.4f}, "
            f"CE {r[f'ce_{case}']:.2f}",
        )
    a1.step(
        k,
        one_hot(TARGET),
        where="mid",
        color="k",
        lw=1.2,
        label=tr("目标 t = one-hot(2)", "target t = one-hot(2)"),
    )
    a1.set(
        title=tr("目标类别为 2 的两个预测", "Two predictions for the target class 2"),
        xlabel=tr("类别 k", "class k"),
        ylabel=tr("概率 yₖ", "probability yₖ"),
        xticks=k,
        ylim=(0, 1.25),
    )
    a1.legend(fontsize=8, loc="upper right")
    p = np.array(r["p"])
    a2.plot(p, r["ce_curve"], lw=2, label=tr("交叉熵 −log y", "cross-entropy −log y"))
    a2.plot(p, r["se_curve"], lw=2, label=tr("平方误差 ½(y − 1)²", "squared error ½(y − 1)²"))
    a2.plot(
        p,
        -np.array(r["ce_grad"]),
        lw=1.2,
        ls="--",
        label=tr("交叉熵的 |d/dy| = 1/y", "|d/dy| of cross-entropy = 1/y"),
    )
    a2.plot(
        p,
        -np.array(r["se_grad"]),
        lw=1.2,
        ls="--",
        label=tr("平方误差的 |d/dy| = 1 − y", "|d/dy| of squared error = 1 − y"),
    )
    a2.set(
        title=tr("损失随正确类别概率的变化", "Loss against the correct class' probability"),
        xlabel=tr("y（正确类别的概率）", "y (probability of the correct class)"),
        ylabel=tr("损失 / 梯度大小", "loss / gradient magnitude"),
        ylim=(0, 5),
    )
    a2.legend(fontsize=8)
    a2.grid(True, alpha=0.3)
    return [save(fig, folder, "losses.png")]


run = make_run("loss", compute, report, draw)
