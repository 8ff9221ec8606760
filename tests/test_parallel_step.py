"""Data-parallel training's CPython side (pyengine/pyengine/parallel.py): the split step's maths, the
workers setting, and where two workers are ruled out. The two-worker step itself runs in Chromium
(tests/browser/test_parallel.py; this file has another name: pytest needs unique basenames), where the helper worker and SharedArrayBuffer exist."""
import asyncio

import numpy as np
import pytest

from pyengine import parallel, playground, presets
from pyengine.model import build

MNIST_SMALL = {"input": [12, 12, 1], "seed": 3, "layers": [
    {"type": "conv2d", "filters": 4, "kernel_size": 3, "activation": "relu"},
    {"type": "maxpool2d", "pool_size": 2}, {"type": "flatten"}, {"type": "dense", "units": 10}],
    "loss": "softmax_cross_entropy", "optimizer": {"type": "adam", "lr": 0.01}}


def _data(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 12, 12, 1)).astype(np.float32), rng.integers(0, 10, n)


@pytest.mark.parametrize("n", [8, 9])  # equal halves, and one example more on the worker's side
def test_two_halves_combined_are_the_full_batch_gradient_and_loss(n):
    x, y = _data(n)
    model = build(MNIST_SMALL)
    trainable = model.parameters()
    loss, out = model._gradients(x, y, 1, trainable)
    full = [p.grad.astype(np.float64) for p in trainable]
    share = n // 2
    mine = n - share
    loss0, out0 = model._gradients(x[:mine], y[:mine], 1, trainable)
    g0 = np.concatenate([p.grad.reshape(-1) for p in trainable])
    loss1, out1 = model._gradients(x[mine:], y[mine:], 1, trainable)
    g1 = np.concatenate([p.grad.reshape(-1) for p in trainable])
    combined = parallel.combine(g0, mine, g1, share)
    np.testing.assert_allclose(combined, np.concatenate([g.reshape(-1) for g in full]), rtol=1e-4, atol=1e-6)
    assert (mine * loss0 + share * loss1) / n == pytest.approx(loss, rel=1e-5)
    np.testing.assert_allclose(np.concatenate([out0, out1]), out, rtol=1e-5, atol=1e-6)


def test_the_split_step_is_the_old_step():
    """_gradients + _apply_gradients (what the two-worker step is built from) is train_step."""
    x, y = _data(16)
    a, b = build(MNIST_SMALL), build(MNIST_SMALL)
    for _ in range(3):
        la = a.train_step(x, y)
        trainable = b.parameters()
        lb, out = b._gradients(x, y, b.step_count + 1, trainable)
        b._apply_gradients(b.step_count + 1, trainable, out)
        assert la == lb
    for pa, pb in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(pa.data, pb.data)
    assert a.step_count == b.step_count == 3


def test_without_a_helper_steps_run_on_one_worker_and_say_why():
    x, y = _data(16)
    p = parallel.Parallel(bridge=None)
    model, ref = build(MNIST_SMALL), build(MNIST_SMALL)
    for _ in range(3):
        assert p.train_step(model, x, y, 16) == ref.train_step(x, y)
    s = p.status()
    assert s["workers"] == 1 and s["steps_on_two"] == 0
    assert "no helper worker here" in s["reason"]


def test_batch_statistics_keep_a_network_on_one_worker():
    spec = {"input": [4], "layers": [{"type": "dense", "units": 8}, {"type": "batchnorm"}, {"type": "dense", "units": 2}],
            "loss": "softmax_cross_entropy"}
    model = build(spec)
    assert parallel.coupled_layers(model) == ["batchnorm_1 (batchnorm)"] or "batchnorm" in parallel.coupled_layers(model)[0]

    class Bridge:  # a helper that could start: the network itself rules two workers out
        @staticmethod
        def unavailable():
            return None

    p = parallel.Parallel(bridge=Bridge())
    x = np.random.default_rng(0).standard_normal((8, 4)).astype(np.float32)
    p.train_step(model, x, np.zeros(8, np.int64), 8)
    assert p.status()["workers"] == 1
    assert "uses the statistics of the whole batch" in p.status()["reason"], p.status()


def test_the_workers_setting_is_checked_kept_and_restored():
    async def go():
        s = playground.Session()
        assert s.state()["train"]["workers"] == "auto"
        assert s.set_train_settings(workers=2)["workers"] == 2
        assert s.parallel.setting == 2
        for bad in (3, "two", True, 0):
            with pytest.raises(playground.rpc.RpcError, match="workers must be"):
                s.set_train_settings(workers=bad)
        saved = s.snapshot()
        assert saved["train"]["workers"] == 2
        t = playground.Session()
        await t.restore({**saved, "weights": None, "history": None})
        assert t.train_settings["workers"] == 2 and t.parallel.setting == 2
        u = playground.Session()
        result = await u.restore({"train": {"workers": 7}})
        assert u.train_settings["workers"] == "auto"
        assert any("train.workers" in note for note in result.get("ignored", [])) or "workers" in str(result)

    asyncio.run(go())


def test_a_session_trains_through_its_parallel_step():
    async def go():
        s = playground.Session()
        await s.restore({})  # the defaults: the spiral and its network, as the page starts
        r = await s.train(steps=5)
        assert r["steps"] == 5
        st = s.state()["workers"]
        assert st["workers"] == 1 and st["setting"] == "auto", st

    asyncio.run(go())


def test_presets_convnetjs_nets_can_train_on_two_workers():
    for spec in (presets.convnetjs_mnist(), presets.convnetjs_cifar10()):
        assert parallel.coupled_layers(build(spec)) == []
