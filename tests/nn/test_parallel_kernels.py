"""shendu's parallel kernels: each equals its plain NumPy version bit for bit, and results never
depend on the number of threads (shendu.set_num_threads)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from contextlib import contextmanager
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import shendu
import shendu.nn.functional as F
from shendu import compiled, nn, optim, parallel
from shendu.nn.functional import conv as conv_module
from shendu.nn.functional import im2col

THREADS = (1, 2, 3)


@contextmanager
def threads(n: int):
    before = shendu.get_num_threads()
    shendu.set_num_threads(n)
    try:
        yield
    finally:
        shendu.set_num_threads(before)


@contextmanager
def small_pieces():
    """Cut even tiny problems into many chunks and bands, so the parallel paths run in tests."""
    with (
        mock.patch.multiple(conv_module, CHUNK_BYTES=256, MIN_ROWS=4, MIN_CHUNKS=3),
        mock.patch.multiple(
            parallel, MATMUL_BAND_WORK=64, MATMUL_MIN_BAND=2, MATMUL_BLOCK=1, ELEMENTWISE_PIECE=7
        ),
    ):
        yield


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == np.ascontiguousarray(b).tobytes()


# ---- the thread setting ------------------------------------------------------------------------


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def test_default_is_the_cores_this_process_may_use(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    with mock.patch.object(parallel, "_num_threads", None):
        assert shendu.get_num_threads() == _cores()


@pytest.mark.parametrize("value, expected", [("3", 3), ("1", 1), ("0", None), ("two", None), ("", None)])
def test_default_follows_omp_num_threads_as_pytorch(monkeypatch, value, expected):
    monkeypatch.setenv("OMP_NUM_THREADS", value)
    with mock.patch.object(parallel, "_num_threads", None):
        assert shendu.get_num_threads() == (expected or _cores())


def test_share_cores_divides_the_machine_only_when_nothing_chose_the_threads(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    with mock.patch.object(parallel, "_num_threads", None):
        parallel.share_cores(2 * _cores())  # more ranks than cores: one thread each
        assert shendu.get_num_threads() == 1
    with mock.patch.object(parallel, "_num_threads", 5):  # set_num_threads(5) was called
        parallel.share_cores(4)
        assert shendu.get_num_threads() == 5
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    with mock.patch.object(parallel, "_num_threads", None):
        parallel.share_cores(4)
        assert shendu.get_num_threads() == 3
    with mock.patch.object(parallel, "_num_threads", None):
        parallel.share_cores(1)  # one rank: keeps every core
        assert parallel._num_threads is None


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_set_num_threads_rejects_non_positive_ints(bad):
    with pytest.raises(ValueError, match="positive int"):
        shendu.set_num_threads(bad)


def test_numpy_blas_runs_one_thread_once_shendu_threads():
    from threadpoolctl import threadpool_info

    numpy_dir = os.path.dirname(os.path.dirname(np.__file__))
    with threads(2):
        info = [i for i in threadpool_info() if i["user_api"] == "blas"]
        numpy_blas = [i for i in info if parallel._is_numpy_lib(i["filepath"], numpy_dir)] or info
        assert numpy_blas and all(i["num_threads"] == 1 for i in numpy_blas)


def test_run_keeps_order_and_raises_errors():
    with threads(3):
        assert parallel.run(lambda i: i * i, list(range(20))) == [i * i for i in range(20)]

        def boom(i):
            if i == 5:
                raise KeyError("piece 5")
            return i

        with pytest.raises(KeyError, match="piece 5"):
            parallel.run(boom, list(range(8)))


def test_nested_run_does_not_deadlock():
    with threads(2):
        out = parallel.run(lambda i: sum(parallel.run(lambda j: i * j, list(range(4)))), list(range(6)))
    assert out == [6 * i for i in range(6)]


def test_kernels_called_from_several_threads_at_once_stay_correct():
    """A server's request threads may run kernels together: one has the helpers, the others run
    in place; every result is right and the pool still works afterwards."""
    import threading

    errors: list[str] = []

    def client(k: int) -> None:
        for r in range(200):
            items = list(range(k, k + 9))
            got = parallel.run(lambda i, r=r: i * r, items)
            if got != [i * r for i in items]:
                errors.append(f"client {k} round {r}: {got}")

    with threads(3):
        clients = [threading.Thread(target=client, args=(k,)) for k in range(4)]
        for c in clients:
            c.start()
        for c in clients:
            c.join()
        assert parallel.run(lambda i: -i, [1, 2, 3]) == [-1, -2, -3]
    assert not errors, errors[:3]


@pytest.mark.parametrize("spin_tries", [0, 1, 4096])
def test_thousands_of_back_to_back_kernels_hand_over_every_piece_once(spin_tries):
    """The helpers' hand-off (locks, and the counters polled without the GIL before sleeping):
    kernels started back to back, tiny or slow pieces, each piece run once, results in order."""
    x = np.ones(8, np.float32)
    compiled.relu_grad_kernel(x, x, x.copy())  # numba loaded (where installed): the pool may poll
    with threads(3), mock.patch.object(parallel, "SPIN_TRIES", spin_tries):
        for k in range(2000):
            items = list(range(k % 7 + 2))
            assert parallel.run(lambda i, k=k: i * k, items) == [i * k for i in items]
        counts = [0] * 50
        lock = threading.Lock()

        def piece(i):
            with lock:
                counts[i] += 1
            return float(np.sin(np.arange(20_000.0) * i).sum())

        expected = [float(np.sin(np.arange(20_000.0) * i).sum()) for i in range(50)]
        assert parallel.run(piece, list(range(50))) == expected and counts == [1] * 50
        polling = parallel._get_pool().helpers[0]._counters.spin
        polls = polling is not None and polling is not parallel._UNRESOLVED
        assert polls == (compiled.enabled() and sys.platform != "win32")


def test_a_forked_child_runs_kernels_on_its_own_helpers():
    """The parent's helper threads do not exist in a child made by fork: it starts its own pool
    (with a hand-me-down pool it would wait forever)."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    with threads(2):
        parallel.run(lambda i: i, [0, 1, 2])  # the parent's pool exists
        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()
        child = ctx.Process(target=_child_kernel, args=(queue,))
        child.start()
        child.join(timeout=30)
        if child.is_alive():
            child.kill()
            pytest.fail("the forked child hung in a kernel")
        assert queue.get(timeout=5) == [i * 3 for i in range(10)]


