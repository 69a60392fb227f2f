"""Convert a PyTorch/torchvision checkpoint (``.pth``) into a safetensors file shendu loads.

torch is needed here and only here, imported inside the function, so ``import shendu`` never needs it.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

__all__ = ["convert_torch", "torch_state_dict_to_numpy"]

_PLAIN_DTYPES = {f"torch.{t}" for t in ("bool", "uint8", "int8", "int16", "int32", "int64")}


def torch_state_dict_to_numpy(state: Any) -> dict[str, np.ndarray]:
    """``{key: ndarray}`` from a torch state dict (tensors moved to the CPU and copied).

    A checkpoint that wraps the state dict (``{"state_dict": ...}`` or ``{"model": ...}``) is unwrapped.
    """
    for wrapper in ("state_dict", "model", "model_state_dict"):
        if isinstance(state, dict) and wrapper in state and isinstance(state[wrapper], dict):
            state = state[wrapper]
            break
    if not isinstance(state, dict):
        raise ValueError(
            "convert_torch: expected a state dict (a mapping of names to tensors), "
            f"got {type(state).__name__}"
        )
    arrays: dict[str, np.ndarray] = {}
    for key, value in state.items():
        if not hasattr(value, "detach"):
            raise ValueError(f"convert_torch: entry {key!r} is a {type(value).__name__}, not a tensor")
        value = value.detach().cpu()
        if value.is_complex() or not (value.is_floating_point() or str(value.dtype) in _PLAIN_DTYPES):
            raise ValueError(
                f"convert_torch: entry {key!r} has dtype {str(value.dtype).replace('torch.', '')}, which "
                f"safetensors (and shendu's layers) cannot hold: only real numbers and booleans"
            )
        if str(value.dtype) == "torch.bfloat16":  # NumPy has no bfloat16
            value = value.float()
        # np.array, not np.ascontiguousarray: the latter turns 0-d num_batches_tracked into shape (1,).
        arrays[str(key)] = np.array(value.numpy(), order="C", copy=True)
    return arrays


def convert_torch(in_path: str | os.PathLike, out_path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a torchvision ``.pth`` state dict and write it to ``out_path`` as safetensors.

    The file is read with ``torch.load(..., weights_only=True)``, which refuses to unpickle
    anything but tensors and plain containers (a ``.pth`` is a pickle and could run code otherwise).
    Keys are kept as they are — shendu's zoo uses torchvision's names — so the result loads with
    ``model.load_state_dict(shendu.serialization.load(out_path))``. Returns the arrays written.
    """
    try:
        import torch
    except ImportError as err:
        raise ImportError(
            "convert_torch needs PyTorch to read .pth files (pip install torch); "
            "it is the only part of shendu that does"
        ) from err
    from shendu.serialization import save

    in_path, out_path = os.fspath(in_path), os.fspath(out_path)
    if os.path.isdir(in_path):
        raise ValueError(f"convert_torch: {in_path!r} is a folder; give the .pth file itself")
    if not os.path.isfile(in_path):
        raise FileNotFoundError(f"convert_torch: no such file {in_path!r}")
    if os.path.isdir(out_path):
        raise ValueError(
            f"convert_torch: the output {out_path!r} is a folder; give a file name ending .safetensors"
        )
    if not out_path.endswith(".safetensors"):  # shendu loads weights only from .safetensors files
        raise ValueError(
            f"convert_torch: the output {out_path!r} should end in .safetensors (it is a safetensors file, "
            f"and shendu's commands read weights only from such names)"
        )
    if os.path.exists(out_path) and os.path.samefile(in_path, out_path):
        raise ValueError(f"convert_torch: the output {out_path!r} is the input file; give another name")
    state = _load_refusing_code(torch, in_path)
    arrays = torch_state_dict_to_numpy(state)
    save(
        arrays, out_path, metadata={"converted_from": os.path.basename(in_path), "format": "torch state_dict"}
    )
    return arrays


def _load_refusing_code(torch, path: str) -> Any:
    """``torch.load(weights_only=True)`` with shendu's own one-line reasons.

    PyTorch's messages for a refused file suggest retrying with ``weights_only=False``: that would
    run whatever code the file holds, so they are never passed on.
    """
    if os.path.getsize(path) == 0:
        raise ValueError(f"convert_torch: {path!r} is empty")
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols: the error says enough
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except MemoryError:
        raise ValueError(f"convert_torch: {path!r} is too large to load in memory") from None
    except Exception as err:  # noqa: BLE001 - torch raises many kinds; all mean "not a usable state dict"
        if "Unsupported global" in str(err) or "Unsupported class" in str(err):
            raise ValueError(
                f"convert_torch: {path!r} holds Python objects besides tensors and plain containers; "
                f"loading them could run code, so shendu refuses the file. Save model.state_dict() alone "
                f"with torch.save, then convert that"
            ) from None
        raise ValueError(
            f"convert_torch: {path!r} is not a readable PyTorch file (empty, truncated, or another "
            f"format: {type(err).__name__})"
        ) from None
