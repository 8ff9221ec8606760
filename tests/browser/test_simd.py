"""The WebAssembly SIMD kernels (pyengine/native/simd) in real Chromium + Pyodide, against NumPy.

The shared page boots as users get it: the worker loads dist/simd/nnplay_simd.so and the NumPy engine's
matrix products run on it (so tests/browser/test_engine.py trains on this path). Every test that switches
to the einsum fallback switches back before it returns.
"""
import pytest

KERNEL_PATH = "/lib/nnplay/nnplay_simd.so"

# sgemm against float64 NumPy on every layout the engine uses and the awkward ones: 1-row / 1-column,
# sizes that are not multiples of the 4 x 8 tile, K past the 256-deep block (accumulating passes),
# M past the 128-row block, N past the 2048-column block, transposed, strided, reversed and broadcast
# views, empty products. The bound is float32 accumulation: |C - C64| <= 2 K eps (|A| |B|).
GEMM_CASES = r"""
import numpy as np
from pyengine.backends import numpy_backend as nb, simd

rng = np.random.default_rng(14)
def mat(m, k, layout):
    if layout == "c":
        return rng.standard_normal((m, k), dtype=np.float32)
    if layout == "t":  # a transposed view: (k, m) contiguous in memory
        return rng.standard_normal((k, m), dtype=np.float32).T
    if layout == "s":  # every 2nd row, every 3rd column of a bigger array
        return rng.standard_normal((2 * m, 3 * k), dtype=np.float32)[::2, ::3]
    if layout == "r":  # reversed rows (negative stride)
        return rng.standard_normal((m, k), dtype=np.float32)[::-1]
    if layout == "b":  # one row broadcast over m rows (zero stride)
        return np.broadcast_to(rng.standard_normal((1, k), dtype=np.float32), (m, k))
    raise ValueError(layout)

shapes = [(1, 1, 1), (1, 7, 1), (1, 300, 9), (9, 300, 1), (3, 5, 7), (4, 8, 8), (5, 9, 13), (17, 33, 10),
          (31, 257, 23), (130, 70, 17), (61, 600, 45), (2, 3, 2100), (200, 2880, 16), (2880 // 4, 400, 8),
          (25, 1152, 8), (64, 64, 64)]
worst, checked = 0.0, 0
for m, k, n in shapes:
    for la in "ctsrb":
        for lb in "ctsr":
            a, b = mat(m, k, la), mat(k, n, lb)
            assert simd.sgemm_fits(a, b)
            got = nb.gemm(a, b)
            ref = a.astype(np.float64) @ b.astype(np.float64)
            scale = np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64)
            bound = 2 * k * 2.0 ** -24 * scale + 1e-30
            assert got.dtype == np.float32 and got.shape == (m, n) and got.flags.c_contiguous
            ratio = float((np.abs(got - ref) / bound).max())
            assert ratio <= 1, (m, k, n, la, lb, ratio)
            worst, checked = max(worst, ratio), checked + 1
empty = [nb.gemm(np.ones((0, 3), np.float32), np.ones((3, 4), np.float32)).shape,
         nb.gemm(np.ones((2, 3), np.float32), np.ones((3, 0), np.float32)).shape,
         nb.gemm(np.ones((2, 0), np.float32), np.ones((0, 4), np.float32)).tolist()]
{"gemm": nb.gemm.__name__, "checked": checked, "worst": worst, "empty": empty}
"""


@pytest.fixture
def kernels_on(booted):
    """The shared page with the SIMD path on (the default) before and after the test."""
    status = booted.run("from pyengine.backends import numpy_backend as nb\nnb.SIMD_STATUS")
    assert status["active"], status
    yield booted
    booted.run(f"from pyengine.backends import numpy_backend as nb\nnb.use_simd({KERNEL_PATH!r})['active']")


