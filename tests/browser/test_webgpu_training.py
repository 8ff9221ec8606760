"""GPU-resident training in the worker on SwiftShader's WebGPU adapter: the MNIST convnet follows
the NumPy backend's loss curve, backends switch between steps without losing weights, a lost device
falls back to NumPy with a notice, and without WebGPU `auto` says it uses NumPy. (Which models the
plan covers, and the notice for one it does not: test_webgpu_parity.py.)"""
import pytest

# Loss-curve tolerance: every one of the 50 step losses within 1e-4 relative of NumPy's (float32
# sums in a different order; measured ~4e-7 on SwiftShader).
LOSS_CURVE_RTOL = 1e-4

SETUP = """
import numpy as np, pyengine
from pyengine import data, presets, rpc
from nnplay_worker import loadMnist
await loadMnist()
images, labels = data.load_mnist('/data/mnist.bin')
x, y = data.mnist_arrays(images, labels)
idx = np.random.default_rng(0).permutation(len(x))[:1000]  # the file is grouped by digit
x, y = x[idx, 2:26, 2:26, :], y[idx]                        # ConvNetJS's 24x24 crops
notices = []
rpc.set_emitter((lambda emit: lambda s: (notices.append(s), emit(s)))(rpc._emitter))
"""


@pytest.mark.timeout(600)  # ~3 min on a quiet 2-core machine; SwiftShader slows down a lot under load
def test_mnist_convnet_on_webgpu_follows_the_numpy_loss_curve_for_50_steps(webgpu_booted):
    result = webgpu_booted.run(SETUP + """
curves, backends, outputs = {}, {}, {}
for backend in ["numpy", "webgpu"]:
    model = pyengine.build(dict(presets.convnetjs_mnist(), backend=backend))
    backends[backend] = (model.backend, model.backend_notice)
    curves[backend] = [model.train_step(x[s * 10:(s + 1) * 10], y[s * 10:(s + 1) * 10]) for s in range(50)]
    outputs[backend] = model.last_batch_output
    weights = model.state_dict()
out_np, out_gpu = outputs["numpy"], outputs["webgpu"]
{"curves": curves, "backends": backends, "finite": all(np.isfinite(w).all() for w in weights.values()),
 "output": [list(out_gpu.shape), str(out_gpu.dtype),
            float(np.abs(out_gpu - out_np).max() / np.abs(out_np).max())]}
""")
    assert result["backends"] == {"numpy": ["numpy", None], "webgpu": ["webgpu", None]}
    numpy_curve, gpu_curve = result["curves"]["numpy"], result["curves"]["webgpu"]
    for step, (a, b) in enumerate(zip(numpy_curve, gpu_curve)):
        assert abs(a - b) <= LOSS_CURVE_RTOL * abs(a), (step, a, b)
    assert sum(gpu_curve[-10:]) < 0.8 * sum(gpu_curve[:10])  # it learns
    # the step's outputs are read back as on NumPy (training accuracy, the demos read them)
    shape, dtype, output_error = result["output"]
    assert shape == [10, 10] and dtype == "float32" and output_error < 1e-3, result["output"]
    assert result["finite"]


def test_switching_backend_between_steps_keeps_weights_and_optimizer_state(webgpu_booted):
    result = webgpu_booted.run(SETUP + """
spec = {"input": [24, 24, 1], "layers": [{"type": "conv2d", "filters": 4, "kernel_size": 3, "activation": "relu"},
        {"type": "avgpool2d"}, {"type": "flatten"}, {"type": "dense", "units": 16, "activation": "tanh"},
        {"type": "dense", "units": 10}], "loss": "softmax_cross_entropy", "optimizer": {"type": "adam", "lr": 0.01}}
ref = pyengine.build(dict(spec, backend="numpy"))
m = pyengine.build(dict(spec, backend="webgpu"))  # by name: auto never picks SwiftShader
assert m.backend == "webgpu", m.backend_notice
seq = []
for s in range(6):
    if s == 2: seq.append(m.set_backend("numpy"))
    if s == 4: seq.append(m.set_backend("webgpu"))
    xb, yb = x[s * 10:(s + 1) * 10], y[s * 10:(s + 1) * 10]
    ref.train_step(xb, yb)
    m.train_step(xb, yb)
a, b = ref.state_dict(), m.state_dict()
oa, ob = ref.optimizer.state_dict(), m.optimizer.state_dict()
{"seq": seq, "backend": m.backend, "steps": [m.step_count, m.optimizer.steps],
 "weights": max(float(np.abs(a[k] - b[k]).max()) for k in a),
 "opt": max(float(np.abs(np.asarray(oa[k]) - np.asarray(ob[k])).max()) for k in oa)}
""")
    assert result["seq"] == ["numpy", "webgpu"]
    assert result["backend"] == "webgpu"
    assert result["steps"] == [6, 6]
    # Adam divides by sqrt(v): where a gradient is ~0, float32 noise moves a weight by up to ~lr per
    # step; a lost moment or step count would move them by ~lr * 6 = 0.06.
    assert result["weights"] < 2e-3 and result["opt"] < 2e-3, result


