"""评估指标 — evaluation metrics: MSE and R² on a regression; precision, recall, F1, confusion matrix.

Regression (回归), with ŷ the model's prediction and ȳ the mean of the targets:

    MSE = (1/n) Σᵢ (yᵢ − ŷᵢ)²          均方误差
    R²  = 1 − Σ(yᵢ − ŷᵢ)² / Σ(yᵢ − ȳ)²   决定系数: 1 perfect, 0 no better than ȳ, < 0 worse

Classification (分类), from the confusion matrix (混淆矩阵) of a binary classifier:

    precision 精确率 = TP / (TP + FP)     recall 召回率 = TP / (TP + FN)
    F1 = 2 · precision · recall / (precision + recall)     accuracy 准确率 = (TP + TN) / n

Each number is computed three times: by the formula (NumPy, right here), by ``shendu.metrics``
and by scikit-learn; the lesson prints all three.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import shendu
import shendu.nn.functional as F
from shendu import metrics, nn
from shendu.lessons._i18n import tr
from shendu.lessons._plot import figure, make_run, matrix, save, source, table

THRESHOLDS = np.linspace(0.05, 0.95, 19)


def regression_data(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """y = 3x + 2 + noise on x ∈ [0, 2]."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(0, 2, n))
    return x, 3 * x + 2 + rng.normal(0, 0.6, n)


def by_formula(y: np.ndarray, y_hat: np.ndarray) -> dict[str, float]:
    """MSE and R² exactly as the notes write them."""
    sse = float(np.sum((y - y_hat) ** 2))
    return {"mse": sse / len(y), "r2": 1 - sse / float(np.sum((y - y.mean()) ** 2))}


def regression(n: int = 60) -> dict:
    from sklearn.metrics import mean_squared_error, r2_score

    x, y = regression_data(n)
    w, b = np.polyfit(x, y, 1)
    models = {
        "line": w * x + b,  # least squares
        "mean": np.full_like(y, y.mean()),  # always ȳ
        "flat": np.full_like(y, 2.0),  # a bad model: worse than ȳ
    }
    out: dict = {"x": x.tolist(), "y": y.tolist(), "w": float(w), "b": float(b), "models": {}}
    for name, y_hat in models.items():
        out["models"][name] = {
            **by_formula(y, y_hat),
            "shendu_mse": metrics.mean_squared_error(y, y_hat),
            "shendu_r2": metrics.r2_score(y, y_hat),
            "sklearn_mse": float(mean_squared_error(y, y_hat)),
            "sklearn_r2": float(r2_score(y, y_hat)),
            "y_hat": y_hat.tolist(),
        }
    return out


