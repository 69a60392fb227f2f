"""The compiled kernels (shendu.compiled) give the bits of the NumPy loops they replace."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shendu import compiled
from shendu.nn.functional import im2col
from tests.nn.test_pooling import pool_cases as torch_checked_pool_cases

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
    code = "from shendu import compiled; print(compiled.enabled())"
    env = {**os.environ, "SHENDU_COMPILED": "0"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@st.composite
def pool_cases(draw):
    """test_pooling's geometry (dilation, ceil mode, unbatched input too), plus layout, dtype and
    special values."""
    geometry = draw(torch_checked_pool_cases())
    shape = geometry.pop("shape")
    return dict(
        shape=shape,
        geometry=geometry,
        channels_last=len(shape) == 4 and draw(st.booleans()),
        dtype=draw(st.sampled_from([np.float32, np.float64])),
        specials=draw(st.booleans()),  # ties, NaN, ±inf in x; ±0, ±inf in the gradient
        seed=draw(st.integers(0, 2**16)),
    )


@settings(max_examples=60, deadline=None)
@given(case=pool_cases(), masked_taps=st.sampled_from([0, 16]))
def test_compiled_max_pool_has_the_bits_of_the_numpy_passes(case, masked_taps):
    """The gradient by the compiled kernels against NumPy's writes and scatter-add (and the same
    max and argmax), with ties, NaN, ±0 and infinities, both memory layouts, overlapping and
    padded windows; overlapping windows by the tap-by-tap kernel and (MASKED_TAPS = 0) by the
    scatter kernel."""
    import shendu
    import shendu.nn.functional as F
    from shendu.nn.functional import pooling

    rng = np.random.default_rng(case["seed"])
    x = rng.integers(-2, 3, case["shape"]).astype(case["dtype"])  # ties
    y_shape = F.max_pool2d(shendu.tensor(x), **case["geometry"]).shape
    g = rng.standard_normal(y_shape).astype(case["dtype"])
    if case["specials"]:
        x.reshape(-1)[rng.integers(0, x.size, 3)] = [np.nan, np.inf, -np.inf]
        g.reshape(-1)[rng.integers(0, g.size, 3)] = [-0.0, np.inf, -np.inf]
    if case["channels_last"]:  # what conv2d returns
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    results = []
    for use_kernels in (True, False):
        originals = compiled.max_pool_grad_kernel, compiled.max_pool_grad_taps_kernel
        masked, pooling.MASKED_TAPS = pooling.MASKED_TAPS, masked_taps
        try:
            if not use_kernels:
                compiled.max_pool_grad_kernel = compiled.max_pool_grad_taps_kernel = lambda *a: None
            t = shendu.tensor(x, requires_grad=True)
            y, idx = F.max_pool2d(t, **case["geometry"], return_indices=True)
            with np.errstate(invalid="ignore"):  # inf + (−inf) where windows overlap: NaN, as in torch
                y.backward(shendu.tensor(g))
        finally:
            compiled.max_pool_grad_kernel, compiled.max_pool_grad_taps_kernel = originals
            pooling.MASKED_TAPS = masked
        results.append([y.numpy(), idx.numpy(), t.grad.numpy()])
    for ours, passes in zip(*results, strict=True):
        assert np.array_equal(
            np.ascontiguousarray(ours).view(np.uint8), np.ascontiguousarray(passes).view(np.uint8)
        )


@st.composite
def compiled_pool_cases(draw):
    """The windows the compiled forward takes (2×2, 3×3) on channels-last input, with strides,
    dilation, padding and ceil mode, batch sizes that do not split evenly over the threads."""
    k = draw(st.sampled_from([2, 3]))
    d = draw(st.integers(1, 2))
    pad = draw(st.integers(0, k // 2))
    h = d * (k - 1) + 1 + draw(st.integers(0, 9))
    w = h + draw(st.integers(0, 3))
    return dict(
        shape=(draw(st.sampled_from([1, 3, 7, 40])), draw(st.integers(1, 19)), h, w),
        geometry=dict(
            kernel_size=k,
            stride=draw(st.one_of(st.none(), st.integers(1, 3))),
            padding=pad,
            dilation=d,
            ceil_mode=draw(st.booleans()) and pad == 0,  # keeps every window on the input
        ),
        dtype=draw(st.sampled_from([np.float32, np.float64])),
        specials=draw(st.booleans()),
        threads=draw(st.sampled_from([1, 3])),
        seed=draw(st.integers(0, 2**16)),
    )


@settings(max_examples=60, deadline=None)
@given(case=compiled_pool_cases())
def test_compiled_max_pool_forward_has_the_bits_of_the_numpy_passes_and_torchs_values(case):
    """The forward kernel (once numba is loaded) against the separable NumPy passes: the same
    max (bits: ties keep the first tap, ±0 as the passes keep it) and argmax, and the gradient,
    with and without the argmax wanted;
    with NaN (of any payload) in some windows, those images redone by the passes; values and
    indices as torch's."""
    import torch
    import torch.nn.functional as TF

    import shendu
    import shendu.nn.functional as F

    compiled.relu_grad_kernel(*[np.zeros(1, np.float32)] * 3)  # numba loaded, as after a backward
    rng = np.random.default_rng(case["seed"])
    x = rng.integers(-2, 3, case["shape"]).astype(case["dtype"])  # ties
    if case["specials"]:
        specials = np.array([np.nan, -np.nan, np.inf, -np.inf, -0.0, 0.0], case["dtype"])
        x.reshape(-1)[rng.integers(0, x.size, 6)] = specials
    x_cl = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)  # what conv2d returns

    def run():
        shendu.set_num_threads(case["threads"])
        try:
            t = shendu.tensor(x_cl, requires_grad=True)
            y, idx = F.max_pool2d(t, **case["geometry"], return_indices=True)
            y.backward(shendu.ones_like(y))
            with shendu.no_grad():  # the max alone, no places kept
                y_only = F.max_pool2d(shendu.tensor(x_cl), **case["geometry"])
        finally:
            shendu.set_num_threads(1)
        return [y.numpy(), idx.numpy(), t.grad.numpy(), y_only.numpy()]

    ours, passes = _with_and_without("max_pool_kernel", run)
    for a, b in zip(ours, passes, strict=True):
        assert np.array_equal(np.ascontiguousarray(a).view(np.uint8), np.ascontiguousarray(b).view(np.uint8))
    ty, tidx = TF.max_pool2d(torch.tensor(x), **case["geometry"], return_indices=True)
    np.testing.assert_array_equal(ours[0], ty.numpy())
    np.testing.assert_array_equal(ours[1], tidx.numpy())
    np.testing.assert_array_equal(ours[3], ty.numpy())


