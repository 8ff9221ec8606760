"""`auto` in CPython, with injected timings: it never trains on a software adapter, times both
backends on a real one and keeps the faster, remembers the decision per network and batch size,
says why with the figures, and the trial leaves no trace on training.

The GPU here is a stand-in (`TwinTrainer`: the same step on a private NumPy twin of the model) so
that the decision logic runs without a browser; the real GpuTrainer on a real WebGPU adapter is
tested in Chromium (tests/browser/test_webgpu.py)."""
import numpy as np
import pytest

import pyengine
from pyengine.backends.webgpu import auto, device, switch

SWIFTSHADER = {"vendor": "google", "architecture": "swiftshader", "device": "", "description": "",
               "isFallbackAdapter": True}  # what Chromium 156 reports with --enable-unsafe-webgpu
HOPPER = {"vendor": "nvidia", "architecture": "hopper", "device": "", "description": "", "isFallbackAdapter": False}


def mlp(**over):
    spec = {"input": [6], "layers": [{"type": "dense", "units": 16, "activation": "relu"}, {"type": "dropout", "rate": 0.3},
                                     {"type": "dense", "units": 3}],
            "loss": "softmax_cross_entropy", "optimizer": {"type": "adam", "lr": 0.01}, "seed": 3, "backend": "numpy"}
    return {**spec, **over}


def batches(n=8, batch=10, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((batch, 6)).astype(np.float32), rng.integers(0, 3, batch)) for _ in range(n)]


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    c = FakeClock()
    monkeypatch.setattr(auto, "clock", c)
    auto.forget()
    yield c
    auto.forget()


@pytest.mark.parametrize("info, name", [
    (SWIFTSHADER, "SwiftShader"),
    ({"vendor": "mesa", "architecture": "", "device": "llvmpipe (LLVM 15.0.6, 256 bits)", "description": ""}, "Mesa llvmpipe"),
    ({"vendor": "microsoft", "architecture": "", "device": "", "description": "Microsoft Basic Render Driver"}, "WARP"),
    ({"vendor": "", "architecture": "", "device": "", "description": "", "isFallbackAdapter": True}, "a fallback adapter"),
    (HOPPER, None),
    ({"vendor": "apple", "architecture": "metal-3", "device": "", "description": ""}, None),
    ({"vendor": "intel", "architecture": "gen-12lp", "device": "", "description": "", "isFallbackAdapter": False}, None),
])
def test_software_adapters_are_recognised_by_name_or_the_fallback_flag(info, name):
    assert device.software_emulation(info) == name


def test_time_steps_is_time_boxed_and_does_not_count_the_warm_up(clock):
    def slow():
        clock.now += 0.3

    def compile_then_fast(calls=[0]):
        calls[0] += 1
        clock.now += 10.0 if calls[0] == 1 else 0.001

    # 0.3 s steps in a 1 s box: 4 timed steps (1.2 s); the warm-up step is not in the rate
    assert auto.time_steps(slow, 20, max_steps=5, budget_s=1.0) == pytest.approx(20 * 4 / 1.2)
    # a 10 s first step (compiling) is warm-up; then MAX_STEPS fast steps
    assert auto.time_steps(compile_then_fast, 20, max_steps=5, budget_s=1.0) == pytest.approx(20 / 0.001)
    # a step longer than the whole box still gives a rate, from one step
    slowest = lambda: setattr(clock, "now", clock.now + 5.0)  # noqa: E731
    assert auto.time_steps(slowest, 20, max_steps=5, budget_s=1.0) == pytest.approx(4.0)


def test_the_reason_gives_the_winner_and_both_rates():
    rates = {"numpy": 1800.4, "webgpu": 70.2}
    assert auto.choose(rates) == "numpy"
    assert auto.reason("numpy", rates) == "auto → NumPy (1,800 vs 70 examples/s on WebGPU here)"
    rates = {"numpy": 950.0, "webgpu": 12345.0}
    assert auto.choose(rates) == "webgpu"
    assert auto.reason("webgpu", rates) == "auto → WebGPU (12,345 vs 950 examples/s on NumPy here)"
    assert auto.choose({"numpy": 100.0, "webgpu": 100.0}) == "numpy"


