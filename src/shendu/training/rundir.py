"""A run directory: what ``shendu train`` writes and ``shendu eval`` / ``shendu predict`` read.

::

    runs/lenet-mnist-5k/
        config.json              how to rebuild the model and its input pipeline (and the run's options)
        model.safetensors        the trained weights alone (model.load_state_dict)
        checkpoint.safetensors   weights + optimiser + scheduler + epoch + RNG: for --resume
        history.json             one row per epoch: losses, accuracies, lr, seconds, images/s
        curves.png               loss and accuracy per epoch, training beside validation
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from shendu.serialization import atomic_write

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
CHECKPOINT = "checkpoint.safetensors"
HISTORY = "history.json"
CURVES = "curves.png"


class RunError(ValueError):
    """A run directory or weights file that cannot be used, with the reason."""


def write_config(out_dir: Path, config: dict[str, Any]) -> None:
    atomic_write(out_dir / CONFIG, (json.dumps(config, indent=2) + "\n").encode())


def read_config(run_dir: Path) -> dict[str, Any]:
    path = run_dir / CONFIG
    if not path.is_file():
        raise RunError(f"{run_dir} has no {CONFIG}: is it a directory written by 'shendu train'?")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise RunError(f"{path} is not valid JSON: {err}") from None


def resolve_weights(target: str | os.PathLike, model: str | None = None) -> tuple[Path, dict[str, Any]]:
    """``target`` is a run directory or a ``.safetensors`` file -> (weights path, config).

    For a bare weights file the config is the one of its directory if there is one, else a minimal
    ``{"model": model}`` (``model`` must then be given).
    """
    target = Path(target)
    if target.is_dir():
        config = read_config(target)
        weights = target / WEIGHTS
        if not weights.is_file():
            raise RunError(f"{target} has no {WEIGHTS} (did the training run finish an epoch?)")
    elif target.is_file():
        if target.suffix != ".safetensors":
            raise RunError(
                f"{target} is not a .safetensors weights file (shendu never loads pickled weights)"
            )
        weights = target
        config = read_config(target.parent) if (target.parent / CONFIG).is_file() else {}
    else:
        raise RunError(f"no run directory or weights file at {target}")
    if model:
        if config.get("model") and config["model"] != model:
            raise RunError(f"--model {model} does not match the run's model {config['model']!r} ({target})")
        config = {**config, "model": model}
    if not config.get("model"):
        raise RunError(f"{target} comes without a config.json: say which network it holds with --model NAME")
    return weights, config


def build_model(
    config: dict[str, Any], input_shape: tuple[int, int, int] | None = None, num_classes: int | None = None
):
    """The network named in ``config``, shaped for its data (or the given shape and classes)."""
    from shendu.models import get_model

    shape = tuple(config.get("input_shape") or input_shape or (1, 28, 28))
    classes = config.get("num_classes") or num_classes or 10
    return get_model(
        config["model"],
        num_classes=int(classes),
        in_channels=int(shape[0]),
        input_size=int(shape[1]),
        **config.get("model_options", {}),
    )


def load_model(
    target: str | os.PathLike,
    model: str | None = None,
    input_shape: tuple[int, int, int] | None = None,
    num_classes: int | None = None,
):
    """Rebuild the network of a run (or weights file) and load its weights -> (model, config)."""
    from shendu import serialization

    from shendu.training.checkpoint import FORMAT, model_state

    weights, config = resolve_weights(target, model)
    net = build_model(config, input_shape, num_classes)
    state, meta = serialization.load_with_metadata(weights)
    if meta.get("format") == FORMAT:  # a training checkpoint: take its weights
        state = model_state(state)
    try:
        net.load_state_dict(state)
    except (KeyError, ValueError, RuntimeError) as err:
        raise RunError(
            f"the weights in {weights} do not fit model {config['model']!r} "
            f"(input {tuple(config.get('input_shape') or input_shape or ())}, "
            f"{config.get('num_classes') or num_classes} classes): {err}"
        ) from None
    net.eval()
    return net, config


def normalisation_of(images: np.ndarray) -> dict[str, list[float]]:
    """Per-channel mean and standard deviation of ``images: (N, C, H, W)`` (for Normalize)."""
    x = images.astype(np.float64, copy=False)
    return {"mean": x.mean(axis=(0, 2, 3)).round(6).tolist(), "std": x.std(axis=(0, 2, 3)).round(6).tolist()}
