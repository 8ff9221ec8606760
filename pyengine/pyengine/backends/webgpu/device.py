"""The GPU device as Python sees it: buffers, pipelines and recorded programs by integer handle.

`BrowserDevice` drives WebGPU through web/gpu.js, imported as the JS module `nnplay_gpu` (the
worker registers it). Every promise gpu.js returns is awaited with `pyodide.ffi.run_sync`, which
suspends Python with JSPI until the promise settles, so this API is synchronous. Any failure
(device lost, out of memory, validation, WGSL compile error) raises `GPUError`.

scripts/wgsl_run.py implements the same small interface with wgpu-py, so kernels.py runs on
either: create_buffer, write, read, destroy, pipeline, program, run.
"""
import json

import numpy as np

from .sources import OVERRIDES, source


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
        self._pipelines = {}

    @property
    def name(self):
        i = self.info
        return " ".join(s for s in (i.get("vendor"), i.get("architecture"), i.get("description")) if s) or "WebGPU"

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
        """A compute pipeline for kernel `name` (cached here and in gpu.js by name + constants)."""
        allowed = OVERRIDES.get(name, ())
        consts = {k: v for k, v in constants.items() if k in allowed}
        key = (name, tuple(sorted(consts.items())))
        if key not in self._pipelines:
            self._pipelines[key] = int(_js_call(self.js.pipeline, name, source(name), json.dumps(consts), wait=True))
        return self._pipelines[key]

    def program(self, ops):
        """Record ops (("dispatch", pipeline, [buffers], x, y, z) | ("copy", src, dst, bytes)) once."""
        return int(_js_call(self.js.program, json.dumps(ops)))

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
