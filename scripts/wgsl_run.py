#!/usr/bin/env python3
"""pyengine's WGSL kernels and whole training steps on a native GPU (wgpu-py), no browser.

    python3 scripts/wgsl_run.py             # a GPU machine: sets itself up and finishes in under 5 minutes
    python3 scripts/wgsl_run.py --smoke     # tiny sizes, for a CPU adapter (Mesa's lavapipe)
    options: --check-only  --sizes 256,512,1024,2048  --time-limit SECONDS  --json FILE

What it runs, in order, on the best adapter wgpu-native finds (a discrete GPU over an integrated one
over a CPU emulation; Vulkan on Linux):
  1. compiles every kernel of pyengine/backends/webgpu/sources.py (the browser's .wgsl files);
  2. checks each kernel against pyengine's NumPy backend (max |diff| / max |NumPy| <= 1e-4);
  3. trains ConvNetJS's MNIST and CIFAR-10 nets (pyengine.presets) with the browser's own training
     plan (plan.GpuTrainer): 5 steps against NumPy's losses and updated weights, each step from
     NumPy's weights, then timed steps: ms/step, examples/s,
     GFLOP/s and the fraction of the device's FP32 peak, beside NumPy on this machine's CPU;
  4. every playground preset the GPU plan supports, 3 steps against NumPy the same way;
  5. GFLOP/s of matmul and of the conv layers' forward / input-gradient / weight-gradient GEMMs.
Exits 1 when any check fails. FLOPs count 2 per multiply-add of the GEMMs (conv as implicit GEMM;
pooling, activations, loss and optimizer are not counted); the FP32 peak comes from a table of
datasheet figures by device name (PEAKS below), else the line says "unknown peak".

Set-up, unattended: when wgpu and NumPy at the pins of scripts/requirements-wgpu.txt are not
importable, it makes a virtual environment (.venv-wgpu at the repository root, or $NNPLAY_WGPU_VENV),
installs them from PyPI and runs itself again there. wgpu 0.32 needs Python >= 3.11: an older
python3 makes it look for python3.11..3.14 on PATH, then fetch uv (pip) to get a managed Python.
On Linux it checks the Vulkan loader (libvulkan.so.1; as root it apt-get installs libvulkan1 when
missing) and NVIDIA's Vulkan driver manifest (a container started without the "graphics" driver
capability has the driver but no manifest: then it writes one for libGLX_nvidia.so.0 when present).
"""
import argparse
import ctypes.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
REQUIREMENTS = HERE / "requirements-wgpu.txt"
VENV = Path(os.environ.get("NNPLAY_WGPU_VENV", ROOT / ".venv-wgpu"))
MIN_PYTHON = (3, 11)
UV = "uv==0.13.8"
TOLERANCE = 1e-4
STARTED = time.monotonic()

# FP32 (non-tensor-core) peak TFLOP/s from the vendors' datasheets, matched against the adapter's
# device name, longest key first ("H100 PCIe" before "H100").
PEAKS = {
    "H200 NVL": 60.0, "H200": 67.0, "GH200": 67.0, "H100 NVL": 60.0, "H100 PCIe": 51.2, "H100": 67.0,
    "A100": 19.5, "A40": 37.4, "A30": 10.3, "A10G": 31.2, "A10": 31.2, "L40S": 91.6, "L40": 90.5, "L4": 30.3,
    "T4": 8.1, "V100": 15.7, "RTX 6000 Ada": 91.1, "RTX A6000": 38.7, "RTX 4090": 82.6, "RTX 4080": 48.7,
    "RTX 3090": 35.6, "RTX 3080": 29.8,
}


def log(message=""):
    print(message, flush=True)


# ---- set-up: Python, wgpu, NumPy, Vulkan --------------------------------------------------------
def pinned():
    """{name: version} from requirements-wgpu.txt (plain `name==version` lines)."""
    out = {}
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and ";" not in line:  # lines with an environment marker (macOS only) are pip's to judge
            name, _, version = line.partition("==")
            out[name.strip().lower()] = version.strip()
    return out


