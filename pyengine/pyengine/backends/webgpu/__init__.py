"""pyengine's WebGPU backend: WGSL kernels (pyengine/kernels/*.wgsl) driven from Python.

- device.py   the GPU through web/gpu.js (browser worker) -> BrowserDevice, GPUError
- sources.py  which .wgsl files make each kernel
- kernels.py  one function per kernel recording a dispatch; `Eager` runs one on NumPy arrays
- plan.py     a whole training step (forward, backward, update) recorded once, replayed per step
- bench.py    timing functions (GFLOP/s of matmul / conv2d) for benchmarks
- switch.py   a Model's backend: auto | webgpu | numpy, what runs and why, falling back to NumPy
- auto.py     auto's trial: time both backends on a batch, restore the model, keep the faster

Outside the browser worker (CPython) there is no device: `available()` is False and models run
on NumPy.
"""
from .device import GPUError, get_device


def available():
    """True when this process can drive WebGPU (the browser worker found an adapter)."""
    try:
        get_device()
        return True
    except GPUError:
        return False
