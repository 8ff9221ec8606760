"""The worker's WebGPU adapter and what `auto` makes of it, in real Chromium.

Without --enable-unsafe-webgpu there is no adapter and the page says NumPy. With it the worker gets
SwiftShader, which gpu.js reports (GPUAdapter.info, isFallbackAdapter) and Python recognises as a
software emulation: `auto` trains on NumPy and says why, an explicit "webgpu" still trains on it.
Pipelines compile once per device: a second model of the same shapes compiles nothing. With its
software-adapter guard lifted, auto's trial times both backends on SwiftShader, picks the faster
and leaves training as it would have been."""
import pytest

import harness

EVENTS = """
import json, numpy as np, pyengine
from pyengine import rpc
from pyengine.backends.webgpu import auto, device, switch
if "recorded_events" not in globals():  # record every event the worker sends the page, once
    recorded_events = []
    rpc.set_emitter((lambda emit: lambda s: (recorded_events.append(json.loads(s)), emit(s)))(rpc._emitter))
events = recorded_events
events.clear()
"""

SMALL_CONVNET = """{"input": [12, 12, 1], "layers": [
    {"type": "conv2d", "filters": 4, "kernel_size": 3, "activation": "relu"}, {"type": "maxpool2d"},
    {"type": "flatten"}, {"type": "dense", "units": 10}],
 "loss": "softmax_cross_entropy", "optimizer": {"type": "adam", "lr": 0.01}}"""


def test_without_the_flag_there_is_no_adapter_and_the_page_says_numpy(booted):
    probe = booted.page.evaluate("nnplay.probeWebGPU()")
    assert probe["available"] is False
    assert probe["reason"]
    assert booted.page.get_attribute("#backend-status", "data-backend") == "numpy"
    assert "the NumPy backend will be used" in booted.page.inner_text("#backend-status")


def test_swiftshader_is_reported_as_a_fallback_software_adapter(webgpu_booted):
    page = webgpu_booted.page
    probe = page.evaluate("nnplay.probeWebGPU()")
    assert probe["available"] is True, probe
    adapter = probe["adapter"]
    assert (adapter["vendor"], adapter["architecture"], adapter["isFallbackAdapter"]) == ("google", "swiftshader", True)
    page.wait_for_selector("#backend-status[data-backend]")
    assert page.get_attribute("#backend-status", "data-backend") == "webgpu"
    info, software = webgpu_booted.run("""
from pyengine.backends.webgpu import device
d = device.get_device()
[d.info, d.software]
""")
    assert software == "SwiftShader"
    assert info["isFallbackAdapter"] is True and info["architecture"] == "swiftshader"


def test_auto_on_swiftshader_trains_on_numpy_and_says_why_and_webgpu_by_name_runs_there(webgpu_booted):
    result = webgpu_booted.run(EVENTS + f"""
spec = {SMALL_CONVNET}
rng = np.random.default_rng(0)
x, y = rng.random((8, 12, 12, 1), dtype=np.float32), rng.integers(0, 10, 8)
a = pyengine.build(spec)   # the spec's default: auto
auto_losses = [a.train_step(x, y) for _ in range(3)]
w = pyengine.build(dict(spec, backend="webgpu"))
gpu_losses = [w.train_step(x, y) for _ in range(3)]
{{"auto": a.backend_status, "auto_backend": a.backend, "webgpu": w.backend_status, "webgpu_backend": w.backend,
  "auto_losses": auto_losses, "gpu_losses": gpu_losses,
  "events": [e for e in events if e["event"] == "backend"]}}
""")
    status = result["auto"]
    assert result["auto_backend"] == "numpy" and status["backend"] == "numpy" and status["requested"] == "auto"
    assert status["reason"] == ("auto → NumPy: the only WebGPU adapter here is a software emulation (SwiftShader), "
                                "far slower than NumPy")
    assert status["adapter"]["software"] == "SwiftShader" and status["notice"] is None and status["rates"] is None
    assert result["webgpu_backend"] == "webgpu" and result["webgpu"]["requested"] == "webgpu"
    assert result["webgpu"]["reason"].startswith("WebGPU, as requested, on google swiftshader")
    for a, b in zip(result["auto_losses"], result["gpu_losses"]):
        assert abs(a - b) <= 1e-4 * abs(a)
    # the page hears both decisions, with the reason and the adapter
    first, second = result["events"][0], result["events"][-1]
    assert (first["backend"], first["requested"], first["reason"]) == ("numpy", "auto", status["reason"])
    assert (second["backend"], second["requested"]) == ("webgpu", "webgpu") and second["adapter"]["name"]


