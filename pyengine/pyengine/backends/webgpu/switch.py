"""Choosing a Model's compute backend, and falling back to NumPy when WebGPU fails.

`set_backend(model, "auto" | "webgpu" | "numpy")` decides what runs and says why:
  - "numpy": NumPy.
  - "webgpu": WebGPU when this worker has an adapter and the plan supports the model, whatever
    the adapter (a software one too); else NumPy with a notice. Never raises for lack of a GPU.
  - "auto": the fastest correct backend. NumPy without WebGPU, for a model the plan does not
    support, or when the adapter is a software emulation (SwiftShader, llvmpipe, WARP: always far
    slower than NumPy). On a real GPU, the first training step of each batch size times both
    backends (auto.py) and keeps the faster, remembered per network shape and batch size.
`model.backend_status` is a plain dict {requested, backend, reason, rates, adapter, notice,
pending, remembered}, streamed to the page as the rpc event {event: "backend", ...} whenever it
changes; `model.backend_notice` (also an {event: "notice"}) says why a model is not where it
should be (no WebGPU, unsupported, a GPU failure). Switching copies weights and optimizer state
across (GpuTrainer.pull / construction uploads).
"""
import weakref

import numpy as np

from ... import rpc
from ...errors import NumericalError
from . import auto
from .device import GPUError, get_device
from .plan import SYNC_EVERY, GpuTrainer, unsupported

BACKENDS = ("auto", "webgpu", "numpy")
# auto never trains on a software adapter; tests set this to run its trial on SwiftShader anyway.
MEASURE_SOFTWARE = False
_models = weakref.WeakSet()  # every live Model, so the page can switch them all (setBackend)
_last = {"requested": "auto", "backend": None, "reason": None, "rates": None, "adapter": None, "notice": None,
         "pending": False, "remembered": False}


def _adapter(device):
    return {"name": device.name, "software": device.software, **{k: device.info.get(k) for k in (
        "vendor", "architecture", "device", "description", "isFallbackAdapter")}}


def _notify(model, notice, reason, rates=None, device=None, pending=False, remembered=False):
    """Record what runs and why in model.backend_status; stream {event: "backend", ...status} and,
    for fallbacks, {event: "notice", message, backend} to the page."""
    model.backend_notice = notice
    model.backend_status = {"requested": model.requested_backend, "backend": model.backend, "reason": reason,
                            "rates": rates, "adapter": _adapter(device) if device is not None else None,
                            "notice": notice, "pending": pending, "remembered": remembered}
    _last.update(model.backend_status)
    rpc.emit("backend", **_last)
    if notice:
        rpc.emit("notice", message=notice, backend=model.backend)


@rpc.method("setBackend")
def set_backend_everywhere(name):
    """RPC: switch every live model (between steps; weights kept) and remember `name` as requested."""
    _last["requested"] = name
    status = dict(_last)
    for model in list(_models):
        set_backend(model, name)
        status = dict(model.backend_status)
    return status


@rpc.method("backendStatus")
def backend_status():
    """RPC: the latest model's backend_status (backend null before any model exists)."""
    return dict(_last)


def _drop_gpu(model):
    gpu, model._gpu = model._gpu, None
    if gpu is not None:
        try:
            gpu.release()
        except GPUError:
            pass


def _on_numpy(model, notice, reason, **status):
    model.backend = "numpy"
    _notify(model, notice, reason, **status)
    return model.backend


