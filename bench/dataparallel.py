"""Does data-parallel training over two workers pay? (issue 14, item 5) -- `python3 build.py bench --only
dataparallel` (bench/run.py calls measure() here; not part of the default run).

On the bench's nnplay page (cross-origin isolated: SharedArrayBuffer), two more workers boot
bench/dp_worker.js (Pyodide, NumPy, pyengine, the SIMD kernels). For each network and batch size,
interleaved over the repeats (best of each), in the same page:
  1 worker            model.train_step on the full batch in one worker: what the product does now
  2 workers, data-par.  each worker forward+backward on half the batch, gradients averaged through
                       the SharedArrayBuffer, each applies the same update (bench/dataparallel_engine.py)
  speed-up             data-parallel / 1 worker
  capacity             two workers training half batches at once, no exchange, combined examples/s over
                       one worker doing the same alone: how much a second core gives right now
                       (2.0 = a whole idle core; on a loaded machine less, and then data-parallel cannot pay)
Every data-parallel run also checks that both workers end with bitwise the same weights and that they
match the 1-worker run's weights (same batches, same steps) up to float32 rounding.
"""
from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
ONE, DP, SPEEDUP, CAPACITY = "1 worker", "2 workers, data-parallel", "speed-up", "capacity (2 vs 1, no exchange)"

FULL = {"repeats": 3, "warmup": 2,
        # (net, batch, steps): ConvNetJS's demo batches, then bigger ones where a half batch is more work
        "cases": [("mnist", 20, 100), ("cifar", 4, 150), ("mnist", 64, 40), ("cifar", 32, 25)]}
TINY = {"repeats": 1, "warmup": 1, "cases": [("mnist", 20, 2), ("cifar", 4, 2)]}


def _call(fn, **kwargs):
    return f"import json\n{fn}(**json.loads({json.dumps(json.dumps(kwargs))}))"


def measure(bench, presets, cifar_shape, tiny=False, world=2):
    """Add the experiment's rows to `bench` (bench/run.py's Bench); returns nothing."""
    sizes = TINY if tiny else FULL
    b = bench.b
    page, server = b.page, b.server

    page.add_script_tag(path=str(HERE / "dataparallel.js"))
    code = (HERE / "engine_bench.py").read_text() + "\n" + (HERE / "dataparallel_engine.py").read_text() + "\n'true'"
    try:
        booted = page.evaluate("args => nnplayDP.start(args)", {"source": (HERE / "dp_worker.js").read_text(),
                                                                "base": server.url, "count": world, "code": code})
    except Exception as e:  # noqa: BLE001 - the cells say why
        reason = f"failed: {str(e).splitlines()[0][:160]}"
        for runner in (ONE, DP, SPEEDUP, CAPACITY):
            bench.add("dataparallel", "MNIST convnet", runner, "ex/s", {"na": reason})
        return
    print(f"  dataparallel: {world} workers booted in {booted['bootMs'] / 1000:.1f} s", flush=True)
    nets = {"mnist": ("MNIST convnet", presets.convnetjs_mnist(), "mnist"),
            "cifar": ("CIFAR-10 convnet", presets.convnetjs_cifar10(), cifar_shape)}
    try:
        for net, batch, steps in sizes["cases"]:
            name, spec, dataset = nets[net]
            case = f"{name} (batch {batch})"
            examples_n = batch * min(steps, 50)  # the batches cycle over this many examples
            setup = page.evaluate("args => nnplayDP.all(args)", {"codes": [
                _call("dp_setup", rank=r, world=world, spec=spec, dataset=dataset, batch=batch, examples_n=examples_n)
                for r in range(world)]})
            params = setup[0]["params"]
            page.evaluate("args => nnplayDP.share(args)", {"bytes": 16 + 4 * params * 2 * world})
            best = {ONE: 0.0, DP: 0.0, "alone": 0.0, "together": 0.0}
            agree, drift = True, 0.0
            warm = sizes["warmup"]
            for _ in range(sizes["repeats"]):
                one = page.evaluate("args => nnplayDP.all(args)", {"codes": [
                    _call("dp_run", mode="single", steps=steps, warmup=warm)] + [None] * (world - 1)})[0]
                page.evaluate("args => nnplayDP.all(args)", {"codes": [_call("dp_keep", name="single")] + [None] * (world - 1)})
                best[ONE] = max(best[ONE], one["examples"] / one["seconds"])
                dp = page.evaluate("args => nnplayDP.all(args)", {"codes": [
                    _call("dp_run", mode="dp", steps=steps, warmup=warm)] * world})
                best[DP] = max(best[DP], sum(r["examples"] for r in dp) / max(r["seconds"] for r in dp))
                digests = page.evaluate("args => nnplayDP.all(args)", {"codes": [_call("dp_weights_digest")] * world})
                agree = agree and len(set(digests)) == 1
                drift = max(drift, page.evaluate("args => nnplayDP.all(args)", {"codes": [
                    _call("dp_compare", name="single")] + [None] * (world - 1)})[0])
                alone = page.evaluate("args => nnplayDP.all(args)", {"codes": [
                    _call("dp_run", mode="half", steps=steps, warmup=warm, together=False)] + [None] * (world - 1)})[0]
                best["alone"] = max(best["alone"], alone["examples"] / alone["seconds"])
                together = page.evaluate("args => nnplayDP.all(args)", {"codes": [
                    _call("dp_run", mode="half", steps=steps, warmup=warm, together=True)] * world})
                best["together"] = max(best["together"], sum(r["examples"] for r in together) / max(r["seconds"] for r in together))
            extra = {"workers_bitwise_equal": agree, "max_rel_diff_vs_1_worker": drift, "params": params, "steps": steps}
            bench.add("dataparallel", case, ONE, "ex/s", {"value": best[ONE], "steps": steps})
            bench.add("dataparallel", case, DP, "ex/s", {"value": best[DP], "steps": steps}, **extra)
            bench.add("dataparallel", case, SPEEDUP, "x", {"value": best[DP] / best[ONE]})
            bench.add("dataparallel", case, CAPACITY, "x", {"value": best["together"] / best["alone"]})
            if not agree or not drift < 1e-3:
                print(f"  dataparallel: {case}: the workers' weights disagree (bitwise equal: {agree}, "
                      f"relative difference to 1 worker: {drift:.3g})", flush=True)
    finally:
        page.evaluate("nnplayDP.stop()")
