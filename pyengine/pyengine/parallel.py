"""Data-parallel training over two workers (issue 14, item 5): the page's second CPU core.

The playground's worker (web/worker.js) holds the one state: the model, its optimizer, the data.
On a cross-origin isolated page (SharedArrayBuffer) with two or more cores it can start a helper,
web/peer.js: a second Pyodide with NumPy, pyengine and the SIMD kernels that holds a copy of the
network's layers and nothing else. A step on a batch of n examples then goes:

  1. the worker writes the current weights and the batch's second half (share = n // 2 examples)
     into the shared buffer and wakes the helper (Atomics);
  2. both run forward and backward at the same time, each on its half (Model._gradients);
  3. the worker waits for the helper's gradients, loss and outputs, and combines the two halves
     weighted by their sizes: the full batch's mean gradient, since every loss is a mean over
     examples; then it alone applies the optimizer step (Model._apply_gradients).

The helper keeps no optimizer state, learning rate or counters (weights travel every step, a few
KB to a few MB), so nothing else of the one state needs mirroring. Networks whose forward pass
couples the examples of a batch (batchnorm's batch statistics) or updates state (its running
averages) always train on one worker, as does a model on WebGPU.

The `workers` training setting: 1 (one worker), 2 (both, whenever the network can), "auto" (the
default): both only when it pays on this machine now. auto times single-worker steps; when they
take long enough for a second core to matter (MIN_STEP_MS) it starts the helper, then times
TRIAL_STEPS two-worker steps against them and keeps the faster, per network and batch size.
Any failure of the helper (it cannot boot, build the network or answer) puts training back on one
worker, with the reason in `status()`; a step never fails because of it.
"""
from __future__ import annotations

import asyncio
import json
import statistics
import time

import numpy as np

from .errors import NumericalError

MIN_STEP_MS = 8.0  # auto starts the helper when one-worker steps take at least this long (median)
TRIAL_STEPS = 8  # steps timed on each side before auto decides
GAIN = 1.1  # auto keeps two workers when their steps are at least this much faster
WAIT_S = 20.0  # a helper silent this long in one step is taken for dead
COUPLED_LAYERS = ("batchnorm",)  # layer types whose forward pass mixes the examples of a batch

# The control block at the start of the shared buffer (Int32 indices) and its float64 results.
GO, DONE, COUNT, STATUS, IDLE, WAITING, QUIT = 0, 1, 2, 3, 4, 5, 6
SPIN_S = 0.05  # the worker spins this long for the helper's answer before it blocks
CTL_BYTES = 64
RESULT_AT = 64  # float64: [0] the helper's loss
DATA_AT = 128


def _align(n):
    return (n + 15) // 16 * 16


class Layout:
    """Byte offsets of the regions of one shared buffer: weights, gradients, inputs, targets and
    outputs (the last three for up to `share` examples)."""

    def __init__(self, weights, params, share, x_bytes, y_bytes, out_floats):
        self.weights, self.params, self.share = weights, params, share
        self.x_bytes, self.y_bytes, self.out_floats = x_bytes, y_bytes, out_floats
        at = DATA_AT
        self.w = at
        at = _align(at + 4 * weights)
        self.g = at
        at = _align(at + 4 * params)
        self.x = at
        at = _align(at + share * x_bytes)
        self.y = at
        at = _align(at + share * y_bytes)
        self.out = at
        at = _align(at + 4 * share * out_floats)
        self.total = at

    def to_json(self):
        return {k: getattr(self, k) for k in ("weights", "params", "share", "x_bytes", "y_bytes", "out_floats", "w", "g",
                                               "x", "y", "out", "total")}


def coupled_layers(model):
    """Names of the layers that stop this network from training on two workers."""
    return [f"{cfg['name']} ({cfg['type']})" for cfg in model.nspec.layers if cfg["type"] in COUPLED_LAYERS]


def _flat_into(buf, arrays):
    o = 0
    for a in arrays:
        n = a.size
        buf[o:o + n] = a.reshape(-1)
        o += n
    return buf


def combine(g0, n0, g1, n1):
    """The mean gradient of a batch from the mean gradients of its two parts (n0 and n1 examples)."""
    if n0 == n1:
        out = g0 + g1
        out *= np.float32(0.5)
        return out
    return g0 * np.float32(n0 / (n0 + n1)) + g1 * np.float32(n1 / (n0 + n1))


