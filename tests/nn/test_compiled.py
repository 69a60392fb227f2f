"""The compiled kernels (shendu.nn.functional.compiled) give the bits of the NumPy loops they replace."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shendu.nn.functional import compiled, im2col

pytestmark = pytest.mark.skipif(
    not compiled.enabled(), reason="numba is not installed (or SHENDU_COMPILED=0)"
)


@st.composite
def col2im_cases(draw):
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 6))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    out_size = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    # the smallest padded input those outputs fit in, plus a margin a stride may leave unused
    padded = tuple(
        d * (k - 1) + s * (o - 1) + 1 + draw(st.integers(0, s - 1))
        for k, s, d, o in zip(kernel, stride, dilation, out_size, strict=True)
    )
    return dict(
        shape=(n, *padded, c),
        geometry=(kernel, stride, dilation, out_size),
        transposed=draw(st.booleans()),
        dtype=draw(st.sampled_from([np.float32, np.float64])),
        sliced=draw(st.booleans()),  # gxp a channel slice of a wider array (as with groups)
        seed=draw(st.integers(0, 2**16)),
    )


@settings(max_examples=60, deadline=None)
@given(case=col2im_cases())
def test_compiled_col2im_has_the_bits_of_the_numpy_loop(case):
    """Random geometry, both column layouts, both float types, C-ordered or strided targets that
    already hold values (the sum starts from them): the same bits either way."""
    n, hp, wp, c = case["shape"]
    (kh, kw), _, _, (oh, ow) = case["geometry"]
    rng = np.random.default_rng(case["seed"])
    col = rng.standard_normal((n * oh * ow, kh * kw * c)).astype(case["dtype"])
    if case["transposed"]:
        col = np.ascontiguousarray(col.T)
    start = rng.standard_normal((n, hp, wp, 2 * c if case["sliced"] else c)).astype(case["dtype"])
    results = []
    for use_kernel in (True, False):
        wide = start.copy()
        target = wide[..., :c]
        original = compiled.col2im_kernel
        try:
            if not use_kernel:
                compiled.col2im_kernel = lambda *a: None
            else:
                assert original(target, col[:1, :1].reshape(1, 1, 1, 1, 1, 1)) is not None
            im2col.col2im_channels_last(col, case["shape"], *case["geometry"], case["transposed"], out=target)
        finally:
            compiled.col2im_kernel = original
        results.append(wide)
    ours, loop = results
    assert np.array_equal(ours.view(np.uint8), loop.view(np.uint8))


def test_no_kernel_for_other_dtypes_or_mixed_arrays():
    taps = np.zeros((1, 1, 1, 1, 1, 1), np.float32)
    assert compiled.col2im_kernel(np.zeros((1, 1, 1, 1), np.float16), taps.astype(np.float16)) is None
    assert compiled.col2im_kernel(np.zeros((1, 1, 1, 1), np.float64), taps) is None
    assert compiled.col2im_kernel(np.zeros((1, 1, 1, 1), np.float32), taps) is not None


def test_shendu_compiled_0_switches_the_kernels_off():
    code = "from shendu.nn.functional import compiled; print(compiled.enabled())"
    env = {**os.environ, "SHENDU_COMPILED": "0"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
