"""nnplay's side of the benchmark. bench/run.py sends this file's text to the worker (Pyodide) with
nnplay.runPython and calls its functions there; it also imports it in CPython for a reference row.

Every function returns JSON-ready values. Nothing here fakes a number: a runner that cannot run
returns {"na": "reason"} and the table shows "n/a (reason)".
"""
import asyncio
import sys
import time

import numpy as np

import pyengine
from pyengine import data
from pyengine.backends import numpy_backend

IN_BROWSER = sys.platform == "emscripten"


# ---- data: exactly what bench/peers.js builds for ConvNetJS and TF.js ------------------------------
def mnist_examples(path, n):
    """n MNIST digits, central 24x24 crops in [0, 1]: indices (i * 7) % count spread over every class
    (the file is grouped by digit)."""
    images, labels = data.load_mnist(path)
    idx = (np.arange(n) * 7) % len(images)
    return data.mnist_arrays(images[idx], labels[idx], crop=24)


def synthetic_images(n, h, w, c):
    """Deterministic stand-in for CIFAR-10 (not available offline; speed does not depend on content):
    x[i, y, x, ch] = ((131 i + 31 y + 17 x + 7 ch) mod 255) / 255, label i mod 10."""
    i, yy, xx, ch = np.ix_(np.arange(n), np.arange(h), np.arange(w), np.arange(c))
    x = ((i * 131 + yy * 31 + xx * 17 + ch * 7) % 255).astype(np.float32) / np.float32(255)
    return x, np.arange(n) % 10


def examples(dataset, n, mnist_path):
    if dataset == "mnist":
        return mnist_examples(mnist_path, n)
    return synthetic_images(n, *dataset)


# ---- backends -----------------------------------------------------------------------------------
def webgpu_unavailable():
    """None when nnplay's WebGPU backend can train here, else the reason."""
    try:
        import pyengine.backends.webgpu  # noqa: F401  (issue 4; absent in older builds)
    except ImportError:
        return "pyengine has no WebGPU backend in this build"
    if not IN_BROWSER:
        return "WebGPU needs the browser"
    if not hasattr(pyengine.model.Model, "set_backend"):
        return "pyengine's Model cannot switch to WebGPU in this build (no Model.set_backend)"
    return None


def _model(spec, backend):
    """The model on exactly `backend`, or on whatever "auto" picks; raises BackendMissing when the
    model is not on the backend asked for by name (the engine falls back to NumPy and says why)."""
    model = pyengine.build({**spec, "backend": backend})
    actual = getattr(model, "backend", "numpy")
    if backend != "auto" and actual != backend:
        raise BackendMissing(f"the model runs on {actual}: {getattr(model, 'backend_notice', None) or 'no reason given'}")
    return model


class BackendMissing(Exception):
    pass


# ---- training examples/s ------------------------------------------------------------------------
def _runner(spec, dataset, n, mnist_path, backend):
    """(x, y, model) for a training benchmark; raises BackendMissing (with why) when `backend` is missing."""
    why = backend == "webgpu" and webgpu_unavailable()
    if why:
        raise BackendMissing(why)
    x, y = examples(dataset, n, mnist_path)
    return x, y, _model(spec, backend)


def train_rate(spec, dataset, batch, steps, repeats, mnist_path="/data/mnist.bin", backend="numpy", warmup=3,
               target_s=None, kernels="einsum"):
    """Examples/s of model.train_step over `steps` batches per repeat (best and every repeat), after
    `warmup` steps. With target_s, a slow runner times fewer steps (at least 1) so a repeat lasts about
    target_s: the last warm-up step's time decides (bench/peers.js does the same for the peers).
    On the NumPy backend in the browser, `kernels` picks "einsum" (pure NumPy) or "simd" (issue 14)."""
    if backend == "numpy" and IN_BROWSER:
        return on_path(kernels, _train_rate, spec, dataset, batch, steps, repeats, mnist_path, backend, warmup,
                       target_s)
    return _train_rate(spec, dataset, batch, steps, repeats, mnist_path, backend, warmup, target_s)


