"""The course, runnable: one lesson per chapter, in course order, in Chinese (English on request).

Public API (for the command line, notebooks and web pages):

- ``LESSONS``: ordered ``{name: LessonInfo}``; ``LESSONS[name].title(lang)`` and
  ``.summary(lang)`` give the chapter's name and one line about it (``lang`` is ``"zh"`` or ``"en"``).
- ``run_lesson(name, lang=None, out_dir=None, quick=False, full=False) -> (text, [png paths])``:
  runs one lesson and returns what it printed and the figures it wrote (``out_dir`` defaults to
  ``lessons/<name>/``; ``lang`` None means ``SHENDU_LANG`` or Chinese).
- ``get(name)``: the lesson's module. Each has ``run(out=None, quick=False, verbose=True,
  lang=None) -> dict`` (its numbers, ``pngs`` and ``text``); the rebuilt lessons also have
  ``compute(quick=False) -> dict`` (numbers only, what the tests check) and ``draw(numbers, folder)
  -> [png paths]``.

``quick=True`` runs at reduced sizes and draws at a draft resolution (the tests use it);
``full=True`` (``shendu lesson NAME --full``) runs the slower, larger version where a lesson has one.
Nothing here touches matplotlib's global settings: Chinese is drawn with the shipped font subset
``fonts/ShenduCJK-Regular.otf`` (Noto Sans CJK SC, OFL) inside a local ``rc_context``.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from shendu.lessons._i18n import LANGS, check_lang, default_lang, language, lang, tr

__all__ = [
    "LESSONS",
    "LessonInfo",
    "run_lesson",
    "get",
    "available",
    "has_full",
    "out_dir",
    "LANGS",
    "language",
    "lang",
    "tr",
    "default_lang",
]


@dataclass(frozen=True)
class LessonInfo:
    """One chapter: its module and, in both languages, its title and a one-line summary."""

    module: str
    zh: str
    en: str
    about_zh: str
    about_en: str

    def title(self, lang: str | None = None) -> str:
        return self.zh if check_lang(lang or default_lang()) == "zh" else self.en

    def summary(self, lang: str | None = None) -> str:
        return self.about_zh if check_lang(lang or default_lang()) == "zh" else self.about_en


# Course order.
LESSONS: dict[str, LessonInfo] = {
    "overview": LessonInfo(
        "overview",
        "概述",
        "Overview",
        "人工智能 ⊃ 机器学习 ⊃ 深度学习，学习范式，工作流程，发展历史时间线",
        "AI ⊃ ML ⊃ DL, learning paradigms, the workflow, the history timeline",
    ),
    "gates": LessonInfo(
        "gates",
        "感知机",
        "The perceptron",
        "与门/或门/与非门，一条直线分不开异或门，两层可以，感知机学习规则",
        "AND/OR/NAND, why one line cannot do XOR, two layers can, the learning rule",
    ),
    "neuron": LessonInfo(
        "neuron",
        "神经元与前向传播",
        "Neurons and forward propagation",
        "生物神经元，神经元做回归与分类，多层网络的前向传播公式，阈值全为 0.5 的 MLP 实现异或",
        "the biological neuron, a neuron as regressor and classifier, forward formulas, XOR by an MLP",
    ),
    "activations": LessonInfo(
        "activations",
        "激活函数",
        "Activation functions",
        "阶跃、sigmoid、tanh、ReLU、softplus 及其导数，softmax，梯度消失",
        "step, sigmoid, tanh, ReLU, softplus and their derivatives, softmax, vanishing gradients",
    ),
    "approx": LessonInfo(
        "approx",
        "通用近似定理",
        "Universal approximation",
        "用 1、2、6 个 tanh 神经元拟合三次函数，宽而浅与深而窄",
        "fitting a cubic with 1, 2 and 6 tanh neurons; wide-and-shallow vs deep-and-thin",
    ),
    "loss": LessonInfo(
        "loss",
        "损失函数",
        "Loss functions",
        "均方误差与交叉熵：课程中的例子、曲线和梯度",
        "mean squared error and cross-entropy on the course's example, their curves and gradients",
    ),
    "metrics": LessonInfo(
        "metrics",
        "评估指标",
        "Evaluation metrics",
        "回归的均方误差与 R²，分类的精确率、召回率、F1 与混淆矩阵",
        "MSE and R² for regression; precision, recall, F1 and the confusion matrix for classification",
    ),
    "gradient": LessonInfo(
        "gradient",
        "数值微分与梯度",
        "Numerical differentiation and gradients",
        "数值微分，中心差分，偏导数，梯度场，学习率",
        "numerical derivatives, central differences, partial derivatives, the gradient field, learning rate",
    ),
    "gd": LessonInfo(
        "gd",
        "梯度下降",
        "Gradient descent",
        "批量、随机、小批量梯度下降在线性回归上的比较",
        "batch, stochastic and mini-batch gradient descent on linear regression",
    ),
    "backprop": LessonInfo(
        "backprop",
        "反向传播",
        "Backpropagation",
        "计算图：买苹果、买苹果和橘子，加法节点与乘法节点，链式法则",
        "computational graphs: apples, apples and oranges, add and multiply nodes, the chain rule",
    ),
    "conv": LessonInfo(
        "conv",
        "卷积层",
        "Convolution",
        "一维与二维卷积，填充，步幅，输出大小，多通道，卷积核（滤波器）在照片上的效果",
        "1-D and 2-D convolution, padding, stride, output size, channels, kernels on a photograph",
    ),
    "pooling": LessonInfo(
        "pooling",
        "池化层",
        "Pooling",
        "最大池化与平均池化，没有参数，通道数不变，对平移的鲁棒性",
        "max and average pooling, no parameters, same channels, robustness to shifts",
    ),
    "cnn": LessonInfo(
        "cnn",
        "卷积神经网络 LeNet",
        "Convolutional networks: LeNet",
        "LeNet 的结构，在手写数字上训练，滤波器，特征图，混淆矩阵",
        "LeNet's architecture, trained on handwritten digits: filters, feature maps, confusion matrix",
    ),
    "classics": LessonInfo(
        "classics",
        "经典网络",
        "Classic networks",
        "AlexNet、VGG、GoogLeNet、ResNet：层表、参数量、Inception 模块、残差块、退化问题",
        "AlexNet, VGG, GoogLeNet, ResNet: layer tables, parameters, Inception and residual blocks",
    ),
    "dl-vs-ml": LessonInfo(
        "dl_vs_ml",
        "深度学习与机器学习",
        "Deep learning vs machine learning",
        "神经网络与传统机器学习在不同数据量下的准确率",
        "neural networks against classical machine learning as the data grows",
    ),
    "fitting": LessonInfo(
        "fitting",
        "过拟合与欠拟合",
        "Over- and under-fitting",
        "欠拟合、过拟合与合适的拟合，正则化（权重衰减、Dropout、早停、数据增强）和更多数据，各自测量效果",
        "under-, over- and good fit; weight decay, dropout, early stopping, augmentation, more data",
    ),
}


def available() -> list[str]:
    """Lesson names in course order (those whose module exists)."""
    return [n for n, info in LESSONS.items() if importlib.util.find_spec(f"shendu.lessons.{info.module}")]


def get(name: str) -> ModuleType:
    """The lesson module for a command name; ValueError listing the lessons if unknown."""
    if name not in LESSONS or name not in available():
        raise ValueError(f"unknown lesson {name!r}; lessons: {', '.join(available())}")
    return importlib.import_module(f"shendu.lessons.{LESSONS[name].module}")


def out_dir(name: str, out: str | Path | None) -> Path:
    """The folder a lesson writes its figures to (created)."""
    path = Path(out) if out is not None else Path("lessons") / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def has_full(name: str) -> bool:
    """Whether lesson ``name`` has a slower, larger ``full=True`` version."""
    return "full" in inspect.signature(get(name).run).parameters


def run_lesson(
    name: str,
    lang: str | None = None,
    out_dir: str | Path | None = None,
    quick: bool = False,
    full: bool = False,
    verbose: bool = False,
) -> tuple[str, list[str]]:
    """Run lesson ``name`` in ``lang``; return (the text it prints, the PNG files it wrote)."""
    module = get(name)
    kw: dict = {"out": out_dir, "quick": quick, "verbose": verbose, "lang": lang}
    if full:
        if not has_full(name):
            raise ValueError(f"lesson {name!r} has no --full version")
        kw["full"] = True
    result = module.run(**kw)
    return result["text"], list(result.get("pngs", []))