def test_the_worker_loads_the_kernels_at_boot_and_the_engine_uses_them(booted):
    status = booted.run("from pyengine.backends import numpy_backend as nb, simd\n"
                        "{**nb.SIMD_STATUS, 'gemm': nb.gemm.__name__, 'version': simd.lib.nnp_version()}")
    assert status["active"] and status["reason"] is None, status
    assert status["path"] == KERNEL_PATH and status["gemm"] == "gemm_simd" and status["version"] == 1
    assert any(url.endswith("/simd/nnplay_simd.so") for url in booted.requests)
    assert not [c for c in booted.console if "SIMD" in c]  # no "not loaded" warning


@pytest.mark.timeout(300)
def test_sgemm_matches_numpy_within_float32_accumulation_bounds_on_every_layout(kernels_on):
    result = kernels_on.run(GEMM_CASES)
    assert result["gemm"] == "gemm_simd"
    assert result["checked"] == 16 * 5 * 4
    assert result["worst"] <= 1
    assert result["empty"] == [[0, 4], [2, 0], [[0.0] * 4] * 2]


LAYERS = r"""
import numpy as np
from pyengine.backends import numpy_backend as nb
from pyengine.ops import gemm as gemm_ops

rng = np.random.default_rng(3)
def conv_all(x, w, b, strides, pads, gy):
    y, cols = nb.conv2d_forward(x, w, b, strides, pads, (1, 1), relu=True)
    gx = nb.conv2d_backward_input(gy, w, x.shape, strides, pads, (1, 1))
    gw = nb.conv2d_backward_weight(gy, cols, w.shape)
    return y, gx, gw

cases = []
for (n, h, wd, c, f, k, s, p) in [(3, 9, 7, 1, 8, 5, 1, 2), (2, 12, 12, 8, 16, 5, 1, 2), (2, 11, 10, 3, 5, 3, 2, 1),
                                  (1, 8, 8, 20, 20, 5, 1, 2), (2, 6, 6, 4, 3, 1, 1, 0)]:
    x = rng.standard_normal((n, h, wd, c), dtype=np.float32)
    w = rng.standard_normal((k, k, c, f), dtype=np.float32) * np.float32(0.3)
    b = rng.standard_normal(f, dtype=np.float32)
    oh, ow = (h + 2 * p - k) // s + 1, (wd + 2 * p - k) // s + 1
    gy = rng.standard_normal((n, oh, ow, f), dtype=np.float32)
    cases.append((x, w, b, (s, s), ((p, p), (p, p)), gy))
simd_out = [conv_all(*c) for c in cases]
x = rng.standard_normal((7, 33), dtype=np.float32); wd_ = rng.standard_normal((33, 10), dtype=np.float32)
g = rng.standard_normal((7, 10), dtype=np.float32)
dense_simd = (nb.gemm(x, wd_), nb.gemm(g, wd_.T), nb.gemm(x.T, g))
nb.use_einsum()
assert nb.gemm.__name__ == "gemm_einsum"
einsum_out = [conv_all(*c) for c in cases]
dense_einsum = (nb.gemm(x, wd_), nb.gemm(g, wd_.T), nb.gemm(x.T, g))
nb.use_simd(KERNEL_PATH)
worst = 0.0
for got, ref in zip([t for o in simd_out for t in o] + list(dense_simd), [t for o in einsum_out for t in o] + list(dense_einsum)):
    assert got.shape == ref.shape and got.dtype == ref.dtype == np.float32
    worst = max(worst, float(np.abs(got - ref).max() / (np.abs(ref).max() + 1e-6)))
{"worst": worst, "gemm": nb.gemm.__name__}
"""


def test_conv2d_forward_and_both_gradients_and_dense_agree_with_the_einsum_path(kernels_on):
    result = kernels_on.run(f"KERNEL_PATH = {KERNEL_PATH!r}\n" + LAYERS)
    assert result["gemm"] == "gemm_simd"
    assert result["worst"] < 1e-5, result