def test_concurrent_worker_calls_that_wait_for_a_new_device_share_it(webgpu_booted):
    """Two Python calls suspended in run_sync while the device is being (re)created must get one
    device. (The page's own UI boots its model while tests run: a second requestDevice used to
    replace the device under the first call, clearing its buffers or popping its error scopes.)"""
    result = webgpu_booted.page.evaluate("""async () => {
        await nnplay.runPython("from pyengine.backends.webgpu import device\\ndevice.get_device().lose()");
        const code = `
def train_small():
    import numpy as np, pyengine
    m = pyengine.build({"input": [8], "layers": [{"type": "dense", "units": 4}], "backend": "webgpu",
                        "loss": "softmax_cross_entropy", "optimizer": {"type": "adam"}})
    xb, yb = np.ones((5, 8), np.float32), np.arange(5) % 4
    for _ in range(3):
        m.train_step(xb, yb)
    return [m.backend, m.backend_notice, m.step_count]
train_small()`;
        return Promise.all([nnplay.runPython(code), nnplay.runPython(code)]);
    }""")
    assert result == [["webgpu", None, 3], ["webgpu", None, 3]]


def test_a_lost_device_falls_back_to_numpy_with_a_notice_and_keeps_the_weights(webgpu_booted):
    result = webgpu_booted.run(SETUP + """
from pyengine.backends.webgpu import plan
m = pyengine.build(dict(presets.convnetjs_mnist(), backend="webgpu"))
assert m.backend == "webgpu", m.backend_notice
for s in range(plan.SYNC_EVERY + 3):
    m.train_step(x[s * 10:(s + 1) * 10], y[s * 10:(s + 1) * 10])
synced = {k: v.copy() for k, v in ((p.name, p.data) for p in m.parameters())}   # NumPy's copy (step 20)
m._gpu.dev.lose()
notices.clear()
loss = m.train_step(x[:10], y[:10])          # the GPU fails: this step runs on NumPy
after = m.state_dict()
{"backend": m.backend, "notice": m.backend_notice, "events": notices, "loss": loss, "steps": m.step_count,
 "moved": max(float(np.abs(after[k] - synced[k]).max()) for k in synced),
 "finite": all(np.isfinite(v).all() for v in after.values())}
""")
    assert result["backend"] == "numpy"
    assert "WebGPU failed" in result["notice"] and "lost" in result["notice"].lower()
    assert "weights of step 20" in result["notice"]
    assert any('"event": "notice"' in e for e in result["events"])
    assert result["steps"] == 21  # steps 21..23 were undone, then one NumPy step
    assert 0 < result["moved"] < 1.0 and result["finite"]
    # a fresh model gets a fresh device
    assert webgpu_booted.run("pyengine.build(dict(presets.convnetjs_mnist(), backend='webgpu')).backend") == "webgpu"


def test_without_webgpu_auto_falls_back_to_numpy_and_says_so(booted):
    backend, notice = booted.run("""
import pyengine, pyengine.presets
m = pyengine.build(pyengine.presets.convnetjs_mnist())
[m.backend, m.backend_notice]
""")
    assert backend == "numpy"
    assert "WebGPU is not available" in notice and "NumPy" in notice


def test_window_nnplay_shows_the_active_backend_and_setbackend_switches_models(webgpu_booted):
    result = webgpu_booted.page.evaluate("""async () => {
        await nnplay.runPython("import pyengine, pyengine.presets\\nui_model = pyengine.build(dict(pyengine.presets.convnetjs_mnist(), backend='webgpu'))");
        const first = nnplay.backend;
        await nnplay.setBackend("numpy");
        return {first, type: typeof nnplay.setBackend, line: document.querySelector("#backend-active")?.textContent};
    }""")
    assert result["first"] in ("webgpu", "numpy") and result["type"] == "function"
    assert "training runs on" in result["line"]
    # the RPC method "setBackend" switches every live model, weights kept; auto on SwiftShader is NumPy
    assert webgpu_booted.run("""
from pyengine.backends.webgpu import switch
before = ui_model.state_dict()["conv1.weight"].copy()
[switch.set_backend_everywhere("numpy")["backend"], ui_model.backend,
 switch.set_backend_everywhere("webgpu")["backend"] and ui_model.backend,
 switch.set_backend_everywhere("auto")["backend"] and ui_model.backend,
 bool((ui_model.state_dict()["conv1.weight"] == before).all())]
""") == ["numpy", "numpy", "webgpu", "numpy", True]
