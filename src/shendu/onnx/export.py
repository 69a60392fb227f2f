"""Export by tracing: run the model once on an example input, record every op, write an ONNX graph.

While the model runs, ``Function.apply`` is wrapped so that each op records its class, its input
tensors, its parameters and its output. Each recorded op becomes one or a few ONNX nodes; a tensor
that no recorded op produced is the graph's input (the example input) or a constant stored in the
file as an initializer (the model's parameters and buffers under their ``state_dict`` names). The
batch dimension is left free (``N``), so the file accepts any batch size; other sizes are those of
the example input.

Only the ops listed in :data:`CONVERTERS` can be exported (everything the model zoo uses: MLP,
LeNet, AlexNet, VGG, GoogLeNet, ResNet); another op is a clear :class:`UnsupportedOpError`. Export
in ``eval()`` mode: training-mode batch statistics and dropout have no fixed graph.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from shendu import serialization
from shendu.autograd.function import Function
from shendu.autograd.grad_mode import enable_grad
from shendu.nn import Module
from shendu.tensor import Tensor

OPSET = 17


class UnsupportedOpError(NotImplementedError):
    """The model uses an op that has no ONNX translation here."""


@dataclass
class _Call:
    op: str
    inputs: list[Tensor | None]
    params: dict[str, Any]
    output: Tensor


@dataclass
class _Graph:
    """The ONNX pieces being built: nodes, initializers and the name of every traced tensor."""

    names: dict[int, str]
    nodes: list = field(default_factory=list)
    initializers: list = field(default_factory=list)
    count: int = 0

    def fresh(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, value: Any, hint: str = "const") -> str:
        from onnx import numpy_helper

        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def name_of(self, t: Tensor) -> str:
        key = id(t)
        if key not in self.names:  # a tensor made on the fly (a scalar operand): store its value
            self.names[key] = self.const(np.asarray(t))
        return self.names[key]

    def node(self, op_type: str, inputs: list[str], output: str | None = None, **attrs: Any) -> str:
        from onnx import helper

        out = output or self.fresh(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out


def _trace(model: Module, x: Tensor) -> tuple[list[_Call], Any]:
    calls: list[_Call] = []
    original = Function.__dict__["apply"]

    def recording_apply(cls: type[Function], *inputs: Any, **params: Any) -> Any:
        out = original.__func__(cls, *inputs, **params)
        if not isinstance(out, Tensor):
            raise UnsupportedOpError(
                f"{cls.__name__} returns {type(out).__name__}; only single-output ops export"
            )
        calls.append(_Call(cls.__name__, list(inputs), params, out))
        return out

    Function.apply = classmethod(recording_apply)  # type: ignore[method-assign, assignment]
    try:
        with enable_grad():  # ops take their recorded (graph) path only when gradients flow
            result = model(x)
    finally:
        Function.apply = original  # type: ignore[method-assign]
    return calls, result


def _pads(padding: tuple[int, ...]) -> list[int]:
    """shendu's (h, w) or (top, bottom, left, right) padding -> ONNX's [top, left, bottom, right]."""
    p = [int(v) for v in padding]
    if len(p) == 2:
        return [p[0], p[1], p[0], p[1]]
    return [p[0], p[2], p[1], p[3]]


def _conv(g: _Graph, c: _Call, out: str) -> None:
    x, w, *b = c.inputs
    kh, kw = w.shape[-2:]  # type: ignore[union-attr]
    args = [g.name_of(x), g.name_of(w)] + ([g.name_of(b[0])] if b and b[0] is not None else [])  # type: ignore[arg-type]
    g.node(
        "Conv", args, out, kernel_shape=[kh, kw], strides=list(c.params["stride"]),
        pads=_pads(c.params["padding"]), dilations=list(c.params["dilation"]), group=int(c.params["groups"]),
    )  # fmt: skip


def _max_pool(g: _Graph, c: _Call, out: str) -> None:
    x = c.inputs[0]
    k, s, d = (list(c.params[n]) for n in ("kernel", "stride", "dilation"))
    pads = _pads(c.params["padding"])
    floor = [
        (size + pads[i] + pads[i + 2] - d[i] * (k[i] - 1) - 1) // s[i] + 1
        for i, size in enumerate(x.shape[-2:])  # type: ignore[union-attr]
    ]
    ceil = int(any(o > f for o, f in zip(c.params["out"], floor, strict=True)))
    g.node("MaxPool", [g.name_of(x)], out, kernel_shape=k, strides=s, pads=pads, dilations=d, ceil_mode=ceil)  # type: ignore[arg-type]


def _avg_pool(g: _Graph, c: _Call, out: str) -> None:
    if c.params.get("divisor_override") is not None:
        raise UnsupportedOpError("avg_pool2d with divisor_override has no ONNX AveragePool form")
    x: Any = c.inputs[0]
    kernel, stride = list(c.params["kernel"]), list(c.params["stride"])
    include_pad = int(bool(c.params["count_include_pad"]))
    pads = _pads(c.params["padding"])
    g.node(
        "AveragePool",
        [g.name_of(x)],
        out,
        kernel_shape=kernel,
        strides=stride,
        pads=pads,
        count_include_pad=include_pad,
    )


def _adaptive_avg_pool(g: _Graph, c: _Call, out: str) -> None:
    x = c.inputs[0]
    h, w = x.shape[-2:]  # type: ignore[union-attr]
    oh, ow = c.params["out"]
    if (oh, ow) == (1, 1):
        g.node("GlobalAveragePool", [g.name_of(x)], out)  # type: ignore[arg-type]
        return
    if h % oh or w % ow:
        raise UnsupportedOpError(
            f"adaptive_avg_pool2d from {h}×{w} to {oh}×{ow}: the windows differ in size, which ONNX's "
            "AveragePool cannot express; export with an input size divisible by the output size"
        )
    kernel = [h // oh, w // ow]
    g.node("AveragePool", [g.name_of(x)], out, kernel_shape=kernel, strides=kernel)  # type: ignore[arg-type]


def _normalize(g: _Graph, c: _Call, out: str) -> None:
    """Eval-mode batch norm: y = (x − μ)·r·γ + β with the running statistics as constants."""
    if c.params["batch_stats"]:
        raise UnsupportedOpError(
            "normalisation with statistics of the batch (BatchNorm in train mode, LayerNorm): call "
            "model.eval() before exporting"
        )
    x, *wb = c.inputs
    shape = c.params["affine_shape"]
    y = g.node("Sub", [g.name_of(x), g.const(c.params["mean"], "mean")])  # type: ignore[arg-type]
    y = g.node("Mul", [y, g.const(c.params["inv_std"], "inv_std")])
    has_w = bool(c.params["has_weight"])
    shape_name = g.const(np.asarray(shape, np.int64), "affine_shape")
    if has_w:  # γ and β stay under their state_dict names, reshaped inside the graph
        y = g.node("Mul", [y, g.node("Reshape", [g.name_of(wb[0]), shape_name])])  # type: ignore[arg-type]
    if len(wb) == 1 + has_w:
        y = g.node("Add", [y, g.node("Reshape", [g.name_of(wb[-1]), shape_name])])  # type: ignore[arg-type]
    g.node("Identity", [y], out)


def _batch_norm(g: _Graph, c: _Call, out: str) -> None:
    """Eval-mode batch norm per channel: ONNX BatchNormalization with the running statistics."""
    if c.params["batch_stats"]:
        raise UnsupportedOpError(
            "batch norm with statistics of the batch (train mode): call model.eval() before exporting"
        )
    x, *wb = c.inputs
    mean = np.asarray(c.params["mean"]).reshape(-1)
    var = np.asarray(c.params["var"]).reshape(-1)
    has_w = bool(c.params["has_weight"])
    scale = g.name_of(wb[0]) if has_w else g.const(np.ones_like(mean), "gamma")  # type: ignore[arg-type]
    bias = g.name_of(wb[-1]) if len(wb) == 1 + has_w else g.const(np.zeros_like(mean), "beta")  # type: ignore[arg-type]
    args = [g.name_of(x), scale, bias, g.const(mean, "mean"), g.const(var, "var")]  # type: ignore[arg-type]
    g.node("BatchNormalization", args, out, epsilon=float(c.params["eps"]))


def _linear(g: _Graph, c: _Call, out: str) -> None:
    x, w, *b = c.inputs
    args = [g.name_of(x), g.name_of(w)]  # type: ignore[arg-type]
    if x.ndim == 2:  # type: ignore[union-attr]
        if b and b[0] is not None:
            args.append(g.name_of(b[0]))
        g.node("Gemm", args, out, transB=1)
        return
    wt = g.node("Transpose", [args[1]], perm=[1, 0])
    y = g.node("MatMul", [args[0], wt])
    g.node("Add", [y, g.name_of(b[0])], out) if b and b[0] is not None else g.node("Identity", [y], out)


def _reshape(g: _Graph, c: _Call, out: str) -> None:
    x = c.inputs[0]
    shape = list(c.params["shape"])
    if shape and x.ndim and shape[0] == x.shape[0]:  # type: ignore[union-attr]
        shape[0] = 0  # ONNX: copy the (free) batch dimension from the input
    g.node("Reshape", [g.name_of(x), g.const(np.asarray(shape, np.int64), "shape")], out)  # type: ignore[arg-type]


def _simple(op_type: str, **attrs_from_params: str) -> Callable[[_Graph, _Call, str], None]:
    def convert(g: _Graph, c: _Call, out: str) -> None:
        attrs = {k: c.params[v] for k, v in attrs_from_params.items()}
        g.node(op_type, [g.name_of(t) for t in c.inputs if t is not None], out, **attrs)

    return convert


CONVERTERS: dict[str, Callable[[_Graph, _Call, str], None]] = {
    "Conv2d": _conv,
    "MaxPool2d": _max_pool,
    "AvgPool2d": _avg_pool,
    "AdaptiveAvgPool2d": _adaptive_avg_pool,
    "Normalize": _normalize,
    "BatchNorm": _batch_norm,
    "Linear": _linear,
    "Reshape": _reshape,
    "Cat": _simple("Concat", axis="axis"),
    "Add": _simple("Add"),
    "Sub": _simple("Sub"),
    "Mul": _simple("Mul"),
    "Div": _simple("Div"),
    "MatMul": _simple("MatMul"),
    "ReLU": _simple("Relu"),
    "Sigmoid": _simple("Sigmoid"),
    "Tanh": _simple("Tanh"),
    "Softmax": _simple("Softmax", axis="dim"),
    "LogSoftmax": _simple("LogSoftmax", axis="dim"),
    "LeakyReLU": _simple("LeakyRelu", alpha="slope"),
    "ELU": _simple("Elu", alpha="alpha"),
}
"""shendu op class name -> function adding its ONNX node(s)."""


def export(
    model: Module,
    example_input: Tensor | np.ndarray,
    path: str | os.PathLike,
    input_names: tuple[str, str] | None = None,
    opset_version: int = OPSET,
) -> Any:
    """Trace ``model`` on ``example_input`` and write the ONNX file ``path``; returns the ModelProto.

    The file has one input ``"input"`` shaped like ``example_input`` with a free batch dimension and
    one output ``"output"``; the weights are stored under their ``state_dict`` names.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    if not isinstance(model, Module):
        raise TypeError(f"onnx.export: expected a shendu nn.Module, got {type(model).__name__}")
    x = Tensor._wrap(np.array(example_input, copy=True))
    if x.dtype != np.float32:
        raise ValueError(
            f"onnx.export: the example input must be float32 (what the model zoo runs in), got {x.dtype}"
        )
    x.requires_grad_(True)
    in_name, out_name = input_names or ("input", "output")
    names: dict[int, str] = {id(x): in_name}
    graph = _Graph(names)
    for name, t in (*model.named_parameters(), *model.named_buffers()):
        names[id(t)] = name
        graph.initializers.append(numpy_helper.from_array(np.ascontiguousarray(np.asarray(t)), name))
    calls, result = _trace(model, x)
    if not isinstance(result, Tensor):
        raise UnsupportedOpError(
            f"onnx.export: the model returned {type(result).__name__}; export a model whose forward "
            "returns one Tensor (in eval mode GoogLeNet returns its logits alone)"
        )
    for c in calls:
        convert = CONVERTERS.get(c.op)
        if convert is None:
            raise UnsupportedOpError(
                f"onnx.export: op {c.op} has no ONNX translation yet "
                f"(supported: {', '.join(sorted(CONVERTERS))})"
            )
        out = out_name if c.output is result else graph.fresh(c.op.lower())
        convert(graph, c, out)
        names[id(c.output)] = out
    if id(result) not in {id(c.output) for c in calls}:
        graph.node("Identity", [graph.name_of(result)], out_name)
    used = {i for n in graph.nodes for i in n.input}
    inits = [t for t in graph.initializers if t.name in used]  # buffers such as num_batches_tracked are not
    batch: list[Any] = ["N", *x.shape[1:]]
    onnx_graph = helper.make_graph(
        graph.nodes,
        type(model).__name__,
        [helper.make_tensor_value_info(in_name, TensorProto.FLOAT, batch)],
        [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, [batch[0], *result.shape[1:]])],
        inits,
    )
    proto = helper.make_model(
        onnx_graph, producer_name="shendu", opset_imports=[helper.make_opsetid("", opset_version)]
    )
    proto.ir_version = min(proto.ir_version, 9)  # readable by onnxruntime releases of the last years
    onnx.checker.check_model(proto)
    serialization.atomic_write(path, proto.SerializeToString())  # a kill never leaves half a file
    return proto