def test_float64_and_batched_products_take_the_einsum_path(kernels_on):
    result = kernels_on.run(
        "import numpy as np\nfrom pyengine.backends import numpy_backend as nb, simd\n"
        "a, b = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4)\n"
        "a3 = np.arange(24, dtype=np.float32).reshape(2, 3, 4); b3 = np.ones((2, 4, 5), np.float32)\n"
        "{'f64': nb.gemm(a, b).dtype.name, 'ok64': bool(np.array_equal(nb.gemm(a, b), a @ b)),"
        " 'fits64': simd.sgemm_fits(a, b), 'batched': bool(np.allclose(nb.gemm(a3, b3), a3 @ b3)),"
        " 'fits_batched': simd.sgemm_fits(a3, b3)}")
    assert result == {"f64": "float64", "ok64": True, "fits64": False, "batched": True, "fits_batched": False}


TRAIN_BOTH = r"""
import numpy as np, pyengine
from pyengine import data
from pyengine.presets import convnetjs_mnist
from pyengine.backends import numpy_backend as nb

images, labels = data.load_mnist('/data/mnist.bin')
order = np.random.default_rng(0).permutation(len(images))[:1200]
x, y = data.mnist_arrays(images[order], labels[order], crop=24)
runs = {}
for path in ("simd", "einsum"):
    nb.use_simd(KERNEL_PATH) if path == "simd" else nb.use_einsum()
    model = pyengine.build({**convnetjs_mnist(), "backend": "numpy"})
    losses = [float(model.train_step(x[i:i + 20], y[i:i + 20])) for i in range(0, 1200, 20)]
    runs[path] = {"losses": losses, "gemm": nb.gemm.__name__}
nb.use_simd(KERNEL_PATH)
runs
"""


@pytest.mark.timeout(400)
def test_the_mnist_convnet_trains_the_same_on_the_simd_path_and_on_the_einsum_fallback(kernels_on):
    kernels_on.page.evaluate("nnplay.loadMnist()")
    runs = kernels_on.run(f"KERNEL_PATH = {KERNEL_PATH!r}\n" + TRAIN_BOTH)
    assert runs["simd"]["gemm"] == "gemm_simd" and runs["einsum"]["gemm"] == "gemm_einsum"
    for path in ("simd", "einsum"):
        losses = runs[path]["losses"]
        assert len(losses) == 60
        first, last = sum(losses[:10]) / 10, sum(losses[-10:]) / 10
        assert last < 0.6 * first, (path, first, last)
    # same seed, same data: only float32 rounding differs, so the first steps agree closely
    for a, b in zip(runs["simd"]["losses"][:5], runs["einsum"]["losses"][:5]):
        assert abs(a - b) < 1e-3 * max(1.0, abs(b)), (runs["simd"]["losses"][:5], runs["einsum"]["losses"][:5])


def test_a_library_that_cannot_load_leaves_the_einsum_path_with_the_reason(kernels_on):
    result = kernels_on.run(
        "from pyengine.backends import numpy_backend as nb\n"
        "open('/tmp/not-a-library.so', 'wb').write(b'this is not wasm')\n"
        "missing = dict(nb.use_simd('/tmp/no-such-file.so')); g1 = nb.gemm.__name__\n"
        "corrupt = dict(nb.use_simd('/tmp/not-a-library.so')); g2 = nb.gemm.__name__\n"
        "{'missing': missing, 'corrupt': corrupt, 'gemm': [g1, g2]}")
    assert result["gemm"] == ["gemm_einsum", "gemm_einsum"]  # a failed load falls back to pure NumPy
    for key in ("missing", "corrupt"):
        assert result[key]["active"] is False and "could not be used" in result[key]["reason"], result
    assert "/tmp/no-such-file.so" in result["missing"]["reason"]