def _child_kernel(queue) -> None:
    queue.put(parallel.run(lambda i: i * 3, list(range(10))))


# ---- matrix products ---------------------------------------------------------------------------


@given(
    m=st.integers(1, 40),
    k=st.integers(1, 30),
    n=st.integers(1, 40),
    transpose=st.booleans(),
    seed=st.integers(0, 9),
)
def test_matmul_equals_its_reference_for_any_thread_count(m, k, n, transpose, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = (
        rng.standard_normal((n, k)).astype(np.float32).T
        if transpose
        else rng.standard_normal((k, n)).astype(np.float32)
    )
    with small_pieces():
        expected = parallel.matmul_reference(a, b)
        for t in THREADS:
            with threads(t):
                assert same_bits(parallel.matmul(a, b), expected)
    np.testing.assert_allclose(expected, a @ b, rtol=1e-4, atol=1e-4)


@given(
    m=st.integers(1, 30),
    k=st.integers(1, 30),
    n=st.integers(1, 30),
    layouts=st.tuples(*[st.sampled_from(["c", "f", "strided"])] * 2),
    vector=st.booleans(),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 9),
)
def test_product_has_the_bits_of_numpys_matmul_in_any_layout(m, k, n, layouts, vector, dtype, seed):
    """``product`` (np.dot, which lets go of the GIL) gives what ``a @ b`` gives, bit for bit,
    into a new array, a C-contiguous ``out`` or one it must hand to np.matmul (a column band)."""
    rng = np.random.default_rng(seed)

    def laid_out(shape, layout):
        a = rng.standard_normal((shape[0], 2 * shape[1]) if layout == "strided" else shape).astype(dtype)
        return a[:, ::2] if layout == "strided" else np.asfortranarray(a) if layout == "f" else a

    a = rng.standard_normal(k).astype(dtype) if vector else laid_out((m, k), layouts[0])
    b = laid_out((k, n), layouts[1])
    expected = a @ b
    assert same_bits(parallel.product(a, b), expected)
    out = np.empty(expected.shape, dtype)
    assert parallel.product(a, b, out) is out and same_bits(out, expected)
    if not vector:
        wide = np.zeros((m, n + 3), dtype)
        parallel.product(a, b, wide[:, 1 : n + 1])
        assert same_bits(wide[:, 1 : n + 1], expected) and not wide[:, [0, -2, -1]].any()
    a32, b64 = a.astype(np.float32), b.astype(np.float64)
    assert same_bits(parallel.product(a32, b64), a32 @ b64)


