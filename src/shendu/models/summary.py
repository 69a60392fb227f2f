"""``summary(model, input_size)``: the layers a forward pass goes through, their output shapes,
parameters and multiply-adds — what torchinfo prints for PyTorch.

It runs one forward pass on a random input under ``shendu.no_grad()`` in eval mode,
with a forward hook on every submodule recording what each call returned. An input larger than
:data:`PROBE_SIDE` on a side is first tried at that side, and the memory the real pass would take is
extrapolated (activations grow with the image's area); above ``max_bytes`` (default
:data:`MAX_BYTES`) :func:`summary` refuses with the estimate instead of allocating it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

import shendu
from shendu import nn

__all__ = ["LayerInfo", "Summary", "summary", "layer_mult_adds", "SummaryTooLarge", "MAX_BYTES"]

#: memory a summary's forward pass may use (input + activations + parameters), in bytes
MAX_BYTES = 2 * 1024**3
#: inputs larger than this on a side are first measured at this side
PROBE_SIDE = 64


class SummaryTooLarge(ValueError):
    """The forward pass of a summary would need more memory than allowed; the message says how much."""


@dataclass
class LayerInfo:
    """One call of one submodule during the forward pass.

    ``params``: parameters the module holds, its submodules' included (``None`` on a repeated call
    of the same module, so nothing is counted twice); ``mult_adds``: multiply-adds of this call
    (for a container, those of the calls inside it).
    """

    name: str
    type: str
    depth: int
    output_shape: list
    params: int | None
    mult_adds: int
    children: list["LayerInfo"] = field(default_factory=list, repr=False)

    @property
    def is_leaf(self) -> bool:
        return not self.children


@dataclass
class Summary:
    """The result of :func:`summary`; ``print(s)`` shows the table."""

    layers: list[LayerInfo]
    input_shape: tuple[int, ...]
    total_params: int
    trainable_params: int
    total_mult_adds: int
    input_bytes: int
    forward_bytes: int
    params_bytes: int
    model_name: str = "Model"

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    def __str__(self) -> str:
        rows = [
            (
                ("  " * l.depth) + f"{l.name} ({l.type})",
                _shape_str(l.output_shape),
                "--" if l.params is None else f"{l.params:,}",
                f"{l.mult_adds:,}" if l.mult_adds else "--",
            )
            for l in self.layers
        ]
        head = ("Layer (type)", "Output Shape", "Param #", "Mult-Adds")
        widths = [max(len(head[i]), *(len(r[i]) for r in rows)) if rows else len(head[i]) for i in range(4)]
        width = sum(widths) + 6
        bar, thin = "=" * width, "-" * width

        def line(r):
            return f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]:>{widths[3]}}"

        mb = 1024**2
        out = [
            bar,
            line(head),
            bar,
            *map(line, rows),
            bar,
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.non_trainable_params:,}",
            f"Total mult-adds (M): {self.total_mult_adds / 1e6:,.2f}",
            thin,
            f"Input size (MB): {self.input_bytes / mb:.2f}",
            f"Forward pass size (MB): {self.forward_bytes / mb:.2f}",
            f"Params size (MB): {self.params_bytes / mb:.2f}",
            "Estimated total size (MB): "
            f"{(self.input_bytes + self.forward_bytes + self.params_bytes) / mb:.2f}",
            bar,
        ]
        return "\n".join(out)

    def __repr__(self) -> str:
        return (
            f"Summary({self.model_name}, input {self.input_shape}: {self.total_params:,} params, "
            f"{self.total_mult_adds:,} mult-adds)"
        )


def layer_mult_adds(module: nn.Module, output: Any) -> int:
    """Multiply-adds of one call of a leaf module, counted for the layers that dominate the cost.

    Conv2d / Conv1d: each output value is a dot product of length C_in/groups · kernel area, so
    output.numel() · (C_in / groups) · ∏kernel. Linear: output.numel() · in_features.
    Every other layer (pooling, activations, BatchNorm) is counted as 0.
    """
    out = _first_tensor(output)
    if out is None:
        return 0
    if isinstance(module, (nn.Conv2d, getattr(nn, "Conv1d", nn.Conv2d))):
        kernel = int(np.prod(module.weight.shape[2:]))
        return int(out.numel() * module.weight.shape[1] * kernel)  # weight: (C_out, C_in/groups, *kernel)
    if isinstance(module, nn.Linear):
        return int(out.numel() * module.weight.shape[1])  # weight: (out_features, in_features)
    return 0


def summary(
    model: nn.Module,
    input_size: Sequence[int] = (1, 28, 28),
    batch_size: int = 1,
    max_bytes: int | None = None,
) -> Summary:
    """Run ``model`` once on a random batch ``(batch_size, *input_size)`` and tabulate every submodule call.

    Raises :class:`SummaryTooLarge` when the pass would take more than ``max_bytes`` (default
    :data:`MAX_BYTES`), estimated from a pass on a smaller image first.

    >>> from shendu.models import lenet
    >>> s = summary(lenet(), (1, 28, 28))
    >>> s.total_params, s.total_mult_adds     # mult-adds: 288,000 + 1,600,000 + 400,000 + 5,000
    (431080, 2293000)
    >>> [l.output_shape for l in s.layers if l.name == 'features.2']
    [[1, 50, 8, 8]]
    """
    input_size = tuple(int(s) for s in input_size)
    if not input_size or any(s < 1 for s in input_size) or batch_size < 1:
        raise ValueError(
            f"summary: input_size must be positive sizes without the batch, such as (3, 224, 224), "
            f"and batch_size ≥ 1; got {input_size} and {batch_size}"
        )
    _check_memory(model, input_size, batch_size, MAX_BYTES if max_bytes is None else max_bytes)
    return _run(model, input_size, batch_size)


def _check_memory(model: nn.Module, input_size: tuple[int, ...], batch_size: int, limit: int) -> None:
    """Refuse, before allocating it, a pass whose estimated memory is above ``limit`` bytes."""
    params = sum(p._data.nbytes for p in model.parameters())
    input_bytes = 4 * batch_size * int(np.prod(input_size))
    spatial = input_size[1:]
    if not spatial or max(spatial) <= PROBE_SIDE:
        estimate = params + input_bytes * 64 if input_bytes * 64 > limit else 0
    else:
        probe = (input_size[0], *(min(s, PROBE_SIDE) for s in spatial))
        scale = float(np.prod(spatial)) / float(np.prod(probe[1:]))
        try:
            small = _run(model, probe, 1)
        except (ValueError, RuntimeError, TypeError):  # a network made for one input size only
            small = None
        if small is None:
            estimate = params + input_bytes * 64 if input_bytes * 64 > limit else 0
        else:
            estimate = params + int(batch_size * scale * (small.input_bytes + small.forward_bytes))
    if estimate > limit:
        raise SummaryTooLarge(
            f"a forward pass on input {batch_size}x{'x'.join(map(str, input_size))} needs about "
            f"{estimate / 1024**3:.1f} GB, more than the limit of {limit / 1024**3:.1f} GB; "
            "use a smaller input"
        )


def _run(model: nn.Module, input_size: tuple[int, ...], batch_size: int) -> Summary:
    names = {id(m): n for n, m in model.named_modules() if n}
    counted: set[int] = set()
    calls: list[LayerInfo] = []

    def hook(module, inputs, output):
        name = names[id(module)]
        first = id(module) not in counted
        counted.add(id(module))
        params = sum(p.numel() for p in module.parameters()) if first else None
        calls.append(
            LayerInfo(
                name, type(module).__name__, 0, _shapes(output), params, layer_mult_adds(module, output)
            )
        )

    handles = [m.register_forward_hook(hook) for n, m in model.named_modules() if n]
    was_training = model.training
    x = shendu.from_numpy(
        np.random.default_rng(0).standard_normal((batch_size, *input_size)).astype(np.float32)
    )
    try:
        model.eval()
        with shendu.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)

    roots = _nest(calls)
    layers: list[LayerInfo] = []
    _flatten_tree(roots, 0, layers)
    leaves = [l for l in layers if l.is_leaf]
    params = list(model.parameters())
    return Summary(
        layers=layers,
        input_shape=(batch_size, *input_size),
        total_params=sum(p.numel() for p in params),
        trainable_params=sum(p.numel() for p in params if p.requires_grad),
        total_mult_adds=sum(l.mult_adds for l in leaves),
        input_bytes=x._data.nbytes,
        forward_bytes=sum(4 * int(np.prod(s)) for l in leaves for s in _shape_list(l.output_shape)),
        params_bytes=sum(p._data.nbytes for p in params),
        model_name=type(model).__name__,
    )


def _nest(calls: list[LayerInfo]) -> list[LayerInfo]:
    """Build the call tree from hook records, which arrive children first (a hook fires when its
    module's forward returns): each record adopts the pending records named below it."""
    pending: list[LayerInfo] = []
    for call in calls:
        prefix = call.name + "."
        k = len(pending)
        while k > 0 and pending[k - 1].name.startswith(prefix):
            k -= 1
        call.children, pending = pending[k:], pending[:k]
        if call.children:
            call.mult_adds = sum(c.mult_adds for c in call.children)
        pending.append(call)
    return pending


def _flatten_tree(nodes: list[LayerInfo], depth: int, out: list[LayerInfo]) -> None:
    for node in nodes:
        node.depth = depth
        out.append(node)
        _flatten_tree(node.children, depth + 1, out)


def _first_tensor(output: Any):
    if isinstance(output, shendu.Tensor):
        return output
    if isinstance(output, (tuple, list)):
        for o in output:
            if isinstance(o, shendu.Tensor):
                return o
    return None


def _shapes(output: Any) -> list:
    """[N, C, H, W] for a tensor; a list of those for a tuple of tensors."""
    if isinstance(output, shendu.Tensor):
        return list(output.shape)
    if isinstance(output, (tuple, list)):
        return [list(o.shape) for o in output if isinstance(o, shendu.Tensor)]
    return []


def _shape_list(shape: list) -> list[list[int]]:
    return shape if shape and isinstance(shape[0], list) else [shape]


def _shape_str(shape: list) -> str:
    return str(shape) if shape else "--"