# --- the playground's worker: the one that holds the state ------------------------------------


class Parallel:
    """The worker's side. `train_step(model, x, y)` is the step Trainer calls; it trains on one or
    two workers as decided here, and always returns the step's loss (or raises NumericalError as
    Model.train_step does)."""

    def __init__(self, bridge=None):
        self.bridge = bridge  # the JS module nnplay_peer, or None (CPython, or a worker without it)
        self.setting = "auto"
        self.helper = "off"  # off | starting | ready | failed
        self.helper_reason = None
        self.key = None  # (model, batch layout) the decision below is for
        self.mode = "one"  # one | trial | two: how steps run for `key`
        self.reason = "not started"
        self.single_ms, self.two_ms = [], []  # the latest step times (ms) on one and on two workers
        self.decision = None  # auto's trial medians for `key` once it has decided: the figures behind `reason`
        self.prepared = None  # the key the helper is set up for
        self.preparing = None  # an asyncio task setting it up
        self.steps_two = 0
        self.layout = None
        self._views = None
        self._last_status = None

    # -- what the page sees --
    def status(self):
        def median(v):
            return round(statistics.median(v), 3) if v else None
        return {"setting": self.setting, "workers": 2 if self.mode in ("two", "trial") and self.prepared == self.key
                and self.key is not None else 1, "helper": self.helper, "reason": self.reason,
                "one_worker_ms": median(self.single_ms), "two_workers_ms": median(self.two_ms),
                "steps_on_two": self.steps_two, "decided_on": self.decision}

    def set_setting(self, value):
        if value not in ("auto", 1, 2) or isinstance(value, bool):
            raise ValueError(f"workers must be \"auto\", 1 or 2, got {value!r}")
        if value != self.setting:
            self.setting = value
            self.key = None  # decide again

    def availability(self):
        """None when a helper can run here, else why not."""
        if self.bridge is None:
            return "no helper worker here (only the browser's worker can start one)"
        why = self.bridge.unavailable()
        return None if why is None else str(why)

    # -- the step --
    def train_step(self, model, x, y, batch_size=None):
        """One training step on (x, y), a batch of at most `batch_size` examples (the training
        setting: the last batch of an epoch may be smaller; only full batches are timed)."""
        batch_size = batch_size or len(x)
        key = self._key(model, x, y, batch_size)
        if key != self.key:
            self._new_key(key, model)
        full = len(x) == batch_size
        if self.mode == "one" or self.prepared != key or len(x) < 2:
            t0 = time.perf_counter()
            loss = model._train_step_checked(x, y)
            if self.mode != "one" and full:
                self._record(self.single_ms, time.perf_counter() - t0)
            self._maybe_start(model, x, y, batch_size)
            return loss
        t0 = time.perf_counter()
        loss = self._two_step(model, x, y)
        if loss is None:  # the helper failed: this step on one worker
            return model._train_step_checked(x, y)
        self.steps_two += 1
        if full:
            self._record(self.two_ms, time.perf_counter() - t0)
        if self.mode == "trial" and full:
            if len(self.two_ms) >= TRIAL_STEPS:
                one, two = statistics.median(self.single_ms), statistics.median(self.two_ms)
                self.decision = {"one_worker_ms": round(one, 3), "two_workers_ms": round(two, 3)}
                if one >= GAIN * two:
                    self.mode, self.reason = "two", f"two workers: a step takes {two:.1f} ms, on one {one:.1f} ms"
                else:
                    self.mode, self.reason = "one", (f"one worker: two do not pay here now (a step takes {two:.1f} ms "
                                                     f"on two, {one:.1f} ms on one)")
                self.announce()
        return loss

    def _key(self, model, x, y, batch_size):
        if model.backend != "numpy" or model._gpu is not None or model._auto is not None:
            return ("off", id(model), f"the model trains on {model.backend}, not NumPy")
        if batch_size < 2:
            return ("off", id(model), "a batch of one example cannot be split")
        return (id(model), id(model.nspec), batch_size, x.dtype.str, x.shape[1:], y.dtype.str, y.shape[1:],
                tuple(sorted(model.frozen)))

    def _new_key(self, key, model):
        self.key, self.single_ms, self.two_ms, self.decision = key, [], [], None
        self.mode = "one"
        if key[0] == "off":
            self.reason = f"one worker: {key[2]}"
        elif self.setting == 1:
            self.reason = "one worker: the workers setting is 1"
        elif coupled_layers(model):
            self.reason = (f"one worker: {', '.join(coupled_layers(model))} uses the statistics of the whole "
                           "batch, which two workers would split")
        elif (why := self.availability()) is not None:
            self.reason = f"one worker: {why}"
        elif self.setting == 2:
            self.mode = "two"
            self.reason = ("two workers (the workers setting is 2)" if self.prepared == key
                           else "one worker until the helper worker is ready (the workers setting is 2)")
        else:
            self.mode, self.reason = "measure", "one worker: timing steps to see whether two would pay"
        self.announce()

    def _record(self, samples, seconds):
        samples.append(1000.0 * seconds)
        del samples[:-TRIAL_STEPS]

    def _maybe_start(self, model, x, y, batch_size):
        """Called after each one-worker step: start (and set up) the helper when it is wanted."""
        if self.mode == "measure":
            if len(self.single_ms) < TRIAL_STEPS:
                return
            ms = statistics.median(self.single_ms)
            if ms < MIN_STEP_MS:
                self.mode = "one"
                self.reason = f"one worker: a step takes {ms:.2f} ms, too little for a second worker to pay"
                self.announce()
                return
            self.mode, self.reason = "trial", f"one worker ({ms:.1f} ms a step) until two are ready to be timed"
            self.announce()
        if self.mode in ("trial", "two") and self.prepared != self.key and self.preparing is None:
            self.preparing = asyncio.ensure_future(self._prepare(self.key, model, x, y, batch_size))

    async def _prepare(self, key, model, x, y, batch_size):
        try:
            if self.helper in ("off", "starting"):
                self.helper = "starting"
                self.announce()
                await self.bridge.start()
                self.helper = "ready"
            elif self.helper == "failed":
                raise RuntimeError(self.helper_reason)
            share = batch_size // 2
            if self._views is not None:  # the helper stops watching the old buffer at once
                self._views["store"](self._views["ctl"], QUIT, 1)
            trainable, every = model.parameters(), model.parameters(trainable_only=False)
            params = int(sum(p.data.size for p in trainable))
            out_floats = int(np.prod(model.output_shape))
            layout = Layout(int(sum(p.data.size for p in every)), params, share, x.itemsize * int(np.prod(x.shape[1:])),
                            y.itemsize * int(np.prod(y.shape[1:])), out_floats)
            sab = self.bridge.buffer(layout.total)
            config = {"spec": {**model.spec, "backend": "numpy"}, "weights": [[p.name, list(p.data.shape)] for p in every],
                      "trainable": [p.name for p in trainable], "frozen": sorted(model.frozen),
                      "x": {"dtype": x.dtype.str, "shape": list(x.shape[1:])},
                      "y": {"dtype": y.dtype.str, "shape": list(y.shape[1:])}, "layout": layout.to_json()}
            reply = json.loads(str(await self.bridge.setup(sab, json.dumps(config))))
            if not reply.get("ok"):
                raise RuntimeError(f"the helper could not build this network: {reply.get('reason')}")
            if self.key != key:
                return  # the network or batch changed meanwhile: the next step asks again
            self._attach(sab, layout, trainable)
            self.prepared = key
            if self.mode == "two":
                self.reason = "two workers" + (" (the workers setting is 2)" if self.setting == 2 else "")
            else:
                self.reason = f"two workers, timed for {TRIAL_STEPS} steps against one"
            self.announce()
        except Exception as e:  # noqa: BLE001 - any failure: one worker, and why
            message = str(e).splitlines()[0] if str(e) else type(e).__name__
            if self.helper == "starting":
                self.helper, self.helper_reason = "failed", f"the helper worker did not start: {message}"
                message = self.helper_reason
            if self.key == key:
                self.mode, self.reason = "one", f"one worker: {message}"
                self.announce()
        finally:
            self.preparing = None

    def _attach(self, sab, layout, trainable):
        import js  # Pyodide: the worker's global scope

        self.layout = layout
        self._views = {
            "ctl": js.Int32Array.new(sab, 0, CTL_BYTES // 4),
            "result": js.Float64Array.new(sab, RESULT_AT, 1),
            "w": js.Float32Array.new(sab, layout.w, layout.weights),
            "g": js.Float32Array.new(sab, layout.g, layout.params),
            # Atomics' functions taken once: looked up on js.Atomics at each call they cost ~0.1 ms, bound ~2 us
            "sab": sab, "u8": js.Uint8Array, "store": js.Atomics.store, "load": js.Atomics.load,
            "wait": js.Atomics.wait, "notify": js.Atomics.notify,
            "wflat": np.empty(layout.weights, np.float32), "g0": np.empty(layout.params, np.float32),
            "g1": np.empty(layout.params, np.float32), "go": 0,
        }

    def _view(self, region, offset, nbytes):
        """A Uint8Array over `nbytes` of the shared buffer at `offset` (kept: one per size)."""
        views = self._views.setdefault("views", {})
        view = views.get((region, nbytes))
        if view is None:
            view = views[(region, nbytes)] = self._views["u8"].new(self._views["sab"], offset, nbytes)
        return view

    def _fail(self, message):
        self.helper, self.helper_reason = "failed", message
        self.mode, self.reason, self.prepared = "one", f"one worker: {message}", None
        self.announce()

    def _two_step(self, model, x, y):
        """One step with the helper; None when the helper failed (then nothing has changed)."""
        v, lay = self._views, self.layout
        n = len(x)
        share = n // 2
        mine = n - share
        step = model.step_count + 1
        trainable = model.parameters()
        ctl, store, load = v["ctl"], v["store"], v["load"]
        v["w"].assign(_flat_into(v["wflat"], [p.data for p in model.parameters(trainable_only=False)]))
        xs = np.ascontiguousarray(x[mine:])
        ys = np.ascontiguousarray(y[mine:])
        self._view("x", lay.x, xs.nbytes).assign(xs.view(np.uint8).reshape(-1))
        self._view("y", lay.y, ys.nbytes).assign(ys.view(np.uint8).reshape(-1))
        store(ctl, COUNT, share)
        v["go"] += 1
        store(ctl, GO, v["go"])
        if load(ctl, IDLE):
            v["notify"](ctl, GO)
        mine_error = None
        try:
            loss0, out0 = model._gradients(x[:mine], y[:mine], step, trainable)
        except NumericalError as e:
            mine_error = e
        # Spin first (a blocking Atomics.wait wakes about a millisecond after the notify here), then block.
        now = time.perf_counter()
        spin_until, deadline = now + SPIN_S, now + WAIT_S
        while load(ctl, DONE) != v["go"]:
            now = time.perf_counter()
            if now < spin_until:
                continue
            if now > deadline:
                self._fail(f"the helper worker did not answer within {WAIT_S:.0f} s")
                return None
            store(ctl, WAITING, 1)
            done = load(ctl, DONE)
            if done != v["go"]:
                v["wait"](ctl, DONE, done, 1000)
            store(ctl, WAITING, 0)
        status = load(ctl, STATUS)
        if mine_error is not None or status != 0:
            if mine_error is None and status == 2:  # not a numerical problem: stop using it
                self._fail("the helper worker failed a step")
            return None  # one worker redoes the step (and names the layer that went non-finite)
        loss1 = float(v["result"][0])
        v["g"].assign_to(v["g1"])
        g0 = _flat_into(v["g0"], [p.grad if p.grad is not None else np.zeros_like(p.data) for p in trainable])
        grad = combine(g0, mine, v["g1"], share)
        if not np.isfinite(grad).all():
            return None
        o = 0
        for p in trainable:
            size = p.data.size
            p.grad = grad[o:o + size].reshape(p.data.shape)
            o += size
        out1 = np.empty((share,) + tuple(model.output_shape), np.float32)
        self._view("out", lay.out, out1.nbytes).assign_to(out1.view(np.uint8).reshape(-1))
        out = np.concatenate([np.asarray(out0, np.float32), out1])
        model._apply_gradients(step, trainable, out)
        return (mine * loss0 + share * loss1) / n

    def announce(self):
        """Stream the status as the event {event: "workers", ...} when it changed since the last time
        (the session calls this with every progress event too, so the step counts stay fresh)."""
        status = self.status()
        if status != self._last_status:
            self._last_status = status
            from . import rpc

            rpc.emit("workers", **status)


# --- the helper (web/peer.js) ----------------------------------------------------------------

PEER = {}


def peer_setup(sab, config_json):
    """In the helper: build the network of `config` and keep views of the shared buffer. Returns
    JSON {ok} or {ok: false, reason}."""
    import js

    from .model import build

    try:
        config = json.loads(str(config_json))
        model = build(config["spec"])
        model.frozen = set(config["frozen"])
        by_name = {p.name: p for p in model.parameters(trainable_only=False)}
        weights = []
        for name, shape in config["weights"]:
            p = by_name.get(name)
            if p is None or list(p.data.shape) != list(shape):
                return json.dumps({"ok": False, "reason": f"parameter {name} {shape} is not in the helper's network"})
            weights.append(p)
        if len(weights) != len(by_name):
            return json.dumps({"ok": False, "reason": "the helper's network has other parameters"})
        trainable = set(config["trainable"])
        params = [p for p in weights if p.name in trainable]
        for p in weights:
            p.trainable = p.requires_grad = p.name in trainable
        lay = config["layout"]
        PEER.clear()
        PEER.update(model=model, weights=weights, params=params, lay=lay, x=config["x"], y=config["y"],
                    ctl=js.Int32Array.new(sab, 0, CTL_BYTES // 4), result=js.Float64Array.new(sab, RESULT_AT, 1),
                    w=js.Float32Array.new(sab, lay["w"], lay["weights"]),
                    g=js.Float32Array.new(sab, lay["g"], lay["params"]), sab=sab, js=js,
                    load=js.Atomics.load, store=js.Atomics.store, notify=js.Atomics.notify,
                    wflat=np.empty(lay["weights"], np.float32), gflat=np.empty(lay["params"], np.float32))
        return json.dumps({"ok": True})
    except Exception as e:  # noqa: BLE001 - the worker says why and trains alone
        return json.dumps({"ok": False, "reason": f"{type(e).__name__}: {e}"})


def _peer_view(region, nbytes):
    views = PEER.setdefault("views", {})
    view = views.get((region, nbytes))
    if view is None:
        view = views[(region, nbytes)] = PEER["js"].Uint8Array.new(PEER["sab"], PEER["lay"][region], nbytes)
    return view


def peer_step():
    """In the helper: one half step (weights and examples from the shared buffer, gradients, loss and
    outputs back), then DONE = GO and a wake-up for the worker."""
    s = PEER
    js, ctl, lay, load = s["js"], s["ctl"], s["lay"], s["load"]
    go = load(ctl, GO)
    status = 0
    try:
        model, params = s["model"], s["params"]
        n = int(load(ctl, COUNT))
        s["w"].assign_to(s["wflat"])
        o = 0
        for p in s["weights"]:
            size = p.data.size
            p.data[...] = s["wflat"][o:o + size].reshape(p.data.shape)
            o += size
        x = np.empty((n,) + tuple(s["x"]["shape"]), np.dtype(s["x"]["dtype"]))
        y = np.empty((n,) + tuple(s["y"]["shape"]), np.dtype(s["y"]["dtype"]))
        _peer_view("x", x.nbytes).assign_to(x.view(np.uint8).reshape(-1))
        _peer_view("y", y.nbytes).assign_to(y.view(np.uint8).reshape(-1))
        try:
            loss, out = model._gradients(x, y, 0, params)
        except NumericalError:
            status = 1
        else:
            s["result"][0] = loss
            s["g"].assign(_flat_into(s["gflat"], [p.grad if p.grad is not None else np.zeros_like(p.data)
                                                  for p in params]))
            out = np.ascontiguousarray(out, np.float32).reshape(-1)
            _peer_view("out", out.nbytes).assign(out.view(np.uint8))
    except Exception:  # noqa: BLE001 - the worker stops using the helper
        status = 2
        import traceback

        traceback.print_exc()
    s["store"](ctl, STATUS, status)
    s["store"](ctl, DONE, go)
    if load(ctl, WAITING):
        s["notify"](ctl, DONE)
