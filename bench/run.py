"""nnplay against its peers, side by side in one headless Chromium session.

    python3 build.py bench [--tiny] [--only PART[,PART]] [--out DIR] [--nets mnist,cifar] [--runners R,...]

(build.py builds dist/ and runs this with .venv's Python.) Parts:
  train    training examples/s on ConvNetJS's MNIST and CIFAR-10 demo networks
  kernels  matmul and conv2d GFLOP/s at several sizes
  startup  cold and warm page loads -> first screen, nnplay.ready, first training step, per stage
  memory   peak JS heap, ArrayBuffer/wasm memory while training the MNIST network
  scaling  examples/s as the batch size and the network width double
  profile  ms per training step in matrix products, im2col/col2im, pooling and the rest (NumPy engine)
  simd     (only when asked for) issue 14's targets in one run: training examples/s on NumPy, NumPy + SIMD,
           ConvNetJS and TF.js cpu with the runners interleaved round by round (a shared machine's load
           changes by the minute), matmul GFLOP/s at 256-1024 on both NumPy paths, then the step profile
  dataparallel  (only when asked for) two workers training data-parallel against one (bench/dataparallel.py)
Runners: nnplay on NumPy (pure NumPy: einsum), on NumPy + SIMD (the WebAssembly SIMD kernels, issue 14),
on WebGPU and on "auto" (train part: what auto picks; it should be within 10% of the faster of NumPy
and WebGPU), in the worker (Pyodide), ConvNetJS 0.3.0 and TensorFlow.js
4.22.0 layers on its cpu and webgpu backends (on the page's main thread), plus nnplay on CPython for
reference. Prints Markdown tables, writes bench-results/bench.json and bench-results/bench.png.
A cell a runner cannot fill says "n/a" and why; no number is ever made up.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # the CPython reference row: see tests/conftest.py

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "pyengine"))
sys.path.insert(0, str(ROOT / "tests" / "browser"))
sys.path.insert(0, str(HERE))

import harness  # noqa: E402
from pyengine import presets  # noqa: E402

PARTS = ("train", "kernels", "startup", "memory", "scaling", "profile")
OPT_IN_PARTS = ("simd", "dataparallel")  # run only when --only names them
CPYTHON, NP, GPU, CNJS, TF_CPU, TF_GPU = (
    "nnplay CPython (ref.)", "nnplay NumPy", "nnplay WebGPU", "ConvNetJS", "TF.js cpu", "TF.js webgpu")
AUTO = "nnplay auto"
SIMD = "nnplay NumPy + SIMD"  # the NumPy engine on the WebAssembly SIMD kernels (NP: on einsum, pure NumPy)
RUNNER_KEYS = {"cpython": CPYTHON, "numpy": NP, "simd": SIMD, "webgpu": GPU, "auto": AUTO, "convnetjs": CNJS,
               "tfjs-cpu": TF_CPU, "tfjs-webgpu": TF_GPU}
TFJS_BUNDLES = [ROOT / "node_modules" / "@tensorflow" / f"tfjs-{name}" / "dist" / f"tf-{name}.min.js"
                for name in ("core", "layers", "backend-cpu", "backend-webgpu")]
CONVNETJS_BUNDLE = ROOT / "node_modules" / "convnetjs" / "build" / "convnet.js"
CHROMIUM_FLAGS = ("--enable-unsafe-webgpu",)  # WebGPU in headless Chromium: SwiftShader (CPU) without a GPU
CIFAR = [32, 32, 3]  # the synthetic stand-in's shape (see engine_bench.synthetic_images)
NP_WARM, GPU_WARM = "nnplay NumPy, warm", "nnplay WebGPU, warm"  # start-up from the memory snapshot (issue 19)

# Sizes: full, and --tiny (CI: proves every path works in seconds).
FULL = {
    "train": {"mnist": (20, 25, 3), "cifar": (4, 50, 3)},  # (batch, most steps per repeat, repeats)
    "warmup": 2,
    "target_s": 4.0,  # a slow runner times fewer steps: about this many seconds per repeat (at least 1 step)
    # matmul stops at 1024: on SwiftShader one 2048^3 product takes ~1 min per runner (17 GFLOP at
    # ~0.3 GFLOP/s), too long for one bench run; scripts/wgsl_run.py times 2048 on a real GPU.
    "matmul": [64, 128, 256, 512, 1024],
    # ConvNetJS's MNIST (conv1, conv2) and CIFAR-10 (conv1..3) layers, and issue 4's 32x32x32x16 input, 32 3x3 filters.
    "conv2d": [dict(n=20, h=24, w=24, c=1, f=8, k=5), dict(n=20, h=12, w=12, c=8, f=16, k=5),
               dict(n=4, h=32, w=32, c=3, f=16, k=5), dict(n=4, h=16, w=16, c=16, f=20, k=5),
               dict(n=4, h=8, w=8, c=20, f=20, k=5), dict(n=8, h=32, w=32, c=32, f=32, k=3),
               dict(n=32, h=32, w=32, c=16, f=32, k=3)],
    "min_time": 0.25,
    "startup_runs": 3,
    "memory_steps": 30,
    "batches": [8, 16, 32, 64], "widths": [1, 2, 4], "width_batch": 20, "scaling_examples": 320, "scaling_repeats": 1,
    "scaling_target_s": 2.5,
    "profile_steps": {"mnist": (20, 20), "cifar": (4, 20)},  # (batch, steps)
    "dataparallel": "full",  # bench/dataparallel.py's FULL or TINY sizes
    # the simd part: rounds of (every runner once, repeats=1) per network; its matmul sizes (issue 14: 256-1024)
    "simd_rounds": 3, "simd_tfjs_rounds": 1, "simd_matmul": [256, 512, 1024],
}
TINY = {
    "train": {"mnist": (20, 1, 1), "cifar": (4, 1, 1)},
    "warmup": 1,
    "target_s": None,
    "matmul": [16, 32],
    "conv2d": [dict(n=2, h=8, w=8, c=2, f=4, k=3)],
    "min_time": 0.005,
    "startup_runs": 1,
    "memory_steps": 1,
    "batches": [2, 4], "widths": [1, 2], "width_batch": 2, "scaling_examples": 4, "scaling_repeats": 1,
    "scaling_target_s": None,
    "profile_steps": {"mnist": (20, 1), "cifar": (4, 1)},
    "dataparallel": "tiny",
    "simd_rounds": 1, "simd_tfjs_rounds": 1, "simd_matmul": [16, 32],
}


def conv_label(s):
    return f"{s['n']}x{s['h']}x{s['w']}x{s['c']} * {s['k']}x{s['k']}x{s['f']}"


def widened(spec, factor):
    """The spec with every conv2d's filters and every hidden dense layer's units times `factor`."""
    spec = json.loads(json.dumps(spec))
    for layer in spec["layers"][:-1]:
        for key in ("filters", "units"):
            if key in layer:
                layer[key] *= factor
    return spec


def cell(result):
    """A runner's answer -> {"value": number} or {"na": reason}."""
    if isinstance(result, dict) and result.get("na"):
        return {"na": result["na"]}
    if isinstance(result, dict) and isinstance(result.get("value"), (int, float)):
        return {k: v for k, v in result.items() if k in ("value", "rates", "steps", "backend", "reason")}
    return {"na": f"no result ({result!r:.80})"}