@pytest.mark.timeout(300)
def test_the_page_boots_and_trains_on_einsum_when_the_kernel_file_is_missing(browser, server):
    import harness

    context = browser.new_context()
    page = context.new_page()
    context.route("**/simd/nnplay_simd.so", lambda route: route.fulfill(status=404, body="gone"))
    try:
        page.goto(server.url)
        harness.wait_ready(page)
        result = page.evaluate("code => nnplay.runPython(code)",
                               "import numpy as np, pyengine\nfrom pyengine.backends import numpy_backend as nb\n"
                               "m = pyengine.build({'input': [6, 6, 1], 'layers': [{'type': 'conv2d', 'filters': 2,"
                               " 'kernel_size': 3}, {'type': 'flatten'}, {'type': 'dense', 'units': 3}]})\n"
                               "x = np.random.default_rng(0).random((4, 6, 6, 1), dtype=np.float32)\n"
                               "loss = float(m.train_step(x, np.arange(4) % 3))\n"
                               "{'status': nb.SIMD_STATUS, 'gemm': nb.gemm.__name__, 'finite': bool(np.isfinite(loss))}")
    finally:
        context.close()
    assert result["gemm"] == "gemm_einsum" and result["finite"], result
    assert result["status"]["active"] is False
    assert "SIMD kernels not loaded" in result["status"]["reason"] and "404" in result["status"]["reason"], result


WINDOWS = r"""
import numpy as np
from pyengine.backends import numpy_backend as nb, simd

rng = np.random.default_rng(5)
checked = 0
# (N, H, W, C), window, strides, pads: overlapping and padded windows, C not a multiple of 4, a window
# that is all padding, ties (relu zeros: the first maximum must win) and -inf values
for (n, h, w, c), (ph, pw), (sh, sw), pads in [
        ((2, 24, 24, 8), (2, 2), (2, 2), ((0, 0), (0, 0))), ((3, 12, 12, 16), (3, 3), (3, 3), ((0, 0), (0, 0))),
        ((2, 7, 9, 5), (3, 3), (2, 2), ((1, 1), (1, 1))), ((1, 5, 6, 3), (2, 3), (1, 2), ((1, 0), (0, 2))),
        ((2, 4, 4, 6), (3, 3), (1, 1), ((2, 2), (2, 2))), ((1, 1, 1, 1), (1, 1), (1, 1), ((0, 0), (0, 0)))]:
    x = np.maximum(rng.standard_normal((n, h, w, c), dtype=np.float32), 0)  # many exact ties at 0
    x.flat[::7] = -np.inf
    oh = (h + sum(pads[0]) - ph) // sh + 1
    ow = (w + sum(pads[1]) - pw) // sw + 1
    y, idx = nb.maxpool2d_forward_simd(x, (ph, pw), (sh, sw), pads)
    y0, idx0 = nb.maxpool2d_forward_numpy(x, (ph, pw), (sh, sw), pads)
    assert y.dtype == np.float32 and y.shape == y0.shape == (n, oh, ow, c)
    assert np.array_equal(y, y0) and np.array_equal(idx, idx0), (x.shape, ph, sh, pads)
    gy = rng.standard_normal(y.shape, dtype=np.float32)
    dx = nb.maxpool2d_backward_simd(gy, idx, x.shape, (ph, pw), (sh, sw), pads)
    dx0 = nb.maxpool2d_backward_numpy(gy, idx0, x.shape, (ph, pw), (sh, sw), pads)
    assert dx.shape == x.shape and np.allclose(dx, dx0, atol=1e-6), (x.shape, ph, sh, pads)
    checked += 1
# im2col: padding, strides, dilation, C = 1 (the grayscale input), C not a multiple of 4
for (n, h, w, c), (kh, kw), s, pads, d in [
        ((2, 24, 24, 1), (5, 5), (1, 1), ((2, 2), (2, 2)), (1, 1)), ((2, 12, 12, 8), (5, 5), (1, 1), ((2, 2), (2, 2)), (1, 1)),
        ((1, 9, 8, 3), (3, 3), (2, 2), ((1, 1), (0, 1)), (1, 1)), ((1, 10, 10, 5), (3, 3), (1, 1), ((2, 2), (2, 2)), (2, 2)),
        ((3, 4, 4, 2), (1, 1), (2, 2), ((0, 0), (0, 0)), (1, 1)),
        ((1, 3, 2, 4), (3, 3), (1, 1), ((4, 4), (4, 4)), (1, 1))]:  # windows wholly in the padding
    x = rng.standard_normal((n, h, w, c), dtype=np.float32)[:, ::-1]  # a non-contiguous view
    oh = (h + sum(pads[0]) - d[0] * (kh - 1) - 1) // s[0] + 1
    ow = (w + sum(pads[1]) - d[1] * (kw - 1) - 1) // s[1] + 1
    cols = simd.im2col(x, kh, kw, s, pads, d, oh, ow)  # the kernel itself (im2col_simd leaves C <= 2 to NumPy)
    cols0, oh0, ow0 = nb.im2col_numpy(x, kh, kw, s, pads, d)
    assert (oh, ow) == (oh0, ow0) and cols.shape == cols0.shape and np.array_equal(cols, cols0), (x.shape, kh, s, pads, d)
    assert np.array_equal(nb.im2col_simd(x, kh, kw, s, pads, d)[0], cols0)
    dcols = rng.standard_normal(cols.shape, dtype=np.float32)  # col2im, im2col's adjoint: overlaps add up
    dx = nb.col2im_simd(dcols, x.shape, kh, kw, oh, ow, s, pads, d)
    dx0 = nb.col2im_numpy(dcols, x.shape, kh, kw, oh, ow, s, pads, d)
    assert dx.shape == x.shape and np.allclose(dx, dx0, rtol=1e-5, atol=1e-5), (x.shape, kh, s, pads, d)
    checked += 1
routes = [nb.im2col.__name__, nb.col2im.__name__, nb.maxpool2d_forward.__name__, nb.maxpool2d_backward.__name__]
checked, routes
"""


