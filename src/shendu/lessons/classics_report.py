"""The text of the ``classics`` lesson: every sentence is built from the numbers ``classics.compute()``
returns (its verdicts follow the numbers; the papers' figures arrive in it labelled as quoted)."""

from __future__ import annotations

from shendu.lessons._i18n import tr
from shendu.lessons._plot import source, table
from shendu.lessons.classics_degradation import Block
from shendu.nn.functional.normalization import LocalResponseNorm as FLocalResponseNorm


def pct(a: float) -> str:
    """15.3 -> '15.3%', 3.57 -> '3.57%'."""
    return f"{a:.2f}".rstrip("0").rstrip(".") + "%"


def fmt(values: list[float]) -> str:
    return "(" + ", ".join(f"{v:.3g}" for v in values) + ")"


def gain(pair: tuple[float, float]) -> str:
    """The paper's top-1/top-5 improvement, as '−1.4%/−1.2%'."""
    return f"−{pair[0]}%/−{pair[1]}%"


def layer_table(rows: list[list]) -> str:
    heads = [tr("层", "layer"), tr("类型", "what"), tr("输出 C×H×W", "output C×H×W"), tr("参数", "params")]
    return table(heads, [[name, what, shape, f"{p:,}"] for name, what, shape, p in rows])


def report_networks(r: dict) -> list[str]:
    nets = r["networks"]
    rows = [
        [n, v["year"], v["depth"], f"{v['params']:,}", f"{v['mult_adds'] / 1e9:.2f} G", pct(v["top5_error"])]
        for n, v in nets.items()
    ]
    heads = [
        tr("网络", "network"),
        tr("年份", "year"),
        tr("深度", "depth"),
        tr("参数量", "parameters"),
        tr("乘加次数", "multiply-adds"),
        tr("top-5 错误率（论文）", "top-5 error (paper)"),
    ]
    best = min(nets, key=lambda n: nets[n]["top5_error"])
    deepest = max(nets, key=lambda n: nets[n]["depth"])
    small = min(nets, key=lambda n: nets[n]["params"])
    big = max(nets, key=lambda n: nets[n]["params"])
    ratio = nets[big]["params"] / nets[small]["params"]
    depth_zh = "它也是最深的" if best == deepest else f"最深的是 {deepest}"
    depth_en = "also the deepest" if best == deepest else f"the deepest is {deepest}"
    # the most accurate network against the largest: does accuracy come with size?
    size_zh = "最好的也是最大的" if best == big else f"最好的 {best} 不是最大的，更好不靠参数更多"
    size_en = (
        "the best is also the biggest"
        if best == big
        else f"the best, {best}, is not the biggest: better is not bigger"
    )
    return [
        tr(
            "经典网络（由 shendu.models 构建，输入 224×224×3，1000 类）：",
            "The classic networks as shendu.models builds them (224×224×3 input, 1000 classes):",
        ),
        table(heads, rows),
        tr(
            "   深度 = 卷积层/全连接层的最长链（从计算图算出）；参数量、乘加次数来自 summary；",
            "   depth = longest chain of conv/fc layers (from the autograd graph); parameters and "
            "multiply-adds from summary;",
        ),
        tr(
            "   top-5 错误率引自各论文（ILSVRC 测试集），不是这里算的。",
            "   the top-5 errors are quoted from each paper (ILSVRC test set), not computed here.",
        ),
        tr(
            f"   错误率最低：{best}（{nets[best]['depth']} 层），{depth_zh}；参数最少的是 {small}"
            f"（{nets[small]['params'] / 1e6:.1f} M），只有 {big} 的 1/{ratio:.0f}：{size_zh}。",
            f"   Lowest error: {best} ({nets[best]['depth']} layers), {depth_en}; the fewest parameters: "
            f"{small} ({nets[small]['params'] / 1e6:.1f} M), 1/{ratio:.0f} of {big}'s: {size_en}.",
        ),
    ]