@given(m=st.integers(1, 5000), k=st.integers(1, 5000), n=st.integers(1, 5000))
def test_matmul_bands_are_near_equal_whole_blocks_with_enough_work(m, k, n):
    """The real constants: bands tile the longer side in order, cut on whole blocks, each
    near the mean width and none under MATMUL_MIN_BAND − MATMUL_BLOCK wide; a product is split
    only when two bands would each keep MATMUL_BAND_WORK multiply-adds."""
    bands = parallel.matmul_bands(m, k, n)
    along_rows = m >= n
    length = m if along_rows else n
    enough = m * k * n >= 2 * parallel.MATMUL_BAND_WORK and length >= 2 * parallel.MATMUL_MIN_BAND
    assert (bands is not None) == enough
    if bands is None:
        return
    rows, cuts = bands
    assert rows == along_rows and cuts[0].start == 0 and cuts[-1].stop == length
    assert all(a.stop == b.start for a, b in zip(cuts, cuts[1:], strict=False))
    assert all(c.start % parallel.MATMUL_BLOCK == 0 for c in cuts)
    widths = [c.stop - c.start for c in cuts]
    mean = length / len(cuts)
    assert all(abs(w - mean) <= parallel.MATMUL_BLOCK for w in widths)
    assert min(widths) >= parallel.MATMUL_MIN_BAND - parallel.MATMUL_BLOCK
    assert m * k * n // len(cuts) >= parallel.MATMUL_BAND_WORK


def test_sum_in_order_is_left_to_right():
    rng = np.random.default_rng(0)
    parts = [rng.standard_normal((5, 7)).astype(np.float32) for _ in range(6)]
    expected = parts[0].copy()
    for p in parts[1:]:
        expected = expected + p
    with small_pieces():
        for t in THREADS:
            with threads(t):
                assert same_bits(parallel.sum_in_order(parts), expected)


# ---- im2col / col2im ---------------------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(
    rows=st.integers(1, 3000),
    cols=st.integers(1, 40),
    dtype=st.sampled_from([np.float32, np.float64]),
    strided=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_column_sums_are_the_sums_over_rows_in_any_layout(rows, cols, dtype, strided, seed):
    a = np.random.default_rng(seed).standard_normal((rows, 2 * cols if strided else cols)).astype(dtype)
    if strided:
        a = a[:, ::2]
    got = parallel.column_sums(a)
    assert got.shape == (cols,) and got.dtype == dtype
    exact = a.astype(np.float64).sum(axis=0)
    tol = (1e-5 if dtype == np.float32 else 1e-12) * np.sqrt(rows) * np.abs(a).sum(axis=0).max()
    np.testing.assert_allclose(got, exact, rtol=0, atol=tol)
    assert same_bits(parallel.column_sums(a.copy()), parallel.column_sums(a.copy()))
    ints = np.arange(rows * cols).reshape(rows, cols)
    np.testing.assert_array_equal(parallel.column_sums(ints), ints.sum(axis=0))  # integers: NumPy's sum



@pytest.mark.parametrize("contiguous", [True, False])
def test_windows_view_is_numpys_as_strided_view_and_read_only(contiguous):
    from numpy.lib.stride_tricks import as_strided

    xp = np.arange(2 * 9 * 8 * 5, dtype=np.float32).reshape(2, 9, 8, 5)
    if not contiguous:
        xp = np.arange(2 * 9 * 8 * 10, dtype=np.float32).reshape(2, 9, 8, 10)[..., ::2]
    view = im2col.windows_channels_last(xp, (3, 2), (2, 1), (1, 2), (4, 6))
    s_n, s_h, s_w, s_c = xp.strides
    expected = as_strided(xp, (2, 4, 6, 3, 2, 5), (s_n, 2 * s_h, s_w, s_h, 2 * s_w, s_c), writeable=False)
    assert view.strides == expected.strides and same_bits(view, expected)
    assert not view.flags.writeable and np.shares_memory(view, xp)


@st.composite
def window_cases(draw):
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(4))
    size = [
        max(1, d * (k - 1) + 1 - p0 - p1) + draw(st.integers(0, 5))
        for k, d, p0, p1 in zip(kernel, dilation, padding[::2], padding[1::2], strict=True)
    ]
    x_shape = (draw(st.integers(1, 3)), draw(st.integers(1, 4)), *size)
    return x_shape, kernel, stride, padding, dilation


