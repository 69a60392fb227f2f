"""过拟合与欠拟合 — over- and under-fitting, seen in training and validation curves, and two cures.

All networks are MLPs (``shendu.models.mlp``) trained with Adam on ``mnist-5k`` digits and
scored on the same 500 validation digits (``shendu.training.Trainer``):

* too small (784-4-10) on 300 digits: under-fits — training and validation accuracy both stay low;
* too large (784-100×6-10) on 300 digits: over-fits — training accuracy reaches 100% while
  validation lags far behind and the validation loss turns upward (it memorises the 300 digits);
* the same large network with dropout (p = 0.2) and with weight decay (AdamW, λ = 3): they keep
  the validation loss lower (the network is less over-confident on digits it has not seen); with
  only 300 digits they close little of the accuracy gap;
* the same large network on all 4,500 digits: more data is by far the best cure.

The printed gap is measured after training, in eval mode (dropout off), on the whole training set.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import shendu
from shendu.data import DataLoader, TensorDataset, load_dataset
from shendu.lessons._plot import figure, lesson, save, start, table
from shendu.metrics import accuracy
from shendu.models import mlp
from shendu.optim import Adam, AdamW
from shendu.training import Trainer, predict


LARGE = [784] + [100] * 6 + [10]
WD = 3.0  # AdamW's decoupled weight decay λ: each step shrinks every weight by lr·λ = 0.3%


def configs(quick: bool) -> dict[str, dict]:
    """name -> sizes, dropout, weight decay, number of training digits, epochs."""
    few = 300
    ep = 25 if quick else 60
    return {
        "too small (784-4-10)": dict(sizes=[784, 4, 10], dropout=0.0, wd=0.0, n=few, epochs=ep),
        "too large (784-100×6-10)": dict(sizes=LARGE, dropout=0.0, wd=0.0, n=few, epochs=ep),
        "large + dropout 0.2": dict(sizes=LARGE, dropout=0.2, wd=0.0, n=few, epochs=ep),
        "large + weight decay": dict(sizes=LARGE, dropout=0.0, wd=WD, n=few, epochs=ep),
        "large, 4,500 digits": dict(sizes=LARGE, dropout=0.0, wd=0.0, n=4500, epochs=3 if quick else 10),
    }


@lesson
def run(out: str | Path | None = None, quick: bool = False, verbose: bool = True) -> dict:
    folder, say = start("fitting", out, quick, verbose)
    train = load_dataset("mnist-5k", "train")
    val = load_dataset("mnist-5k", "val")
    val_loader = DataLoader(val, batch_size=500)

    order = np.random.default_rng(0).permutation(len(train))  # the file is sorted by class: mix it
    results = {}
    for name, c in configs(quick).items():
        x, y = train.images[order[: c["n"]]], train.labels[order[: c["n"]]]
        shendu.manual_seed(0)
        model = mlp(c["sizes"], activation="relu", dropout=c["dropout"])
        # AdamW: weight decay shrinks every weight by lr·λ each step, apart from the gradient
        opt = (
            AdamW(model.parameters(), lr=1e-3, weight_decay=c["wd"])
            if c["wd"]
            else Adam(model.parameters(), lr=1e-3)
        )
        loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, seed=0)
        hist = Trainer(model, opt, loader, val_loader=val_loader, epochs=c["epochs"], progress=False).fit()
        tl, ty = predict(model, DataLoader(TensorDataset(x, y), batch_size=500))
        vl, vy = predict(model, val_loader)
        results[name] = {
            "n": c["n"],
            "params": sum(p.numel() for p in model.parameters()),
            "train_acc": float(accuracy(ty, tl.argmax(1))),
            "val_acc": float(accuracy(vy, vl.argmax(1))),
            "history": {
                k: [float(v) for v in hist[k]] for k in ("train_loss", "train_acc", "val_loss", "val_acc")
            },
        }
        r = results[name]
        r["gap"] = r["train_acc"] - r["val_acc"]
        r["min_val_loss_epoch"] = int(np.argmin(r["history"]["val_loss"]) + 1)
        r["final_val_loss"] = r["history"]["val_loss"][-1]

    base = results["too large (784-100×6-10)"]
    rows = [
        [
            name,
            r["n"],
            r["params"],
            f"{r['train_acc']:.1%}",
            f"{r['val_acc']:.1%}",
            f"{r['gap']:+.1%}",
            r["final_val_loss"],
            r["min_val_loss_epoch"],
            len(r["history"]["val_loss"]),
        ]
        for name, r in results.items()
    ]
    say(
        f"MLPs trained with Adam (lr 1e-3, batch 32) on mnist-5k digits, validated on {len(val)}:",
        table(
            [
                "network",
                "digits",
                "params",
                "train acc",
                "val acc",
                "gap",
                "val loss",
                "best val-loss epoch",
                "epochs",
            ],
            rows,
            ".3f",
        ),
        "   under-fitting: both accuracies low (the model is too simple);",
        "   over-fitting: train 100%, a large gap, and the validation loss bottoms out early then rises.",
        "   Each cure against the too-large network (validation loss; validation accuracy; gap):",
        *(
            f"   {name:<22} loss {base['final_val_loss']:.3f} -> {r['final_val_loss']:.3f};  "
            f"accuracy {base['val_acc']:.1%} -> {r['val_acc']:.1%};  gap {base['gap']:+.1%} -> "
            f"{r['gap']:+.1%}"
            for name, r in list(results.items())[2:]
        ),
        "   Dropout and weight decay make the network less over-confident on digits it has not seen (lower",
        "   validation loss) but, with only 300 digits, move its accuracy by a few points either way; more "
        "data",
        "   is the real cure.",
    )

    pngs = []
    names = list(results)
    fig, axes = figure(2, len(names), size=(4 * len(names), 7), sharey="row")
    for j, name in enumerate(names):
        h = results[name]["history"]
        ep = np.arange(1, len(h["train_acc"]) + 1)
        axes[0, j].plot(ep, np.array(h["train_acc"]) * 100, label="training")
        axes[0, j].plot(ep, np.array(h["val_acc"]) * 100, label="validation")
        axes[0, j].set(title=f"{name}\n{results[name]['n']} digits", xlabel="epoch", ylim=(0, 102))
        axes[1, j].plot(ep, h["train_loss"], label="training")
        axes[1, j].plot(ep, h["val_loss"], label="validation")
        axes[1, j].set(xlabel="epoch", yscale="log")
        for a in axes[:, j]:
            a.grid(True, alpha=0.3)
            a.legend(fontsize=8)
    axes[0, 0].set_ylabel("accuracy (%)")
    axes[1, 0].set_ylabel("cross-entropy loss (log scale)")
    fig.suptitle("Training vs validation: under-fitting, over-fitting, and three cures")
    pngs.append(save(fig, folder, "curves.png"))

    fig, ax = figure(size=(8, 4.2))
    xs = np.arange(len(names))
    ax.bar(xs - 0.2, [results[n]["train_acc"] * 100 for n in names], width=0.4, label="training")
    ax.bar(xs + 0.2, [results[n]["val_acc"] * 100 for n in names], width=0.4, label="validation")
    for i, n in enumerate(names):
        ax.annotate(
            f"gap {results[n]['gap']:+.0%}",
            (i, max(results[n]["train_acc"], results[n]["val_acc"]) * 100 + 1),
            ha="center",
            fontsize=8,
        )
    ax.set(title="Final accuracy (eval mode)", ylabel="accuracy (%)", xticks=xs, ylim=(0, 112))
    ax.set_xticklabels([n.replace(" (", "\n(").replace(", ", ",\n") for n in names], fontsize=8)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(True, axis="y", alpha=0.3)
    pngs.append(save(fig, folder, "gap.png"))
    say.figures(pngs)
    return {"results": results, "pngs": pngs}