def alexnet_header(r: dict) -> list[str]:
    a, q, net = r["alexnet"], r["alexnet"]["quoted"], r["networks"]["AlexNet"]
    c, h, w = a["conv1_output"]
    return [
        "",
        tr(
            "1. AlexNet（2012）：shendu.models.alexnet2012(two_gpu=True) 的层表（summary）：",
            "1. AlexNet (2012): the layer table of shendu.models.alexnet2012(two_gpu=True) (summary):",
        ),
        layer_table(net["table"]),
        tr(
            f"   第一层：96 个 11×11、步幅 4 的卷积核（滤波器），224×224×3 → {h}×{w}×{c}。",
            f"   First layer: 96 kernels (filters) of 11×11, stride 4: 224×224×3 → {h}×{w}×{c}.",
        ),
        tr(
            f"   参数量 {a['params']:,}（各层之和 {net['layer_params_sum']:,}）≈ 论文的“6000 万”；",
            f"   {a['params']:,} parameters (sum over the layers {net['layer_params_sum']:,}) ≈ the "
            "paper's '60 million';",
        ),
        tr(
            f"   神经元（卷积层与全连接层的输出）{a['neurons']:,} ≈ 论文的“65 万”：",
            f"   {a['neurons']:,} neurons (outputs of the conv and fc layers) ≈ its '650,000':",
        ),
        "   " + " + ".join(f"{v:,}" for v in a["neurons_per_layer"]),
        tr(
            f"   top-5 错误率 {pct(net['top5_error'])}（论文：ILSVRC-2012 冠军，7 个 CNN 平均；"
            f"不用额外数据的 5 个 CNN 为 {pct(q['top5_no_extra_data'])}；"
            f"第二名 {pct(q['runner_up_top5'])}）。",
            f"   Top-5 error {pct(net['top5_error'])} (paper: the ILSVRC-2012 winner, 7 CNNs averaged; "
            f"5 CNNs without extra data {pct(q['top5_no_extra_data'])}; "
            f"runner-up {pct(q['runner_up_top5'])}).",
        ),
    ]


def alexnet_ideas(r: dict) -> list[str]:
    t, q = r["tricks"], r["alexnet"]["quoted"]
    same = t["dropout_test_identity"]
    return [
        "",
        tr(
            "   它的五个新做法（数字是这里算的；括号里是论文报告的效果）：",
            "   Its five new ideas (numbers computed here; in brackets the effect the paper reports):",
        ),
        tr(
            f"   • ReLU（修正线性单元）：x = {t['x']} 处 ReLU 的导数 {fmt(t['relu_grad'])}，"
            f"tanh 的导数 {fmt(t['tanh_grad'])}",
            f"   • ReLU: at x = {t['x']} its derivative is {fmt(t['relu_grad'])}, "
            f"tanh's {fmt(t['tanh_grad'])}",
        ),
        tr(
            "     —— "
            + saturation_zh(t)
            + f"（论文：CIFAR-10 上训练误差降到 25% 快 {q['relu_speedup']} 倍）。",
            "     — "
            + saturation_en(t)
            + f" (paper: 25% training error on CIFAR-10 {q['relu_speedup']}× faster).",
        ),
        tr(
            f"   • Dropout（随机失活，p = 0.5）：训练时 fc6 的 4096 个神经元有 {t['dropout_zero_share']:.1%} "
            f"被置 0，其余乘以 {t['dropout_kept_value']:g}，",
            f"   • Dropout (p = 0.5): in training {t['dropout_zero_share']:.1%} of fc6's 4,096 neurons "
            f"are set to 0, the rest multiplied by {t['dropout_kept_value']:g},",
        ),
        tr(
            f"     均值 {t['dropout_mean']:.3f}（期望不变）；测试时{'原样通过' if same else '并未原样通过'}。"
            "用来减少过拟合（论文：收敛所需的迭代约翻倍）。",
            f"     mean {t['dropout_mean']:.3f} (unchanged in expectation); at test time it "
            f"{'passes everything unchanged' if same else 'does NOT pass inputs unchanged'}. "
            "It curbs over-fitting (paper: about twice the iterations to converge).",
        ),
        *lrn_lines(t["lrn"], q),
        *pooling_lines(t, q),
        *two_gpu_lines(r["alexnet"], q),
    ]


def saturation_zh(t: dict) -> str:
    if t["tanh_grad"][-1] < 0.01 <= min(t["relu_grad"]):
        return "tanh 在大输入处饱和，导数接近 0（梯度消失），ReLU 在正半轴导数恒为 1"
    return "这里 tanh 没有饱和"


def saturation_en(t: dict) -> str:
    if t["tanh_grad"][-1] < 0.01 <= min(t["relu_grad"]):
        return (
            "tanh saturates for large inputs, its derivative near 0 (vanishing gradient); "
            "ReLU's is 1 for x > 0"
        )
    return "tanh does not saturate here"


