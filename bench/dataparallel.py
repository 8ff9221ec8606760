"""Two workers against one, on the product's own path (issue 14, item 5) -- `python3 build.py bench --only
dataparallel` (bench/run.py calls measure() here; not part of the default run).

In the bench's nnplay page (cross-origin isolated: SharedArrayBuffer), for each network and batch size,
interleaved over the repeats (best of each):
  1 worker       the playground's training step (Session.parallel.train_step, what Trainer calls) with
                 the workers setting 1
  2 workers      the same step with the setting 2: the helper worker (web/peer.js) computes half of
                 every batch's gradients (pyengine/pyengine/parallel.py)
  speed-up       2 workers / 1 worker
  auto picks     what the default setting ("auto") decides on its own for this network and batch:
                 2 or 1, from its own timings (its medians are in the JSON)
Every 2-worker run is checked against the 1-worker run of the same batches: the largest weight
difference relative to the largest weight (float32 rounding only), and that every timed step ran on two.
Then the MNIST net once more through the whole playground path, window.nnplay.train() (the learner's Play).
"""
from __future__ import annotations

import json

ONE, TWO, SPEEDUP, AUTO = "1 worker", "2 workers", "speed-up", "auto picks"

FULL = {"repeats": 3, "warmup": 3,
        # (net, batch, steps): ConvNetJS's demo batches, the playground's default 16, and bigger ones
        "cases": [("mnist", 20, 100), ("mnist", 64, 40), ("mnist", 128, 20), ("cifar", 4, 100), ("cifar", 16, 40),
                  ("cifar", 64, 12)],
        "playground": (64, 60)}
TINY = {"repeats": 1, "warmup": 1, "cases": [("mnist", 20, 3), ("cifar", 4, 3)], "playground": (20, 5)}

CODE = r'''
import asyncio, json, time
import numpy as np
from pyengine.playground import SESSION as _S

_DP = {}

async def dp_run(spec, dataset, batch, steps, warmup, workers):
    """Train a fresh model of `spec` with the playground's step on `workers` (1 or 2); ex/s of the timed steps."""
    par = _S.parallel
    par.set_setting(workers)
    x, y = examples(dataset, batch * max(1, min(steps + warmup, 50)), "/data/mnist.bin")
    model = _model(spec, "numpy")
    per = len(x) // batch
    def step(i):
        j = (i % per) * batch
        par.train_step(model, x[j:j + batch], y[j:j + batch], batch)
    for i in range(warmup):
        step(i)
    if workers == 2:
        for _ in range(3000):  # the helper boots (once) and builds this network
            if par.prepared == par.key or par.mode == "one":
                break
            await (par.preparing if par.preparing is not None else asyncio.sleep(0.01))
        if par.prepared != par.key:
            return json.dumps({"na": f"two workers did not start: {par.reason}"})
    before = par.steps_two
    t0 = time.perf_counter()
    for i in range(warmup, warmup + steps):
        step(i)
    seconds = time.perf_counter() - t0
    w = np.concatenate([p.data.reshape(-1) for p in model.parameters(trainable_only=False)])
    _DP[workers] = w
    drift = None
    if 1 in _DP and 2 in _DP and len(_DP[1]) == len(_DP[2]):
        drift = float(np.abs(_DP[1] - _DP[2]).max() / (np.abs(_DP[1]).max() + 1e-30))
    return json.dumps({"value": steps * batch / seconds, "steps": steps, "on_two": par.steps_two - before,
                       "drift": drift})

async def dp_auto(spec, dataset, batch, most=400):
    """What the default setting decides for this network and batch (it times both itself)."""
    par = _S.parallel
    par.set_setting("auto")
    x, y = examples(dataset, batch * 20, "/data/mnist.bin")
    model = _model(spec, "numpy")
    per = len(x) // batch
    for i in range(most):
        j = (i % per) * batch
        par.train_step(model, x[j:j + batch], y[j:j + batch], batch)
        if par.mode in ("one", "two") and par.key is not None and (par.mode == "one" or par.prepared == par.key):
            break
        if par.preparing is not None:
            await par.preparing
    s = par.status()
    return json.dumps({"value": s["workers"], "steps": i + 1, "reason": s["reason"],
                       "one_ms": s["one_worker_ms"], "two_ms": s["two_workers_ms"]})
'''


def _call(b, fn, **kwargs):
    return json.loads(b.run_python(f"import json\nawait {fn}(**json.loads({json.dumps(json.dumps(kwargs))}))"))


