"""经典网络 — AlexNet, VGG, GoogLeNet and ResNet side by side.

Depth, parameters and multiply-adds are COMPUTED from the library's own networks
(``shendu.models``): parameters by counting, multiply-adds with ``shendu.models.summary`` on a
224×224×3 image, and depth as the longest chain of weight layers (convolutions and fully
connected layers) through the autograd graph of one forward pass — GoogLeNet's parallel Inception
branches and ResNet's shortcuts count once, as the papers count them (8, 16, 22, 152).

Only the ImageNet top-5 errors are typed in, as the papers report them (ILSVRC test set):
  AlexNet 16.4%  — Krizhevsky, Sutskever, Hinton, NeurIPS 2012 (5 CNNs averaged; ILSVRC-2012)
  VGG 7.3%       — Simonyan, Zisserman, ICLR 2015 (ILSVRC-2014 submission, 7 nets)
  GoogLeNet 6.7% — Szegedy et al., CVPR 2015 (6.67%, ILSVRC-2014 winner)
  ResNet 3.57%   — He, Zhang, Ren, Sun, CVPR 2016 (ensemble, ILSVRC-2015 winner)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import shendu
from shendu.lessons._plot import figure, lesson, save, start, table
from shendu.models import alexnet, googlenet, resnet152, summary, vgg16

# (name, constructor, year, top-5 error % from the paper)
NETWORKS = [
    ("AlexNet", lambda: alexnet(), 2012, 16.4),
    ("VGG-16", lambda: vgg16(), 2014, 7.3),
    ("GoogLeNet", lambda: googlenet(aux_logits=False), 2014, 6.7),
    ("ResNet-152", lambda: resnet152(), 2015, 3.57),
]
WEIGHT_OPS = {"Conv2d", "Linear"}  # autograd nodes that apply a layer's weights


def weight_depth(model, input_size: tuple[int, int, int] = (3, 224, 224)) -> int:
    """Longest chain of convolution / fully connected ops from input to output.

    One forward pass builds the autograd graph; a walk over it (iterative, no recursion: ResNet's
    graph is deep) gives each node the largest number of weight ops on any path below it.
    """
    model.eval()
    out = model(shendu.randn(1, *input_size))
    root = out._ctx
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


@lesson
def run(out: str | Path | None = None, quick: bool = False, verbose: bool = True) -> dict:
    folder, say = start("classics", out, quick, verbose)
    shendu.manual_seed(0)
    rows, stats = [], {}
    for name, make, year, top5 in NETWORKS:
        net = make()
        s = summary(net, (3, 224, 224))
        d = weight_depth(net, (3, 64, 64))  # depth does not depend on the image size
        params = sum(p.numel() for p in net.parameters())
        stats[name] = {
            "year": year,
            "depth": d,
            "params": params,
            "summary_params": s.total_params,
            "mult_adds": s.total_mult_adds,
            "top5_error": top5,
        }
        rows.append([name, year, d, f"{params / 1e6:.1f} M", f"{s.total_mult_adds / 1e9:.2f} G", f"{top5}%"])
        del net
    fewer = stats["AlexNet"]["params"] / stats["GoogLeNet"]["params"]
    say(
        "The classic ImageNet networks as shendu builds them (224×224×3 input, 1000 classes):",
        table(["network", "year", "depth", "parameters", "multiply-adds", "top-5 error (paper)"], rows),
        "   depth = longest chain of conv/fc layers (computed); parameters and multiply-adds from",
        "   shendu.models.summary; top-5 errors as reported in each paper (see the module docstring).",
        f"   Deeper nets won, but not by size: GoogLeNet has 1/{fewer:.0f} of AlexNet's parameters (1×1 "
        "convolutions",
        "   shrink channels), and ResNet's shortcuts let 152 layers train.",
    )

    pngs = []
    fig, (a1, a2) = figure(1, 2, size=(11.5, 4.6))
    names = list(stats)
    depth = np.array([stats[n]["depth"] for n in names])
    err = np.array([stats[n]["top5_error"] for n in names])
    param_counts = np.array([stats[n]["params"] for n in names])
    macs = np.array([stats[n]["mult_adds"] for n in names])
    a1.plot(depth, err, "-", color="0.7", zorder=1)
    a1.scatter(
        depth, err, s=40 + param_counts / 4e5, c=[f"C{i}" for i in range(len(names))], edgecolor="k", zorder=2
    )
    offsets = {"GoogLeNet": (10, -26)}  # keep its label clear of VGG's
    for n, x, y in zip(names, depth, err, strict=True):
        a1.annotate(
            f"{n} ({stats[n]['year']})\n{stats[n]['params'] / 1e6:.0f} M params",
            (x, y),
            textcoords="offset points",
            xytext=offsets.get(n, (10, 6)),
            fontsize=8,
        )
    a1.set_xscale("log")
    a1.set(
        title="ImageNet top-5 error against depth",
        xlabel="depth (weight layers, log scale)",
        ylabel="top-5 error (%)  [marker area ∝ parameters]",
        ylim=(0, 20),
        xlim=(5, 400),
    )
    a1.grid(True, alpha=0.3)
    x = np.arange(len(names))
    a2.bar(x - 0.2, params / 1e6, width=0.4, label="parameters (millions)")
    a2.bar(x + 0.2, macs / 1e9, width=0.4, label="multiply-adds (billions)")
    a2.set(title="Size and cost per 224×224 image", xticks=x, ylabel="millions / billions")
    a2.set_xticklabels(names)
    a2.legend(fontsize=8)
    a2.grid(True, axis="y", alpha=0.3)
    pngs.append(save(fig, folder, "classics.png"))
    say.figures(pngs)
    return {"networks": stats, "pngs": pngs}