def lrn_lines(lrn: dict, q: dict) -> list[str]:
    near, alone = lrn["library"]
    f_near, f_alone = lrn["formula"]
    verdict_zh = "强的邻居抑制了它（侧抑制）" if near < alone else "邻居没有抑制它"
    verdict_en = (
        "the strong neighbour suppresses it (lateral inhibition)" if near < alone else "no suppression"
    )
    constants = f"k = {lrn['k']:g}, n = {lrn['n']}, α = {lrn['alpha']:g}, β = {lrn['beta']:g}"
    return [
        tr(
            f"   • 局部响应归一化 LRN：b = a / (k + α Σ a²)^β，对相邻 n 个通道求和，{constants}。",
            "   • Local response normalisation: b = a / (k + α Σ a²)^β over n neighbouring maps, "
            f"{constants}.",
        ),
        tr(
            f"     值为 10 的通道：旁边有 100 时 → {near:.3f}，单独时 → {alone:.3f}"
            f"（按公式：{f_near:.3f}，{f_alone:.3f}）：{verdict_zh}"
            f"（论文：top-1/top-5 {gain(q['lrn_gain'])}）。",
            f"     A map of 10 beside a 100 → {near:.3f}, alone → {alone:.3f} (by the formula: {f_near:.3f}, "
            f"{f_alone:.3f}): {verdict_en} (paper: top-1/top-5 {gain(q['lrn_gain'])}).",
        ),
        tr(
            "     shendu 与 PyTorch 一样在代码里除以 n，"
            f"所以 alexnet2012 传入 alpha = n·α = {lrn['n'] * lrn['alpha']:g}：",
            f"     shendu, like PyTorch, divides α by n in the code, so alexnet2012 passes alpha = n·α = "
            f"{lrn['n'] * lrn['alpha']:g}:",
        ),
        source(FLocalResponseNorm.forward),
    ]


def pooling_lines(t: dict, q: dict) -> list[str]:
    p3, p2, side = t["pools"][3], t["pools"][2], t["pool_side"]
    return [
        tr(
            "   • 重叠池化：3×3 窗口、步幅 2，窗口比步幅大，相邻窗口重叠。"
            f"{side}×{side} → {p3['out']}×{p3['out']}，"
            f"每行 {side} 个位置中 {p3['in_two_windows']} 个落在两个窗口里；",
            "   • Overlapping pooling: 3×3 windows, stride 2 — wider than the stride, so neighbours "
            f"overlap. {side}×{side} → {p3['out']}×{p3['out']}; {p3['in_two_windows']} of a row's {side} "
            "positions are in two windows;",
        ),
        tr(
            f"     不重叠的 2×2/2 也得 {p2['out']}×{p2['out']}，但 {p2['in_two_windows']} 个重叠、"
            f"{p2['unused']} 个没被用到（论文：{gain(q['overlap_gain'])}）。",
            f"     non-overlapping 2×2/2 also gives {p2['out']}×{p2['out']}, with "
            f"{p2['in_two_windows']} shared and {p2['unused']} unused (paper: {gain(q['overlap_gain'])}).",
        ),
    ]


def two_gpu_lines(a: dict, q: dict) -> list[str]:
    grouped = [s for s in a["split"] if s["groups"] > 1]
    crossing = [s["conv"] for s in a["split"] if s["groups"] == 1 and s["conv"] != "conv1"]
    saved = ", ".join(f"{s['conv']} {s['one_gpu']:,} → {s['params']:,}" for s in grouped)
    names = ", ".join(s["conv"] for s in grouped)
    return [
        tr(
            f"   • 两块 GPU（GTX 580，各 {q['gpu_memory_gb']} GB）：每层的卷积核一半放在一块 GPU 上；"
            f"{names} 只读本 GPU 的那一半特征图（groups = 2），",
            f"   • Two GPUs (GTX 580, {q['gpu_memory_gb']} GB each): half of each layer's kernels on "
            f"each GPU; {names} read only their own GPU's half of the maps (groups = 2);",
        ),
        tr(
            f"     {'、'.join(crossing)} 和全连接层才跨 GPU 读取。分组省下的参数：{saved}；",
            f"     {', '.join(crossing)} and the fc layers read across GPUs. Parameters the grouping "
            f"saves: {saved};",
        ),
        tr(
            f"     全网 {a['one_gpu_params']:,} → {a['params']:,}（float32 共 {a['params_mb']:.0f} MB）"
            f"（论文：比一块 GPU、卷积核减半的网络 {gain(q['two_gpu_gain'])}）。",
            f"     whole network {a['one_gpu_params']:,} → {a['params']:,} "
            f"({a['params_mb']:.0f} MB as float32) "
            f"(paper: {gain(q['two_gpu_gain'])} against one GPU with half the kernels).",
        ),
    ]


