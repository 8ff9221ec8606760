"""The GPU device as Python sees it: buffers, pipelines and recorded programs by integer handle.

`BrowserDevice` drives WebGPU through web/gpu.js, imported as the JS module `nnplay_gpu` (the
worker registers it). Every promise gpu.js returns is awaited with `pyodide.ffi.run_sync`, which
suspends Python with JSPI until the promise settles, so this API is synchronous. Any failure
(device lost, out of memory, validation, WGSL compile error) raises `GPUError`.

scripts/wgsl_run.py implements the same small interface with wgpu-py, so kernels.py runs on
either: create_buffer, write, read, destroy, pipeline, program, run.

Compiling: `pipeline()` returns a handle at once and gpu.js compiles in the background, all of a
plan's new pipelines at once, while Python records the rest; `program()` waits for
them. Pipelines are cached per device (here and in gpu.js) by kernel and constants, shader modules
by kernel, so a second model, preset or reset of the same shapes compiles nothing. While a batch of
new pipelines compiles, the page gets `{event: "gpu", phase: "compiling", adapter}` and then `{event: "gpu", phase: "ready", pipelines,
seconds}` (or `phase: "failed", message`).

Adapter facts: `info` holds GPUAdapter.info (vendor, architecture, device, description) and
isFallbackAdapter; `software` names a software emulation (SwiftShader, llvmpipe, WARP) or is None.
"""
import json
import re
import time

import numpy as np

from ... import rpc
from .sources import OVERRIDES, source

# Software (CPU) implementations of WebGPU / Vulkan / D3D12 and the names we report for them.
_SOFTWARE = (("swiftshader", "SwiftShader"), ("llvmpipe", "Mesa llvmpipe"), ("lavapipe", "Mesa lavapipe"),
             ("softpipe", "Mesa softpipe"), ("microsoft basic render", "WARP"), (r"\bwarp\b", "WARP"))


def software_emulation(info):
    """The name of the software emulation `info` describes ("SwiftShader", ...), or None for a real GPU.

    `info` is the adapter facts gpu.js reports (GPUAdapter.info fields and isFallbackAdapter); a
    fallback adapter counts as software even when its name is unknown."""
    text = " ".join(str(info.get(k) or "") for k in ("vendor", "architecture", "device", "description")).lower()
    for pattern, name in _SOFTWARE:
        if re.search(pattern, text):
            return name
    if info.get("isFallbackAdapter"):
        return "a fallback adapter"
    return None


def adapter_name(info):
    """A short human name for the adapter ("google swiftshader", "nvidia ... H100")."""
    parts = [info.get(k) for k in ("vendor", "architecture", "device", "description")]
    return " ".join(dict.fromkeys(str(s) for s in parts if s)) or "unnamed WebGPU adapter"


class GPUError(RuntimeError):
    """WebGPU failed (or is absent); the caller falls back to NumPy."""


def _js_call(fn, *args, wait=False):
    from pyodide.ffi import JsException, run_sync
    try:
        result = fn(*args)
        return run_sync(result) if wait else result
    except JsException as e:
        raise GPUError(str(e).removeprefix("Error: ")) from None


class BrowserDevice:
    """WebGPU in this worker, through gpu.js."""

    def __init__(self):
        try:
            import nnplay_gpu  # registered by web/worker.js
            from pyodide.ffi import can_run_sync
        except ImportError:
            raise GPUError("not running in nnplay's browser worker (no WebGPU bridge)") from None
        if not can_run_sync():
            raise GPUError("cannot wait for the GPU here (pyodide.ffi.run_sync needs JSPI and an async entry)")
        self.js = nnplay_gpu
        info = _js_call(nnplay_gpu.init, wait=True)
        self.info = info.to_py() if hasattr(info, "to_py") else dict(info)
        self.software = software_emulation(self.info)
        self._pipelines = {}
        self._compiling = None  # (start time, kernel names) while new pipelines compile

    @property
    def name(self):
        return adapter_name(self.info)

    def create_buffer(self, nbytes, uniform=False):
        return int(_js_call(self.js.createBuffer, int(nbytes), bool(uniform), wait=True))

    def write(self, handle, array, offset=0):
        array = np.ascontiguousarray(array)
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        _js_call(self.js.writeBuffer, handle, int(offset), array)

    def read(self, handle, count):
        """`count` float32 values from the start of the buffer, as a NumPy array."""
        data = _js_call(self.js.read, handle, int(count) * 4, wait=True)
        out = np.empty(count, np.float32)
        data.assign_to(out)
        return out

    def destroy(self, handle):
        try:
            self.js.destroy(handle)
        except Exception:  # noqa: BLE001 - a lost device has nothing left to free
            pass

    def pipeline(self, name, **constants):
        """A compute pipeline for kernel `name` (cached here and in gpu.js by name + constants).
        Returns at once: a new pipeline compiles in the background until `program()` needs it."""
        allowed = OVERRIDES.get(name, ())
        consts = {k: v for k, v in constants.items() if k in allowed}
        key = (name, tuple(sorted(consts.items())))
        if key not in self._pipelines:
            if self._compiling is None:
                self._compiling = (time.perf_counter(), [])
                rpc.emit("gpu", phase="compiling", adapter=self.name)
            self._compiling[1].append(name)
            consts_json = json.dumps(consts, sort_keys=True)
            self._pipelines[key] = int(_js_call(self.js.pipeline, name, source(name), consts_json))
        return self._pipelines[key]

    def program(self, ops):
        """Record ops (("dispatch", pipeline, [buffers], x, y, z) | ("copy", src, dst, bytes)) once,
        after the pipelines they use have compiled (GPUError names a WGSL that does not compile)."""
        compiling, self._compiling = self._compiling, None
        try:
            handle = int(_js_call(self.js.program, json.dumps(ops), wait=True))
        except GPUError as e:
            if compiling:
                rpc.emit("gpu", phase="failed", message=str(e))
            raise
        if compiling:
            started, names = compiling
            rpc.emit("gpu", phase="ready", pipelines=len(names), kernels=sorted(set(names)),
                     seconds=round(time.perf_counter() - started, 3))
        return handle

    def compile_stats(self):
        """This device's compile counters from gpu.js: {modules, pipelines, requests, pending, compileMs}."""
        stats = self.js.compileStats()
        return stats.to_py() if hasattr(stats, "to_py") else dict(stats)

    def run(self, program, read=None, count=0):
        """Submit a recorded program; with read=buffer, return its first `count` floats."""
        data = _js_call(self.js.run, program, -1 if read is None else read, int(count) * 4, wait=True)
        if read is None:
            return None
        out = np.empty(count, np.float32)
        data.assign_to(out)
        return out

    def release_program(self, program):
        self.destroy(program)

    def lose(self):
        """Test hook: destroy the device as a driver crash would."""
        self.js.loseDevice()


_device = None


def get_device():
    """The worker's one BrowserDevice (created on first use); raises GPUError without WebGPU."""
    global _device
    if _device is not None:
        status = _device.js.status().to_py()
        if status.get("lost") is None:
            return _device
        _device = None
    _device = BrowserDevice()
    return _device


def reset_device():
    global _device
    _device = None