def test_pipelines_compile_once_per_device_and_a_second_model_of_the_same_shapes_compiles_none(webgpu_booted):
    result = webgpu_booted.run(EVENTS + f"""
spec = dict({SMALL_CONVNET}, input=[10, 10, 1], backend="webgpu")
rng = np.random.default_rng(1)
x, y = rng.random((6, 10, 10, 1), dtype=np.float32), rng.integers(0, 10, 6)
device.get_device().lose()  # a fresh device: its caches start empty
d = device.get_device()
counts = [d.compile_stats()]
first = pyengine.build(spec)
first.train_step(x, y)
counts.append(d.compile_stats())
compile_events = [e for e in events if e["event"] == "gpu"]
events.clear()
for seed in (5, 6):   # a second model, and a "reset" (a fresh one), same shapes
    again = pyengine.build(dict(spec, seed=seed))
    again.train_step(x, y); again.train_step(x, y)
counts.append(d.compile_stats())
{{"counts": counts, "compile_events": compile_events, "later_events": [e for e in events if e["event"] == "gpu"],
  "backends": [first.backend, again.backend]}}
""")
    before, after_first, after_more = result["counts"]
    assert result["backends"] == ["webgpu", "webgpu"]
    assert before["pipelines"] == before["modules"] == 0
    assert after_first["pipelines"] >= 10 and after_first["modules"] >= 8  # the first model compiled its kernels ...
    assert after_more["pipelines"] == after_first["pipelines"]  # ... the others none
    assert after_more["modules"] == after_first["modules"]
    assert after_more["requests"] == after_first["requests"]  # not even asked: Python's cache answered
    assert after_more["pending"] == 0
    phases = [e["phase"] for e in result["compile_events"]]
    assert phases == ["compiling", "ready"], result["compile_events"]
    ready = result["compile_events"][-1]
    assert ready["pipelines"] == after_first["pipelines"] and ready["seconds"] > 0
    assert "conv2d" in ready["kernels"] and "optimizer" in ready["kernels"]
    assert result["later_events"] == []


@pytest.mark.timeout(180)
def test_a_kernels_pipeline_with_other_constants_compiles_after_the_first_is_ready(webgpu_booted):
    """One shader module per kernel: a later pipeline of it (other tile constants) reuses the module and
    its one compile check. (Chromium 156 never settles a second module.getCompilationInfo() once the
    first has settled: asking again per pipeline hung the bench's matmul 32 after matmul 16.)"""
    result = webgpu_booted.run(EVENTS + """
from pyengine.backends.webgpu import bench
device.get_device().lose()  # a fresh device: its caches start empty
d = device.get_device()
runs = [bench.time_matmul(n, reps=2)["gflops"] for n in (16, 32, 16)]   # 4 x 4 tiles, then 8 x 8, then 4 x 4 again
[runs, d.compile_stats(), [e["phase"] for e in events if e["event"] == "gpu"]]
""")
    runs, stats, phases = result
    assert all(r > 0 for r in runs)
    assert stats["modules"] == 1 and stats["pipelines"] == 2 and stats["pending"] == 0, stats
    assert phases == ["compiling", "ready", "compiling", "ready"]