def test_max_pool_kernel_only_for_2x2_and_3x3_channels_last_int8_places():
    a = np.zeros((1, 4, 4, 2), np.float32)
    y, place = np.zeros((1, 2, 2, 2), np.float32), np.zeros((1, 2, 2, 2), np.int8)
    compiled.relu_grad_kernel(*[np.zeros(1, np.float32)] * 3)  # numba loaded
    assert compiled.max_pool_kernel(a, y, place, (2, 2)) is not None
    assert compiled.max_pool_kernel(a, y, place, (2, 3)) is None  # other windows: NumPy's passes
    assert compiled.max_pool_kernel(a, y, place.astype(np.int32), (2, 2)) is None
    assert compiled.max_pool_kernel(a.transpose(0, 2, 1, 3), y, place, (2, 2)) is None  # not C-ordered


def test_a_kernel_that_cannot_be_cached_is_compiled_in_memory():
    """A read-only install (no cache directory numba can write): compile without the disk cache."""
    calls = []

    class FakeNumba:
        @staticmethod
        def njit(signature, nogil, cache=False):
            calls.append(cache)
            if cache:
                raise RuntimeError("cannot cache function '_col2im': no locator available for file")
            return lambda fn: fn

    assert compiled._jit(FakeNumba, compiled._col2im, "sig") is compiled._col2im
    assert calls == [True, False]


relu_cases = settings(max_examples=40, deadline=None)(
    given(
        shape=st.lists(st.integers(1, 7), min_size=1, max_size=4),
        dtype=st.sampled_from([np.float32, np.float64]),
        transposed=st.booleans(),
        seed=st.integers(0, 2**16),
    )
)


