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
(keys in order, numbers, strings, tuples, which values were Tensors and which NumPy arrays) as
JSON in the header's metadata, under ``"shendu.structure"``. ``load`` rebuilds the same structure,
in insertion order and with the same types, as ``torch.load`` does:

>>> ckpt = {"epoch": 3, "model": net.state_dict(), "best": [0.5, None], "note": "lr 0.1"}
>>> serialization.save(ckpt, path)
>>> back = serialization.load(path)
>>> list(back), back["epoch"], back["best"], type(back["model"]["weight"]).__name__
(['epoch', 'model', 'best', 'note'], 3, [0.5, None], 'Tensor')
"""

from __future__ import annotations

import base64
import contextlib
import errno
import io
import json
import os
import tempfile
from collections import OrderedDict
from typing import IO, Any, Callable, Mapping

import numpy as np

from shendu import backend
from shendu.device import as_device
from shendu.nn.parameter import Parameter
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


def save(obj: Any, path: PathLike | IO[bytes], metadata: Mapping[str, str] | None = None) -> None:
    """Write ``obj`` to ``path`` as one safetensors file, atomically; never pickle. ``path`` may
    also be a binary file object (``io.BytesIO()``, ``open(name, "wb")``), as ``torch.save`` takes.

    ``obj`` is a dict of name -> Tensor/ndarray (a ``state_dict``, stored as plain named tensors
    that any safetensors reader understands), or any nesting of dicts, lists, tuples and sets
    whose leaves are Tensors, ndarrays, NumPy or Python numbers, strings, bytes, dtypes or None (a
    checkpoint: ``{"epoch": e, "model": model.state_dict(), "optimizer": opt.state_dict()}``);
    :func:`load` gives each back with its type (see :func:`flatten_state_dict`). ``metadata`` is
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
            "dicts, lists, tuples, sets, numbers, strings, bytes and None; it never pickles other objects, "
            "because loading a pickle can run any code: save the object's state_dict() or convert it"
        ) from None
    meta[STRUCTURE_KEY] = json.dumps(skeleton)
    data = st_save(arrays, metadata=meta)
    if hasattr(path, "write"):  # a file object (torch.save(obj, buffer)): the caller owns it
        path.write(data)
    else:
        atomic_write(path, data)


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, then rename it onto ``path``:
    a crash leaves either the old file or the new one, never half of one."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        blocker = next((p for p in _parents(directory) if os.path.exists(p) and not os.path.isdir(p)), None)
        if blocker is not None:
            raise NotADirectoryError(
                errno.ENOTDIR, f"cannot write it: {blocker} is a file, not a folder", path
            )
        raise FileNotFoundError(errno.ENOENT, f"cannot write it: the folder {directory} does not exist", path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", path)
    mode = os.stat(path).st_mode & 0o777 if os.path.exists(path) else 0o644
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    except OSError as err:  # read-only folder, no permission, disk full: name the file, not a temp name
        if err.errno == errno.ENOENT:  # the folder exists but takes no new files (/proc)
            raise FileNotFoundError(
                errno.ENOENT, f"cannot write it: the folder {directory} does not take new files", path
            ) from None
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


def _parents(path: str) -> list[str]:
    """``/a/b/c`` -> ``["/a", "/a/b", "/a/b/c"]``."""
    parts = []
    while True:
        parts.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            return parts[::-1]
        path = parent


def _not_safetensors(path: str, reason: str) -> ValueError:
    return ValueError(
        f"{path!r} is not a valid safetensors file: {reason}. Expected an 8-byte little-endian header "
        "length, a JSON header, then the tensor bytes (as written by shendu.serialization.save)"
    )


def _read_header(path: str, f: IO[bytes], size: int) -> dict:
    """The parsed JSON header of the file ``f`` (named ``path`` in errors, ``size`` bytes long),
    after checking the file is complete."""
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


def _load_raw(path: PathLike | IO[bytes]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The tensors of a safetensors file or binary file object (names -> ndarrays, dtypes kept)
    and its metadata dict."""
    from safetensors import SafetensorError, safe_open
    from safetensors.numpy import load as st_load

    try:
        if hasattr(path, "read"):  # a file object (torch.load(buffer)): read from where it stands
            data = path.read()
            name = str(getattr(path, "name", type(path).__name__))
            header = _read_header(name, io.BytesIO(data), len(data))
            tensors = st_load(data)
        else:
            name = os.fspath(path)
            if not os.path.isfile(name):
                raise FileNotFoundError(f"load: no such file {name!r}")
            with open(name, "rb") as f:
                header = _read_header(name, f, os.path.getsize(name))
            with safe_open(name, framework="np") as st:
                tensors = {key: st.get_tensor(key) for key in st.keys()}
    except SafetensorError as e:
        raise _not_safetensors(name, str(e)) from None
    return tensors, dict(header.get("__metadata__") or {})


def load(
    path: PathLike | IO[bytes],
    map_location: Any = None,
    pickle_module: Any = None,
    *,
    weights_only: bool | None = None,
    mmap: bool | None = None,
) -> Any:
    """What :func:`save` wrote, rebuilt as ``torch.load`` would give it back: the same nesting, key
    order and types (a Tensor as a Tensor, with its ``requires_grad`` and Parameter-ness, a NumPy
    array as a NumPy array, a NumPy scalar as a NumPy scalar of its dtype, tuples, int keys, ...);
    an object saved twice in one call comes back as one object, as with torch.

    ``path`` may also be a binary file object (``io.BytesIO``, ``open(name, "rb")``), as for
    ``torch.load``. A file without shendu's structure entry (written by another safetensors tool) gives a dict
    of name -> Tensor. ``map_location`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``, a device, or
    PyTorch's dict form ``{"cuda:0": "cpu"}``) puts the Tensors on that device (NumPy arrays stay
    NumPy arrays, as with torch); files always hold host arrays, so any file loads onto any device.
    ``weights_only`` and ``mmap`` are accepted for PyTorch scripts and change nothing: a safetensors
    file holds no code, so loading is always "weights only" (which is also why NumPy values load,
    where ``torch.load(weights_only=True)`` refuses them).
    """
    for name, flag in (("weights_only", weights_only), ("mmap", mmap)):
        if flag not in (None, True, False):
            raise TypeError(f"load: {name} must be True, False or None, got {flag!r}")
    if pickle_module is not None:
        raise TypeError("load: pickle_module is not supported: shendu files are safetensors, never pickles")
    if isinstance(map_location, Mapping):
        # Saved tensors are host arrays: only the entry for "cpu" (if any) applies to them.
        map_location = map_location.get("cpu", "cpu")
    if callable(map_location):
        raise TypeError("load: map_location must be a device, a device string or a dict, not a function")
    device = None if map_location is None else as_device(map_location)
    tensors, meta = _load_raw(path)
    structure = meta.get(STRUCTURE_KEY)

    def make_tensor(arr: np.ndarray, node: Mapping[str, Any]) -> Tensor:
        arr = arr if device is None else backend.to_device(arr, device)
        if node.get("parameter"):
            return Parameter(arr, requires_grad=bool(node.get("requires_grad")))
        t = Tensor._wrap(arr)
        return t.requires_grad_() if node.get("requires_grad") else t

    if structure is None:
        return {k: make_tensor(v, {}) for k, v in tensors.items()}
    return _unflatten(tensors, structure, "", make_tensor)


# ---- nested state in safetensors: arrays by key path, the rest as JSON ------------------------
# The JSON skeleton marks what plain JSON cannot say with one-key objects (every dict whose keys
# are not all plain strings is stored as [key, value] pairs, so these tags never clash with data):
_ARRAY = "__array__"  # a Tensor: {"__array__": name, "requires_grad": true, "parameter": true}
_NDARRAY = "__ndarray__"  # a NumPy array: {"__ndarray__": name}
_NUMPY = "__numpy__"  # a NumPy scalar: {"__numpy__": dtype name, "value": number or [re, im]}
_TUPLE, _ITEMS, _ORDERED = "__tuple__", "__items__", "__ordered__"  # tuple, dict with other keys, OrderedDict
_SET, _FROZENSET = "__set__", "__frozenset__"
_COMPLEX, _BYTES, _DTYPE = "__complex__", "__bytes__", "__dtype__"
_SCALAR_KINDS = "biufc"  # bool, int, unsigned, float, complex: what a file and JSON can hold


def _scalar(value: Any) -> Any:
    """A JSON form of a Python or NumPy scalar, or ``None`` if ``value`` is not one."""
    if isinstance(value, np.generic):  # before Python's types: np.float64 is a float
        if value.dtype.kind not in _SCALAR_KINDS:
            return None
        item = value.item()
        number = [item.real, item.imag] if value.dtype.kind == "c" else item
        return {"v": {_NUMPY: value.dtype.name, "value": number}}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"v": value}  # wrapped so that None itself can be told from "not a scalar"
    if isinstance(value, complex):
        return {"v": {_COMPLEX: [value.real, value.imag]}}
    return None


def _key(key: Any, path: str) -> Any:
    """A JSON form of a dict key or set element: a scalar, or a tuple of them (as torch, any such
    hashable works)."""
    if isinstance(key, tuple):
        return {_TUPLE: [_key(k, path) for k in key]}
    found = _scalar(key)
    if found is None:
        raise TypeError(
            f"{path or 'state'}: dict keys must be strings, numbers, None or tuples of them, "
            f"got {type(key).__name__}"
        )
    return found["v"]


def flatten_state_dict(state: Any, prefix: str = "") -> tuple[dict[str, np.ndarray], Any]:
    """Split nested state (dicts, lists, tuples of Tensors, arrays and plain values) into
    ``{prefix + key path: ndarray}`` and a JSON-able skeleton that refers to each array by its name.

    An optimiser's ``state_dict()`` ``{"state": {0: {"exp_avg": a}}, ...}`` gives the array
    ``"state.0.exp_avg"``; the skeleton records what JSON alone would lose, so
    :func:`unflatten_state_dict` returns exactly the same structure: Tensor or ndarray, NumPy scalar
    types, tuples, sets, OrderedDicts, non-string dict keys (int keys stay ints, ``betas`` stays a
    tuple, a 0-d array stays 0-d). An object met twice is stored once. Anything else (an arbitrary
    object) is a ``TypeError``: it could only be stored with pickle, which shendu never uses.

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
    seen: dict[int, dict] = {}  # id of a Tensor or array already stored -> its skeleton node

    def store(value: Any, path: str) -> dict:
        is_tensor = isinstance(value, Tensor)
        arr = backend.to_host(value._data if is_tensor else value)  # files hold host arrays
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{path or 'state'}: arrays of dtype {arr.dtype} cannot be stored")
        name = prefix + path
        if name in arrays:  # two different objects under one name ("a.b" and a -> b): keep both
            name = next(f"{name}#{i}" for i in range(1, len(arrays) + 2) if f"{name}#{i}" not in arrays)
        arrays[name] = arr if arr.flags.c_contiguous else arr.copy(order="C")
        ref = name[len(prefix) :]
        if not is_tensor:
            return {_NDARRAY: ref}
        node: dict[str, Any] = {_ARRAY: ref}
        if value.requires_grad:
            node["requires_grad"] = True
        if isinstance(value, Parameter):
            node["parameter"] = True
        return node

    def walk(value: Any, path: str) -> Any:
        if isinstance(value, Tensor) or backend.is_array(value):
            if id(value) not in seen:
                seen[id(value)] = store(value, path)
            return seen[id(value)]
        found = _scalar(value)
        if found is not None:
            return found["v"]
        if isinstance(value, list):
            return [walk(v, f"{path}.{i}" if path else str(i)) for i, v in enumerate(value)]
        if isinstance(value, tuple):
            return {_TUPLE: [walk(v, f"{path}.{i}" if path else str(i)) for i, v in enumerate(value)]}
        if isinstance(value, dict):
            sub = {k: walk(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
            if type(value) is OrderedDict:
                return {_ORDERED: [[_key(k, path), v] for k, v in sub.items()]}
            if all(isinstance(k, str) and not k.startswith("__") for k in value):
                return sub
            return {_ITEMS: [[_key(k, path), v] for k, v in sub.items()]}
        if isinstance(value, (set, frozenset)):
            return {_SET if isinstance(value, set) else _FROZENSET: [_key(v, path) for v in value]}
        if isinstance(value, bytes):
            return {_BYTES: base64.b64encode(value).decode("ascii")}
        if isinstance(value, np.dtype):
            return {_DTYPE: value.name}
        raise TypeError(
            f"{path or 'state'}: cannot store a value of type {type(value).__name__} as JSON metadata or an "
            "array (only dicts, lists, tuples, sets, numbers, strings, bytes, None, dtypes, arrays and "
            "Tensors: no pickle)"
        )

    meta = walk(state, "")
    json.dumps(meta)  # fail here, not when the file is written
    return arrays, meta


def unflatten_state_dict(arrays: Mapping[str, np.ndarray], metadata: Any, prefix: str = "") -> Any:
    """The inverse of :func:`flatten_state_dict` (``metadata`` may be its JSON text), with NumPy
    arrays where Tensors were (:func:`load` gives Tensors back).

    A skeleton that names an array missing from ``arrays`` is a ``KeyError`` naming it (a file
    that lost tensors); anything not written by :func:`flatten_state_dict` is a ``ValueError``.
    """
    return _unflatten(arrays, metadata, prefix, lambda arr, node: arr)


def _unflatten(
    arrays: Mapping[str, np.ndarray],
    metadata: Any,
    prefix: str,
    make_tensor: Callable[[np.ndarray, Mapping[str, Any]], Any],
) -> Any:
    """:func:`unflatten_state_dict`, making each saved Tensor with ``make_tensor(array, node)``."""
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except json.JSONDecodeError as err:
            raise ValueError(f"the state's metadata is not valid JSON ({err})") from None
    made: dict[tuple[str, str], Any] = {}  # one object per stored array, as it was saved

    def array(node: Mapping[str, Any], tag: str) -> Any:
        name = prefix + str(node[tag])
        if (tag, name) not in made:
            if name not in arrays:
                raise KeyError(f"the tensor {name!r} is missing")
            arr = np.asarray(arrays[name])
            made[tag, name] = make_tensor(arr, node) if tag == _ARRAY else arr
        return made[tag, name]

    def listed(node: Mapping[str, Any], tag: str) -> list:
        if not isinstance(node[tag], list):
            raise ValueError(f"malformed state metadata: {tag} holds {type(node[tag]).__name__}")
        return node[tag]

    def pairs(node: Mapping[str, Any], tag: str) -> list[tuple[Any, Any]]:
        items = listed(node, tag)
        if not all(isinstance(p, list) and len(p) == 2 for p in items):
            raise ValueError(f"malformed state metadata: {tag} must be [key, value] pairs")
        return [(build(k), build(v)) for k, v in items]

    def build(node: Any) -> Any:
        if isinstance(node, list):
            return [build(v) for v in node]
        if not isinstance(node, dict):
            return node
        if _ARRAY in node or _NDARRAY in node:
            return array(node, _ARRAY if _ARRAY in node else _NDARRAY)
        if _NUMPY in node:
            value = node["value"]
            scalar_type: Any = np.dtype(node[_NUMPY]).type
            return scalar_type(complex(*value) if isinstance(value, list) else value)
        if _TUPLE in node:
            return tuple(build(v) for v in listed(node, _TUPLE))
        if _ITEMS in node:
            return dict(pairs(node, _ITEMS))
        if _ORDERED in node:
            return OrderedDict(pairs(node, _ORDERED))
        if _SET in node or _FROZENSET in node:
            kind = set if _SET in node else frozenset
            return kind(build(v) for v in listed(node, _SET if _SET in node else _FROZENSET))
        if _COMPLEX in node:
            return complex(*node[_COMPLEX])
        if _BYTES in node:
            return base64.b64decode(node[_BYTES])
        if _DTYPE in node:
            return np.dtype(node[_DTYPE])
        return {k: build(v) for k, v in node.items()}

    return build(metadata)