def report_others(r: dict) -> list[str]:
    nets, b = r["networks"], r["blocks"]
    inc, bott = b["inception"], b["bottleneck"]
    vgg, goog, res = nets["VGG-19"], nets["GoogLeNet"], nets["ResNet-152"]
    widths = " + ".join(map(str, inc["widths"]))
    saved_zh = "，".join(
        f"第 {x['branch']} 路 {x['without']:,} → {x['with_1x1']:,}" for x in inc["reduction"]
    )
    saved_en = ", ".join(
        f"branch {x['branch']} {x['without']:,} → {x['with_1x1']:,}" for x in inc["reduction"]
    )
    chain = " → ".join(f"{k}×{k} conv {c}" for k, c in bott["layers"])
    basic = " → ".join(f"{k}×{k} conv {c}" for k, c in b["basic"]["layers"])
    return [
        "",
        tr(
            f"2. VGG-19（2014，top-5 {pct(vgg['top5_error'])}，论文）：只用 3×3 卷积和 2×2 池化，"
            f"{vgg['depth']} 层，{vgg['params']:,} 个参数。层表（省略 ReLU、Dropout）：",
            f"2. VGG-19 (2014, top-5 {pct(vgg['top5_error'])}, paper): only 3×3 convolutions and 2×2 "
            f"pooling, {vgg['depth']} layers, {vgg['params']:,} parameters. Layers (ReLU and Dropout "
            "left out):",
        ),
        layer_table(vgg["table"]),
        "",
        tr(
            f"3. GoogLeNet（2014，top-5 {pct(goog['top5_error'])}，论文）：{goog['depth']} 层，"
            f"只有 {goog['params']:,} 个参数。层表（顶层模块）：",
            f"3. GoogLeNet (2014, top-5 {pct(goog['top5_error'])}, paper): {goog['depth']} layers and only "
            f"{goog['params']:,} parameters. Layers (top-level modules):",
        ),
        layer_table(goog["table"]),
        tr(
            f"   Inception 模块（inception3a）：{inc['in']} 个通道分四路并行，再按通道拼接 "
            f"{widths} = {sum(inc['widths'])}。",
            f"   The Inception block (inception3a): {inc['in']} channels into four parallel branches, "
            f"concatenated {widths} = {sum(inc['widths'])}.",
        ),
        tr(
            f"   先用 1×1 卷积减少通道再做大卷积，省下参数：{saved_zh}"
            "（第 3 路论文为 5×5，shendu 与 torchvision 为 3×3）。",
            f"   A 1×1 convolution first cuts the channels, saving parameters: {saved_en} "
            "(branch 3 is 5×5 in the paper, 3×3 in shendu and torchvision).",
        ),
        "",
        tr(
            f"4. ResNet-152（2015，top-5 {pct(res['top5_error'])}，论文）：{res['depth']} 层，"
            f"各阶段残差块数 {b['stages']}。层表（顶层模块）：",
            f"4. ResNet-152 (2015, top-5 {pct(res['top5_error'])}, paper): {res['depth']} layers, residual "
            f"blocks per stage {b['stages']}. Layers (top-level modules):",
        ),
        layer_table(res["table"]),
        tr(
            f"   残差块：y = ReLU(F(x) + x)；ResNet-18/34 的 F = {basic}，"
            f"ResNet-152 的 Bottleneck F = {chain}；",
            f"   The residual block: y = ReLU(F(x) + x); in ResNet-18/34 F = {basic}, in ResNet-152's "
            f"Bottleneck F = {chain};",
        ),
        tr(
            "   捷径把 x 原样加回，这几层只需学残差 F(x) = H(x) − x（学成 0 就是恒等映射）。",
            "   the shortcut adds x back unchanged: the layers learn only the residual F(x) = H(x) − x "
            "(zero gives the identity).",
        ),
    ]


