"""经典网络 — AlexNet, VGG-19, GoogLeNet and ResNet, built by ``shendu.models`` and measured.

Computed from the library's own networks (nothing typed in): each network's layer table, output
shapes, parameters and multiply-adds (``shendu.models.summary`` on a 224×224×3 image); depth as the
longest chain of weight layers through the autograd graph of one forward pass (GoogLeNet's parallel
branches and ResNet's shortcuts count once, as the papers count: 8, 19, 22, 152); AlexNet's neurons
(the outputs of its convolutions and fully connected layers) and the parameters the two-GPU split
saves; ReLU's and tanh's derivatives, Dropout, local response normalisation (LRN) and overlapping
pooling on small inputs; the Inception block's and the residual block's channels; and a small
plain-vs-residual experiment (:mod:`shendu.lessons.classics_degradation`).

QUOTED from the papers (facts of history, not computed here; ILSVRC test-set top-5 errors):
  AlexNet 15.3%  — Krizhevsky, Sutskever, Hinton, NeurIPS 2012: the ILSVRC-2012 winning entry
                   (7 CNNs, 2 pre-trained on extra data); 16.4% with 5 CNNs and no extra data;
                   runner-up 26.2%. "60 million parameters and 650,000 neurons"; 5–6 days on two
                   GTX 580 3 GB GPUs. Effects it reports: ReLU reaches 25% training error on CIFAR-10
                   6× faster than tanh; LRN −1.4% top-1 / −1.2% top-5; overlapping pooling −0.4% /
                   −0.3%; two GPUs −1.7% / −1.2% against one GPU with half the kernels; Dropout
                   roughly doubles the iterations needed to converge.
  VGG-19 7.3%    — Simonyan, Zisserman, ICLR 2015 (ILSVRC-2014 submission, 7 nets).
  GoogLeNet 6.67% — Szegedy et al., CVPR 2015 (ILSVRC-2014 winner, 22 layers).
  ResNet 3.57%   — He, Zhang, Ren, Sun, CVPR 2016 (ensemble, ILSVRC-2015 winner, 152 layers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import shendu
from shendu import nn
from shendu.lessons._plot import grad_of, make_run
from shendu.lessons.classics_degradation import degradation
from shendu.lessons.classics_draw import draw
from shendu.lessons.classics_report import report
from shendu.models import BasicBlock, alexnet2012, googlenet, resnet152, summary, vgg19
from shendu.models.summary import LayerInfo, Summary

IMAGE = (3, 224, 224)
WEIGHT_OPS = {"Conv2d", "Linear"}  # autograd nodes that apply a layer's weights


@dataclass(frozen=True)
class Paper:
    """What a paper reports (QUOTED, not computed): year, ILSVRC top-5 test error %, its source."""

    year: int
    top5: float
    source: str


PAPERS = {
    "AlexNet": Paper(2012, 15.3, "Krizhevsky, Sutskever & Hinton, NeurIPS 2012"),
    "VGG-19": Paper(2014, 7.3, "Simonyan & Zisserman, ICLR 2015"),
    "GoogLeNet": Paper(2014, 6.67, "Szegedy et al., CVPR 2015"),
    "ResNet-152": Paper(2015, 3.57, "He, Zhang, Ren & Sun, CVPR 2016"),
}
ALEXNET_QUOTED = {  # from the AlexNet paper, QUOTED
    "top5_no_extra_data": 16.4,
    "runner_up_top5": 26.2,
    "params": 60_000_000,
    "neurons": 650_000,
    "relu_speedup": 6,
    "lrn_gain": (1.4, 1.2),
    "overlap_gain": (0.4, 0.3),
    "two_gpu_gain": (1.7, 1.2),
    "gpu_memory_gb": 3,
}


def weight_depth(model: nn.Module, input_size: tuple[int, ...]) -> int:
    """Longest chain of convolution / fully connected ops from input to output.

    One forward pass builds the autograd graph; a walk over it (iterative, no recursion: ResNet's
    graph is deep) gives each node the largest number of weight ops on any path below it.
    """
    model.eval()
    root = model(shendu.randn(1, *input_size))._ctx
    depth: dict[int, int] = {}
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in depth:
            continue
        parents = [p for p in (node.parents or []) if p is not None and hasattr(p, "parents")]
        if done:
            below = max((depth[id(p)] for p in parents), default=0)
            depth[id(node)] = below + (type(node).__name__ in WEIGHT_OPS)
            continue
        stack.append((node, True))
        stack.extend((p, False) for p in parents if id(p) not in depth)
    return depth[id(root)]


def describe(module: nn.Module) -> str:
    """A layer as the notes write it: ``conv 96×11×11 /4``, ``maxpool 3×3 /2``, ``fc 9216→4096``…"""
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        text = f"conv {module.out_channels}×{kh}×{kw}"
        text += f" /{module.stride[0]}" if module.stride[0] > 1 else ""
        text += f" pad {module.padding[0]}" if module.padding[0] else ""
        return text + (f" groups={module.groups}" if module.groups > 1 else "")
    if isinstance(module, nn.MaxPool2d):
        return f"maxpool {module.kernel_size}×{module.kernel_size} /{module.stride}"
    if isinstance(module, nn.Linear):
        return f"fc {module.in_features}→{module.out_features}"
    if isinstance(module, nn.LocalResponseNorm):
        return f"LRN n={module.size}"
    if isinstance(module, nn.Dropout):
        return f"Dropout p={module.p}"
    if isinstance(module, nn.Sequential) and len(module) and all(type(m) is type(module[0]) for m in module):
        first = module[0]
        inner = f"{first.conv1.in_channels}→{first.conv3.out_channels}" if hasattr(first, "conv3") else ""
        return f"{len(module)} × {type(first).__name__}({inner})"
    if type(module).__name__ == "Inception":
        widths = [branch_width(getattr(module, f"branch{i}")) for i in range(1, 5)]
        return "Inception " + "+".join(map(str, widths))
    return type(module).__name__


def branch_width(branch: nn.Module) -> int:
    """Output channels of an Inception branch: those of its last convolution."""
    return [m for m in branch.modules() if isinstance(m, nn.Conv2d)][-1].out_channels


def layer_table(model: nn.Module, s: Summary, keep: Callable[[LayerInfo], bool]) -> list[list]:
    """Rows (layer, what it is, output C×H×W, parameters) of the summary's layers that ``keep`` selects."""
    modules = dict(model.named_modules())
    return [
        [layer.name, describe(modules[layer.name]), "×".join(map(str, layer.output_shape[1:])), layer.params]
        for layer in s.layers
        if keep(layer)
    ]