def _train_rate(spec, dataset, batch, steps, repeats, mnist_path, backend, warmup, target_s):
    try:
        x, y, model = _runner(spec, dataset, steps * batch, mnist_path, backend)
    except BackendMissing as e:
        return {"na": str(e)}
    step_time = None
    for i in range(warmup):  # first-call costs: allocations, kernel compilation
        j = i % steps
        t0 = time.perf_counter()
        model.train_step(x[j * batch:(j + 1) * batch], y[j * batch:(j + 1) * batch])
        step_time = time.perf_counter() - t0
    if target_s and step_time:
        steps = max(1, min(steps, round(target_s / step_time)))
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for i in range(steps):
            model.train_step(x[i * batch:(i + 1) * batch], y[i * batch:(i + 1) * batch])
        rates.append(steps * batch / (time.perf_counter() - t0))
    result = {"value": max(rates), "rates": rates, "steps": steps}
    if backend == "auto":  # what auto chose (its trial, if any, ran in the warm-up) and why
        status = getattr(model, "backend_status", None) or {}
        result.update(backend=model.backend, reason=status.get("reason"))
    return result


async def train_for_memory(spec, dataset, batch, steps, mnist_path="/data/mnist.bin", backend="numpy"):
    """Train `steps` steps, yielding to the event loop between steps so the driver can sample the
    heaps; returns the worker's wasm memory (Pyodide's linear memory only grows: its size is the peak)."""
    try:
        x, y, model = _runner(spec, dataset, steps * batch, mnist_path, backend)
    except BackendMissing as e:
        return {"na": str(e)}
    for i in range(steps):
        model.train_step(x[i * batch:(i + 1) * batch], y[i * batch:(i + 1) * batch])
        await asyncio.sleep(0)
    return {"wasm_bytes": wasm_bytes()}


def wasm_bytes():
    if not IN_BROWSER:
        return None
    import pyodide_js  # the worker's Pyodide API object; _module is its Emscripten module

    return pyodide_js._module.HEAP8.length


# ---- kernels: GFLOP/s ---------------------------------------------------------------------------
def _best_seconds(fn, min_time, repeats=3):
    """Best per-call time: each repeat doubles its call count until it lasts min_time."""
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        calls, elapsed = 1, 0.0
        while True:
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            elapsed = time.perf_counter() - t0
            if elapsed >= min_time:
                break
            calls *= 2
        best = min(best, elapsed / calls)
    return best


def matmul_gflops(sizes, min_time, backend="numpy", kernels="einsum"):
    """GFLOP/s of an (n x n) @ (n x n) float32 product (2 n^3 flop) through numpy_backend.gemm."""
    if backend != "numpy":
        return [_webgpu_kernel("matmul", n, min_time) for n in sizes]
    if IN_BROWSER:
        return on_path(kernels, _matmul_gflops, sizes, min_time)
    return _matmul_gflops(sizes, min_time)


def _matmul_gflops(sizes, min_time):
    rng = np.random.default_rng(0)
    out = []
    for n in sizes:
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        out.append({"value": 2 * n ** 3 / _best_seconds(lambda: numpy_backend.gemm(a, b), min_time) / 1e9})
    return out


def conv_flop(shape):
    n, h, w, c, f, k = (shape[key] for key in ("n", "h", "w", "c", "f", "k"))
    return 2 * n * h * w * f * k * k * c  # "same" padding, stride 1: OH = H, OW = W


def conv2d_gflops(shapes, min_time, backend="numpy", kernels="einsum"):
    """GFLOP/s of the conv2d forward (im2col + gemm, bias added) for NHWC shapes with 'same' padding."""
    if backend != "numpy":
        return [_webgpu_kernel("conv2d", s, min_time) for s in shapes]
    if IN_BROWSER:
        return on_path(kernels, _conv2d_gflops, shapes, min_time)
    return _conv2d_gflops(shapes, min_time)


def _conv2d_gflops(shapes, min_time):
    rng = np.random.default_rng(0)
    out = []
    for s in shapes:
        x = rng.standard_normal((s["n"], s["h"], s["w"], s["c"]), dtype=np.float32)
        w = rng.standard_normal((s["k"], s["k"], s["c"], s["f"]), dtype=np.float32)
        b = np.zeros(s["f"], np.float32)
        p = s["k"] // 2
        run = lambda: numpy_backend.conv2d_forward(x, w, b, (1, 1), ((p, p), (p, p)), (1, 1))  # noqa: E731
        out.append({"value": conv_flop(s) / _best_seconds(run, min_time) / 1e9})
    return out