def measure(bench, presets, cifar_shape, tiny=False):
    """Add the rows to `bench` (bench/run.py's Bench); returns nothing."""
    sizes = TINY if tiny else FULL
    b = bench.b
    b.run_python(CODE + "\n'ok'")
    if not b.page.evaluate("crossOriginIsolated"):
        for runner in (ONE, TWO, SPEEDUP, AUTO):
            bench.add("dataparallel", "MNIST convnet", runner, "ex/s", {"na": "the page is not cross-origin isolated"})
        return
    nets = {"mnist": ("MNIST convnet", presets.convnetjs_mnist(), "mnist"),
            "cifar": ("CIFAR-10 convnet", presets.convnetjs_cifar10(), cifar_shape)}
    for net, batch, steps in sizes["cases"]:
        name, spec, dataset = nets[net]
        case = f"{name} (batch {batch})"
        best = {1: None, 2: None}
        drift, all_on_two = 0.0, True
        try:
            for _ in range(sizes["repeats"]):
                for workers in (1, 2):
                    r = _call(b, "dp_run", spec=spec, dataset=dataset, batch=batch, steps=steps,
                              warmup=sizes["warmup"], workers=workers)
                    if "na" in r:
                        raise RuntimeError(r["na"])
                    if best[workers] is None or r["value"] > best[workers]["value"]:
                        best[workers] = r
                    if workers == 2:
                        all_on_two = all_on_two and r["on_two"] == steps
                        drift = max(drift, r["drift"] or 0.0)
            auto = _call(b, "dp_auto", spec=spec, dataset=dataset, batch=batch)
        except Exception as e:  # noqa: BLE001 - the cells say why
            reason = f"failed: {str(e).splitlines()[0][:160]}"
            for runner in (ONE, TWO, SPEEDUP, AUTO):
                bench.add("dataparallel", case, runner, "ex/s", {"na": reason})
            continue
        bench.add("dataparallel", case, ONE, "ex/s", {"value": best[1]["value"], "steps": steps})
        bench.add("dataparallel", case, TWO, "ex/s", {"value": best[2]["value"], "steps": steps},
                  max_rel_diff_vs_1_worker=drift, every_timed_step_on_two=all_on_two)
        bench.add("dataparallel", case, SPEEDUP, "x", {"value": best[2]["value"] / best[1]["value"]})
        bench.add("dataparallel", case, AUTO, "worker(s)", {"value": auto["value"]}, reason=auto["reason"],
                  one_worker_ms=auto["one_ms"], two_workers_ms=auto["two_ms"], steps_to_decide=auto["steps"])
        if not all_on_two or not drift < 1e-3:
            print(f"  dataparallel: {case}: every timed step on two: {all_on_two}; weights' relative difference "
                  f"to 1 worker: {drift:.3g}", flush=True)

    # The learner's path: nnplay.train() on the MNIST preset (Trainer, time slices, progress events, the page).
    batch, steps = sizes["playground"]
    case = f"MNIST convnet, nnplay.train() (batch {batch})"
    rates = {1: 0.0, 2: 0.0}
    try:
        b.page.evaluate("""async ([spec, batch]) => {
            await nnplay.loadDataset('mnist', {count: 2000, ratio: 0.9});
            await nnplay.setSpec(spec, false);
            await nnplay.setTrainSettings({batchSize: batch, workers: 2});
            await nnplay.train({steps: 5});
        }""", [presets.convnetjs_mnist(), batch])
        for _ in range(sizes["repeats"]):
            for workers in (1, 2):
                r = b.page.evaluate("""async ([workers, steps]) => {
                    await nnplay.setTrainSettings({workers});
                    await nnplay.train({steps: 10});
                    const t0 = performance.now();
                    const r = await nnplay.train({steps});
                    return {seconds: (performance.now() - t0) / 1000, steps: r.steps, w: nnplay.workers};
                }""", [workers, steps])
                rates[workers] = max(rates[workers], r["steps"] * batch / r["seconds"])
        bench.add("dataparallel", case, ONE, "ex/s", {"value": rates[1], "steps": steps})
        bench.add("dataparallel", case, TWO, "ex/s", {"value": rates[2], "steps": steps})
        bench.add("dataparallel", case, SPEEDUP, "x", {"value": rates[2] / rates[1]})
    except Exception as e:  # noqa: BLE001
        reason = f"failed: {str(e).splitlines()[0][:160]}"
        for runner in (ONE, TWO, SPEEDUP):
            bench.add("dataparallel", case, runner, "ex/s", {"na": reason})
    finally:
        b.page.evaluate("nnplay.setTrainSettings({workers: 'auto'})")