def top_level(layer: LayerInfo) -> bool:
    return layer.depth == 0 and layer.type not in ("Flatten", "Identity", "Dropout")


def weight_or_pool(layer: LayerInfo) -> bool:
    return layer.is_leaf and layer.type in ("Conv2d", "Linear", "MaxPool2d", "LocalResponseNorm")


def measure(name: str, model: nn.Module, keep: Callable[[LayerInfo], bool], depth_side: int) -> dict:
    """A network's summary numbers, depth and layer table (``depth_side``: image side for the depth pass)."""
    s = summary(model, IMAGE)
    params = sum(p.numel() for p in model.parameters())
    return {
        "year": PAPERS[name].year,
        "top5_error": PAPERS[name].top5,
        "source": PAPERS[name].source,
        "depth": weight_depth(model, (3, depth_side, depth_side)),
        "params": params,
        "summary_params": s.total_params,
        "layer_params_sum": sum(layer.params or 0 for layer in s.layers if layer.is_leaf),
        "mult_adds": s.total_mult_adds,
        "table": layer_table(model, s, keep),
        "summary": s,
    }


def alexnet_numbers(net: nn.Module, s: Summary) -> dict:
    """AlexNet (two-GPU form): conv1's output, neurons, the parameters the split saves, per layer."""
    split: list[dict] = []
    for name, module in net.named_modules():
        if isinstance(module, nn.Conv2d):
            ours = sum(p.numel() for p in module.parameters())
            # the same layer on one GPU: every kernel sees all input maps (groups = 1)
            whole = nn.Conv2d(module.in_channels, module.out_channels, module.kernel_size)
            alone = sum(p.numel() for p in whole.parameters())
            split.append(
                {
                    "conv": f"conv{len(split) + 1}",
                    "layer": name,
                    "groups": module.groups,
                    "params": ours,
                    "one_gpu": alone,
                }
            )
    neurons = [
        int(np.prod(layer.output_shape[1:]))
        for layer in s.layers
        if layer.type in WEIGHT_OPS and layer.is_leaf
    ]
    params = sum(p.numel() for p in net.parameters())
    return {
        "conv1_output": s.layers[1].output_shape[1:],  # features.0: (C, H, W)
        "neurons_per_layer": neurons,
        "neurons": sum(neurons),
        "params": params,
        "one_gpu_params": params + sum(x["one_gpu"] - x["params"] for x in split),
        "params_mb": params * 4 / 2**20,
        "split": split,
        "quoted": ALEXNET_QUOTED,
    }