def _webgpu_kernel(kind, size, min_time):
    reason = webgpu_unavailable()
    if reason:
        return {"na": reason}
    try:
        from pyengine.backends.webgpu import bench as webgpu_bench
    except ImportError:
        return {"na": "pyengine.backends.webgpu.bench is missing"}
    fn = getattr(webgpu_bench, f"{kind}_gflops", None)
    if fn is None:
        return {"na": f"pyengine.backends.webgpu.bench has no {kind}_gflops"}
    return {"value": float(fn(size, min_time=min_time))}


# ---- NumPy + SIMD (issue 14) --------------------------------------------------------------------
def simd_unavailable():
    """None when the worker loaded the WebAssembly SIMD kernels, else the reason."""
    if not IN_BROWSER:
        return "the SIMD kernels are WebAssembly (the browser only); CPython uses BLAS"
    status = numpy_backend.SIMD_STATUS
    if not (status.get("active") or status.get("path")):
        return status.get("reason") or "not loaded"
    return None


def on_path(path, fn, *args, **kwargs):
    """fn(*args, **kwargs) with the NumPy engine's products on `path`: "simd" (the kernels) or "einsum"
    (the pure-NumPy fallback), then back to how it was. A missing path returns {"na": reason}."""
    status = dict(numpy_backend.SIMD_STATUS)
    if path == "simd":
        why = simd_unavailable()
        if why:
            return {"na": why}
        numpy_backend.use_simd(status.get("path"))
    else:
        numpy_backend.use_einsum()
    try:
        return fn(*args, **kwargs)
    finally:
        if status.get("active"):
            numpy_backend.use_simd(status["path"])
        else:
            numpy_backend.use_einsum()
            numpy_backend.SIMD_STATUS.update(status)


# The NumPy engine's leaf kernels by the step-profile category they count in (none calls another).
PROFILE_KERNELS = {
    "matrix products": ("gemm",),
    "im2col/col2im": ("im2col", "col2im"),
    "pooling": ("maxpool2d_forward", "maxpool2d_backward", "avgpool2d_forward", "avgpool2d_backward"),
}


def step_profile(spec, dataset, batch, steps, mnist_path="/data/mnist.bin", warmup=2, kernels="einsum",
                 backend="numpy"):
    """Milliseconds per train_step spent in the NumPy engine's matrix products, im2col/col2im and
    pooling (each leaf kernel timed by wrapping it in numpy_backend), the optimizer's update, and the
    rest ("Python and other NumPy": activations, loss, autograd), on the `kernels` path."""
    if backend != "numpy":
        return {"na": "the step profile times the NumPy engine's kernels"}
    if IN_BROWSER:
        return on_path(kernels, _step_profile, spec, dataset, batch, steps, mnist_path, warmup)
    return _step_profile(spec, dataset, batch, steps, mnist_path, warmup)


def _step_profile(spec, dataset, batch, steps, mnist_path, warmup):
    x, y, model = _runner(spec, dataset, steps * batch, mnist_path, "numpy")
    for _ in range(warmup):
        model.train_step(x[:batch], y[:batch])
    spent = dict.fromkeys(PROFILE_KERNELS, 0.0)
    originals = {}

    def timed(category, fn):
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[category] += time.perf_counter() - t0
        return wrapper

    for category, names in PROFILE_KERNELS.items():
        for name in names:
            originals[name] = getattr(numpy_backend, name)
            setattr(numpy_backend, name, timed(category, originals[name]))
    spent["optimizer update"] = 0.0  # the optimizer's element-wise update (an instance attribute, undone below)
    model.optimizer.step = timed("optimizer update", model.optimizer.step)
    try:
        t0 = time.perf_counter()
        for i in range(steps):
            model.train_step(x[i * batch:(i + 1) * batch], y[i * batch:(i + 1) * batch])
        total = time.perf_counter() - t0
    finally:
        for name, fn in originals.items():
            setattr(numpy_backend, name, fn)
        del model.optimizer.step
    ms = {k: 1000 * v / steps for k, v in spent.items()}
    ms["Python and other NumPy"] = 1000 * total / steps - sum(ms.values())
    ms["total"] = 1000 * total / steps
    return {"value": ms["total"], "ms": ms, "steps": steps}