def degradation_verdict(runs: dict, shallow: int, deep: int, steps: int) -> list[str]:
    plain_s, plain_d = runs[(shallow, False)]["train_loss"][-1], runs[(deep, False)]["train_loss"][-1]
    res_s, res_d = runs[(shallow, True)]["train_loss"][-1], runs[(deep, True)]["train_loss"][-1]
    if plain_d > plain_s:
        lines = [
            tr(
                f"   普通网络：{deep} 层的训练损失 {plain_d:.3f} 高于 {shallow} 层的 {plain_s:.3f}"
                f"（{plain_d / plain_s:.1f} 倍）。更深反而在训练集上更差：",
                f"   Plain: {deep} layers end at training loss {plain_d:.3f}, above {shallow} layers' "
                f"{plain_s:.3f} ({plain_d / plain_s:.1f}×). Deeper is worse on the training set itself:",
            ),
            tr(
                "   这不是过拟合（过拟合时训练误差更低），而是更难优化 —— 退化问题。",
                "   not over-fitting (that lowers the training error) but harder optimisation — degradation.",
            ),
        ]
    else:
        lines = [
            tr(
                f"   这里普通网络没有退化：{deep} 层的训练损失 {plain_d:.3f} "
                f"不高于 {shallow} 层的 {plain_s:.3f}。",
                f"   The plain net did NOT degrade here: {deep} layers reach {plain_d:.3f}, not above "
                f"{shallow} layers' {plain_s:.3f}.",
            ),
            tr(
                "   有 BN 和合适的初始化，这个深度、这么长的训练还能优化；论文在更深、更久的训练中看到退化。",
                "   With BatchNorm and a sound initialisation this depth still optimises at this budget; the "
                "paper saw degradation deeper and after longer training.",
            ),
        ]
    if res_d >= plain_d:
        return lines + [
            tr(
                f"   残差网络 {deep} 层（{res_d:.3f}）不比普通网络（{plain_d:.3f}）好："
                "这里捷径没有带来好处。",
                f"   The residual {deep}-layer net ({res_d:.3f}) is no better than the plain one "
                f"({plain_d:.3f}): here the shortcut did not help.",
            )
        ]
    if res_d <= res_s:
        tail_zh, tail_en = (
            "，而且比 {shallow} 层残差网络（{res_s:.3f}）还低：更深更好。",
            ("; and below the residual {shallow}-layer net ({res_s:.3f}): deeper is better."),
        )
    else:
        tail_zh = (
            "；但仍比 {shallow} 层残差网络（{res_s:.3f}）高 {more:.0%}：捷径消除了大部分退化，"
            "只是只训练了 {steps} 步，更深还没有更好（论文在 CIFAR-10 上训练 64,000 步）。"
        )
        tail_en = (
            "; still {more:.0%} above the residual {shallow}-layer net ({res_s:.3f}): the shortcuts "
            "remove most of the degradation, but after only {steps} steps deeper is not yet better "
            "(the paper trained its CIFAR-10 nets for 64,000)."
        )
    values = {"shallow": shallow, "res_s": res_s, "more": res_d / res_s - 1, "steps": f"{steps:,}"}
    return lines + [
        tr(
            f"   残差网络 {deep} 层：{res_d:.3f}，只有同深度普通网络的 {res_d / plain_d:.0%}"
            + tail_zh.format(**values),
            f"   Residual {deep} layers: {res_d:.3f}, {res_d / plain_d:.0%} of the plain net's at that depth"
            + tail_en.format(**values),
        )
    ]


def report_degradation(r: dict) -> list[str]:
    d = r["degradation"]
    runs = {(x["depth"], x["residual"]): x for x in d["runs"]}
    name = {False: tr("普通", "plain"), True: tr("残差", "residual")}
    rows = [
        [
            f"{name[res]} {depth}",
            x["params"],
            x["train_loss"][-1],
            f"{x['train_acc']:.1%}",
            f"{x['val_acc']:.1%}",
            f"{x['seconds']:.1f}",
        ]
        for (depth, res), x in runs.items()
    ]
    heads = [
        tr("网络（层数）", "network (layers)"),
        tr("参数", "params"),
        tr("训练损失", "training loss"),
        tr("训练准确率", "training acc."),
        tr("验证准确率", "val. acc."),
        tr("秒", "s"),
    ]
    return [
        "",
        tr(
            f"5. 退化问题：{d['n_train']} 个 mnist-5k 数字（14×14），宽 {d['width']} 的全连接网络，"
            f"SGD（动量 0.9，学习率 {d['lr']:g}，批量 {d['batch_size']}），{d['epochs']} 轮；",
            f"5. The degradation problem: {d['n_train']} mnist-5k digits (14×14), fully connected nets "
            f"{d['width']} wide, SGD (momentum 0.9, lr {d['lr']:g}, batch {d['batch_size']}), "
            f"{d['epochs']} epochs;",
        ),
        tr(
            "   普通与残差网络的层和初始权重都相同，只差捷径：",
            "   plain and residual nets have the same layers and initial weights, only the shortcut differs:",
        ),
        table(heads, rows, ".3f"),
        *degradation_verdict(runs, d["depths"][0], d["depths"][-1], d["steps"]),
        "",
        tr("   读代码：", "   Read the code:"),
        source(Block),
    ]


def report(r: dict) -> list[str]:
    """All the lesson's lines, in the chapter's order."""
    return [
        tr("经典网络：AlexNet、VGG、GoogLeNet、ResNet", "Classic networks: AlexNet, VGG, GoogLeNet, ResNet"),
        *report_networks(r),
        *alexnet_header(r),
        *alexnet_ideas(r),
        *report_others(r),
        *report_degradation(r),
    ]