def missing_requirements():
    from importlib import metadata
    missing = []
    for name, version in pinned().items():
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            have = None
        if have != version:
            missing.append(f"{name}=={version} (have {have or 'none'})")
    return missing


def newer_python():
    if sys.version_info[:2] >= MIN_PYTHON:
        return sys.executable
    for minor in (14, 13, 12, 11):
        found = shutil.which(f"python3.{minor}")
        if found:
            return found
    return None


def run(cmd, **kw):
    log("  $ " + " ".join(map(str, cmd)))
    return subprocess.run([str(c) for c in cmd], **kw)


def set_up():
    """Make VENV with the pinned packages and run this script again inside it (never returns)."""
    venv_python = VENV / "bin" / "python"
    log(f"setting up {VENV} (missing: {', '.join(missing_requirements())})")
    if not venv_python.exists():
        python = newer_python()
        made = python is not None and run([python, "-m", "venv", VENV]).returncode == 0
        if not made:
            shutil.rmtree(VENV, ignore_errors=True)
            made = uv_venv()
        if not made:
            sys.exit(f"could not make a Python >= {MIN_PYTHON[0]}.{MIN_PYTHON[1]} virtual environment at {VENV}: "
                     "install python3-venv (or Python 3.11+) and run again")
    if run([venv_python, "-m", "pip", "--version"], capture_output=True).returncode != 0:
        run([venv_python, "-m", "ensurepip", "--upgrade"])
    install = run([venv_python, "-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", REQUIREMENTS])
    if install.returncode != 0:
        sys.exit(f"pip could not install {REQUIREMENTS.name} into {VENV}")
    os.environ["NNPLAY_WGPU_SETUP_DONE"] = "1"
    os.execv(str(venv_python), [str(venv_python), str(Path(__file__).resolve()), *sys.argv[1:]])


def uv_venv():
    """A venv on a uv-managed Python (when this machine has no Python >= 3.11)."""
    target = VENV.parent / ".uv-bootstrap"
    if run([sys.executable, "-m", "pip", "install", "-q", "--target", target, UV]).returncode != 0:
        return False
    uv = target / "bin" / "uv"
    env = dict(os.environ, PYTHONPATH=str(target))
    ok = run([uv, "venv", "--seed", "--python", "3.12", VENV], env=env).returncode == 0
    return ok and (VENV / "bin" / "python").exists()


def check_vulkan():
    """Linux: make sure the Vulkan loader and NVIDIA's driver manifest are there (see the docstring)."""
    if not sys.platform.startswith("linux"):
        return
    if ctypes.util.find_library("vulkan") is None:
        if os.geteuid() == 0 and shutil.which("apt-get"):
            log("the Vulkan loader (libvulkan.so.1) is missing: installing libvulkan1")
            env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
            if run(["apt-get", "install", "-y", "-q", "libvulkan1"], env=env, capture_output=True).returncode != 0:
                run(["apt-get", "update", "-q"], env=env, capture_output=True)
                run(["apt-get", "install", "-y", "-q", "libvulkan1"], env=env, capture_output=True)
        if ctypes.util.find_library("vulkan") is None:
            log("warning: no Vulkan loader (libvulkan.so.1); wgpu-native may only find an OpenGL or CPU adapter")
    nvidia = Path("/proc/driver/nvidia").exists() or shutil.which("nvidia-smi")
    manifests = [d / "nvidia_icd.json" for d in map(Path, ("/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d",
                                                          "/usr/local/share/vulkan/icd.d"))]
    if nvidia and not any(m.exists() for m in manifests) and not os.environ.get("VK_ICD_FILENAMES"):
        if ctypes.util.find_library("GLX_nvidia"):
            icd = Path(tempfile.mkdtemp(prefix="nnplay-vk-")) / "nvidia_icd.json"
            icd.write_text(json.dumps({"file_format_version": "1.0.0",
                                       "ICD": {"library_path": "libGLX_nvidia.so.0", "api_version": "1.3"}}))
            os.environ["VK_ICD_FILENAMES"] = os.environ["VK_DRIVER_FILES"] = str(icd)
            log(f"NVIDIA driver without a Vulkan manifest: using {icd} (libGLX_nvidia.so.0)")
        else:
            log("warning: an NVIDIA driver is loaded but its Vulkan driver is not installed or not mounted "
                "(in a container: start it with NVIDIA_DRIVER_CAPABILITIES=all, or at least graphics)")