def combine(results):
    """One cell from several single-repeat train_rate results: the best rate, every rate, the first
    failure if any failed."""
    failed = next((r for r in results if not (isinstance(r, dict) and isinstance(r.get("value"), (int, float)))), None)
    if failed is not None:
        return failed
    best = max(results, key=lambda r: r["value"])
    return {**best, "rates": [r["value"] for r in results], "steps": [r.get("steps") for r in results]}


class Browser:
    """One Chromium, one nnplay page with the peers injected, and CDP sessions for heap usage."""

    def __init__(self, playwright, server):
        self.browser = harness.launch(playwright, *CHROMIUM_FLAGS)
        self.server = server
        self.version = self.browser.version
        # The page's CSP allows only its own scripts; the benchmark adds the peers beside them.
        self.context = self.browser.new_context(bypass_csp=True, viewport={"width": 1400, "height": 900})
        self.page = self.context.new_page()
        self.page.goto(server.url)
        self.ready = harness.wait_ready(self.page)
        self.page.evaluate("nnplay.loadMnist()")
        self.inject_peers(self.page)
        self.run_python((HERE / "engine_bench.py").read_text())
        self.page_cdp = self.context.new_cdp_session(self.page)
        self.webgpu = self.page.evaluate("nnplay.probeWebGPU()")
        self.worker_cdp = WorkerCDP(self.browser, self.page)

    @staticmethod
    def inject_peers(page, tfjs=True, convnetjs=True):
        for path in ([CONVNETJS_BUNDLE] if convnetjs else []) + (TFJS_BUNDLES if tfjs else []) + [HERE / "peers.js"]:
            page.add_script_tag(path=str(path))

    def run_python(self, code):
        return self.page.evaluate("code => nnplay.runPython(code)", code)

    def call_python(self, fn, **kwargs):
        """fn(**kwargs) in the worker, where engine_bench's functions are defined."""
        args = json.dumps(json.dumps(kwargs))
        return self.run_python(f"import json\n{fn}(**json.loads({args}))")

    def call_js(self, fn, **kwargs):
        try:
            return self.page.evaluate(f"args => nnplayBench.{fn}(args)", kwargs)
        except Exception as e:  # noqa: BLE001 - a peer that fails reports why, the others go on
            return {"na": f"failed: {str(e).splitlines()[0][:120]}"}

    def heap(self):
        """(page, worker) Runtime.getHeapUsage: usedSize (JS heap) and backingStorageSize (ArrayBuffers, wasm)."""
        return self.page_cdp.send("Runtime.getHeapUsage"), self.worker_cdp.send("Runtime.getHeapUsage")

    def collect_garbage(self):
        self.page_cdp.send("HeapProfiler.collectGarbage")
        self.worker_cdp.send("HeapProfiler.collectGarbage")


class WorkerCDP:
    """CDP for the page's dedicated worker. Playwright has no CDP session for workers; the browser
    session reaches it through Target.sendMessageToTarget (replies arrive as events)."""

    def __init__(self, browser, page):
        self.page = page
        self.session = browser.new_browser_cdp_session()
        targets = self.session.send("Target.getTargets")["targetInfos"]
        worker = next(t for t in targets if t["type"] == "worker" and t["url"].endswith("/worker.js"))
        self.replies: dict[int, dict] = {}
        self.next_id = 0
        self.session.on("Target.receivedMessageFromTarget", self._receive)
        self.sid = self.session.send("Target.attachToTarget", {"targetId": worker["targetId"], "flatten": False})["sessionId"]

    def _receive(self, event):
        message = json.loads(event["message"])
        if "id" in message:
            self.replies[message["id"]] = message

    def send(self, method, params=None, timeout=30.0):
        self.next_id += 1
        mid = self.next_id
        self.session.send("Target.sendMessageToTarget",
                          {"sessionId": self.sid, "message": json.dumps({"id": mid, "method": method, "params": params or {}})})
        deadline = time.monotonic() + timeout
        while mid not in self.replies:  # Playwright delivers events while it waits
            if time.monotonic() > deadline:
                raise TimeoutError(f"worker did not answer {method}")
            self.page.wait_for_timeout(2)
        reply = self.replies.pop(mid)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]