def set_backend(model, name):
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    model.requested_backend = name
    model._auto = None
    _models.add(model)
    if model._gpu is not None:
        sync(model)
        _drop_gpu(model)  # rebuilt below: the model may have changed (frozen layers, optimizer)
    if name == "numpy":
        return _on_numpy(model, None, "NumPy, as requested")
    arrow = "auto → NumPy" if name == "auto" else "WebGPU was requested; NumPy runs"
    try:
        device = get_device()
    except GPUError as e:
        in_browser = "not running in nnplay's browser worker" not in str(e)
        notice = (f"WebGPU is not available ({e}): training runs on NumPy."
                  if name == "webgpu" or in_browser else None)
        return _on_numpy(model, notice, f"{arrow}: no WebGPU here ({e})" if in_browser
                         else f"{arrow}: no WebGPU outside the browser")
    reasons = unsupported(model)
    if reasons:
        return _on_numpy(model, f"WebGPU cannot train this model (unsupported: {', '.join(reasons)}): "
                                "training runs on NumPy.",
                         f"{arrow}: WebGPU cannot train this model (unsupported: {', '.join(reasons)})", device=device)
    if name == "auto":
        if device.software and not MEASURE_SOFTWARE:
            return _on_numpy(model, None, f"auto → NumPy: the only WebGPU adapter here is a software emulation "
                                          f"({device.software}), far slower than NumPy", device=device)
        model._auto = {"device": device, "batch": None}  # decided on the first training step
        return _on_numpy(model, None, f"auto: NumPy and WebGPU ({device.name}) will be timed on the first "
                                      "training steps", device=device, pending=True)
    note = f" (a software emulation, {device.software}: NumPy is usually faster)" if device.software else ""
    if not _start_gpu(model, device):
        return model.backend
    model.backend = "webgpu"
    _notify(model, None, f"WebGPU, as requested, on {device.name}{note}", device=device)
    return model.backend


def _start_gpu(model, device):
    """Put the model on the GPU; on failure stay on NumPy with a notice. True when it worked."""
    try:
        model._gpu = GpuTrainer(model, device)
        return True
    except GPUError as e:
        model._gpu = None
        _on_numpy(model, f"WebGPU failed while loading the model ({e}): training runs on NumPy.",
                  f"NumPy: WebGPU failed while loading the model ({e})", device=device)
        return False


def _auto_step(model, x, y):
    """Before a training step under "auto": on a batch size not decided yet, time both backends
    (or reuse the decision for this network and batch size) and move the model to the winner."""
    state = model._auto
    batch = len(x)
    if state["batch"] == batch:
        return
    device = state["device"]
    decision = auto.remembered(model, batch, device.name)
    remembered = decision is not None
    if not remembered:
        rpc.emit("gpu", phase="measuring", batch=batch)
        sync(model)
        _drop_gpu(model)
        decision = auto.decide(model, batch, device.name, {"numpy": lambda: _numpy_trial(model, x, y),
                                                            "webgpu": lambda: _gpu_trial(model, device, x, y)})
    state["batch"] = batch
    status = dict(rates=decision["rates"], device=device, remembered=remembered)
    if decision["backend"] == "webgpu":
        if model._gpu is None and not _start_gpu(model, device):
            return
        model.backend = "webgpu"
        _notify(model, None, decision["reason"], **status)
    else:
        sync(model)
        _drop_gpu(model)
        _on_numpy(model, None, decision["reason"], **status)


def _numpy_trial(model, x, y):
    saved = model._gpu, model._auto
    model._gpu = model._auto = None  # the model's own NumPy step, without coming back here

    def finish():
        model._gpu, model._auto = saved
    return (lambda: model._train_step_checked(x, y)), finish


def _gpu_trial(model, device, x, y):
    trainer = GpuTrainer(model, device)  # uploads the weights as they are now
    return (lambda: trainer.step(x, y)), trainer.release


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
    note = (f"; the last {lost} step(s) since the weights were last copied back were undone" if lost else "")
    message = f"WebGPU failed ({error}): switched to NumPy with the weights of step {steps}{note}."
    _on_numpy(model, message, f"NumPy: {message}")


def train_step(model, x, y):
    """One step on the GPU. Returns the loss, or None when the step is NumPy's to run: the GPU
    failed and the model fell back, or "auto" chose NumPy for this batch size."""
    if model._auto is not None:
        _auto_step(model, x, y)
        if model._gpu is None:
            return None
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
