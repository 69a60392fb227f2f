"""Saving and loading weights as safetensors files, never pickle.

A pickle file (what ``torch.save`` writes) can run arbitrary code when loaded; a safetensors
file is only a JSON header (names, dtypes, shapes, byte offsets, and an optional
``__metadata__`` dict of strings) followed by the raw tensor bytes, so loading it is safe.

``save`` writes atomically: the bytes go to a temporary file in the same directory, are
flushed to disk (fsync), and the temporary file then replaces the target in one step
(``os.replace``), so a crash mid-save never leaves a half-written checkpoint behind.

>>> import os, tempfile
>>> import shendu
>>> from shendu import nn, serialization
>>> net = nn.Linear(4, 3)
>>> path = os.path.join(tempfile.mkdtemp(), "linear.safetensors")
>>> serialization.save(net.state_dict(), path, metadata={"epoch": "3"})
>>> state, meta = serialization.load_with_metadata(path)
>>> sorted(state), state["weight"].dtype, meta
(['bias', 'weight'], dtype('float32'), {'epoch': '3'})
>>> net.load_state_dict(serialization.load(path))
<All keys matched successfully>

Checkpoint dicts as PyTorch scripts write them, nested dicts and lists of tensors, arrays and plain
values, go into ONE safetensors file too: :func:`flatten_state_dict` stores the tensors under their
key paths (``"model.fc.weight"``, ``"optimizer.state.0.exp_avg"``) and the structure around them
(keys in order, numbers, strings, tuples) as JSON in the header's metadata, under
``"shendu.structure"``. ``load`` rebuilds the same structure, in insertion order, with Tensors:

>>> ckpt = {"epoch": 3, "model": net.state_dict(), "best": [0.5, None], "note": "lr 0.1"}
>>> serialization.save(ckpt, path)
>>> back = serialization.load(path)
>>> list(back), back["epoch"], back["best"], type(back["model"]["weight"]).__name__
(['epoch', 'model', 'best', 'note'], 3, [0.5, None], 'Tensor')
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from typing import Any, Mapping

import numpy as np

from shendu import backend
from shendu.device import as_device
from shendu.tensor import Tensor

__all__ = [
    "save",
    "load",
    "load_with_metadata",
    "atomic_write",
    "flatten_state_dict",
    "unflatten_state_dict",
]

STRUCTURE_KEY = "shendu.structure"  # metadata entry holding the JSON skeleton of a saved object

PathLike = str | os.PathLike

_HEADER_LIMIT = 100 * 1024 * 1024  # safetensors' own bound on the JSON header


def _check_metadata(metadata: Mapping[str, str] | None) -> dict[str, str] | None:
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping):
        raise TypeError(f"save: metadata must be a dict of strings, got {type(metadata).__name__}")
    for k, v in metadata.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(
                f"save: metadata must map strings to strings, got {k!r}: {type(v).__name__} "
                "(encode other values with json.dumps)"
            )
    return dict(metadata)


def save(obj: Any, path: PathLike, metadata: Mapping[str, str] | None = None) -> None:
    """Write ``obj`` to ``path`` as one safetensors file, atomically; never pickle.

    ``obj`` is a dict of name -> Tensor/ndarray (a ``state_dict``, stored as plain named tensors
    that any safetensors reader understands), or any nesting of dicts (string or int keys), lists
    and tuples whose leaves are Tensors, ndarrays, numbers, strings, bools or None (a checkpoint:
    ``{"epoch": e, "model": model.state_dict(), "optimizer": opt.state_dict()}``). ``metadata`` is
    an optional dict of strings stored in the header. Anything else is refused with a TypeError
    that says why: storing arbitrary objects needs pickle, and loading a pickle can run any code.
    """
    from safetensors.numpy import save as st_save

    meta = _check_metadata(metadata) or {}
    if STRUCTURE_KEY in meta:
        raise ValueError(f"save: metadata key {STRUCTURE_KEY!r} is reserved for the saved structure")
    try:
        arrays, skeleton = flatten_state_dict(obj)
    except TypeError as err:
        raise TypeError(
            f"save: {err}. shendu.save writes a safetensors file, which holds tensors, arrays and (as JSON) "
            "dicts, lists, tuples, numbers, strings and None; it never pickles other objects, because "
            "loading a pickle can run any code: save the object's state_dict() or convert it"
        ) from None
    meta[STRUCTURE_KEY] = json.dumps(skeleton)
    atomic_write(path, st_save(arrays, metadata=meta))


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, then rename it onto ``path``:
    a crash leaves either the old file or the new one, never half of one."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save: directory {directory!r} does not exist (cannot write {path!r})")
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", path)
    mode = os.stat(path).st_mode & 0o777 if os.path.exists(path) else 0o644
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    except OSError as err:  # read-only folder, no permission, disk full: name the file, not a temp name
        raise type(err)(err.errno, err.strerror, path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)  # mkstemp creates the file private (0600)
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(err, OSError) and err.errno is not None:
            raise type(err)(err.errno, err.strerror, path) from None
        raise
    # Make the rename itself durable (best effort: not every platform can open a directory).
    with contextlib.suppress(OSError):
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def _not_safetensors(path: str, reason: str) -> ValueError:
    return ValueError(
        f"{path!r} is not a valid safetensors file: {reason}. Expected an 8-byte little-endian header "
        "length, a JSON header, then the tensor bytes (as written by shendu.serialization.save)"
    )


def _read_header(path: str) -> dict:
    """The parsed JSON header of ``path``, after checking the file is complete."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        if head.startswith(b"PK\x03\x04"):
            raise _not_safetensors(
                path,
                "it is a zip archive, probably a PyTorch checkpoint written by torch.save; shendu never "
                "unpickles files (that can run code): load it with torch and save its state_dict as "
                "safetensors",
            )
        # A pickle starts with 0x80 (PROTO), but so does a safetensors file whose header length is
        # 128 mod 256: only the '{' opening the JSON header after the 8 length bytes tells them apart.
        if head[:1] == b"\x80" and f.read(1) != b"{":
            raise _not_safetensors(
                path, "it looks like a pickle file, which shendu never loads (that can run code)"
            )
        f.seek(8)
        if len(head) < 8:
            raise _not_safetensors(path, f"the file has only {size} bytes (truncated or empty)")
        n = int.from_bytes(head, "little")
        if n > _HEADER_LIMIT or 8 + n > size:
            raise _not_safetensors(
                path,
                f"the header claims {n} bytes but the file has only {size} (truncated or another format)",
            )
        raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise _not_safetensors(path, f"the header is not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise _not_safetensors(path, "the header is not a JSON object")
    ends = [
        info["data_offsets"][1]
        for k, info in header.items()
        if k != "__metadata__"
        and isinstance(info, dict)
        and isinstance(info.get("data_offsets"), list)
        and len(info["data_offsets"]) == 2
    ]
    data_size = size - 8 - n
    if ends and max(ends) > data_size:
        raise _not_safetensors(
            path, f"the tensors need {max(ends)} data bytes but only {data_size} are there (truncated)"
        )
    return header


def load_with_metadata(path: PathLike) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The tensors of a safetensors file (names -> ndarrays, dtypes kept) and the metadata dict
    given to :func:`save` (shendu's structure entry left out)."""
    tensors, meta = _load_raw(path)
    meta.pop(STRUCTURE_KEY, None)
    return tensors, meta


def _load_raw(path: PathLike) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The tensors of a safetensors file (names -> ndarrays, dtypes kept) and its metadata dict."""
    from safetensors import SafetensorError, safe_open

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load: no such file {path!r}")
    header = _read_header(path)
    try:
        with safe_open(path, framework="np") as f:
            tensors = {key: f.get_tensor(key) for key in f.keys()}
    except SafetensorError as e:
        raise _not_safetensors(path, str(e)) from None
    return tensors, dict(header.get("__metadata__") or {})


def load(path: PathLike, map_location: Any = None, weights_only: bool = True) -> Any:
    """What :func:`save` wrote, rebuilt: the same nesting and key order, with Tensors for arrays.

    A file without shendu's structure entry (written by another safetensors tool) gives a dict
    of name -> Tensor. ``map_location`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``, a device, or
    PyTorch's dict form ``{"cuda:0": "cpu"}``) puts the Tensors on that device; files always hold
    host arrays, so any file loads onto any device. ``weights_only`` is accepted for PyTorch
    scripts and changes nothing: a safetensors file holds no code, so loading is always
    "weights only".
    """
    if weights_only not in (True, False):
        raise TypeError(f"load: weights_only must be True or False, got {weights_only!r}")
    if isinstance(map_location, Mapping):
        # Saved tensors are host arrays: only the entry for "cpu" (if any) applies to them.
        map_location = map_location.get("cpu", "cpu")
    if callable(map_location):
        raise TypeError("load: map_location must be a device, a device string or a dict, not a function")
    device = None if map_location is None else as_device(map_location)
    tensors, meta = _load_raw(path)
    structure = meta.get(STRUCTURE_KEY)
    tree = tensors if structure is None else unflatten_state_dict(tensors, structure)
    return _as_tensors(tree, device)


def _as_tensors(value: Any, device: Any) -> Any:
    if isinstance(value, np.ndarray):
        return Tensor._wrap(value if device is None else backend.to_device(value, device))
    if isinstance(value, dict):
        return {k: _as_tensors(v, device) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_as_tensors(v, device) for v in value)
    return value


# ---- nested state in safetensors: arrays by key path, the rest as JSON ------------------------
_ARRAY, _TUPLE, _ITEMS = "__array__", "__tuple__", "__items__"


def flatten_state_dict(state: Any, prefix: str = "") -> tuple[dict[str, np.ndarray], Any]:
    """Split nested state (dicts, lists, tuples of arrays, Tensors and plain scalars/strings) into
    ``{prefix + key path: ndarray}`` and a JSON-able skeleton that refers to each array by its name.

    An optimiser's ``state_dict()`` ``{"state": {0: {"exp_avg": a}}, ...}`` gives the array
    ``"state.0.exp_avg"``; tuples and non-string dict keys are recorded so
    :func:`unflatten_state_dict` returns exactly the same structure (int keys stay ints, ``betas``
    stays a tuple, a 0-d array stays 0-d). Anything else (an arbitrary object) is a ``TypeError``:
    it could only be stored with pickle, which shendu never uses.

    >>> sd = {"state": {0: {"step": 2, "exp_avg": np.ones(3, np.float32)}},
    ...       "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0]}]}
    >>> arrays, meta = flatten_state_dict(sd, prefix="optimizer.")
    >>> sorted(arrays)
    ['optimizer.state.0.exp_avg']
    >>> back = unflatten_state_dict(arrays, meta, prefix="optimizer.")
    >>> back["state"][0]["step"], back["param_groups"][0]["betas"]
    (2, (0.9, 0.999))
    """
    arrays: dict[str, np.ndarray] = {}

    def walk(value: Any, path: str) -> Any:
        if isinstance(value, Tensor):
            value = value._data
        if backend.is_array(value):
            value = backend.to_host(value)  # files hold host arrays, whatever device trained
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in "biuf":
                raise TypeError(f"{path or 'state'}: arrays of dtype {value.dtype} cannot be stored")
            name = prefix + path
            if name in arrays:
                raise ValueError(f"two entries of the state share the name {name!r} (a key holds a '.')")
            arrays[name] = value if value.flags.c_contiguous else value.copy(order="C")
            return {_ARRAY: path}
        if isinstance(value, np.generic) and value.dtype.kind in "biuf":
            return value.item()
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, (list, tuple)):
            items = [walk(v, f"{path}.{i}" if path else str(i)) for i, v in enumerate(value)]
            return {_TUPLE: items} if isinstance(value, tuple) else items
        if isinstance(value, dict):
            sub = {k: walk(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
            if all(isinstance(k, str) and not k.startswith("__") for k in value):
                return sub
            if not all(isinstance(k, (str, int)) and not isinstance(k, bool) for k in value):
                raise TypeError(f"{path or 'state'}: dict keys must be strings or integers")
            return {_ITEMS: [[k, v] for k, v in sub.items()]}
        raise TypeError(
            f"{path or 'state'}: cannot store a value of type {type(value).__name__} as JSON metadata or an "
            "array (only dicts, lists, tuples, numbers, strings, None, arrays and Tensors: no pickle)"
        )

    meta = walk(state, "")
    json.dumps(meta)  # fail here, not when the file is written
    return arrays, meta


def unflatten_state_dict(arrays: Mapping[str, np.ndarray], metadata: Any, prefix: str = "") -> Any:
    """The inverse of :func:`flatten_state_dict` (``metadata`` may be its JSON text).

    A skeleton that names an array missing from ``arrays`` is a ``KeyError`` naming it (a file
    that lost tensors); anything not written by :func:`flatten_state_dict` is a ``ValueError``.
    """
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except json.JSONDecodeError as err:
            raise ValueError(f"the state's metadata is not valid JSON ({err})") from None

    def build(node: Any) -> Any:
        if isinstance(node, list):
            return [build(v) for v in node]
        if not isinstance(node, dict):
            return node
        if _ARRAY in node:
            name = prefix + str(node[_ARRAY])
            if name not in arrays:
                raise KeyError(f"the tensor {name!r} is missing")
            return np.asarray(arrays[name])
        if _TUPLE in node:
            if not isinstance(node[_TUPLE], list):
                raise ValueError(f"malformed state metadata: {_TUPLE} holds {type(node[_TUPLE]).__name__}")
            return tuple(build(v) for v in node[_TUPLE])
        if _ITEMS in node:
            pairs = node[_ITEMS]
            if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
                raise ValueError(f"malformed state metadata: {_ITEMS} must be [key, value] pairs")
            return {k if isinstance(k, (str, int)) else str(k): build(v) for k, v in pairs}
        return {k: build(v) for k, v in node.items()}

    return build(metadata)
