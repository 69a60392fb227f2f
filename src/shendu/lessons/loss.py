"""损失函数 — loss functions: sum of squared errors and cross-entropy, on the course's example.

A 10-class prediction y (softmax output) against the one-hot target t for class 2:

    E = ½ Σₖ (yₖ − tₖ)²          (the course's "mean squared error": ½ × F.mse_loss(…, 'sum'))
    E = −Σₖ tₖ log(yₖ + δ)       (cross-entropy; with one-hot t it is −log y_correct)

The confident correct prediction gives 0.0975 and 0.51; the same numbers on the wrong class
give 0.5975 and 2.30. Cross-entropy's curve −log y is steep where the prediction is bad, so its
gradient is large exactly when the network is most wrong; squared error's stays bounded.
δ = 1e-7 keeps log(0) from being −∞. ``F.cross_entropy`` on logits does log-softmax and NLL in
one stable step (no δ needed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import shendu
import shendu.nn.functional as F
from shendu.lessons._plot import figure, save, start, table

SUMMARY = "损失函数 squared error and cross-entropy on the course's example, with their curves and gradients"

TARGET = 2
Y_RIGHT = [0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0]  # most probability on class 2
Y_WRONG = [0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0]  # most probability on class 7
DELTA = 1e-7


def one_hot(index: int, n: int = 10) -> np.ndarray:
    t = np.zeros(n, dtype=np.float64)
    t[index] = 1.0
    return t


def sum_squared_error(y, t) -> shendu.Tensor:
    """½ Σ (y − t)², through the library's ``F.mse_loss`` with reduction='sum'."""
    return 0.5 * F.mse_loss(shendu.as_tensor(y), shendu.as_tensor(t), reduction="sum")


def cross_entropy_of_probs(y, index: int) -> shendu.Tensor:
    """−log(y[index] + δ) for a probability vector y, as ``F.nll_loss`` of log-probabilities."""
    logp = shendu.log(shendu.as_tensor(y) + DELTA)
    return F.nll_loss(logp.reshape(1, -1), shendu.tensor([index]))


def run(out: str | Path | None = None, quick: bool = False, verbose: bool = True) -> dict:
    folder, say = start("loss", out, quick, verbose)
    t = one_hot(TARGET)
    right, wrong = "right (y[2] = 0.6)", "wrong (y[7] = 0.6)"
    cases = {right: Y_RIGHT, wrong: Y_WRONG}
    sse = {k: sum_squared_error(np.array(y), t).item() for k, y in cases.items()}
    ce = {k: cross_entropy_of_probs(np.array(y), TARGET).item() for k, y in cases.items()}
    # The same loss from logits: softmax(log y) = y, so cross_entropy(log y) is −log y[2] again.
    logits = shendu.log(shendu.tensor(np.array(Y_RIGHT)) + DELTA).reshape(1, -1)
    ce_logits = F.cross_entropy(logits, shendu.tensor([TARGET])).item()
    say(
        f"Target t = one-hot({TARGET}); predictions y (softmax outputs, each sums to 1):",
        table(
            ["prediction", "½Σ(y−t)²", "−Σ t·log(y+δ)"],
            [[k, sse[k], ce[k]] for k in cases],
            ".6f",
        ),
        f"   F.cross_entropy on logits log(y): {ce_logits:.4f} (log-softmax + NLL in one step)",
        f"   The wrong prediction costs {sse[wrong] / sse[right]:.1f}× more squared error and "
        f"{ce[wrong] / ce[right]:.1f}× more cross-entropy.",
    )

    # Loss and its gradient as a function of the probability given to the correct class.
    p = np.linspace(0.01, 1.0, 100)  # steps of 0.01
    pt = shendu.tensor(p, requires_grad=True)
    ce_curve = -shendu.log(pt)
    ce_curve.sum().backward()
    ce_grad = pt.grad.numpy().copy()
    pt2 = shendu.tensor(p, requires_grad=True)
    se_curve = 0.5 * F.mse_loss(pt2, shendu.ones(len(p), dtype=shendu.float64), reduction="none")
    se_curve.sum().backward()
    se_grad = pt2.grad.numpy().copy()
    probe = [0.01, 0.1, 0.5, 0.9]
    idx = [int(np.argmin(np.abs(p - q))) for q in probe]
    say(
        "",
        "Loss and its gradient (autograd) against the probability y given to the correct class:",
        table(
            ["y_correct", "−log y", "d/dy", "½(y−1)²", "d/dy"],
            [
                [
                    f"{p[i]:.2f}",
                    float(ce_curve.numpy()[i]),
                    float(ce_grad[i]),
                    float(se_curve.numpy()[i]),
                    float(se_grad[i]),
                ]
                for i in idx
            ],
            ".4f",
        ),
        "   Cross-entropy pushes hardest (−1/y) when the network is most wrong;",
        "   squared error's push (1 − y) never exceeds 1.",
    )

    pngs = []
    fig, (a1, a2) = figure(1, 2, size=(10.5, 4.2))
    k = np.arange(10)
    a1.bar(
        k - 0.2,
        Y_RIGHT,
        width=0.4,
        label=f"y right: SSE {sse['right (y[2] = 0.6)']:.4f}, CE {ce['right (y[2] = 0.6)']:.2f}",
    )
    a1.bar(
        k + 0.2,
        Y_WRONG,
        width=0.4,
        label=f"y wrong: SSE {sse['wrong (y[7] = 0.6)']:.4f}, CE {ce['wrong (y[7] = 0.6)']:.2f}",
    )
    a1.step(k, t, where="mid", color="k", lw=1.2, label="target t = one-hot(2)")
    a1.set(
        title="Two predictions for the target class 2",
        xlabel="class k",
        ylabel="probability yₖ",
        xticks=k,
        ylim=(0, 1.25),
    )
    a1.legend(fontsize=8, loc="upper right")
    a2.plot(p, ce_curve.numpy(), lw=2, label="cross-entropy −log y")
    a2.plot(p, se_curve.numpy(), lw=2, label="squared error ½(y − 1)²")
    a2.plot(p, -ce_grad, lw=1.2, ls="--", label="|d/dy| of cross-entropy = 1/y")
    a2.plot(p, -se_grad, lw=1.2, ls="--", label="|d/dy| of squared error = 1 − y")
    a2.set(
        title="Loss against the correct class' probability",
        xlabel="y (probability of the correct class)",
        ylabel="loss / gradient magnitude",
        ylim=(0, 5),
    )
    a2.legend(fontsize=8)
    a2.grid(True, alpha=0.3)
    pngs.append(save(fig, folder, "losses.png"))
    say.figures(pngs)

    return {
        "sse_right": sse["right (y[2] = 0.6)"],
        "sse_wrong": sse["wrong (y[7] = 0.6)"],
        "ce_right": ce["right (y[2] = 0.6)"],
        "ce_wrong": ce["wrong (y[7] = 0.6)"],
        "ce_from_logits": ce_logits,
        "p": p.tolist(),
        "ce_curve": ce_curve.numpy().tolist(),
        "ce_grad": ce_grad.tolist(),
        "se_curve": se_curve.numpy().tolist(),
        "se_grad": se_grad.tolist(),
        "pngs": pngs,
    }
