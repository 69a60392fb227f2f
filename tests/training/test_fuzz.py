"""Fuzz the readers of untrusted files with mutated valid files: IDX (raw and gzip), safetensors
checkpoints, config.json, images and ``.pth`` state dicts.

Each reader may fail only with its documented error type (ValueError and its subclasses
CheckpointError, RunError, ImageError; FileNotFoundError for a file that is gone), and memory stays
bounded: the fuzzing runs in a subprocess whose address space is limited with ``resource``, so a
reader that inflates or allocates without bound dies with MemoryError and fails the test.

CI runs a few dozen examples per format (seconds); SHENDU_LONG_TESTS=1 runs 500 per format.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[2] / "src")
LONG = os.environ.get("SHENDU_LONG_TESTS", "") not in ("", "0")
EXAMPLES = 500 if LONG else 30

SCRIPT = r"""
import gzip, io, json, os, resource, sys, tempfile
from pathlib import Path

limit = int(sys.argv[2]) << 20
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

fmt, examples = sys.argv[1], int(sys.argv[3])
folder = Path(tempfile.mkdtemp())

def idx(arr):
    return bytes([0, 0, 8, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape) + arr.tobytes()

def base_files():
    from shendu import nn, optim, serialization
    from shendu.training.checkpoint import save_checkpoint
    from PIL import Image
    if fmt == "idx":
        return idx(np.arange(60, dtype=np.uint8).reshape(3, 4, 5))
    if fmt == "gzip":
        return gzip.compress(idx(np.arange(60, dtype=np.uint8).reshape(3, 4, 5)))
    if fmt == "checkpoint":
        model = nn.Linear(3, 2)
        opt = optim.Adam(model.parameters())
        model(__import__("shendu").ones(1, 3)).sum().backward()
        opt.step()
        save_checkpoint(folder / "c.safetensors", model=model, optimizer=opt, epoch=1, history=[{"epoch": 1}],
                        callbacks={"0": {"best": np.ones(2)}})
        return (folder / "c.safetensors").read_bytes()
    if fmt == "config":
        (folder / "model.safetensors").write_bytes(b"")
        norm = {"mean": [0.5], "std": [0.2]}
        config = {"model": "mlp", "num_classes": 10, "input_shape": [1, 8, 8], "normalize": norm}
        return json.dumps({**config, "classes": list("0123456789")}).encode()
    if fmt in ("png", "png16", "jpeg", "tiff"):
        buf = io.BytesIO()
        if fmt == "png16":
            Image.fromarray(np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000).save(buf, "PNG")
        elif fmt == "tiff":
            Image.fromarray(np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8), mode="F").save(buf, "TIFF")
        else:
            rgb = Image.fromarray(np.arange(192, dtype=np.uint8).reshape(8, 8, 3))
            rgb.save(buf, "PNG" if fmt == "png" else "JPEG")
        return buf.getvalue()
    if fmt == "pth":
        import torch
        buf = io.BytesIO()
        torch.save({"w": torch.arange(6.0).reshape(2, 3), "n": torch.tensor(3)}, buf)
        return buf.getvalue()
    raise SystemExit(f"unknown format {fmt}")

def reader():
    from shendu.data import read_idx
    from shendu.training import rundir
    from shendu.training.checkpoint import load_checkpoint
    from shendu.training.images import ImageError, read_image
    if fmt in ("idx", "gzip"):
        return lambda p: read_idx(p), (ValueError,)
    if fmt == "checkpoint":
        return lambda p: load_checkpoint(p), (ValueError,)
    if fmt == "config":
        def read(p):
            (folder / "config.json").write_bytes(p.read_bytes())
            config = rundir.read_config(folder)
            rundir.build_model({**config, "model": config.get("model") or "mlp"})
        return read, (rundir.RunError,)
    if fmt in ("png", "png16", "jpeg", "tiff"):
        return lambda p: read_image(p, 3, 8) + read_image(p, 1, 8, digit_style=True), (ImageError,)
    if fmt == "pth":
        from shendu.models.convert import convert_torch
        return lambda p: convert_torch(p, folder / "out.safetensors"), (ValueError,)

base = base_files()
read, allowed = reader()
edit = st.tuples(st.integers(0, max(len(base) - 1, 0)), st.integers(0, 255))

@settings(max_examples=examples, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(edits=st.lists(edit, max_size=8), cut=st.integers(0, len(base)), extra=st.binary(max_size=16),
       grow=st.booleans())
def fuzz(edits, cut, extra, grow):
    data = bytearray(base)
    for i, b in edits:
        data[i] = b
    data = bytes(data[:cut]) + extra if grow else bytes(data)
    path = folder / f"input.{fmt}"
    path.write_bytes(data)
    try:
        read(path)
    except allowed:
        pass

fuzz()
print("OK", fmt)
"""


@pytest.mark.parametrize(
    "fmt, megabytes",
    [
        ("idx", 1024),
        ("gzip", 1024),
        ("checkpoint", 1536),
        ("config", 1536),
        ("png", 1536),
        ("png16", 1536),
        ("jpeg", 1536),
        ("tiff", 1536),
        ("pth", 4096),
    ],
)
def test_mutated_files_raise_only_the_documented_error(fmt, megabytes):
    if fmt == "pth":
        pytest.importorskip("torch")
    env = {**os.environ, "PYTHONPATH": SRC, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, fmt, str(megabytes), str(EXAMPLES)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0 and f"OK {fmt}" in done.stdout, done.stderr[-3000:]