def test_a_trial_leaves_weights_optimizer_dropout_and_counters_as_they_were(clock):
    """Timing both backends on the first batch changes nothing: the model then trains exactly as
    a twin that was never measured (dropout's generator included)."""
    data = batches()
    measured, twin = pyengine.build(mlp()), pyengine.build(mlp())
    for m in (measured, twin):
        m.train_step(*data[0])  # optimizer state exists
    before = measured.state_dict()

    def fake_gpu():  # runs real NumPy steps on the model itself: the restore must undo them
        def step():
            clock.now += 0.5
            measured._train_step_checked(*data[1])
        return step, lambda: None

    def numpy_trial():
        step, finish = switch._numpy_trial(measured, *data[1])
        return (lambda: (step(), setattr(clock, "now", clock.now + 0.01))), finish

    decision = auto.decide(measured, 10, "fake", {"numpy": numpy_trial, "webgpu": fake_gpu})
    assert decision["backend"] == "numpy"
    assert decision["rates"]["numpy"] == pytest.approx(1000.0)
    assert decision["rates"]["webgpu"] == pytest.approx(20.0)
    assert decision["reason"] == "auto → NumPy (1,000 vs 20 examples/s on WebGPU here)"
    assert measured.step_count == 1 and measured.optimizer.steps == 1
    after = measured.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    losses = [[m.train_step(x, y) for x, y in data[1:]] for m in (measured, twin)]
    assert losses[0] == losses[1]
    a, b = measured.state_dict(), twin.state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_a_failing_gpu_trial_leaves_numpy_and_says_why(clock):
    m = pyengine.build(mlp())
    x, y = batches(1)[0]

    def broken():
        def step():
            raise device.GPUError("WGSL matmul does not compile: 3:1 error")
        return step, lambda: None

    def numpy_trial():
        step, finish = switch._numpy_trial(m, x, y)
        return (lambda: (step(), setattr(clock, "now", clock.now + 0.01))), finish

    decision = auto.decide(m, 10, "fake", {"numpy": numpy_trial, "webgpu": broken})
    assert decision["backend"] == "numpy"
    assert "WebGPU failed while being measured" in decision["reason"] and "does not compile" in decision["reason"]
    assert m.step_count == 0


# ---- the whole switch, with a stand-in device --------------------------------------------------
class FakeDevice:
    def __init__(self, info):
        self.info = info
        self.software = device.software_emulation(info)
        self.name = device.adapter_name(info)


class TwinTrainer:
    """Stands in for plan.GpuTrainer: the model's step on a NumPy twin, `seconds` per step on the clock."""
    seconds = 0.001
    created = 0
    clock = None

    def __init__(self, model, dev):
        TwinTrainer.created += 1
        self.model = model
        self.twin = pyengine.build({**model.spec, "backend": "numpy"})
        self.twin.load_state_dict(model.state_dict())
        self.twin.optimizer.load_state_dict(model.optimizer.state_dict())
        self.steps_since_sync, self.synced_steps = 0, (model.step_count, model.optimizer.steps)

    def step(self, x, y):
        TwinTrainer.clock.now += TwinTrainer.seconds
        loss = self.twin.train_step(x, y)
        self.model.optimizer.steps += 1
        self.steps_since_sync += 1
        return loss, self.twin.last_batch_output

    def pull(self):
        state = self.twin.state_dict()
        for p in self.model.parameters(trainable_only=False):
            p.data[...] = state[p.name]
        self.synced_steps = (self.model.step_count, self.model.optimizer.steps)
        self.steps_since_sync = 0

    def push(self):
        pass

    def release(self):
        pass


