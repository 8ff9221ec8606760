"""`auto`: train on whichever backend is faster for this network, measured here.

The first training step of a batch size runs a trial on the learner's own batch: a few timed steps
on NumPy, then on WebGPU (whose first step records the plan and compiles its pipelines, untimed),
each for at most MAX_STEPS steps or BUDGET_S seconds. Everything a step changes (weights, running
statistics, optimizer state and step counts, the dropout generator, the step's outputs) is copied
before and put back after each trial, so training goes on exactly as if no trial had run. The
faster backend wins; the decision is kept per (network signature, batch size, adapter) for the
worker's life, so a second model of the same shape, a preset reloaded or a reset does not measure
again.

Pure Python: the step functions are passed in and the clock is `auto.clock`, so
tests/test_webgpu_auto.py checks the decision, the time box and the restoring in CPython with
injected timings.
"""
import copy
import json
import time

MAX_STEPS = 5  # timed steps per backend ...
BUDGET_S = 1.0  # ... or this many seconds of them, whichever comes first (at least one step)
LABELS = {"numpy": "NumPy", "webgpu": "WebGPU"}
clock = time.perf_counter  # what trials are timed with (tests put a fake clock here)

_decisions = {}  # (signature, batch, adapter) -> {"backend", "rates", "reason"}


def signature(model):
    """What decides a step's speed: input, layers, loss, optimizer type and frozen layers; not the
    seed, learning rate or requested backend."""
    spec = model.spec
    return json.dumps({"input": spec["input"], "layers": spec["layers"], "loss": model.loss_type,
                       "optimizer": model.optimizer.config["type"], "frozen": sorted(model.frozen)},
                      sort_keys=True, default=str)


def remembered(model, batch, adapter):
    return _decisions.get((signature(model), int(batch), adapter))


def forget():
    """Drop every remembered decision (tests; a new device)."""
    _decisions.clear()


# ---- leaving no trace -------------------------------------------------------------------------
def snapshot(model):
    """Everything a training step changes, copied."""
    return {
        "params": {p.name: p.data.copy() for p in model.parameters(trainable_only=False)},
        "optimizer": model.optimizer.state_dict(),
        "step_count": model.step_count,
        "rng": copy.deepcopy(model.rng.bit_generator.state),
        "last_batch_output": model.last_batch_output,
        "last_outputs": model.last_outputs,
    }


def restore(model, snap):
    for p in model.parameters(trainable_only=False):
        p.data[...] = snap["params"][p.name]
        p.grad = None
    model.optimizer.load_state_dict(snap["optimizer"])
    model.step_count = snap["step_count"]
    model.rng.bit_generator.state = copy.deepcopy(snap["rng"])
    model.last_batch_output = snap["last_batch_output"]
    model.last_outputs = snap["last_outputs"]


# ---- measuring ----------------------------------------------------------------------------------
def time_steps(step, batch, max_steps=MAX_STEPS, budget_s=BUDGET_S, warmup=1):
    """Examples/s of `step()` (one training step on a batch of `batch` examples): `warmup` untimed
    calls, then timed calls until `max_steps` or `budget_s` seconds have passed (at least one)."""
    for _ in range(warmup):
        step()
    t0 = clock()
    steps = 0
    while True:
        step()
        steps += 1
        elapsed = clock() - t0
        if steps >= max_steps or elapsed >= budget_s:
            break
    return batch * steps / max(elapsed, 1e-9)


def _rate(value):
    return f"{value:,.0f}" if value >= 10 else f"{value:.2g}"


def reason(backend, rates):
    """'auto → NumPy (1,800 vs 70 examples/s on WebGPU here)': the winner's rate first."""
    other = next(b for b in rates if b != backend)
    return (f"auto → {LABELS[backend]} ({_rate(rates[backend])} vs {_rate(rates[other])} examples/s on "
            f"{LABELS[other]} here)")


def choose(rates):
    """The faster backend; a tie goes to NumPy (no device memory, no readbacks)."""
    return "webgpu" if rates["webgpu"] > rates["numpy"] else "numpy"


def decide(model, batch, adapter, trials, max_steps=MAX_STEPS, budget_s=BUDGET_S):
    """Measure every backend in `trials` (name -> a function returning (step, finish): `step()` runs one
    training step, `finish()` frees what the trial built) and remember the faster one.

    The model's state is restored after each trial. A trial that raises leaves that backend out (its
    error is returned in "errors"; a NumPy error is re-raised, since the real step would fail the same
    way). Returns {"backend", "rates", "reason", "errors"}."""
    key = (signature(model), int(batch), adapter)
    rates, errors = {}, {}
    snap = snapshot(model)
    for name, start in trials.items():
        finish = None
        try:
            step, finish = start()
            rates[name] = time_steps(step, batch, max_steps, budget_s,
                                     warmup=2 if name == "webgpu" else 1)  # WebGPU: 1 to compile, 1 warm
        except Exception as e:  # noqa: BLE001 - one backend failing leaves the other
            if name == "numpy":
                restore(model, snap)
                raise
            errors[name] = f"{type(e).__name__}: {e}"
        finally:
            if finish is not None:
                finish()
            restore(model, snap)
    if "webgpu" not in rates:
        decision = {"backend": "numpy", "rates": rates, "errors": errors,
                    "reason": f"auto → NumPy: WebGPU failed while being measured ({errors.get('webgpu')})"}
    else:
        backend = choose(rates)
        decision = {"backend": backend, "rates": rates, "errors": errors, "reason": reason(backend, rates)}
    _decisions[key] = decision
    return decision