def test_auto_times_both_backends_picks_the_faster_and_leaves_training_unchanged(webgpu_booted):
    """The real trial (NumPy steps, then GpuTrainer steps on SwiftShader), with the software guard
    lifted: the decision follows the measured rates, is remembered for the next model of that shape
    and batch size, and the model trains exactly as a NumPy model that was never measured."""
    result = webgpu_booted.run(EVENTS + f"""
spec = dict({SMALL_CONVNET}, input=[8, 8, 1])
rng = np.random.default_rng(2)
data = [(rng.random((6, 8, 8, 1), dtype=np.float32), rng.integers(0, 10, 6)) for _ in range(4)]
switch.MEASURE_SOFTWARE = True
auto.forget()
try:
    m = pyengine.build(spec)
    pending = dict(m.backend_status)
    losses = [m.train_step(xb, yb) for xb, yb in data]
    status = dict(m.backend_status)
    second = pyengine.build(dict(spec, seed=4))
    second.train_step(*data[0])
    remembered = dict(second.backend_status)
finally:
    switch.MEASURE_SOFTWARE = False
    auto.forget()
ref = pyengine.build(dict(spec, backend="numpy"))
ref_losses = [ref.train_step(xb, yb) for xb, yb in data]
a, b = m.state_dict(), ref.state_dict()
{{"pending": pending, "status": status, "backend": m.backend, "losses": losses, "ref_losses": ref_losses,
  "steps": [m.step_count, m.optimizer.steps], "weights": max(float(np.abs(a[k] - b[k]).max()) for k in a),
  "remembered": remembered, "measuring": [e for e in events if e["event"] == "gpu" and e["phase"] == "measuring"]}}
""")
    assert result["pending"]["pending"] is True and result["pending"]["backend"] == "numpy"
    status = result["status"]
    rates = status["rates"]
    assert set(rates) == {"numpy", "webgpu"} and all(r > 0 for r in rates.values())
    faster = max(rates, key=rates.get)
    assert status["backend"] == result["backend"] == faster
    label = {"numpy": "NumPy", "webgpu": "WebGPU"}
    assert status["reason"].startswith(f"auto → {label[faster]} (") and "examples/s on" in status["reason"]
    assert result["steps"] == [4, 4]
    for got, want in zip(result["losses"], result["ref_losses"]):
        assert abs(got - want) <= 1e-4 * abs(want), (result["losses"], result["ref_losses"])
    assert result["weights"] < 1e-4
    assert result["remembered"]["remembered"] is True and result["remembered"]["backend"] == faster
    assert [e["batch"] for e in result["measuring"]] == [6]  # one trial: the second model reused it


@pytest.mark.timeout(400)
def test_while_the_first_step_compiles_the_page_says_so_and_play_is_queued_not_refused(webgpu_browser, server):
    """Issue 11 item 5, through the page: WebGPU chosen in the Backend menu, Step clicked (its first
    GPU step compiles the pipelines), Play clicked while "Compiling GPU kernels…" shows: Play waits
    for the Step and then trains; nothing says "Busy"."""
    context = webgpu_browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto(server.url)
        harness.wait_ready(page)
        page.evaluate("""() => { window.gpuEvents = [];
            nnplay.on("gpu", (e) => window.gpuEvents.push([e.phase, performance.now()])); }""")
        page.select_option("[data-testid=setting-backend]", "webgpu")
        harness.wait_until(page, "nnplay.backend === 'webgpu'", 60)
        assert page.evaluate("nnplay.backend") == "webgpu"
        page.click("[data-testid=step]")
        page.wait_for_selector("[data-testid=gpu-phase]", state="visible", timeout=60_000)
        assert "Compiling GPU kernels…" in page.inner_text("[data-testid=gpu-phase]")
        assert page.get_attribute("[data-testid=play]", "aria-label") == "Play"  # a Step is not Play
        clicked = page.evaluate("() => { document.querySelector('[data-testid=play]').click(); return performance.now(); }")
        queued = page.evaluate("document.body.dataset.playQueued")
        # Play runs once the Step is done: more than one step, on WebGPU
        harness.wait_until(page, "nnplay.getMetrics().then(m => m.step >= 3)", 300)
        steps = page.evaluate("nnplay.getMetrics().then(m => m.step)")
        page.click("[data-testid=play]")  # Pause
        page.wait_for_selector("#btn-play[aria-label=Play]", timeout=60_000)
        events = page.evaluate("window.gpuEvents")
        ready_at = next(t for phase, t in events if phase == "ready")
        assert clicked < ready_at, (clicked, events)  # the click came while compiling ...
        assert queued == "true"  # ... was queued behind the Step ...
        assert steps >= 3  # ... and trained after it
        assert page.is_hidden("[data-testid=gpu-phase]")
        assert "Busy" not in page.inner_text("#message")
        assert page.evaluate("nnplay.backend") == "webgpu"
    finally:
        context.close()