def classification_data(n: int = 400, positive: float = 0.2, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Two overlapping 2-D clouds; only ``positive`` of the points are class 1 (an imbalanced task)."""
    rng = np.random.default_rng(seed)
    t = (rng.random(n) < positive).astype(np.int64)
    x = rng.normal(0, 1, (n, 2)) + np.where(t[:, None] == 1, [1.6, 1.2], [0.0, 0.0])
    return x.astype(np.float32), t


def train_neuron(x: np.ndarray, t: np.ndarray, steps: int = 300) -> np.ndarray:
    """A single sigmoid neuron (logistic regression) trained by gradient descent; returns P(class 1)."""
    shendu.manual_seed(0)
    neuron = nn.Linear(2, 1)
    opt = shendu.optim.SGD(neuron.parameters(), lr=0.5)
    xs, ts = shendu.tensor(x), shendu.tensor(t.astype(np.float32)[:, None])
    for _ in range(steps):
        opt.zero_grad()
        F.binary_cross_entropy_with_logits(neuron(xs), ts).backward()
        opt.step()
    with shendu.no_grad():
        return F.sigmoid(neuron(xs)).numpy()[:, 0]


def counts(t: np.ndarray, pred: np.ndarray) -> dict[str, int]:
    return {
        "TP": int(np.sum((pred == 1) & (t == 1))),
        "FP": int(np.sum((pred == 1) & (t == 0))),
        "FN": int(np.sum((pred == 0) & (t == 1))),
        "TN": int(np.sum((pred == 0) & (t == 0))),
    }


def scores_by_formula(c: dict[str, int]) -> dict[str, float]:
    p = c["TP"] / (c["TP"] + c["FP"]) if c["TP"] + c["FP"] else 0.0
    r = c["TP"] / (c["TP"] + c["FN"]) if c["TP"] + c["FN"] else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f1, "accuracy": (c["TP"] + c["TN"]) / sum(c.values())}


def classification(n: int = 400) -> dict:
    from sklearn import metrics as skm

    x, t = classification_data(n)
    prob = train_neuron(x, t)
    pred = (prob > 0.5).astype(np.int64)
    c = counts(t, pred)
    lib = {
        "precision": float(np.asarray(metrics.precision(t, pred, average=None, num_classes=2))[1]),
        "recall": float(np.asarray(metrics.recall(t, pred, average=None, num_classes=2))[1]),
        "f1": float(np.asarray(metrics.f1_score(t, pred, average=None, num_classes=2))[1]),
        "accuracy": metrics.accuracy(t, pred),
    }
    sk = {
        "precision": float(skm.precision_score(t, pred)),
        "recall": float(skm.recall_score(t, pred)),
        "f1": float(skm.f1_score(t, pred)),
        "accuracy": float(skm.accuracy_score(t, pred)),
    }
    all_negative = scores_by_formula(counts(t, np.zeros_like(t)))
    sweep = [scores_by_formula(counts(t, (prob > th).astype(np.int64))) for th in THRESHOLDS]
    return {
        "x": x.tolist(),
        "t": t.tolist(),
        "prob": prob.tolist(),
        "counts": c,
        "confusion_matrix": metrics.confusion_matrix(t, pred, num_classes=2).tolist(),
        "formula": scores_by_formula(c),
        "shendu": lib,
        "sklearn": sk,
        "positive_share": float(t.mean()),
        "all_negative": all_negative,
        "thresholds": THRESHOLDS.tolist(),
        "sweep": sweep,
        "precision_rises": sweep[-1]["precision"] >= sweep[0]["precision"],
        "recall_falls": sweep[-1]["recall"] <= sweep[0]["recall"],
    }


def compute(quick: bool = False) -> dict:
    return {"regression": regression(), "classification": classification()}


def report(r: dict) -> list[str]:
    reg, cls = r["regression"], r["classification"]
    names = {
        "line": tr("最小二乘直线", "least-squares line"),
        "mean": tr("总是预测 ȳ", "always ȳ"),
        "flat": tr("总是预测 2", "always 2"),
    }

    def verdict(r2: float) -> str:
        if r2 > 0.5:
            return tr("解释了大部分方差", "explains most of the variance")
        if abs(r2) < 1e-9:
            return tr("不比平均值好", "no better than the mean")
        return tr(
            "比平均值还差" if r2 < 0 else "只比平均值好一点",
            "worse than the mean" if r2 < 0 else "barely beats the mean",
        )

    rows = [
        [
            names[k],
            m["mse"],
            m["shendu_mse"],
            m["sklearn_mse"],
            m["r2"],
            m["shendu_r2"],
            m["sklearn_r2"],
            verdict(m["r2"]),
        ]
        for k, m in reg["models"].items()
    ]
    f, lib, sk, c = cls["formula"], cls["shendu"], cls["sklearn"], cls["counts"]
    measure = {
        "precision": tr("精确率", "precision"),
        "recall": tr("召回率", "recall"),
        "f1": "F1",
        "accuracy": tr("准确率", "accuracy"),
    }
    crow = [[measure[k], f[k], lib[k], sk[k]] for k in measure]
    neg = cls["all_negative"]
    sweep = cls["sweep"]
    p_up, r_down = cls["precision_rises"], cls["recall_falls"]
    best = int(np.argmax([s["f1"] for s in sweep]))
    return [
        tr("评估指标", "Evaluation metrics"),
        tr(
            f"1. 回归：y = 3x + 2 + 噪声，{len(reg['y'])} 个点；最小二乘得 ŷ = {reg['w']:.3f}x + "
            f"{reg['b']:.3f}",
            f"1. Regression: y = 3x + 2 + noise, {len(reg['y'])} points; least squares gives "
            f"ŷ = {reg['w']:.3f}x + {reg['b']:.3f}",
        ),
        tr(
            "   均方误差 MSE = (1/n)Σ(yᵢ − ŷᵢ)²，R² = 1 − Σ(yᵢ − ŷᵢ)²/Σ(yᵢ − ȳ)²（公式 / shendu / "
            "scikit-learn）：",
            "   MSE = (1/n)Σ(yᵢ − ŷᵢ)², R² = 1 − Σ(yᵢ − ŷᵢ)²/Σ(yᵢ − ȳ)² (formula / shendu / scikit-learn):",
        ),
        table(
            [
                tr("模型", "model"),
                "MSE",
                "shendu",
                "sklearn",
                "R²",
                "shendu",
                "sklearn",
                tr("结论", "verdict"),
            ],
            rows,
            ".4f",
        ),
        "",
        tr(
            f"2. 分类：一个 sigmoid 神经元，{len(cls['t'])} 个点，正类只占 {cls['positive_share']:.0%}；"
            "阈值 0.5",
            f"2. Classification: one sigmoid neuron, {len(cls['t'])} points, only "
            f"{cls['positive_share']:.0%} "
            "positive; threshold 0.5",
        ),
        tr(
            f"   混淆矩阵：TP = {c['TP']}，FP = {c['FP']}，FN = {c['FN']}，TN = {c['TN']}",
            f"   confusion matrix: TP = {c['TP']}, FP = {c['FP']}, FN = {c['FN']}, TN = {c['TN']}",
        ),
        tr(
            "   精确率 = TP/(TP+FP)，召回率 = TP/(TP+FN)，F1 = 2PR/(P+R)（公式 / shendu / scikit-learn）：",
            "   precision = TP/(TP+FP), recall = TP/(TP+FN), F1 = 2PR/(P+R) (formula / shendu / "
            "scikit-learn):",
        ),
        table([tr("指标", "measure"), tr("公式", "formula"), "shendu", "sklearn"], crow, ".4f"),
        tr(
            f"   准确率的陷阱：总是预测负类，准确率也有 {neg['accuracy']:.1%}，但召回率 {neg['recall']:.0%}"
            f"（{'高于' if neg['accuracy'] > f['accuracy'] else '低于'}神经元的 {f['accuracy']:.1%}）。"
            "类别不平衡时要看精确率、召回率和 F1。",
            f"   The accuracy trap: always answering 'negative' scores {neg['accuracy']:.1%} accuracy with "
            f"{neg['recall']:.0%} recall ({'above' if neg['accuracy'] > f['accuracy'] else 'below'} the "
            "neuron's "
            f"{f['accuracy']:.1%}). With imbalanced classes, look at precision, recall and F1.",
        ),
        tr(
            f"   阈值从 {cls['thresholds'][0]:.2f} 升到 {cls['thresholds'][-1]:.2f}：精确率"
            f"{'上升' if p_up else '没有上升'}，召回率{'下降' if r_down else '没有下降'}；"
            f"F1 在阈值 {cls['thresholds'][best]:.2f} 最高（{sweep[best]['f1']:.3f}）。",
            f"   Raising the threshold from {cls['thresholds'][0]:.2f} to {cls['thresholds'][-1]:.2f}: "
            "precision "
            f"{'rises' if p_up else 'does not rise'}, recall {'falls' if r_down else 'does not fall'}; F1 "
            "peaks at "
            f"{cls['thresholds'][best]:.2f} ({sweep[best]['f1']:.3f}).",
        ),
        "",
        tr("   读代码：", "   Read the code:"),
        source(metrics.r2_score),
    ]


def draw(r: dict, folder: Path) -> list[str]:
    reg, cls = r["regression"], r["classification"]
    pngs = []
    fig, (a1, a2) = figure(1, 2, size=(10.5, 4.0))
    x, y = np.array(reg["x"]), np.array(reg["y"])
    a1.scatter(x, y, s=14, color="0.3", label=tr("数据", "data"))
    styles = {"line": ("tab:blue", "-"), "mean": ("tab:green", "--"), "flat": ("tab:red", ":")}
    labels = {"line": tr("最小二乘直线", "least squares"), "mean": "ȳ", "flat": "ŷ = 2"}
    for k, m in reg["models"].items():
        color, ls = styles[k]
        a1.plot(
            x,
            m["y_hat"],
            color=color,
            ls=ls,
            lw=2,
            label=f"{labels[k]}: MSE {m['mse']:.2f}, R² {m['r2']:.2f}",
        )
    a1.set(title=tr("回归：均方误差与 R²", "Regression: MSE and R²"), xlabel="x", ylabel="y")
    a1.legend(fontsize=8)
    line = np.array(reg["models"]["line"]["y_hat"])
    a2.vlines(x, 0, y - line, color="tab:blue", lw=1)
    a2.scatter(x, y - line, s=10, color="tab:blue")
    a2.axhline(0, color="k", lw=0.8)
    a2.set(
        title=tr("残差 yᵢ − ŷᵢ（MSE 是它们平方的平均）", "Residuals yᵢ − ŷᵢ (MSE averages their squares)"),
        xlabel="x",
    )
    pngs.append(save(fig, folder, "regression.png"))

    fig, (a1, a2, a3) = figure(1, 3, size=(14, 4.2))
    xs, t = np.array(cls["x"]), np.array(cls["t"])
    for cl, color in ((0, "tab:blue"), (1, "tab:red")):
        m = t == cl
        a1.scatter(xs[m, 0], xs[m, 1], s=8, color=color, label=tr(f"类别 {cl}", f"class {cl}"))
    a1.set(title=tr("不平衡的两类数据", "Two imbalanced classes"), xlabel="x₁", ylabel="x₂")
    a1.legend(fontsize=8)
    cm = np.array(cls["confusion_matrix"])
    matrix(a2, cm, tr("混淆矩阵（行：真实，列：预测）", "Confusion matrix (rows true, columns predicted)"))
    for (i, j), name in np.ndenumerate(np.array([["TN", "FP"], ["FN", "TP"]])):
        a2.text(j, i + 0.3, name, ha="center", va="center", fontsize=9, color="0.4")
    a2.set(xticks=[0, 1], yticks=[0, 1], xlabel=tr("预测类别", "predicted"), ylabel=tr("真实类别", "true"))
    th = cls["thresholds"]
    for k, name in (
        ("precision", tr("精确率", "precision")),
        ("recall", tr("召回率", "recall")),
        ("f1", "F1"),
    ):
        a3.plot(th, [s[k] for s in cls["sweep"]], marker="o", ms=3, label=name)
    a3.axvline(0.5, color="0.5", ls=":", lw=1)
    up, down = cls["precision_rises"], cls["recall_falls"]
    a3.set(
        title=tr(
            f"阈值越高：精确率{'升' if up else '不升'}、召回率{'降' if down else '不降'}",
            f"Higher threshold: precision {'up' if up else 'not up'}, recall "
            f"{'down' if down else 'not down'}",
        ),
        xlabel=tr("判为正类的阈值", "threshold for class 1"),
        ylim=(0, 1.05),
    )
    a3.legend(fontsize=8)
    a3.grid(True, alpha=0.3)
    pngs.append(save(fig, folder, "classification.png"))
    return pngs


run = make_run("metrics", compute, report, draw)