class Bench:
    def __init__(self, sizes, browser: Browser, nets=("mnist", "cifar"), runners=None):
        self.sizes, self.b = sizes, browser
        self.nets, self.runners = nets, runners  # train part: which nets, which runners (None: all)
        self.rows: list[dict] = []
        self.auto_checks: list[dict] = []  # train part: auto's examples/s against the faster backend
        self.webgpu_reason = None if browser.webgpu.get("available") else f"no WebGPU adapter: {browser.webgpu.get('reason')}"

    def add(self, part, case, runner, unit, result, **extra):
        row = {"part": part, "case": case, "runner": runner, "unit": unit, **cell(result), **extra}
        self.rows.append(row)
        shown = f"{row['value']:.4g}" if "value" in row else f"n/a ({row['na']})"
        print(f"  {part:<8} {case:<34} {runner:<22} {shown} {unit if 'value' in row else ''}", flush=True)

    def nnplay(self, backend, fn, **kwargs):
        if backend == "webgpu" and self.webgpu_reason:
            return {"na": self.webgpu_reason}
        try:
            return self.b.call_python(fn, backend=backend, **kwargs)
        except Exception as e:  # noqa: BLE001 - reported in the cell
            return {"na": f"failed: {str(e).splitlines()[0][:120]}"}

    def tfjs(self, backend, fn, **kwargs):
        if backend == "webgpu" and self.webgpu_reason:
            return {"na": self.webgpu_reason}
        return self.b.call_js(fn, backend=backend, **kwargs)

    # ---- parts ----------------------------------------------------------------------------------
    def train(self):
        import engine_bench  # CPython reference: the same code the worker runs

        warmup = self.sizes["warmup"]
        want = lambda runner: self.runners is None or runner in self.runners  # noqa: E731
        for name, spec, dataset in (("MNIST convnet", presets.convnetjs_mnist(), "mnist"),
                                    ("CIFAR-10 convnet", presets.convnetjs_cifar10(), CIFAR)):
            net = "mnist" if dataset == "mnist" else "cifar"
            if net not in self.nets:
                continue
            batch, steps, repeats = self.sizes["train"][net]
            case = f"{name} (batch {batch})"
            args = dict(spec=spec, dataset=dataset, batch=batch, steps=steps, repeats=repeats, warmup=warmup)
            if want(CPYTHON):
                self.add("train", case, CPYTHON, "ex/s", engine_bench.train_rate(
                    mnist_path=str(harness.build.DIST / "data" / "mnist.bin"), target_s=self.sizes["target_s"], **args))
            py_args, js_args = dict(args, target_s=self.sizes["target_s"]), dict(args, targetS=self.sizes["target_s"])
            # nnplay's backends take turns, one repeat each per round, so that a machine whose load
            # changes during the run slows them alike (auto against the faster backend is a ratio)
            # (auto's NumPy steps run on the worker's default path, the SIMD kernels where they loaded)
            mine = [(runner, backend, extra) for runner, backend, extra in (
                (NP, "numpy", {}), (SIMD, "numpy", {"kernels": "simd"}), (GPU, "webgpu", {}), (AUTO, "auto", {}))
                if want(runner)]
            rounds = {runner: [] for runner, _, _ in mine}
            for _ in range(repeats):
                for runner, backend, extra in mine:
                    rounds[runner].append(self.nnplay(backend, "train_rate", **dict(py_args, repeats=1, **extra)))
            for runner, _, _ in mine:
                self.add("train", case, runner, "ex/s", combine(rounds[runner]))
            self.auto_summary(case)
            if want(CNJS):
                self.add("train", case, CNJS, "ex/s", self.b.call_js("convnetjsTrain", **js_args))
            if want(TF_CPU):
                self.add("train", case, TF_CPU, "ex/s", self.tfjs("cpu", "tfjsTrain", **js_args))
            if want(TF_GPU):
                self.add("train", case, TF_GPU, "ex/s", self.tfjs("webgpu", "tfjsTrain", **js_args))

    def auto_summary(self, case):
        """Print how "auto" did against the fastest of NumPy (einsum or SIMD) and WebGPU in this page; keep it."""
        rows = {r["runner"]: r for r in self.rows if r["part"] == "train" and r["case"] == case}
        auto, named = rows.get(AUTO, {}), [rows.get(NP, {}), rows.get(SIMD, {}), rows.get(GPU, {})]
        best = max((r for r in named if "value" in r), key=lambda r: r["value"], default=None)
        if "value" not in auto or best is None:
            return
        share = auto["value"] / best["value"]
        # per round: auto against the fastest of the others in that same round (the load moves between rounds)
        rounds = [r.get("rates") or [] for r in named if "value" in r]
        per_round = [a / max(rs[i] for rs in rounds) for i, a in enumerate(auto.get("rates") or [])
                     if all(len(rs) > i for rs in rounds)]
        median = statistics.median(per_round) if per_round else None
        self.auto_checks.append({"case": case, "auto": auto["value"], "faster": best["runner"],
                                 "faster_value": best["value"], "share": share, "per_round": per_round,
                                 "median_round_share": median, "chose": auto.get("backend"),
                                 "reason": auto.get("reason")})
        print(f"  {'':<8} {case:<34} auto = {100 * share:.0f}% of {best['runner']} (best of each)"
              + (f", median per round {100 * median:.0f}%" if median is not None else "")
              + f" (chose {auto.get('backend')}: {auto.get('reason')})", flush=True)

    def profile(self):
        """Where a NumPy-engine training step goes (ms per step), on einsum and on the SIMD kernels."""
        for name, spec, dataset in (("MNIST", presets.convnetjs_mnist(), "mnist"),
                                    ("CIFAR-10", presets.convnetjs_cifar10(), CIFAR)):
            batch, steps = self.sizes["profile_steps"]["mnist" if dataset == "mnist" else "cifar"]
            for runner, kernels in ((NP, "einsum"), (SIMD, "simd")):
                res = self.nnplay("numpy", "step_profile", spec=spec, dataset=dataset, batch=batch, steps=steps,
                                  kernels=kernels)
                for part in ("matrix products", "im2col/col2im", "pooling", "optimizer update", "Python and other NumPy",
                             "total"):
                    value = {"value": res["ms"][part]} if "ms" in res else res
                    self.add("profile", f"{name} (batch {batch}): {part}", runner, "ms/step", value)

    def simd(self):
        """Issue 14's targets in one run: NumPy + SIMD against ConvNetJS (>= 10x on both nets), matmul
        (>= 20 GFLOP/s at 256-1024), and the step profile. On a shared machine the load changes from
        minute to minute, so the runners take turns: each round runs every runner once (one repeat each),
        the value is the best round, and the ratio line also gives each round's own SIMD / ConvNetJS."""
        rounds, warmup, target = self.sizes["simd_rounds"], self.sizes["warmup"], self.sizes["target_s"]
        load = [os.getloadavg()[0]]
        lines = []
        for name, spec, dataset in (("MNIST convnet", presets.convnetjs_mnist(), "mnist"),
                                    ("CIFAR-10 convnet", presets.convnetjs_cifar10(), CIFAR)):
            batch, steps, _ = self.sizes["train"]["mnist" if dataset == "mnist" else "cifar"]
            case = f"{name} (batch {batch})"
            args = dict(spec=spec, dataset=dataset, batch=batch, steps=steps, repeats=1, warmup=warmup)
            py, js = dict(args, target_s=target), dict(args, targetS=target)
            calls = {NP: lambda: self.nnplay("numpy", "train_rate", **py),
                     SIMD: lambda: self.nnplay("numpy", "train_rate", kernels="simd", **py),
                     CNJS: lambda: self.b.call_js("convnetjsTrain", **js),
                     TF_CPU: lambda: self.tfjs("cpu", "tfjsTrain", **js)}
            got = {runner: [] for runner in calls}
            for i in range(rounds):
                for runner, call in calls.items():
                    if runner != TF_CPU or i < self.sizes["simd_tfjs_rounds"]:  # TF.js cpu: ~100x slower, fewer rounds
                        got[runner].append(cell(call()))
                load.append(os.getloadavg()[0])
            for runner, results in got.items():
                ok = [r for r in results if "value" in r]
                best = max(ok, key=lambda r: r["value"]) if ok else results[0]
                self.add("simd", case, runner, "ex/s", best, rounds=[r.get("value") for r in results])
            per_round = [s["value"] / c["value"] for s, c in zip(got[SIMD], got[CNJS]) if "value" in s and "value" in c]
            if per_round:
                lines.append(f"{case}: NumPy + SIMD / ConvNetJS per round: "
                             + ", ".join(f"{r:.1f}x" for r in per_round) + " (target: >= 10x)")
        t = self.sizes["min_time"]
        sizes = self.sizes["simd_matmul"]
        best = {NP: [None] * len(sizes), SIMD: [None] * len(sizes)}
        for _ in range(rounds):
            for runner, kernels in ((NP, "einsum"), (SIMD, "simd")):
                res = self.nnplay("numpy", "matmul_gflops", kernels=kernels, sizes=sizes, min_time=t)
                for i in range(len(sizes)):
                    r = cell(res[i] if isinstance(res, list) else res)
                    if best[runner][i] is None or r.get("value", -1) > best[runner][i].get("value", -1):
                        best[runner][i] = r
            load.append(os.getloadavg()[0])
        for i, n in enumerate(sizes):
            for runner in (NP, SIMD):
                self.add("simd", f"matmul {n}x{n}x{n}", runner, "GFLOP/s", best[runner][i])
        self.profile()
        load.append(os.getloadavg()[0])
        self.simd_lines = lines + [f"load average (1 min) during the simd part: "
                                   + ", ".join(f"{v:.1f}" for v in load) + f" on {len(os.sched_getaffinity(0))} cores"]
        for line in self.simd_lines:
            print("  " + line, flush=True)

    def dataparallel(self):
        """Issue 14, item 5: does data-parallel training over two workers pay? (bench/dataparallel.py)"""
        import dataparallel

        dataparallel.measure(self, presets, CIFAR, tiny=self.sizes["dataparallel"] == "tiny")

    def kernels(self):
        t = self.sizes["min_time"]
        for kind, sizes, label in (("matmul", self.sizes["matmul"], lambda n: f"matmul {n}x{n}x{n}"),
                                   ("conv2d", self.sizes["conv2d"], lambda s: f"conv2d {conv_label(s)}")):
            key = "sizes" if kind == "matmul" else "shapes"
            results = {
                NP: self.nnplay("numpy", f"{kind}_gflops", **{key: sizes, "min_time": t}),
                SIMD: self.nnplay("numpy", f"{kind}_gflops", kernels="simd", **{key: sizes, "min_time": t}),
                GPU: self.nnplay("webgpu", f"{kind}_gflops", **{key: sizes, "min_time": t}),
                TF_CPU: self.tfjs("cpu", f"tfjs{kind.capitalize()}", **{key: sizes, "minTime": t}),
                TF_GPU: self.tfjs("webgpu", f"tfjs{kind.capitalize()}", **{key: sizes, "minTime": t}),
            }
            for i, size in enumerate(sizes):
                for runner, res in results.items():
                    self.add("kernels", label(size), runner, "GFLOP/s", res[i] if isinstance(res, list) else res)

    def scaling(self):
        mnist = presets.convnetjs_mnist()
        n, repeats, warmup = self.sizes["scaling_examples"], self.sizes["scaling_repeats"], self.sizes["warmup"]
        cases = [(f"batch {b} (width x1)", mnist, b) for b in self.sizes["batches"]]
        wb = self.sizes["width_batch"]
        cases += [(f"width x{k} (batch {wb})", widened(mnist, k), wb) for k in self.sizes["widths"]]
        for case, spec, batch in cases:
            args = dict(spec=spec, dataset="mnist", batch=batch, steps=max(1, n // batch), repeats=repeats, warmup=warmup)
            target = self.sizes["scaling_target_s"]
            self.add("scaling", case, NP, "ex/s", self.nnplay("numpy", "train_rate", target_s=target, **args))
            self.add("scaling", case, SIMD, "ex/s", self.nnplay("numpy", "train_rate", target_s=target, kernels="simd", **args))
            self.add("scaling", case, GPU, "ex/s", self.nnplay("webgpu", "train_rate", target_s=target, **args))
            self.add("scaling", case, TF_CPU, "ex/s", self.tfjs("cpu", "tfjsTrain", targetS=target, **args))
            self.add("scaling", case, TF_GPU, "ex/s", self.tfjs("webgpu", "tfjsTrain", targetS=target, **args))

    def memory(self):
        """Peak heap usage while training the MNIST network: sampled by CDP every few ms while the
        runner trains (yielding to the event loop after each step), in the page and in the worker."""
        spec, batch, steps = presets.convnetjs_mnist(), 20, self.sizes["memory_steps"]
        case = f"MNIST convnet, {steps} steps of {batch}"
        gpu_reason = self.webgpu_reason or self.b.run_python("webgpu_unavailable()")
        jobs = [
            (NP, None, self._nnplay_job("numpy", spec, batch, steps)),
            (GPU, gpu_reason, self._nnplay_job("webgpu", spec, batch, steps)),
            (CNJS, None, f"nnplayBench.convnetjsTrain({{spec: {json.dumps(spec)}, dataset: 'mnist', batch: {batch}, "
                         f"steps: {steps}, repeats: 1, warmup: 0, yieldEachStep: true}})"),
            (TF_CPU, None, self._tf_job("cpu", spec, batch, steps)),
            (TF_GPU, self.webgpu_reason, self._tf_job("webgpu", spec, batch, steps)),
        ]
        for runner, na, js in jobs:
            if na:
                for what in ("JS heap peak", "buffers+wasm peak"):
                    self.add("memory", what, runner, "MB", {"na": na}, workload=case)
                continue
            self.b.collect_garbage()
            base = self.b.heap()
            job = f"mem-{runner}"
            self.b.page.evaluate(f"nnplayBench.start({json.dumps(job)}, {js})")
            peak_js = peak_buf = 0
            while True:
                page, worker = self.b.heap()
                peak_js = max(peak_js, page["usedSize"] + worker["usedSize"])
                peak_buf = max(peak_buf, page["backingStorageSize"] + worker["backingStorageSize"])
                state = self.b.page.evaluate(f"nnplayBench.job({json.dumps(job)})")
                if state["done"]:
                    break
                self.b.page.wait_for_timeout(10)
            base_js = base[0]["usedSize"] + base[1]["usedSize"]
            base_buf = base[0]["backingStorageSize"] + base[1]["backingStorageSize"]
            fail = {"na": f"failed: {state['error'][:120]}"} if state.get("error") else None
            self.add("memory", "JS heap peak", runner, "MB", fail or {"value": peak_js / 2**20},
                     workload=case, growth_mb=(peak_js - base_js) / 2**20)
            self.add("memory", "buffers+wasm peak", runner, "MB", fail or {"value": peak_buf / 2**20},
                     workload=case, growth_mb=(peak_buf - base_buf) / 2**20)
            if runner == NP and not fail:
                self.add("memory", "wasm memory", runner, "MB", {"value": state["result"]["wasm_bytes"] / 2**20}, workload=case)

    @staticmethod
    def _nnplay_job(backend, spec, batch, steps):
        kwargs = dict(spec=spec, dataset="mnist", batch=batch, steps=steps, backend=backend)
        code = f"import json\nawait train_for_memory(**json.loads({json.dumps(json.dumps(kwargs))}))"
        return f"nnplay.runPython({json.dumps(code)})"

    @staticmethod
    def _tf_job(backend, spec, batch, steps):
        return (f"nnplayBench.tfjsTrain({{backend: '{backend}', spec: {json.dumps(spec)}, dataset: 'mnist', "
                f"batch: {batch}, steps: {steps}, repeats: 1, warmup: 0, yieldEachStep: true}})")

    def startup(self):
        """Per run a fresh browser context (empty caches): a cold page load, then a second page in the same
        context: a warm start (Python from the memory snapshot, files and compiled wasm from the caches).
        Each: first screen (ms from navigation to the builder drawn from the build's catalogue), page load,
        nnplay.ready, MNIST, build, the first train_step on NumPy, then the same net on WebGPU (device set-up
        in "build model"; the pipelines compile in its first step).
        Peers: blank page -> their bundles injected from disk -> build -> first step on one batch."""
        runs = self.sizes["startup_runs"]
        self.gpu_reason = self.webgpu_reason or self.b.run_python("webgpu_unavailable()")
        results = {NP: [], GPU: [], NP_WARM: [], GPU_WARM: []}
        peer_runs = {CNJS: [], TF_CPU: [], TF_GPU: []}
        for _ in range(runs):
            context = self.b.browser.new_context()
            for np_runner, gpu_runner in ((NP, GPU), (NP_WARM, GPU_WARM)):
                np_run, gpu_run = self._nnplay_startup(context, warm=np_runner == NP_WARM)
                results[np_runner].append(np_run)
                if gpu_run:
                    results[gpu_runner].append(gpu_run)
            context.close()
            for runner in peer_runs:
                if runner == TF_GPU and self.webgpu_reason:
                    continue
                try:
                    peer_runs[runner].append(self._peer_startup(runner))
                except Exception as e:  # noqa: BLE001 - reported in the cell
                    peer_runs[runner] = f"failed: {str(e).splitlines()[0][:120]}"
                    break
        for runner in (NP, NP_WARM):
            self._add_startup(runner, results[runner])
        for runner in (GPU, GPU_WARM):
            if results[runner] and not self.gpu_reason:
                self._add_startup(runner, results[runner])
            else:
                self.add("startup", "total", runner, "s", {"na": self.gpu_reason})
        for runner, found in peer_runs.items():
            if not found or isinstance(found, str):
                self.add("startup", "total", runner, "s", {"na": found or self.webgpu_reason})
            else:
                self._add_startup(runner, found)

    _BUILD_CODE = ("import pyengine\nfrom pyengine import data\nfrom pyengine.presets import convnetjs_mnist\n"
                   "images, labels = data.load_mnist('/data/mnist.bin')\n"
                   "x, y = data.mnist_arrays(images[:20], labels[:20], crop=24)\n"
                   "model = pyengine.build({**convnetjs_mnist(), 'backend': 'numpy'})")
    _GPU_CODE = ("gpu_model = pyengine.build({**convnetjs_mnist(), 'backend': 'webgpu'})\n"
                 "getattr(gpu_model, 'backend', 'numpy'), getattr(gpu_model, 'backend_notice', None)")

    def _nnplay_startup(self, context, warm):
        """One page load in `context` -> (NumPy run, WebGPU run or None). Checks that a warm start really
        restored the snapshot (and a cold one did not), and waits until a cold one has stored it."""
        page = context.new_page()
        t0 = time.perf_counter()
        page.goto(self.b.server.url)
        t_load = time.perf_counter()
        ready = harness.wait_ready(page)
        t_ready = time.perf_counter()
        start = ready.get("start", {})
        if (start.get("kind") == "warm") != warm:
            raise RuntimeError(f"expected a {'warm' if warm else 'cold'} start, got {start}")
        first_screen = float(page.evaluate("document.body.dataset.firstScreen")) / 1000
        page.evaluate("nnplay.loadMnist()")
        t_mnist = time.perf_counter()
        page.evaluate("code => nnplay.runPython(code)", self._BUILD_CODE)
        t_build = time.perf_counter()
        page.evaluate("nnplay.runPython('model.train_step(x, y)')")
        t_step = time.perf_counter()
        gpu_run = None
        if not self.gpu_reason:  # then the same on WebGPU, in the same page
            t_g0 = time.perf_counter()
            on, notice = page.evaluate("code => nnplay.runPython(code)", self._GPU_CODE)
            t_g1 = time.perf_counter()
            if on != "webgpu":
                self.gpu_reason = f"the model runs on {on}: {notice}"
            else:
                page.evaluate("nnplay.runPython('gpu_model.train_step(x, y)')")
                t_g2 = time.perf_counter()
                gpu_run = {"first screen": first_screen, "page load": t_load - t0,
                           "boot (nnplay.ready)": t_ready - t_load, "MNIST load": t_mnist - t_ready,
                           "build model": t_g1 - t_g0, "first train_step": t_g2 - t_g1,
                           "total": t_mnist - t0 + t_g2 - t_g0}
        if not warm:  # the next page of this context restores what this one stored
            page.evaluate("""() => new Promise((resolve, reject) => {
                const t0 = performance.now();
                const poll = async () => {
                    const hit = await (await caches.open('nnplay-python-snapshot')).match(new URL('python-snapshot', location.href).href);
                    if (hit) resolve(); else if (performance.now() - t0 > 120000) reject(new Error('no snapshot stored'));
                    else setTimeout(poll, 100);
                };
                poll();
            })""")
        page.close()
        np_run = {"first screen": first_screen, "page load": t_load - t0, "boot (nnplay.ready)": t_ready - t_load,
                  "MNIST load": t_mnist - t_ready, "build model": t_build - t_mnist,
                  "first train_step": t_step - t_build, "total": t_step - t0,
                  "boot stages (worker)": {k: v / 1000 for k, v in ready["timings"].items()}}
        return np_run, gpu_run

    def _add_startup(self, runner, runs):
        for key in runs[0]:
            if key == "boot stages (worker)":
                continue
            values = [r[key] for r in runs]
            extra = {"runs": values}
            if key == "total" and runner in (NP, NP_WARM):
                extra["boot_stages"] = [r["boot stages (worker)"] for r in runs]
            self.add("startup", key, runner, "s", {"value": statistics.median(values)}, **extra)

    def _peer_startup(self, runner):
        context = self.b.browser.new_context(bypass_csp=True)
        page = context.new_page()
        # An empty page on the server's origin: a secure context (WebGPU needs one), nothing fetched.
        blank = self.b.server.url + "bench-blank.html"
        page.route(blank, lambda route: route.fulfill(body="<!doctype html><title>peer</title>", content_type="text/html"))
        t0 = time.perf_counter()
        page.goto(blank)
        self.b.inject_peers(page, tfjs=runner != CNJS, convnetjs=runner == CNJS)
        t_script = time.perf_counter()
        spec = presets.convnetjs_mnist()
        one_step = dict(spec=spec, dataset=[24, 24, 1], batch=20, steps=1, repeats=1, warmup=0)
        if runner == CNJS:
            page.evaluate("args => nnplayBench.convnetjsTrain(args)", one_step)
        else:
            page.evaluate("args => nnplayBench.tfjsTrain(args)", {**one_step, "backend": "cpu" if runner == TF_CPU else "webgpu"})
        t_step = time.perf_counter()
        context.close()
        return {"load scripts": t_script - t0, "build model + first step": t_step - t_script, "total": t_step - t0}


# ---- output -------------------------------------------------------------------------------------------
def tables(rows) -> str:
    """Markdown: one table per part (cases down, runners across); n/a reasons as numbered notes."""
    out, notes = [], []
    for part in PARTS + OPT_IN_PARTS:
        prow = [r for r in rows if r["part"] == part]
        if not prow:
            continue
        runners = list(dict.fromkeys(r["runner"] for r in prow))
        cases = list(dict.fromkeys(r["case"] for r in prow))
        unit = prow[0]["unit"] if len({r["unit"] for r in prow}) == 1 else ""
        out.append(f"\n**{part}**" + (f" ({unit})" if unit else ""))
        out.append("| " + " | ".join([""] + runners) + " |")
        out.append("|---" + "|--:" * len(runners) + "|")
        for case in cases:
            cells = []
            for runner in runners:
                r = next((r for r in prow if r["case"] == case and r["runner"] == runner), None)
                if r is None:
                    cells.append("")
                elif "value" in r:
                    v = r["value"]
                    cells.append((f"{v:,.0f}" if v >= 100 else f"{v:.3g}") + ("" if unit else f" {r['unit']}"))
                else:
                    if r["na"] not in notes:
                        notes.append(r["na"])
                    cells.append(f"n/a [{notes.index(r['na']) + 1}]")
            out.append("| " + " | ".join([case] + cells) + " |")
    if notes:
        out.append("\n" + "\n".join(f"[{i + 1}] {n}" for i, n in enumerate(notes)))
    return "\n".join(out)


def startup_ratios(rows):
    """Start-up against the peers, measured in the same run (the figures themselves move with the load)."""
    def get(case, runner):
        return next((r["value"] for r in rows if r["part"] == "startup" and r["case"] == case
                     and r["runner"] == runner and "value" in r), None)
    lines = []
    for runner in (NP, NP_WARM, GPU, GPU_WARM):
        total, ready = get("total", runner), get("boot (nnplay.ready)", runner)
        if total is None:
            continue
        peers = ", ".join(f"{total / get('total', p):.1f}x {p}" for p in (CNJS, TF_CPU) if get("total", p))
        lines.append(f"{runner}: first screen {get('first screen', runner):.2f} s, nnplay.ready {ready:.2f} s after load, "
                     f"first step {total:.2f} s ({peers})")
    return lines


def simd_ratios(rows):
    """Lines naming NumPy + SIMD's training speed over ConvNetJS's and over pure NumPy's, per network."""
    lines = []
    for part, where in (("train", ""), ("simd", ", simd part: best rounds")):
        value = {(r["case"], r["runner"]): r.get("value") for r in rows if r["part"] == part}
        for case in dict.fromkeys(r["case"] for r in rows if r["part"] == part and "matmul" not in r["case"]):
            simd, cnjs, np_ = value.get((case, SIMD)), value.get((case, CNJS)), value.get((case, NP))
            if simd and cnjs:
                lines.append(f"{case}: NumPy + SIMD is {simd / cnjs:.1f}x ConvNetJS"
                             + (f", {simd / np_:.2f}x pure NumPy" if np_ else "") + f" (this run{where})")
    return ["", *lines] if lines else []


def render_png(browser, result, path: Path):
    """Draw the chart on a canvas in the same Chromium (bench/chart.js) and screenshot it."""
    page = browser.new_page()
    page.set_content("<body style='margin:0;background:#fff'></body>")
    page.add_script_tag(path=str(HERE / "chart.js"))
    page.evaluate("result => drawBenchChart(result)", result)
    page.locator("canvas").screenshot(path=str(path))
    page.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny sizes: proves every path works in seconds (CI)")
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts: {', '.join(PARTS)}")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results", help="folder for bench.json and bench.png")
    parser.add_argument("--matmul", type=int, nargs="+", metavar="N",
                        help="square matmul sizes instead of the default ones (e.g. --matmul 2048: minutes on SwiftShader)")
    parser.add_argument("--nets", default="mnist,cifar", help="train part: which nets (mnist, cifar)")
    parser.add_argument("--repeats", type=int, help="train part: repeats (rounds) per runner instead of 3 "
                        "(more on a loaded machine, where the best of few is noisy)")
    parser.add_argument("--runners", help="train part: only these runners, by key: " + ", ".join(RUNNER_KEYS)
                        + " (e.g. numpy,webgpu,auto: auto against the two backends in a few minutes)")
    args = parser.parse_args(argv)
    nets = tuple(n.strip() for n in args.nets.split(",") if n.strip())
    if set(nets) - {"mnist", "cifar"}:
        parser.error(f"unknown net(s) in --nets {args.nets}; choose from mnist, cifar")
    runners = None
    if args.runners:
        keys = [r.strip() for r in args.runners.split(",") if r.strip()]
        bad = [k for k in keys if k not in RUNNER_KEYS]
        if bad:
            parser.error(f"unknown runner(s) {', '.join(bad)}; choose from {', '.join(RUNNER_KEYS)}")
        runners = {RUNNER_KEYS[k] for k in keys}
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS + OPT_IN_PARTS]
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS + OPT_IN_PARTS)}")
    missing = [p for p in TFJS_BUNDLES + [CONVNETJS_BUNDLE] if not p.exists()]
    if missing:
        raise SystemExit(f"{missing[0]} is missing: run `npm ci` (the peers are dev dependencies)")
    from playwright.sync_api import sync_playwright

    import numpy as np

    sizes = TINY if args.tiny else FULL
    if args.matmul:
        sizes = dict(sizes, matmul=args.matmul)
    if args.repeats:
        sizes = dict(sizes, train={net: (b, n, args.repeats) for net, (b, n, _) in sizes["train"].items()})
    started = time.monotonic()
    server = harness.Server()
    try:
        with sync_playwright() as p:
            b = Browser(p, server)
            bench = Bench(sizes, b, nets, runners)
            meta = {
                "command": "python3 build.py bench" + (" --tiny" if args.tiny else "")
                           + ("" if set(parts) == set(PARTS) else f" --only {','.join(parts)}")
                           + (f" --matmul {' '.join(map(str, args.matmul))}" if args.matmul else "")
                           + (f" --nets {','.join(nets)}" if set(nets) != {"mnist", "cifar"} else "")
                           + (f" --runners {args.runners}" if args.runners else "")
                           + (f" --repeats {args.repeats}" if args.repeats else ""),
                "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores, {platform.system()}",
                "chromium": b.version,
                "webgpu_adapter": b.webgpu.get("adapter") or b.webgpu.get("reason"),
                "versions": {"nnplay": b.ready["versions"]["nnplay"], "pyodide": b.ready["versions"]["pyodide"],
                             "numpy (Pyodide)": b.ready["versions"]["numpy"], "python (CPython ref.)": platform.python_version(),
                             "numpy (CPython ref.)": np.__version__, "convnetjs": "0.3.0", "tfjs": "4.22.0"},
                "tiny": args.tiny,
                "sizes": sizes,
                "notes": [
                    "nnplay runs in the worker (Pyodide 0.27.7, NumPy 2.0.2, no BLAS); ConvNetJS and TF.js on the page's main thread.",
                    "WebGPU here is SwiftShader: Chromium's CPU emulation of a GPU (--enable-unsafe-webgpu, no GPU in this machine).",
                    "CIFAR-10 input is synthetic (deterministic 32x32x3 values): speed does not depend on the content.",
                    "Training: best of the repeats; every step is synchronised (TF.js trainOnBatch awaits its loss); a slow runner times fewer steps (bench.json: steps).",
                    "TF.js's cpu backend computes conv2d's filter gradient with plain loops (~2 s per call for MNIST's conv2 at batch 20 here): that dominates its training times.",
                ],
            }
            print(f"Chromium {b.version}, {meta['machine']}; WebGPU: {meta['webgpu_adapter']}", flush=True)
            meta["load_average"] = {"start": list(os.getloadavg())}  # 1/5/15 min: other work inflates every figure, compare within one run
            for part in parts:
                t0 = time.monotonic()
                load0 = os.getloadavg()[0]
                getattr(bench, part)()
                meta["load_average"][part] = [round(load0, 1), round(os.getloadavg()[0], 1)]
                print(f"  [{part}: {time.monotonic() - t0:.1f} s, load average {load0:.1f} -> {os.getloadavg()[0]:.1f}]", flush=True)
            meta["load_average"]["end"] = list(os.getloadavg())
            if getattr(bench, "simd_lines", None):
                meta["simd"] = bench.simd_lines
            meta["seconds"] = round(time.monotonic() - started, 1)
            result = {"meta": meta, "rows": bench.rows, "auto": bench.auto_checks}
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / "bench.json").write_text(json.dumps(result, indent=1) + "\n")
            render_png(b.browser, result, args.out / "bench.png")
            b.browser.close()
    finally:
        server.close()
    load = meta["load_average"]
    print(f"\nnnplay benchmark: {meta['command']}\n{meta['machine']}; Chromium {meta['chromium']} (headless); "
           f"WebGPU = SwiftShader (CPU-emulated) where no GPU\n"
           f"load average (1/5/15 min): {' '.join(f'{v:.1f}' for v in load['start'])} at the start, "
           f"{' '.join(f'{v:.1f}' for v in load['end'])} at the end\n" + tables(bench.rows))
    for line in (simd_ratios(bench.rows) + startup_ratios(bench.rows)
                 + ([""] + bench.simd_lines if getattr(bench, "simd_lines", None) else [])):
        print(line)
    for a in bench.auto_checks:
        median = "" if a["median_round_share"] is None else f"; median per round {100 * a['median_round_share']:.0f}%"
        print(f"auto, {a['case']}: {a['auto']:,.0f} ex/s = {100 * a['share']:.0f}% of the faster backend "
              f"({a['faster']}, {a['faster_value']:,.0f} ex/s){median}; {a['reason']}")
    print(f"\nwrote {args.out / 'bench.json'} and {args.out / 'bench.png'} in {meta['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
