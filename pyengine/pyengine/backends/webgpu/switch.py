"""Choosing a Model's compute backend, and falling back to NumPy when WebGPU fails.

`set_backend(model, "auto" | "webgpu" | "numpy")` decides what runs and says why in
`model.backend_notice` (also streamed to the page as an rpc "notice" event):
  - "numpy": NumPy.
  - "auto": WebGPU when this worker has a device and the model is supported, else NumPy
    (silently in CPython, where there never is WebGPU; with a notice in the browser).
  - "webgpu": the same, but NumPy always comes with a notice. Never raises for lack of a GPU.
Switching copies weights and optimizer state across (GpuTrainer.pull / construction uploads).
"""
import weakref

import numpy as np

from ... import rpc
from ...errors import NumericalError
from .device import GPUError, get_device
from .plan import SYNC_EVERY, GpuTrainer, unsupported

BACKENDS = ("auto", "webgpu", "numpy")
_models = weakref.WeakSet()  # every live Model, so the page can switch them all (setBackend)
_last = {"backend": None, "notice": None, "requested": "auto"}


def _notify(model, message):
    """Record what runs; stream {event: "backend", backend, requested, notice} and, for fallbacks,
    {event: "notice", message, backend} to the page."""
    model.backend_notice = message
    _last.update(backend=model.backend, notice=message, requested=model.requested_backend)
    rpc.emit("backend", **_last)
    if message:
        rpc.emit("notice", message=message, backend=model.backend)


@rpc.method("setBackend")
def set_backend_everywhere(name):
    """RPC: switch every live model (between steps; weights kept) and remember `name` as requested."""
    _last["requested"] = name
    status = dict(_last)
    for model in list(_models):
        set_backend(model, name)
        status = {"backend": model.backend, "notice": model.backend_notice, "requested": name}
    return status


@rpc.method("backendStatus")
def backend_status():
    """RPC: {backend, notice, requested} of the latest model (backend null before any model exists)."""
    return dict(_last)


def _drop_gpu(model):
    gpu, model._gpu = model._gpu, None
    if gpu is not None:
        try:
            gpu.release()
        except GPUError:
            pass


def set_backend(model, name):
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    model.requested_backend = name
    _models.add(model)
    if name == "numpy":
        sync(model)
        _drop_gpu(model)
        model.backend = "numpy"
        _notify(model, None)
        return model.backend
    if model._gpu is not None:
        sync(model)
        _drop_gpu(model)  # rebuilt below: the model may have changed (frozen layers, optimizer)
    reasons = unsupported(model)
    try:
        device = get_device()
    except GPUError as e:
        model.backend = "numpy"
        in_browser = "not running in nnplay's browser worker" not in str(e)
        _notify(model, f"WebGPU is not available ({e}): training runs on NumPy."
                if name == "webgpu" or in_browser else None)
        return model.backend
    if reasons:
        model.backend = "numpy"
        _notify(model, f"WebGPU cannot train this model (unsupported: {', '.join(reasons)}): training runs on NumPy.")
        return model.backend
    try:
        model._gpu = GpuTrainer(model, device)
    except GPUError as e:
        model._gpu = None
        model.backend = "numpy"
        _notify(model, f"WebGPU failed while loading the model ({e}): training runs on NumPy.")
        return model.backend
    model.backend = "webgpu"
    _notify(model, None)
    return model.backend


def sync(model):
    """Bring the NumPy weights up to date with the GPU (no-op on NumPy). On failure, fall back."""
    if model._gpu is None:
        return
    try:
        model._gpu.pull()
    except GPUError as e:
        fallback(model, e)


def fallback(model, error):
    """WebGPU failed: continue on NumPy from the last weights NumPy holds, and say so."""
    gpu = model._gpu
    steps, opt_steps = gpu.synced_steps if gpu is not None else (model.step_count, model.optimizer.steps)
    lost = model.step_count - steps
    model.step_count, model.optimizer.steps = steps, opt_steps
    _drop_gpu(model)
    model.backend = "numpy"
    note = (f"; the last {lost} step(s) since the weights were last copied back were undone" if lost else "")
    _notify(model, f"WebGPU failed ({error}): switched to NumPy with the weights of step {steps}{note}.")


def train_step(model, x, y):
    """One step on the GPU. Returns the loss, or None when the GPU failed and the model fell back
    (the caller then runs the step on NumPy)."""
    try:
        loss, output = model._gpu.step(x, y)
    except GPUError as e:
        fallback(model, e)
        return None
    step = model.step_count + 1
    if not np.isfinite(loss):
        raise NumericalError(
            f"step {step}: the loss became {loss} on the WebGPU backend; the weights were left as before "
            "this step. Try a lower learning rate.", step, None)
    model.step_count = step
    model.last_batch_output = output
    model.last_outputs = None
    if model._gpu.steps_since_sync >= SYNC_EVERY:
        sync(model)
    return loss