def _with_specials(shape, dtype, transposed: bool, seed: int, count: int) -> list[np.ndarray]:
    """``count`` random arrays, about 40 % of their elements ±0, ±inf, NaN of either sign or ±1;
    ``transposed``: stored in reverse axis order (still one run of memory)."""
    rng = np.random.default_rng(seed)
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1.0, -1.0], dtype)
    arrays = []
    for _ in range(count):
        a = np.where(rng.random(shape) < 0.4, rng.choice(specials, shape), rng.standard_normal(shape))
        a = a.astype(dtype)
        arrays.append(a.T.copy().T if transposed else a)
    return arrays


def _with_and_without(name: str, run):
    """[run() with compiled.<name> in use, run() with it switched off]; checks the kernel ran."""
    original, found = getattr(compiled, name), []

    def counted(*arrays):
        found.append(original(*arrays))
        return found[-1]

    results = []
    for kernel in (counted, lambda *a: None):
        try:
            setattr(compiled, name, kernel)
            results.append(run())
        finally:
            setattr(compiled, name, original)
    assert found and found[-1] is not None  # the kernel ran
    return results


@relu_cases
def test_compiled_relu_gradient_has_the_bits_of_numpy_and_the_values_of_torch(shape, dtype, transposed, seed):
    """Kernel and NumPy fallback agree bit for bit, and with torch's threshold_backward, where
    y and the gradient hold ±0, ±inf and NaN; C-ordered or transposed (one memory run) arrays."""
    import torch

    import shendu

    x, g = _with_specials(shape, dtype, transposed, seed, count=2)

    def gradient():
        t = shendu.tensor(x, requires_grad=True)
        t.relu().backward(shendu.tensor(g))
        return t.grad.numpy()

    results = _with_and_without("relu_grad_kernel", gradient)
    tx = torch.tensor(x, requires_grad=True)
    tx.relu().backward(torch.tensor(g))
    ours = results[0]
    assert np.array_equal(*(np.ascontiguousarray(r).view(np.uint8) for r in results))
    np.testing.assert_array_equal(ours, tx.grad.numpy())  # NaN where torch has NaN, ±inf, ±0


@relu_cases
def test_compiled_relu_has_the_bits_of_numpy_and_the_values_of_torch(shape, dtype, transposed, seed):
    """ReLU's forward kernel (used once numba is loaded) and the NumPy runs of max against zeros
    agree bit for bit (NaN of both signs kept, −0.0 made +0.0), and with torch.relu."""
    import torch

    import shendu

    compiled.relu_grad_kernel(*[np.zeros(1, np.float32)] * 3)  # numba loaded, as after a backward
    (x,) = _with_specials(shape, dtype, transposed, seed, count=1)
    results = _with_and_without("relu_kernel", lambda: shendu.tensor(x).relu().numpy())
    assert np.array_equal(*(np.ascontiguousarray(r).view(np.uint8) for r in results))
    np.testing.assert_array_equal(results[0], torch.relu(torch.tensor(x)).numpy())


def test_relu_forward_never_loads_numba_itself():
    """A forward alone (shendu predict) does not pay numba's import for ReLU: in a fresh process
    a forward leaves numba unloaded and gives np.maximum's values."""
    code = (
        "import sys, numpy as np, shendu; x = np.linspace(-2, 2, 100000, dtype=np.float32);"
        "y = shendu.tensor(x).relu().numpy(); assert (y == np.maximum(x, 0)).all();"
        "print('numba' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.skipif(sys.platform == "win32", reason="no sched_yield: the pool does not spin there")
def test_spin_kernel_sees_another_threads_write_and_gives_up_after_its_tries():
    import threading
    import time

    spin = compiled.spin_kernel()
    counters = np.zeros(3, np.int64)
    assert spin(counters, 1, 0, 50) is False  # nothing moved: 50 polls, then False
    counters[2] = 7
    assert spin(counters, 2, 0, 1) is True  # moved already: True at the first poll
    seen = []
    waiter = threading.Thread(target=lambda: seen.append(spin(counters, 0, 0, 10**12)))
    waiter.start()
    time.sleep(0.05)
    counters[0] += 1  # the write must reach the polling loop, which runs without the GIL
    waiter.join(timeout=20)
    assert not waiter.is_alive() and seen == [True]