def test_maxpool_im2col_and_col2im_kernels_match_the_numpy_ones(kernels_on):
    checked, routes = kernels_on.run(WINDOWS)
    assert checked == 12
    assert routes == ["im2col_simd", "col2im_simd", "maxpool2d_forward_simd", "maxpool2d_backward_simd"]


@pytest.mark.timeout(420)
def test_bench_simd_and_dataparallel_parts_run_and_the_workers_stay_in_step(chromium_path, tmp_path):
    """`python3 build.py bench --tiny --only simd,dataparallel`: issue 14's one-run target table (every runner
    interleaved, matmul on both paths, the step profile) and the product's two-worker step against one, which
    must run every timed step on two and match one worker's weights. Checks, never times."""
    import json
    import math
    import subprocess
    import sys

    import harness

    r = subprocess.run([sys.executable, str(harness.ROOT / "build.py"), "bench", "--tiny", "--only", "simd,dataparallel",
                        "--out", str(tmp_path)], cwd=harness.ROOT, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=400)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    rows = json.loads((tmp_path / "bench.json").read_text())["rows"]
    for row in rows:
        assert "value" in row and math.isfinite(row["value"]) and row["value"] > 0, row
    simd = {(row["case"], row["runner"]) for row in rows if row["part"] == "simd"}
    for case in ("MNIST convnet (batch 20)", "CIFAR-10 convnet (batch 4)"):
        for runner in ("nnplay NumPy", "nnplay NumPy + SIMD", "ConvNetJS", "TF.js cpu"):
            assert (case, runner) in simd, (case, runner)
    assert ("matmul 32x32x32", "nnplay NumPy + SIMD") in simd
    assert {row["case"] for row in rows if row["part"] == "profile"} >= {"MNIST (batch 20): optimizer update"}
    dp = [row for row in rows if row["part"] == "dataparallel"]
    two = [row for row in dp if row["runner"] == "2 workers" and "nnplay.train()" not in row["case"]]
    assert len(two) == 2, dp
    for row in two:  # the product's step on two workers: every timed step ran there, same weights as one
        assert row["every_timed_step_on_two"] is True, row
        assert row["max_rel_diff_vs_1_worker"] < 1e-4, row
    assert {row["runner"] for row in dp} == {"1 worker", "2 workers", "speed-up", "auto picks"}, dp
    for row in dp:
        if row["runner"] == "auto picks":
            assert row["value"] in (1, 2) and row["reason"].startswith(("one worker", "two workers")), row
    assert any("nnplay.train()" in row["case"] for row in dp)
    assert "per round" in r.stdout and "load average" in r.stdout
