"""tests/gpu: run only on a machine with an NVIDIA GPU and CuPy (``pytest -m gpu``); skipped elsewhere."""

from __future__ import annotations

import pytest


def _why_no_gpu() -> str | None:
    try:
        import cupy
    except ImportError as e:
        return f'CuPy is not installed ({e}); pip install "shendu[cuda]"'
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # CUDARuntimeError without a driver
        return f"no NVIDIA GPU can be used: {e}"
    return None if count else "CuPy finds no NVIDIA GPU"


NO_GPU = _why_no_gpu()


@pytest.hookimpl(tryfirst=True)  # before `-m gpu` selects by marker
def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/gpu/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.gpu)
            if NO_GPU:
                item.add_marker(pytest.mark.skip(reason=NO_GPU))


@pytest.fixture
def full_float32():
    """No TF32 while comparing with the CPU at float32 tolerance."""
    import shendu

    saved = shendu.backends.cuda.matmul.allow_tf32, shendu.backends.cudnn.allow_tf32
    shendu.backends.cuda.matmul.allow_tf32 = shendu.backends.cudnn.allow_tf32 = False
    yield
    shendu.backends.cuda.matmul.allow_tf32, shendu.backends.cudnn.allow_tf32 = saved