if __name__ == "__main__" and missing_requirements():
    if os.environ.get("NNPLAY_WGPU_SETUP_DONE"):
        sys.exit(f"still missing after set-up: {', '.join(missing_requirements())}")
    set_up()

os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="nnplay-xdg-"))  # quiets wgpu's GL probe
if __name__ == "__main__":
    check_vulkan()

import numpy as np  # noqa: E402
import wgpu  # noqa: E402

sys.path.insert(0, str(ROOT / "pyengine"))
import pyengine  # noqa: E402
from pyengine import presets  # noqa: E402
from pyengine.backends import numpy_backend as nb  # noqa: E402
from pyengine.backends.webgpu.kernels import Eager  # noqa: E402
from pyengine.backends.webgpu.plan import GpuTrainer, unsupported  # noqa: E402
from pyengine.backends.webgpu.sources import KERNELS, OVERRIDES, source  # noqa: E402

ADAPTER_RANK = {"DiscreteGPU": 0, "IntegratedGPU": 1, "VirtualGPU": 2, "Unknown": 3, "CPU": 4}
BACKEND_RANK = {"Vulkan": 0, "Metal": 0, "D3D12": 0, "OpenGL": 1}


class WgpuDevice:
    """kernels.py's device interface (as device.BrowserDevice over web/gpu.js) on wgpu-py's native API;
    handles are ints, as in gpu.js."""

    def __init__(self):
        adapters = wgpu.gpu.enumerate_adapters_sync()
        if not adapters:
            sys.exit("wgpu-native found no adapter (no GPU driver for Vulkan/Metal/D3D12, no lavapipe)")
        adapters.sort(key=lambda a: (ADAPTER_RANK.get(a.info["adapter_type"], 3),
                                     BACKEND_RANK.get(a.info["backend_type"], 2)))
        self.all_adapters = [a.summary for a in adapters]
        self.adapter = adapters[0]
        limits = self.adapter.limits
        self.device = self.adapter.request_device_sync(required_limits={
            "max-storage-buffer-binding-size": limits["max-storage-buffer-binding-size"],
            "max-buffer-size": limits["max-buffer-size"]})
        self.info = dict(self.adapter.info)
        self.name = f"{self.info['device']} ({self.info['backend_type']}, {self.info['adapter_type']})"
        self.is_cpu = self.info["adapter_type"] == "CPU"
        self.objects, self.next_id, self.pipelines = {}, 1, {}
        self.kernels_used = set()
        self.compile_seconds = 0.0

    def _store(self, obj):
        self.objects[self.next_id] = obj
        self.next_id += 1
        return self.next_id - 1

    def create_buffer(self, nbytes, uniform=False):
        usage = (wgpu.BufferUsage.UNIFORM | wgpu.BufferUsage.COPY_DST if uniform else
                 wgpu.BufferUsage.STORAGE | wgpu.BufferUsage.COPY_SRC | wgpu.BufferUsage.COPY_DST)
        return self._store(self.device.create_buffer(size=max(16, -(-int(nbytes) // 16) * 16), usage=usage))

    def write(self, handle, array, offset=0):
        array = np.ascontiguousarray(array)
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        self.device.queue.write_buffer(self.objects[handle], offset, array)

    def read(self, handle, count):
        data = self.device.queue.read_buffer(self.objects[handle], 0, int(count) * 4)
        return np.frombuffer(data, np.float32, count).copy()

    def destroy(self, handle):
        obj = self.objects.pop(handle, None)
        if isinstance(obj, wgpu.GPUBuffer):
            obj.destroy()

    def pipeline(self, name, **constants):
        consts = {k: v for k, v in constants.items() if k in OVERRIDES.get(name, ())}
        key = (name, tuple(sorted(consts.items())))
        self.kernels_used.add(name)
        if key not in self.pipelines:
            t0 = time.perf_counter()
            module = self.device.create_shader_module(code=source(name), label=name)
            self.pipelines[key] = self._store(self.device.create_compute_pipeline(
                layout="auto", compute={"module": module, "entry_point": "main", "constants": consts}))
            self.compile_seconds += time.perf_counter() - t0
        return self.pipelines[key]

    def program(self, ops):
        recorded = []
        for op in ops:
            if op[0] == "copy":
                recorded.append(("copy", self.objects[op[1]], self.objects[op[2]], int(op[3])))
                continue
            if op[0] != "dispatch":
                raise ValueError(f"unknown op {op[0]!r} (WgpuDevice knows dispatch and copy)")
            _, pipe_id, buffers, x, y, z = op
            pipe = self.objects[pipe_id]
            entries = [{"binding": i, "resource": {"buffer": self.objects[h]}}
                       for i, h in enumerate(buffers) if h is not None]
            group = self.device.create_bind_group(layout=pipe.get_bind_group_layout(0), entries=entries)
            recorded.append(("dispatch", pipe, group, (x, y, z)))
        return self._store(recorded)

    def _encode(self, encoder, program):
        compute = None
        for op in self.objects[program]:
            if op[0] == "copy":
                if compute is not None:
                    compute.end()
                    compute = None
                encoder.copy_buffer_to_buffer(op[1], 0, op[2], 0, op[3])
                continue
            if compute is None:
                compute = encoder.begin_compute_pass()
            compute.set_pipeline(op[1])
            compute.set_bind_group(0, op[2])
            compute.dispatch_workgroups(*op[3])
        if compute is not None:
            compute.end()

    def run(self, program, read=None, count=0, times=1):
        """Submit `program` (`times` times in one submission); with read=buffer, return its first
        `count` floats (which waits for the work)."""
        encoder = self.device.create_command_encoder()
        for _ in range(times):
            self._encode(encoder, program)
        self.device.queue.submit([encoder.finish()])
        if read is None:
            self.device.queue.on_submitted_work_done_sync()
            return None
        return self.read(read, count)

    def release_program(self, program):
        self.objects.pop(program, None)


def peak_tflops(device_name):
    for key in sorted(PEAKS, key=len, reverse=True):
        if key.lower() in device_name.lower():
            return key, PEAKS[key]
    return None, None


def of_peak(gflops, peak):
    return f"{100 * gflops / (peak * 1000):5.1f}% of peak" if peak else "unknown peak"


def err(got, want):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    return float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-6))


# ---- 1. compile every kernel --------------------------------------------------------------------
def compile_all(dev):
    """(compiled names, {name: error}) for every kernel with its default constants."""
    ok, failed = [], {}
    for name in KERNELS:
        try:
            module = dev.device.create_shader_module(code=source(name), label=name)
            dev.device.create_compute_pipeline(layout="auto", compute={"module": module, "entry_point": "main"})
            ok.append(name)
        except Exception as e:  # noqa: BLE001 - reported, the run goes on
            failed[name] = str(e).splitlines()[0][:200]
    return ok, failed


# ---- 2. each kernel against NumPy ----------------------------------------------------------------
def checks(E, rng):
    """(name, error) of each kernel against pyengine's NumPy backend."""
    rnd = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    out = []
    for m, k, n in [(5, 7, 3), (65, 33, 70), (128, 64, 96), (20, 784, 10)]:
        a, b, bias = rnd(m, k), rnd(k, n), rnd(n)
        want = a.astype(np.float64) @ b
        out.append((f"matmul {m}x{k}x{n}", err(E.matmul(a, b), want)))
        out.append((f"matmul {m}x{k}x{n} A^T, bias, relu", err(E.matmul(np.ascontiguousarray(a.T), b, trans_a=True,
                                                                      bias=bias, act="relu"), np.maximum(want + bias, 0))))
        out.append((f"matmul {m}x{k}x{n} split-K 4", err(E.matmul(a, b, shape=(4, 8, 4)), want)))
    a, b = rnd(3, 17, 8), rnd(3, 8, 20)
    out.append(("matmul batched 3", err(E.matmul(a, b), a.astype(np.float64) @ b)))
    for xs, (kh, kw, f), s, p in [((4, 24, 24, 1), (5, 5, 8), (1, 1), ((2, 2), (2, 2))),
                                  ((2, 10, 9, 3), (3, 3, 4), (2, 2), ((1, 0), (1, 1)))]:
        x, w, bias = rnd(*xs).astype(np.float64), rnd(kh, kw, xs[3], f).astype(np.float64), rnd(f)
        y, cols = nb.conv2d_forward(x, w, bias.astype(np.float64), s, p, (1, 1))
        dy = rng.standard_normal(y.shape)
        tag = f"conv2d {xs} {kh}x{kw}x{f} s{s[0]}"
        out.append((tag, err(E.conv2d(x, w, bias, s, p), y)))
        out.append((tag + " dx", err(E.conv2d_grad_input(dy, w, xs, s, p), nb.conv2d_backward_input(dy, w, xs, s, p, (1, 1)))))
        out.append((tag + " dw", err(E.conv2d_grad_weight(x, dy, w.shape, s, p), nb.conv2d_backward_weight(dy, cols, w.shape))))
    x = rnd(2, 9, 7, 4)
    pool, s, p = (3, 3), (2, 2), ((1, 1), (1, 1))
    y, idx = nb.maxpool2d_forward(x, pool, s, p)
    dy = rnd(*y.shape)
    out.append(("maxpool", err(E.maxpool(x, pool, s, p)[0], y)))
    out.append(("maxpool grad", err(E.maxpool_grad(dy, idx.astype(np.uint32), x.shape, pool, s, p),
                                    nb.maxpool2d_backward(dy, idx, x.shape, pool, s, p))))
    ya, counts = nb.avgpool2d_forward(x, pool, s, p)
    out.append(("avgpool", err(E.avgpool(x, pool, s, p), ya)))
    out.append(("avgpool grad", err(E.avgpool_grad(dy, x.shape, pool, s, p), nb.avgpool2d_backward(dy, counts, x.shape, pool, s, p))))
    z = rnd(7, 45) * 3
    out.append(("relu", err(E.activation(z, "relu"), np.maximum(z, 0))))
    out.append(("tanh", err(E.activation(z, "tanh"), np.tanh(z.astype(np.float64)))))
    y_t = np.tanh(z.astype(np.float64))
    dy = rnd(7, 45)
    out.append(("tanh grad", err(E.activation_grad(z, y_t.astype(np.float32), dy, "tanh"), dy * (1 - y_t ** 2))))
    dy = rnd(1000, 9)
    out.append(("bias grad (colsum)", err(E.colsum(dy), dy.astype(np.float64).sum(0))))
    logits, labels = rnd(37, 10), rng.integers(0, 10, 37)
    loss, grad = E.loss(logits, np.eye(10, dtype=np.float32)[labels])
    z = logits.astype(np.float64) - logits.max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    out.append(("softmax cross-entropy", err(loss, -logp[np.arange(37), labels].mean())))
    out.append(("softmax cross-entropy grad", err(grad, (np.exp(logp) - np.eye(10)[labels]) / 37)))
    w, g = rnd(50), rnd(50)
    cfg = {"type": "sgd", "lr": 0.1, "l1": 0.0, "l2": 0.0, "clipvalue": None}
    out.append(("sgd update", err(E.optimizer_step(cfg, w, g)[0], w - 0.1 * g.astype(np.float64))))
    return out


# ---- 3./4. whole training steps ---------------------------------------------------------------------
def step_flops(model, batch):
    """GEMM FLOPs of one training step: forward, input gradient (not for the first layer), weight gradient."""
    total = 0
    for i, cfg in enumerate(model.nspec.layers):
        if cfg["type"] not in ("dense", "conv2d"):
            continue
        out = int(np.prod(cfg["output_shape"]))
        fan_in = int(np.prod(model.params[cfg["name"]]["weight"].data.shape[:-1]))
        fwd = 2 * batch * out * fan_in
        total += fwd * (3 if i > 0 else 2)
    return total


def batches_for(model, batch, count, rng):
    """Random inputs and class labels for `model` (the speed does not depend on the content)."""
    classes = model.output_shape[-1]
    return [(rng.random((batch, *model.input_shape), dtype=np.float32), rng.integers(0, classes, batch))
            for _ in range(count)]


def parity(dev, spec, batch, steps, rng):
    """Worst (loss, weight) error of the GPU plan against NumPy over `steps` steps (the loss relative to
    NumPy's, a weight's difference relative to the model's largest weight: a bias near zero after
    adadelta's first steps is no scale for float32 rounding). Before each step
    the GPU gets NumPy's weights and optimizer state again, so each step is compared from the same
    start (float32 rounding differences would otherwise grow step by step in a chaotic fit on
    random data, and say nothing about the kernels)."""
    ref = pyengine.build({**spec, "backend": "numpy"})
    model = pyengine.build({**spec, "backend": "numpy"})
    data = batches_for(model, batch, steps, rng)
    trainer = GpuTrainer(model, dev)
    worst_loss = worst_weight = 0.0
    try:
        for x, y in data:
            model.load_state_dict(ref.state_dict())
            model.optimizer.load_state_dict(ref.optimizer.state_dict())
            trainer.push()
            want = ref.train_step(x, y)
            got = float(trainer.step(x, y)[0])
            trainer.pull()
            worst_loss = max(worst_loss, abs(got - want) / max(abs(want), 1e-12))
            a, b = model.state_dict(), ref.state_dict()
            scale = max(float(np.abs(v).max()) for v in b.values())  # the model's largest weight
            worst_weight = max([worst_weight] + [float(np.abs(a[k] - b[k]).max()) / scale for k in b])
    finally:
        trainer.release()
    return worst_loss, worst_weight


def time_training(dev, spec, batch, min_time, rng, max_steps):
    """(GPU s/step, NumPy s/step on this CPU, FLOPs per step) for `spec` at `batch`."""
    model = pyengine.build({**spec, "backend": "numpy"})
    data = batches_for(model, batch, 4, rng)
    trainer = GpuTrainer(model, dev)
    try:
        gpu = per_step(lambda i: trainer.step(*data[i % 4]), min_time, max_steps)
    finally:
        trainer.release()
    cpu_model = pyengine.build({**spec, "backend": "numpy"})
    cpu = per_step(lambda i: cpu_model.train_step(*data[i % 4]), min_time, max_steps)
    return gpu, cpu, step_flops(model, batch)


def per_step(step, min_time, max_steps):
    """Seconds per call of step(i): 2 warm-up calls (the first records and compiles), then calls
    until min_time has passed or max_steps were made. Every GPU step reads its loss back (synchronous)."""
    step(0)
    step(1)
    n, t0 = 0, time.perf_counter()
    while n < max_steps and (n == 0 or time.perf_counter() - t0 < min_time):
        step(n)
        n += 1
    return (time.perf_counter() - t0) / n


# ---- 5. kernel GFLOP/s --------------------------------------------------------------------------
def time_ops(E, ops, out, flops, min_time):
    """GFLOP/s of `ops`: one warm-up, then the program repeated in one submission until it lasts min_time."""
    prog = E.dev.program(ops)
    try:
        E.dev.run(prog, read=out, count=1)  # warm-up
        times = 1
        while True:
            t0 = time.perf_counter()
            E.dev.run(prog, read=out, count=1, times=times)
            elapsed = time.perf_counter() - t0
            if elapsed >= min_time or times >= 4096:
                return flops * times / elapsed / 1e9
            times = min(4096, times * max(2, int(min_time / max(elapsed, 1e-6))))
    finally:
        E.dev.release_program(prog)


CONV_LAYERS = [("32x32x32x16, 32 3x3", (32, 32, 32, 16), 32, 3),
               ("MNIST conv1 20x24x24x1, 8 5x5", (20, 24, 24, 1), 8, 5),
               ("MNIST conv2 20x12x12x8, 16 5x5", (20, 12, 12, 8), 16, 5),
               ("CIFAR conv1 4x32x32x3, 16 5x5", (4, 32, 32, 3), 16, 5),
               ("CIFAR conv2 4x16x16x16, 20 5x5", (4, 16, 16, 16), 20, 5),
               ("CIFAR conv3 4x8x8x20, 20 5x5", (4, 8, 8, 20), 20, 5)]


def kernel_timings(E, rng, sizes, convs, min_time, deadline):
    rows = []
    for n in sizes:
        if time.monotonic() > deadline:
            rows.append((f"matmul {n}", None))
            continue
        a, b, c = E.upload(rng.standard_normal((n, n))), E.upload(rng.standard_normal((n, n))), E.empty(n * n)
        rows.append((f"matmul {n}", [time_ops(E, E.k.matmul_op(a, b, c, n, n, n), c, 2 * n ** 3, min_time)]))
        E.release()
    for label, xs, f, k in convs:
        if time.monotonic() > deadline:
            rows.append((f"conv2d {label}", None))
            continue
        n, h, w, c = xs
        p = k // 2
        geo = (xs, (k, k, c, f), (h, w), (1, 1), ((p, p), (p, p)), (1, 1))
        x, wt = E.upload(rng.standard_normal(xs)), E.upload(rng.standard_normal((k, k, c, f)))
        y, dx, dw = E.upload(rng.standard_normal((n, h, w, f))), E.empty(n * h * w * c), E.empty(k * k * c * f)
        flops = 2 * n * h * w * f * k * k * c
        rows.append((f"conv2d {label}", [time_ops(E, E.k.conv2d_op(x, wt, None, y, *geo), y, flops, min_time),
                                         time_ops(E, E.k.conv2d_grad_input_op(y, wt, dx, *geo), dx, flops, min_time),
                                         time_ops(E, E.k.conv2d_grad_weight_op(x, y, dw, *geo), dw, flops, min_time)]))
        E.release()
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (a CPU adapter such as lavapipe)")
    parser.add_argument("--check-only", action="store_true", help="compile and compare with NumPy, no timings")
    parser.add_argument("--sizes", help="matmul sizes to time (default 256,512,1024,2048; --smoke 64,128)")
    parser.add_argument("--time-limit", type=float,
                        help="seconds from start after which timing sections are skipped (default 270; "
                             "on a CPU adapter 600)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    dev = WgpuDevice()
    smoke = args.smoke or dev.is_cpu
    deadline = STARTED + (args.time_limit or (600.0 if dev.is_cpu else 270.0))
    peak_key, peak = peak_tflops(dev.info["device"])
    log(f"wgpu {wgpu.__version__}, numpy {np.__version__}, Python {sys.version.split()[0]}")
    log("adapters: " + "; ".join(dev.all_adapters))
    log(f"using: {dev.name}; FP32 peak: " + (f"{peak:g} TFLOP/s ({peak_key} datasheet)" if peak else "unknown peak"))
    if dev.is_cpu:
        log("note: a CPU adapter (software emulation): smoke sizes; these are not GPU figures")
    results = {"adapter": dev.info, "peak_tflops": peak, "smoke": smoke, "failures": []}
    failures = results["failures"]

    compiled, failed = compile_all(dev)
    log(f"\n1. compile: {len(compiled)} of {len(KERNELS)} kernels" + (f"; FAILED: {failed}" if failed else ""))
    failures += [f"compile {k}: {v}" for k, v in failed.items()]

    E = Eager(dev)
    rng = np.random.default_rng(0)
    found = checks(E, rng)
    E.release()
    worst = max(e for _, e in found)
    log(f"\n2. kernels against NumPy ({len(found)} cases, worst error {worst:.2e}, bound {TOLERANCE:g}):")
    for name, e in found:
        log(f"  {'ok ' if e <= TOLERANCE else 'BAD'} {e:9.2e}  {name}")
    failures += [f"kernel {name}: error {e:.2e}" for name, e in found if e > TOLERANCE]
    results["kernel_checks"] = dict(found)

    nets = [("MNIST convnet", presets.convnetjs_mnist(), [20] if smoke else [20, 256]),
            ("CIFAR-10 convnet", presets.convnetjs_cifar10(), [4] if smoke else [4, 128])]
    log("\n3. training steps (ConvNetJS's nets, adadelta; GPU = the browser's training plan):")
    results["training"] = []
    for label, spec, batch_sizes in nets:
        worst_loss, worst_weight = parity(dev, spec, batch_sizes[0], 5, rng)
        ok = max(worst_loss, worst_weight) <= TOLERANCE
        log(f"  {'ok ' if ok else 'BAD'} {label}: 5 steps at batch {batch_sizes[0]} against NumPy: losses within "
            f"{worst_loss:.1e}, weights within {worst_weight:.1e} (relative)")
        if not ok:
            failures.append(f"training {label}: loss / weights differ by {worst_loss:.2e} / {worst_weight:.2e}")
        if args.check_only:
            continue
        for batch in batch_sizes:
            if time.monotonic() > deadline:
                log(f"      {label} batch {batch}: skipped (time limit)")
                continue
            gpu, cpu, flops = time_training(dev, spec, batch, 0.3 if smoke else 1.0, rng, 20 if smoke else 500)
            gflops = flops / gpu / 1e9
            log(f"      batch {batch:>4}: {gpu * 1e3:8.2f} ms/step, {batch / gpu:>10,.0f} examples/s, "
                f"{gflops:8.2f} GFLOP/s ({of_peak(gflops, peak)}); NumPy on this CPU {batch / cpu:>9,.0f} examples/s")
            results["training"].append({"net": label, "batch": batch, "gpu_s_per_step": gpu, "cpu_s_per_step": cpu,
                                        "gflop_per_step": flops / 1e9, "gflops": gflops})

    log("\n4. playground presets on the GPU plan (3 steps against NumPy):")
    for name, preset in presets.playground_presets().items():
        spec = preset["spec"]
        why = unsupported(pyengine.build({**spec, "backend": "numpy"}))
        if why:
            log(f"  --  {name}: not in the GPU plan ({', '.join(why)})")
            continue
        try:
            worst_loss, worst_weight = parity(dev, spec, 8, 3, rng)
        except Exception as e:  # noqa: BLE001 - reported as a failure, the run goes on
            failures.append(f"preset {name}: {type(e).__name__}: {e}")
            log(f"  BAD {name}: {type(e).__name__}: {e}")
            continue
        ok = max(worst_loss, worst_weight) <= TOLERANCE
        log(f"  {'ok ' if ok else 'BAD'} {name}: losses within {worst_loss:.1e}, weights within {worst_weight:.1e}")
        if not ok:
            failures.append(f"preset {name}: loss / weights differ by {worst_loss:.2e} / {worst_weight:.2e}")

    if not args.check_only:
        sizes = [int(s) for s in (args.sizes or ("64,128" if smoke else "256,512,1024,2048")).split(",") if s]
        convs = CONV_LAYERS[1:3] if smoke else CONV_LAYERS
        log("\n5. kernels, GFLOP/s (conv: forward | input gradient | weight gradient):")
        E = Eager(dev)
        rows = kernel_timings(E, rng, sizes, convs, 0.05 if smoke else 0.2, deadline)
        results["kernels"] = {}
        for name, gflops in rows:
            if gflops is None:
                log(f"  {name:38s} skipped (time limit)")
                continue
            results["kernels"][name] = gflops
            log(f"  {name:38s} " + " | ".join(f"{g:9.2f}" for g in gflops) + f"   best {of_peak(max(gflops), peak)}")

    not_run = sorted(set(KERNELS) - dev.kernels_used)
    log(f"\nkernels run: {len(dev.kernels_used & set(KERNELS))} of {len(KERNELS)}"
        + (f" (compiled but not run: {', '.join(not_run)})" if not_run else "")
        + f"; pipeline compile time {dev.compile_seconds:.2f} s; total {time.monotonic() - STARTED:.0f} s")
    results["kernels_not_run"] = not_run
    results["seconds"] = time.monotonic() - STARTED
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str) + "\n")
    log("FAILED: " + "; ".join(failures) if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