@pytest.fixture
def fake_gpu(monkeypatch, clock):
    state = {"device": FakeDevice(HOPPER)}
    monkeypatch.setattr(switch, "get_device", lambda: state["device"])
    monkeypatch.setattr(switch, "unsupported", lambda model: [])
    monkeypatch.setattr(switch, "GpuTrainer", TwinTrainer)
    TwinTrainer.clock, TwinTrainer.created = clock, 0
    events = []
    monkeypatch.setattr(switch.rpc, "emit", lambda event, **f: events.append((event, f)))
    state["events"] = events
    return state


def numpy_at(clock, seconds, monkeypatch):
    """Make every NumPy training step take `seconds` on the fake clock."""
    real = switch._numpy_trial

    def timed(model, x, y):
        step, finish = real(model, x, y)
        return (lambda: (step(), setattr(clock, "now", clock.now + seconds))), finish
    monkeypatch.setattr(switch, "_numpy_trial", timed)


def test_auto_on_a_software_adapter_is_numpy_without_measuring_and_explicit_webgpu_uses_it(fake_gpu):
    fake_gpu["device"] = FakeDevice(SWIFTSHADER)
    m = pyengine.build(mlp(backend="auto"))
    assert m.backend == "numpy" and m._auto is None
    assert m.backend_status["reason"] == ("auto → NumPy: the only WebGPU adapter here is a software emulation "
                                          "(SwiftShader), far slower than NumPy")
    assert m.backend_status["adapter"]["software"] == "SwiftShader" and m.backend_notice is None
    m.train_step(*batches(1)[0])
    assert TwinTrainer.created == 0  # nothing was measured
    g = pyengine.build(mlp(backend="webgpu"))
    assert g.backend == "webgpu" and "SwiftShader" in g.backend_status["reason"]


def test_auto_on_a_real_adapter_picks_the_faster_backend_and_remembers_it(fake_gpu, clock, monkeypatch):
    numpy_at(clock, 0.01, monkeypatch)  # NumPy: 1,000 examples/s at batch 10
    TwinTrainer.seconds = 0.001  # "GPU": 10,000
    data = batches()
    m = pyengine.build(mlp(backend="auto"))
    assert m.backend == "numpy" and m.backend_status["pending"]
    loss = m.train_step(*data[0])
    assert m.backend == "webgpu" and m.step_count == 1
    status = m.backend_status
    assert status["reason"] == "auto → WebGPU (10,000 vs 1,000 examples/s on NumPy here)"
    assert status["rates"] == {"numpy": pytest.approx(1000.0), "webgpu": pytest.approx(10000.0)}
    assert not status["remembered"] and not status["pending"]
    assert ("backend", status) in [(e, {k: f[k] for k in status}) for e, f in fake_gpu["events"] if e == "backend"]
    twin = pyengine.build(mlp())
    assert loss == twin.train_step(*data[0])  # the trial did not change the first real step
    created = TwinTrainer.created  # trial + the real one
    # a second model of the same shape and batch: no new measurement
    m2 = pyengine.build(mlp(backend="auto", seed=9))
    m2.train_step(*data[0])
    assert m2.backend == "webgpu" and m2.backend_status["remembered"] and TwinTrainer.created == created + 1
    # another batch size: measured again; now NumPy is faster
    TwinTrainer.seconds = 1.0
    x, y = data[1]
    m2.train_step(x[:5], y[:5])
    assert m2.backend == "numpy"
    assert m2.backend_status["reason"] == "auto → NumPy (500 vs 5 examples/s on WebGPU here)"
    m2.train_step(x[:5], y[:5])
    assert m2.backend == "numpy"
    # the requested backend wins over auto's measurements
    assert m2.set_backend("webgpu") == "webgpu" and m2.backend_status["reason"].startswith("WebGPU, as requested")


def test_auto_without_webgpu_in_cpython_is_numpy_and_says_so():
    m = pyengine.build(mlp(backend="auto"))
    assert m.backend == "numpy" and m.backend_notice is None
    assert m.backend_status["reason"] == "auto → NumPy: no WebGPU outside the browser"
    assert m.backend_status["requested"] == "auto"
