"""The data-parallel experiment's Python side (issue 14, item 5), run in each of bench/dp_worker.js's
workers after bench/engine_bench.py (whose examples() and _model() it uses).

Every worker builds the same model (same spec, same seed: the same initial weights). A data-parallel
step on a batch of B examples over W workers: worker r runs forward and backward on its B/W examples,
copies its gradients (one flat float32 vector) into its slot of the SharedArrayBuffer, waits at a
barrier (Atomics on the same buffer) for every worker's slot, sums the W slots in rank order and
divides by W -- the full batch's gradient, since the loss is a mean over equal halves -- and applies
the optimizer step itself. Every worker adds the same slots in the same order, so all workers hold
bitwise the same weights after every step; no weights travel. Slots are double-buffered by step
parity, so one barrier per step suffices.

Shared buffer: Int32 [0] arrivals counter; then 2 parities x W slots x P float32 (P = parameter count).
"""
import json
import time

import js  # the worker's global scope: js.dpShared, js.Atomics, typed arrays
import numpy as np

from pyengine.backends import numpy_backend

KERNEL_PATH = "/lib/nnplay/nnplay_simd.so"
DP = {}  # this worker's state between calls


def dp_setup(rank, world, spec, dataset, batch, examples_n, kernels="simd", mnist_path="/data/mnist.bin"):
    """Data (the first examples_n examples, as bench/engine_bench.py's train_rate takes them) and the
    model; returns the parameter count (to size the shared buffer)."""
    if kernels == "simd":
        assert numpy_backend.use_simd(KERNEL_PATH)["active"], numpy_backend.SIMD_STATUS
    else:
        numpy_backend.use_einsum()
    x, y = examples(dataset, examples_n, mnist_path)
    DP.clear()
    DP.update(rank=rank, world=world, spec=spec, batch=batch, x=x, y=y, arrivals=0)
    model = _model(spec, "numpy")
    return json.dumps({"params": int(sum(p.data.size for p in model.parameters())), "kernels": numpy_backend.gemm.__name__})


def _attach(total):
    world = DP["world"]
    sab = js.dpShared
    DP["ctl"] = js.Int32Array.new(sab, 0, 4)
    DP["slots"] = [[js.Float32Array.new(sab, 16 + 4 * total * (par * world + r), total) for r in range(world)]
                   for par in range(2)]
    DP["gbuf"] = np.empty(total, np.float32)
    DP["tmp"] = np.empty(total, np.float32)
    DP["acc"] = np.empty(total, np.float32)


def _barrier():
    """Wait until every worker has arrived as often as this one (Atomics on the shared counter)."""
    ctl, atomics = DP["ctl"], js.Atomics
    DP["arrivals"] += 1
    target = DP["arrivals"] * DP["world"]
    atomics.add(ctl, 0, 1)
    atomics.notify(ctl, 0)
    while True:
        seen = atomics.load(ctl, 0)
        if seen >= target:
            return
        atomics.wait(ctl, 0, seen, 1000)


def _fresh_model():
    model = _model(DP["spec"], "numpy")
    trainable = model.parameters()
    total = sum(p.data.size for p in trainable)
    if "slots" not in DP:
        _attach(total)
    return model, trainable


def _dp_step(model, trainable, xb, yb, parity):
    for p in trainable:
        p.grad = None
    out = model.forward(xb, training=True)
    model.loss_fn(out, yb).backward()
    gbuf, o = DP["gbuf"], 0
    for p in trainable:
        n = p.data.size
        if p.grad is None:
            gbuf[o:o + n] = 0
        else:
            gbuf[o:o + n] = p.grad.reshape(-1)
        o += n
    slots = DP["slots"][parity]
    slots[DP["rank"]].assign(gbuf)
    _barrier()
    acc, tmp = DP["acc"], DP["tmp"]
    slots[0].assign_to(acc)
    for r in range(1, DP["world"]):
        slots[r].assign_to(tmp)
        acc += tmp
    acc *= np.float32(1.0 / DP["world"])
    o = 0
    for p in trainable:
        n = p.data.size
        p.grad = acc[o:o + n].reshape(p.data.shape).copy()
        o += n
    model.optimizer.step(trainable)
    model.step_count += 1
    model.last_outputs = None


def dp_run(mode, steps, warmup=2, together=True):
    """Train `steps` steps (after `warmup`) on a fresh model and return this worker's timing.
    mode "single": model.train_step on the full batch (the product's path, one worker).
    mode "dp": the data-parallel step on this worker's share of each batch (every worker runs it).
    mode "half": model.train_step on this worker's share, no exchange: alone (together=False, this
    worker only) or with every worker doing it at once (together=True): how much parallel compute the
    machine gives right now."""
    rank, world, batch, x, y = DP["rank"], DP["world"], DP["batch"], DP["x"], DP["y"]
    share = batch // world
    model, trainable = _fresh_model()
    per_batch = len(x) // batch

    def part(i):
        j = (i % per_batch) * batch
        if mode == "single":
            return x[j:j + batch], y[j:j + batch]
        lo = j + rank * share
        return x[lo:lo + share], y[lo:lo + share]

    def step(i):
        xb, yb = part(i)
        if mode == "dp":
            _dp_step(model, trainable, xb, yb, i % 2)
        else:
            model.train_step(xb, yb)

    for i in range(warmup):
        step(i)
    if mode == "dp" or (mode == "half" and together):
        _barrier()  # everyone starts the timed steps together
    t0 = time.perf_counter()
    for i in range(warmup, warmup + steps):
        step(i)
    seconds = time.perf_counter() - t0
    DP["last"] = np.concatenate([p.data.reshape(-1) for p in trainable])
    return json.dumps({"seconds": seconds, "steps": steps, "examples": steps * (batch if mode == "single" else share)})


def dp_keep(name):
    """Keep the last run's final weights under `name` (to compare runs)."""
    DP[name] = DP["last"].copy()
    return json.dumps(True)


def dp_compare(name):
    """Largest |w - w_name| / max|w_name| between the last run's weights and the kept ones."""
    ref = DP[name]
    return json.dumps(float(np.abs(DP["last"] - ref).max() / (np.abs(ref).max() + 1e-30)))


def dp_weights_digest():
    """A digest of the last run's weights (all workers of a data-parallel run must agree bit for bit)."""
    import hashlib
    return json.dumps(hashlib.sha256(DP["last"].tobytes()).hexdigest())
