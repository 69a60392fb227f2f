"""One trained run, ready to classify a picture and show what every conv and pooling layer computed.

The model is loaded once and shared by all requests, read-only. Its parameters are frozen
(``requires_grad_(False)``), so no request builds a graph and none needs the process-wide grad
mode, which threads cannot share. Forward hooks, registered once at load, append each watched
layer's output to a list that belongs to the calling request alone (a
:class:`contextvars.ContextVar`: threads and asyncio tasks each see their own). Two requests
never share mutable state.

The picture goes through the reader of ``shendu predict`` (:mod:`shendu.web.images`) and the
normalisation of ``shendu predict``, so the page shows exactly the 28×28 the model sees.
"""

from __future__ import annotations

import base64
import contextvars
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shendu.web.images import read_image

# layers whose outputs the page draws: every convolution and pooling layer
WATCHED = ("Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d")
MAX_CHANNELS = 64  # channels drawn per layer (wide layers of VGG/ResNet have 512)
MAX_VALUES = 200_000  # values sent per layer: fewer channels for large maps (224×224 has 50k each)

_capture: contextvars.ContextVar[list[tuple[str, np.ndarray]] | None] = contextvars.ContextVar(
    "shendu_web_capture", default=None
)


def _record(name: str):
    def hook(module, args, out) -> None:
        store = _capture.get()
        if store is not None:  # only during Model.activations: a plain model(x) records nothing
            # a copy: an in-place ReLU after this layer would otherwise change what was recorded
            store.append((name, np.array(out.numpy()[0], copy=True)))

    return hook


def encode_signed(values: np.ndarray) -> dict[str, Any]:
    """A float array -> int8 in [-127, 127] scaled by its largest magnitude, base64 for JSON.

    The page maps −127 to blue, 0 to white and 127 to red; ``scale`` gives the value of 127.
    >>> encode_signed(np.array([[-2.0, 0.0, 1.0]]))["data"]
    'gQBA'
    """
    peak = float(np.abs(values).max()) if values.size else 0.0
    scale = peak if peak > 0 and np.isfinite(peak) else 1.0
    q = np.rint(np.nan_to_num(values / scale) * 127).astype(np.int8)
    return {"shape": list(values.shape), "scale": scale, "data": base64.b64encode(q.tobytes()).decode()}


def encode_unit(values: np.ndarray) -> dict[str, Any]:
    """An array in [0, 1] (an image) -> uint8 0–255, base64 for JSON."""
    q = np.rint(np.clip(values, 0.0, 1.0) * 255).astype(np.uint8)
    return {"shape": list(values.shape), "data": base64.b64encode(q.tobytes()).decode()}


def _shown_channels(shape: tuple[int, ...]) -> int:
    c, h, w = shape
    return max(1, min(c, MAX_CHANNELS, MAX_VALUES // max(1, h * w)))


@dataclass
class Model:
    """A run's network with its input pipeline, loaded once (:func:`load`) and shared read-only."""

    name: str
    path: Path
    config: dict[str, Any]
    net: Any
    input_shape: tuple[int, int, int]
    classes: list[str]
    mean: np.ndarray
    std: np.ndarray
    digit_style: bool
    watched: list[tuple[str, str, str]] = field(default_factory=list)  # (name, kind, description)

    def info(self) -> dict[str, Any]:
        """What the page needs once per run: classes, input shape, layers, first-layer kernels."""
        first = next((m for _, m in self.net.named_modules() if type(m).__name__ == "Conv2d"), None)
        kernels = None
        if first is not None:
            w = first.weight.numpy()
            shown = min(w.shape[0], MAX_CHANNELS)
            kernels = {**encode_signed(w[:shown]), "total": int(w.shape[0])}
        return {
            "run": self.name,
            "model": self.config.get("model"),
            "data": self.config.get("data"),
            "classes": self.classes,
            "input_shape": list(self.input_shape),
            "layers": [{"name": n, "kind": k, "description": d} for n, k, d in self.watched],
            "kernels": kernels,
        }

    def prepare(self, data: bytes) -> np.ndarray:
        """Image file bytes -> the ``(C, H, W)`` image in [0, 1] the model sees (before normalising)."""
        return read_image(data, self.input_shape, digit_style=self.digit_style)

    def activations(self, image: np.ndarray) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
        """``image (C, H, W)`` in [0, 1] -> (class probabilities, [(layer name, output (C', H', W'))])."""
        import shendu
        import shendu.nn.functional as F

        x = ((image - self.mean) / self.std).astype(np.float32)[None]
        store: list[tuple[str, np.ndarray]] = []
        token = _capture.set(store)
        try:
            # no ``shendu.no_grad()`` here: grad mode is one process-wide flag, and threads entering
            # and leaving it out of order would leave it off for everyone. With frozen parameters
            # and an input that needs no gradient, no op records a graph anyway.
            logits = self.net(shendu.from_numpy(x))
            probs = F.softmax(logits.double(), dim=1).numpy()[0]
        finally:
            _capture.reset(token)
        if not np.all(np.isfinite(probs)):
            raise ValueError(
                f"the network of run {self.name!r} gives non-finite outputs (NaN or infinite weights?)"
            )
        return probs, store

    def predict(self, data: bytes) -> dict[str, Any]:
        """The whole answer for one picture: the image seen, probabilities, every watched layer's maps."""
        start = time.perf_counter()
        image = self.prepare(data)
        probs, maps = self.activations(image)
        kinds = {n: (k, d) for n, k, d in self.watched}
        layers = []
        for name, out in maps:
            if out.ndim != 3:  # e.g. a Conv2d fed a 2-D tensor by a custom model: nothing to draw
                continue
            shown = _shown_channels(out.shape)
            kind, description = kinds.get(name, ("", ""))
            layers.append(
                {
                    "name": name,
                    "kind": kind,
                    "description": description,
                    "channels": int(out.shape[0]),
                    **encode_signed(out[:shown]),
                }
            )
        top = int(np.argmax(probs))
        return {
            "run": self.name,
            "input": encode_unit(image),
            "classes": self.classes,
            "probs": [round(float(p), 6) for p in probs],
            "top": top,
            "label": self.classes[top],
            "layers": layers,
            "server_ms": round((time.perf_counter() - start) * 1000, 2),
        }


def load(name: str, path: Path) -> Model:
    """Load the run at ``path`` (a ``shendu train`` directory) and watch its conv and pooling layers."""
    from shendu.training.rundir import load_model

    net, config = load_model(path)
    net.eval()
    net.requires_grad_(False)
    shape = tuple(int(s) for s in (config.get("input_shape") or (1, 28, 28)))
    if len(shape) != 3:
        raise ValueError(f"run {name!r}: expected an image input shape (C, H, W), got {shape}")
    classes = [str(c) for c in (config.get("classes") or range(int(config.get("num_classes") or 10)))]
    norm = config.get("normalize") or {"mean": [0.0] * shape[0], "std": [1.0] * shape[0]}
    model = Model(
        name=name,
        path=path,
        config=config,
        net=net,
        input_shape=(shape[0], shape[1], shape[2]),
        classes=classes,
        mean=np.asarray(norm["mean"], np.float32).reshape(-1, 1, 1),
        std=np.asarray(norm["std"], np.float32).reshape(-1, 1, 1),
        digit_style=bool(config.get("digit_style", shape[0] == 1)),
    )
    for layer_name, module in net.named_modules():
        kind = type(module).__name__
        if kind in WATCHED:
            module.register_forward_hook(_record(layer_name))
            model.watched.append((layer_name, kind, repr(module)))
    return model