def tricks(lrn: nn.LocalResponseNorm, side: int) -> dict:
    """ReLU vs tanh derivatives, Dropout's mask, LRN and overlapping pooling, each on a small input.

    ``lrn``: AlexNet's first normalisation layer; ``side``: its conv1 output side, the map pooled next.
    """
    x = shendu.tensor(np.array([0.5, 2.0, 5.0], np.float32), requires_grad=True)
    shendu.relu(x).sum().backward()
    relu_grad = grad_of(x)
    x.grad = None
    shendu.tanh(x).sum().backward()
    tanh_grad = grad_of(x)

    shendu.manual_seed(0)
    drop, ones = nn.Dropout(0.5), shendu.ones(4096)  # fc6's 4,096 neurons
    kept = drop(ones).numpy()
    drop.eval()
    at_test = drop(ones).numpy()

    # LRN at one pixel: a map of 10 beside a strong neighbour (100) vs alone, the paper's k, n, α, β
    k, n, alpha, beta = lrn.k, lrn.size, lrn.alpha / lrn.size, lrn.beta  # PyTorch's α is n·(paper's α)
    maps = np.array([[0, 0, 0, 10, 100, 0, 0], [0, 0, 0, 10, 0, 0, 0]], np.float32)
    lib = lrn(shendu.tensor(maps[:, :, None, None])).numpy()[:, 3, 0, 0]
    padded = np.pad(maps**2, ((0, 0), (n // 2, n // 2)))
    formula = maps[:, 3] / (k + alpha * padded[:, 3 : 3 + n].sum(axis=1)) ** beta

    pools = {}  # AlexNet's 3×3 stride-2 window against a non-overlapping 2×2 stride-2 one
    for size in (3, 2):
        out = nn.MaxPool2d(size, 2)(shendu.zeros(1, 1, side, side)).shape[-1]
        covered = np.zeros(side, int)
        for start in range(0, 2 * out, 2):
            covered[start : start + size] += 1
        pools[size] = {
            "out": out,
            "in_two_windows": int((covered > 1).sum()),
            "unused": int((covered == 0).sum()),
        }
    return {
        "x": [0.5, 2.0, 5.0],
        "relu_grad": relu_grad.tolist(),
        "tanh_grad": tanh_grad.tolist(),
        "dropout_zero_share": float((kept == 0).mean()),
        "dropout_kept_value": float(kept[kept > 0][0]),
        "dropout_mean": float(kept.mean()),
        "dropout_test_identity": bool(np.array_equal(at_test, ones.numpy())),
        "lrn": {
            "k": k,
            "n": n,
            "alpha": alpha,
            "beta": beta,
            "library": lib.tolist(),
            "formula": formula.tolist(),
        },
        "pool_side": side,
        "pools": pools,
    }


def short(m: nn.Module) -> str:
    """``1×1 conv, 64`` or ``3×3 maxpool``: a box label of the block figures."""
    if isinstance(m, nn.Conv2d):
        return f"{m.kernel_size[0]}×{m.kernel_size[1]} conv, {m.out_channels}"
    k = m.kernel_size if isinstance(m.kernel_size, int) else m.kernel_size[0]
    return f"{k}×{k} maxpool"


def residual_block(block: nn.Module) -> dict:
    """A residual block's input channels and its convolutions (kernel, channels), the shortcut's aside."""
    convs = [m for n, m in block.named_modules() if isinstance(m, nn.Conv2d) and "downsample" not in n]
    return {
        "name": type(block).__name__,
        "in": convs[0].in_channels,
        "layers": [(c.kernel_size[0], c.out_channels) for c in convs],
        "projection": getattr(block, "downsample", None) is not None,
    }


def blocks(goog: nn.Module, res: nn.Module) -> dict:
    """The channels of GoogLeNet's first Inception block and the layers of ResNet's blocks."""
    inc = goog.inception3a
    convs = {
        i: [m for m in getattr(inc, f"branch{i}").modules() if isinstance(m, nn.Conv2d)] for i in range(1, 5)
    }
    c_in = convs[1][0].in_channels
    reduce_saving = []
    for i in (2, 3):  # the 1×1 "reduction" before the wide convolutions, against none
        red, wide = convs[i]
        kh = wide.kernel_size[0]
        reduce_saving.append(
            {
                "branch": i,
                "kernel": kh,
                "with_1x1": int(red.weight.numel() + wide.weight.numel()),
                "without": c_in * wide.out_channels * kh * kh,
            }
        )
    branches = {
        i: [
            short(m) for m in getattr(inc, f"branch{i}").modules() if isinstance(m, (nn.Conv2d, nn.MaxPool2d))
        ]
        for i in range(1, 5)
    }
    return {
        "inception": {
            "in": c_in,
            "branches": branches,
            "widths": [branch_width(getattr(inc, f"branch{i}")) for i in range(1, 5)],
            "side": 28,
            "reduction": reduce_saving,
        },
        # layer1's first block has a projection shortcut (64 → 256); the second adds x as it is
        "bottleneck": residual_block(res.layer1[1]),
        "basic": residual_block(BasicBlock(64, 64)),  # ResNet-18/34's block, as in layer1 of resnet18
        "stages": [len(getattr(res, f"layer{i}")) for i in range(1, 5)],
    }


def compute(quick: bool = False, full: bool = False) -> dict:
    """Every number the lesson prints; ``quick`` trains less (tests), ``full`` deeper and longer."""
    shendu.manual_seed(0)
    nets: dict[str, dict] = {}
    alex = alexnet2012(two_gpu=True)
    nets["AlexNet"] = measure("AlexNet", alex, lambda layer: layer.is_leaf, 224)
    numbers: dict = {"alexnet": alexnet_numbers(alex, nets["AlexNet"]["summary"])}
    lrn = alex.features[2]
    assert isinstance(lrn, nn.LocalResponseNorm)
    numbers["tricks"] = tricks(lrn, numbers["alexnet"]["conv1_output"][1])
    del alex
    nets["VGG-19"] = measure("VGG-19", vgg19(), weight_or_pool, 64)
    goog, res = googlenet(aux_logits=False), resnet152()
    nets["GoogLeNet"] = measure("GoogLeNet", goog, top_level, 64)
    nets["ResNet-152"] = measure("ResNet-152", res, top_level, 64)
    numbers["blocks"] = blocks(goog, res)
    for v in nets.values():
        del v["summary"]
    numbers["networks"] = nets
    numbers["degradation"] = degradation(quick=quick, full=full)
    return numbers


run = make_run("classics", compute, report, draw, has_full=True)