@given(case=window_cases(), transposed=st.booleans())
def test_channels_last_im2col_and_col2im_equal_the_books(case, transposed):
    x_shape, kernel, stride, padding, dilation = case
    n, c, h, w = x_shape
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(np.float32)
    ref = im2col.im2col_reference(x, kernel, stride, padding, dilation)  # (N·OH·OW, C·KH·KW)
    (kh, kw), rows = kernel, ref.shape[0]
    oh = (h + padding[0] + padding[1] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = rows // (n * oh)
    # the same matrix with columns in (i, j, c) order
    ref_hwc = ref.reshape(rows, c, kh, kw).transpose(0, 2, 3, 1).reshape(rows, -1)
    xp = im2col.pad_channels_last(x, padding)
    col = im2col.im2col_channels_last(xp, kernel, stride, dilation, (oh, ow), transposed)
    assert same_bits(col.T if transposed else col, ref_hwc)

    g = rng.standard_normal(ref.shape).astype(np.float32)
    g_hwc = g.reshape(rows, c, kh, kw).transpose(0, 2, 3, 1).reshape(rows, -1)
    g_in = np.ascontiguousarray(g_hwc.T) if transposed else g_hwc
    gxp = im2col.col2im_channels_last(g_in, xp.shape, kernel, stride, dilation, (oh, ow), transposed)
    top, left = padding[0], padding[2]
    gx = gxp[:, top : top + h, left : left + w].transpose(0, 3, 1, 2)
    assert same_bits(gx, im2col.col2im_reference(g, x_shape, kernel, stride, padding, dilation))


# ---- the convolution ---------------------------------------------------------------------------


def _conv_grads(x, w, b, kw):
    xs, ws, bs = (shendu.tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.conv2d(xs, ws, bs, **kw)
    (y * y).sum().backward()
    return [
        np.ascontiguousarray(a)
        for a in (y.detach().numpy(), xs.grad.numpy(), ws.grad.numpy(), bs.grad.numpy())
    ]


@pytest.mark.parametrize(
    "x_shape, w_shape, kw",
    [
        ((1, 3, 9, 7), (5, 3, 3, 3), dict(padding=1)),  # batch 1: bands of output rows
        # two images, one chunk: bands of rows with stride, dilation, groups and uneven padding
        ((2, 4, 9, 8), (6, 2, 3, 2), dict(stride=(2, 1), padding=(2, 1), dilation=(2, 1), groups=2)),
        ((7, 4, 8, 8), (6, 4, 3, 3), dict(stride=2, padding=1)),  # a batch no thread count divides
        ((5, 6, 5, 6), (4, 3, 2, 3), dict(dilation=(2, 1), groups=2)),
        ((9, 1, 12, 12), (3, 1, 5, 5), {}),  # one channel: colᵀ
        ((6, 8, 4, 4), (8, 8, 1, 1), {}),  # 1×1: col is the input itself
    ],
)
def test_conv2d_is_the_same_for_any_thread_count(x_shape, w_shape, kw):
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal(x_shape).astype(np.float32), rng.standard_normal(w_shape).astype(np.float32)
    b = rng.standard_normal(w_shape[0]).astype(np.float32)
    by_pieces = []
    for pieces in (small_pieces, _whole):
        with pieces():
            results = []
            for t in THREADS:
                with threads(t):
                    results.append(_conv_grads(x, w, b, kw))
        for other in results[1:]:
            assert all(same_bits(a, e) for a, e in zip(other, results[0], strict=True))
        by_pieces.append(results[0])
    for cut, whole in zip(*by_pieces, strict=True):  # cut small (bands, chunks) or not: same numbers
        np.testing.assert_allclose(cut, whole, rtol=1e-5, atol=1e-5)
    # and it is the convolution: the book's im2col and one matrix product (groups=1 cases)
    if kw.get("groups", 1) == 1:
        stride = (kw.get("stride", 1),) * 2
        pad = (kw.get("padding", 0),) * 4
        col = im2col.im2col_reference(x, w_shape[2:], stride, pad, kw.get("dilation", (1, 1)))
        n, o = x_shape[0], w_shape[0]
        y = (col @ w.reshape(o, -1).T + b).reshape(n, -1, o).transpose(0, 2, 1)
        np.testing.assert_allclose(results[0][0].reshape(n, o, -1), y, rtol=1e-4, atol=1e-4)


@contextmanager
def _whole():
    yield


# ---- training ----------------------------------------------------------------------------------


class SmallResNet(nn.Module):
    """conv-BN-ReLU, a residual block with a strided projection, pooling and a linear head."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.block = nn.Sequential(
            nn.Conv2d(8, 12, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(12),
            nn.ReLU(),
            nn.Conv2d(12, 12, 3, padding=1, bias=False),
            nn.BatchNorm2d(12),
        )
        self.short = nn.Sequential(nn.Conv2d(8, 12, 1, stride=2, bias=False), nn.BatchNorm2d(12))
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(12 * 2 * 2, 10)

    def forward(self, x):
        h = self.stem(x)
        h = F.relu(self.block(h) + self.short(h))
        return self.fc(self.pool(h).flatten(1))


def _train(n_threads: int, steps: int = 3) -> list[np.ndarray]:
    with threads(n_threads):
        shendu.manual_seed(0)
        net = SmallResNet()
        opt = optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
        rng = np.random.default_rng(0)
        for _ in range(steps):
            x = shendu.from_numpy(rng.standard_normal((7, 3, 8, 8)).astype(np.float32))
            t = shendu.from_numpy(rng.integers(0, 10, 7))
            opt.zero_grad()
            F.cross_entropy(net(x), t).backward()
            opt.step()
        return [p.numpy().copy() for p in net.state_dict().values()]


@pytest.mark.parametrize("pieces", [small_pieces, _whole])
def test_training_gives_the_same_weights_with_1_and_2_threads(pieces):
    with pieces():
        one, two = _train(1), _train(2)
    assert len(one) == len(two)
    assert all(same_bits(a, b) for a, b in zip(one, two, strict=True))


# ---- batch normalisation and linear ------------------------------------------------------------


@pytest.mark.parametrize("shape", [(7, 5, 3, 4), (1, 3, 5, 5), (9, 6), (5, 4, 7)])
@pytest.mark.parametrize("channels_last", [True, False])
def test_batch_norm_is_the_same_for_any_thread_count_and_matches_the_formula(shape, channels_last):
    rng = np.random.default_rng(2)
    x = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
    if channels_last and x.ndim == 4:
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    w, b = rng.standard_normal(shape[1]).astype(np.float32), rng.standard_normal(shape[1]).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    results = []
    for t in THREADS:
        with threads(t), mock.patch("shendu.nn.functional.normalization.PIECE_ELEMENTS", 16):
            xs, ws, bs = (shendu.tensor(a, requires_grad=True) for a in (x, w, b))
            rm, rv = np.zeros(shape[1], np.float32), np.ones(shape[1], np.float32)
            y = F.batch_norm(xs, rm, rv, ws, bs, training=True)
            y.backward(g)
            results.append(
                [
                    np.ascontiguousarray(a)
                    for a in (y.detach().numpy(), xs.grad.numpy(), ws.grad.numpy(), bs.grad.numpy(), rm, rv)
                ]
            )
    for other in results[1:]:
        assert all(same_bits(a, e) for a, e in zip(other, results[0], strict=True))
    from shendu.nn.functional.normalization import batch_norm_reference

    expected = batch_norm_reference(x.astype(np.float64), w, b, None, None, 1e-5, training=True)
    np.testing.assert_allclose(results[0][0], expected, rtol=1e-4, atol=1e-4)


def test_linear_is_the_same_for_any_thread_count():
    rng = np.random.default_rng(3)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((37, 29), (23, 29), (23,)))
    results = []
    for t in THREADS:
        with threads(t), small_pieces():
            xs, ws, bs = (shendu.tensor(a, requires_grad=True) for a in (x, w, b))
            y = F.linear(xs, ws, bs)
            (y * y).sum().backward()
            results.append([y.detach().numpy(), xs.grad.numpy(), ws.grad.numpy(), bs.grad.numpy()])
    for other in results[1:]:
        assert all(same_bits(a, e) for a, e in zip(other, results[0], strict=True))
    np.testing.assert_allclose(results[0][0], x @ w.T + b, rtol=1e-5, atol=1e-5)


def test_numpy_blas_is_one_thread_after_any_op_not_only_a_split_product():
    """A program that only multiplies small matrices (never split over the pool) must not run
    NumPy's BLAS threads either: they made a tiny MLP 2.5x slower. Fresh process: the flag is global."""
    code = (
        "import os, numpy as np, shendu; from shendu import parallel\n"
        "from threadpoolctl import threadpool_info\n"
        "x = shendu.randn(8, 4); w = shendu.randn(4, 3, requires_grad=True); (x @ w).sum().backward()\n"
        "d = os.path.dirname(os.path.dirname(np.__file__))\n"
        "info = [i for i in threadpool_info() if i['user_api'] == 'blas']\n"
        "own = [i for i in info if parallel._is_numpy_lib(i['filepath'], d)] or info\n"
        "print(all(i['num_threads'] == 1 for i in own) and bool(own))\n"
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "", "OMP_NUM_THREADS": ""}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "True", out.stderr


@given(
    shape=st.sampled_from([(1, 3, 5, 5), (7, 4, 6, 3), (5, 33)]),
    channels_last=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_relu_and_sigmoid_over_threads_have_the_bits_of_one_numpy_call(shape, channels_last, seed):
    """ReLU's and the sigmoid's forward and backward, shared among 3 threads in small pieces, equal
    the one-call NumPy formulas bit for bit, for C-ordered and channels-last layouts."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    gy = rng.standard_normal(shape).astype(np.float32)
    if channels_last and len(shape) == 4:  # the layout conv2d returns: NHWC memory, NCHW view
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
        gy = np.ascontiguousarray(gy.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    with threads(3), small_pieces():
        t = shendu.tensor(x, requires_grad=True)
        y = F.relu(t)
        y.backward(gy)
        u = shendu.tensor(x, requires_grad=True)
        s = F.sigmoid(u)
        s.backward(gy)
    assert same_bits(y.numpy(), np.maximum(x, 0))
    assert same_bits(t.grad.numpy(), np.where(np.maximum(x, 0) <= 0, np.float32(0), gy))  # +0, as torch
    e = np.exp(-np.abs(x))
    sig = np.where(x >= 0, 1 / (1 + e), e * (1 / (1 + e)))  # the one-call formula
    assert same_bits(s.numpy(), sig)
    assert same_bits(u.grad.numpy(), gy * sig * (1 - sig))


@pytest.mark.parametrize("layout", ["c", "channels-last", "strided"])
def test_relu_against_runs_of_zeros_has_the_bits_of_max_with_the_scalar(layout):
    """ReLU's forward takes max against a run of zeros, run after run: longer than one run, with
    NaN of both signs, ±0 and ±inf, in any layout, it equals np.maximum(x, 0) bit for bit."""
    from shendu.ops import activation

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 7, activation.ZERO_RUN // 20)).astype(np.float32)
    x.reshape(-1)[:6] = [np.nan, -np.nan, -0.0, 0.0, np.inf, -np.inf]
    if layout == "channels-last":
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    elif layout == "strided":
        x = x[:, :, ::2]
    for n in (1, 2):
        with threads(n):
            y = F.relu(shendu.tensor(x)).numpy()
        assert same_bits(y, np.maximum(x, 0))


@pytest.mark.parametrize("layout", ["c", "channels-last", "fortran", "strided", "mixed", "broadcast"])
@pytest.mark.parametrize("ufunc", [np.add, np.subtract, np.multiply])
def test_binary_over_threads_is_numpys_result_in_bits_and_layout(layout, ufunc):
    """parallel.binary (Add and the engine's sum of gradients) gives what one NumPy call
    gives: the same bits and the same strides, shared out or not."""
    rng = np.random.default_rng(3)

    def make():
        x = rng.standard_normal((5, 6, 7, 4)).astype(np.float32)
        if layout == "channels-last" or (layout == "mixed" and make.calls):
            x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
        elif layout == "fortran":
            x = np.asfortranarray(x)
        elif layout == "strided":
            x = rng.standard_normal((5, 6, 7, 8)).astype(np.float32)[..., ::2]
        make.calls += 1
        return x

    make.calls = 0
    a, b = make(), make()
    if layout == "broadcast":
        b = b[:1, :, :1]
    expected = ufunc(a, b)
    for t in THREADS:
        with threads(t), small_pieces(), mock.patch.object(parallel, "run", wraps=parallel.run) as run:
            got = parallel.binary(ufunc, a, b)
        assert same_bits(got, expected) and got.strides == expected.strides
        shared = layout in ("c", "channels-last", "fortran") and t > 1
        assert run.called == shared, f"{layout}, {t} threads: shared out {run.called}"


def test_elementwise_splits_rows_of_any_layout_and_keeps_the_bits():
    a = np.arange(24, dtype=np.float32).reshape(4, 6) / 7
    b = (np.arange(24, dtype=np.float32).reshape(6, 4).T / 3).astype(np.float32)  # other strides
    calls = []

    def add(x, y, out):
        calls.append(x.shape)
        return np.add(x, y, out=out)

    with threads(3), small_pieces():
        out = parallel.elementwise(add, np.empty((4, 6), dtype=np.float32), a, b)
        assert len(calls) > 1 and same_bits(out, a + b)
        calls.clear()
        row = a.reshape(1, 24)
        out = parallel.elementwise(add, np.empty((1, 24), dtype=np.float32), row, row)
        assert len(calls) > 1 and same_bits(out, row * 2)  # one row: its elements are shared
        calls.clear()
        # one channels-last image, (1, C, H, W) stored (1, H, W, C): cut along H, its outermost axis
        image = np.ascontiguousarray(
            np.arange(60, dtype=np.float32).reshape(1, 3, 4, 5).transpose(0, 2, 3, 1)
        )
        image = image.transpose(0, 3, 1, 2)
        out = parallel.elementwise(add, np.empty_like(image), image, image)
        assert len(calls) > 1 and all(shape[:2] == (1, 3) and shape[3] == 5 for shape in calls)
        assert same_bits(np.ascontiguousarray(out), np.ascontiguousarray(image * 2))
        calls.clear()
        out = parallel.elementwise(add, np.empty((1, 1), dtype=np.float32), row[:, :1], row[:, :1])
        assert calls == [(1, 1)]  # a single element: one call


@pytest.mark.parametrize("n", [1, 3])
def test_copyto_and_padding_over_threads_equal_plain_numpy(n):
    """parallel.copyto into a strided view from a transposed source, and pad_channels_last (one
    image: its rows are shared; several: the batch), equal NumPy's own assignment bit for bit."""
    rng = np.random.default_rng(n)
    x = rng.standard_normal((n, 5, 9, 7)).astype(np.float32)  # (N, C, H, W), stored NCHW
    with threads(3), small_pieces():
        out = np.zeros((n, 11, 9, 5), np.float32)
        parallel.copyto(out[:, 1:10, 1:8], x.transpose(0, 2, 3, 1))
        padded = im2col.pad_channels_last(x, (1, 1, 1, 1))
    expected = np.zeros((n, 11, 9, 5), np.float32)
    expected[:, 1:10, 1:8] = x.transpose(0, 2, 3, 1)
    assert same_bits(out, expected) and same_bits(padded, expected)


def test_reshape_that_must_copy_shares_the_copy_and_keeps_views_views():
    """Flattening a channels-last conv output copies it row-major, as NumPy's reshape (the copy
    split among the threads, same bits); a reshape a view can show stays a view of x."""
    rng = np.random.default_rng(0)
    stored = rng.standard_normal((4, 3, 5, 6)).astype(np.float32)  # (N, H, W, C) in memory
    with threads(3), small_pieces():
        x = shendu.tensor(stored.transpose(0, 3, 1, 2), requires_grad=True)  # (N, C, H, W) view
        flat = x.reshape(4, -1)
        assert flat._data.flags.c_contiguous
        assert same_bits(flat.numpy(), stored.transpose(0, 3, 1, 2).reshape(4, -1))
        flat.backward(np.arange(flat.numel(), dtype=np.float32).reshape(flat.shape))
        assert same_bits(x.grad.numpy(), np.arange(flat.numel(), dtype=np.float32).reshape(4, 6, 3, 5))
        split = x.reshape(2, 2, 6, 3, 5)  # the batch axis split: a view, no copy
        assert np.shares_memory(split._data, x._data)
        with pytest.raises(ValueError, match="invalid for input of shape"):
            x.reshape(7, -1)


@given(
    shape=st.sampled_from([(5, 3, 8, 8), (7, 2, 9, 6), (2, 4, 7, 7)]),
    kernel_stride=st.sampled_from([(2, 2), (3, 2), (3, 1)]),
    nan_image=st.sampled_from([None, 0, 1]),
    channels_last=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_max_pool_over_threads_keeps_the_bits(shape, kernel_stride, nan_image, channels_last, seed):
    """max_pool2d's batch shared among 3 threads equals one thread bit for bit: values, indices and
    gradient (forward and backward each split the batch), also when one image holds a NaN (only
    its piece then takes the NaN-wins pass)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    x[:, :, 2] = x[:, :, 1]  # ties across rows: the first in row-major order must win
    if nan_image is not None:
        x[nan_image, 0, 1, 1] = np.nan
    if channels_last:
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    k, s = kernel_stride
    results, layouts = [], []
    for n in (1, 3):
        with threads(n), small_pieces():
            t = shendu.tensor(x, requires_grad=True)
            y, idx = F.max_pool2d(t, k, s, return_indices=True)
            # not small integers: where windows overlap, a changed order of the additions shows
            gy = np.random.default_rng(seed).standard_normal(y.shape).astype(np.float32)
            y.backward(gy)
            results.append((y.numpy(), idx.numpy(), t.grad.numpy()))
            layouts.append((y._data.strides, idx._data.strides))
    for one, many in zip(results[0], results[1], strict=True):
        assert same_bits(one, many)
    assert layouts[0] == layouts[1]  # the pieces write into arrays laid out as one pass makes them


@pytest.mark.parametrize("kernel, stride, padding", [(2, 2, 0), (3, 2, 1), (3, 1, 1)])
def test_max_pool_gradient_takes_the_inputs_layout_with_the_same_bits(kernel, stride, padding):
    """A channels-last input (what conv2d gives) gets a channels-last gradient, so ReLU's backward
    before it reads both in one layout; the values are the NCHW path's, bit for bit, also where
    windows overlap (each pixel adds its windows' gradients in the same order)."""
    rng = np.random.default_rng(kernel + stride)
    x = rng.standard_normal((6, 5, 11, 9)).astype(np.float32)
    x[:, :, 3] = x[:, :, 2]  # ties
    grads = []
    for layout in ("nchw", "channels_last"):
        a = x if layout == "nchw" else np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
        t = shendu.tensor(a, requires_grad=True)
        y = F.max_pool2d(t, kernel, stride, padding)
        y.backward(np.random.default_rng(0).standard_normal(y.shape).astype(np.float32))
        grads.append(t.grad.numpy())
    nchw, last = grads
    assert nchw.flags.c_contiguous and last.transpose(0, 2, 3, 1).flags.c_contiguous
    assert same_bits(nchw, np.ascontiguousarray(last))


@settings(max_examples=40, deadline=None)
@given(
    shape=st.sampled_from([(3, 2, 8, 8), (2, 3, 9, 7), (1, 2, 5, 6)]),
    geometry=st.sampled_from(
        [
            ((2, 2), (2, 2), (0, 0), (1, 1)),
            ((3, 2), (3, 2), (1, 1), (1, 1)),
            ((2, 2), (3, 3), (0, 1), (1, 1)),
            ((2, 2), (4, 4), (1, 0), (2, 2)),
        ]
    ),
    ceil_mode=st.booleans(),
    channels_last=st.booleans(),
    special=st.sampled_from([None, "negative zero", "inf", "nan"]),
    seed=st.integers(0, 1000),
)
def test_max_pool_backward_of_windows_apart_equals_the_scatter_add(
    shape, geometry, ceil_mode, channels_last, special, seed
):
    """Windows that never overlap (stride ≥ span) take per-tap strided writes instead of the
    scatter-add: the same bits, −0.0 and non-finite gradients included (a ∞ in G must stay at its
    argmax, not turn the other pixels of its window into NaN)."""
    from shendu.nn.functional.pooling import MaxPool2d

    kernel, stride, padding, dilation = geometry
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, shape).astype(np.float32)  # ties: the first maximum must win
    if channels_last:
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    y = F.max_pool2d(shendu.tensor(x, requires_grad=True), kernel, stride, padding, dilation, ceil_mode)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    gy[0, 0, 0, 0] = {None: gy[0, 0, 0, 0], "negative zero": -0.0, "inf": np.inf, "nan": np.nan}[special]
    fn = y.grad_fn
    assert isinstance(fn, MaxPool2d) and fn._windows_apart()
    fast = fn.backward(gy)

    def scatter(self, gy, gp, images):
        gp.fill(0)
        MaxPool2d._scatter(self, gy, gp, images)

    with mock.patch.object(MaxPool2d, "_spread", scatter):
        slow = fn.backward(gy)
    assert same_bits(np.ascontiguousarray(fast), np.ascontiguousarray(slow))


@pytest.mark.parametrize("channels_last", [False, True])
def test_max_pool_without_a_graph_over_threads_keeps_the_bits(channels_last):
    """Under no_grad max_pool2d computes the max alone, the batch shared among the threads: the
    same values, NaN and layout as one thread."""
    x = np.random.default_rng(3).standard_normal((9, 4, 11, 10)).astype(np.float32)
    x[4, 2, 3, 3] = np.nan
    if channels_last:
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    results = []
    for n in (1, 3):
        with threads(n), small_pieces(), shendu.no_grad():
            results.append(F.max_pool2d(shendu.tensor(x), 3, 2, 1).numpy())
    assert same_bits(results[0], results[1])
    assert results[1].strides == results[0].strides  # channels-last stays channels-last
    assert np.isnan(results[1][4, 2]).any()
