"""One state: the page, window.nnplay and the engine agree. Each test opens the playground in a
fresh context (its own IndexedDB) of the plain browser and of the one with a WebGPU adapter, and
starts right after `await nnplay.ready`, as the README tells users to."""

import pytest

from conftest import fresh_page
import harness
from harness import wait_until

SMALL_CONVNET = {"input": [24, 24, 1], "layers": [
    {"type": "conv2d", "filters": 4, "kernel_size": 5, "strides": 2, "activation": "relu"},
    {"type": "flatten"}, {"type": "dense", "units": 10}],
    "loss": "softmax_cross_entropy", "optimizer": {"type": "adam", "lr": 0.003, "eps": 1e-7}}


@pytest.fixture(params=["numpy", "webgpu"])
def page(request, browser, webgpu_browser, server):
    """A fresh playground page; `nnplay.ready` awaited and nothing else."""
    yield from fresh_page(request, browser, webgpu_browser, server, {"width": 1280, "height": 800}, shot="one-state")


def shown(page):
    """What the page shows, read from the DOM only."""
    return page.evaluate("""() => ({
        count: document.querySelectorAll('#layers > li').length,
        input: JSON.parse(document.querySelector('#input-shape').value),
        dataset: document.querySelector('[data-testid=setting-dataset]').value,
        dataInfo: document.querySelector('[data-testid=data-info]').textContent,
        lr: Number(document.querySelector('[data-testid=setting-lr]').value),
        batch: Number(document.querySelector('[data-testid=setting-batchSize]').value),
        epoch: Number(document.querySelector('[data-testid=epoch-count]').textContent),
        examples: Number(document.querySelector('[data-testid=example-count]').textContent.replaceAll(',', '')),
        val: document.querySelector('[data-testid=val-accuracy]').dataset.value,
        lossPoints: window.nnplayApp.charts.loss.data[1].length,
        accPoints: window.nnplayApp.charts.acc.data[1].filter(v => v != null).length,
        play: !document.querySelector('[data-testid=play]').disabled,
        backend: document.querySelector('[data-testid=setting-backend]').value,
    })""")


@pytest.mark.timeout(300)
def test_a_session_driven_only_through_window_nnplay_shows_in_the_page_and_survives_a_reload(page):
    # With SwiftShader's adapter the network asks for WebGPU by name ("auto" never trains there).
    gpu = page.adapter == "webgpu"
    r = page.evaluate("""async spec => {
        await nnplay.setSpec(spec);
        await nnplay.loadDataset('mnist', {count: 300, ratio: 0.8});
        const result = await nnplay.train({epochs: 1, batchSize: 20});
        return {result, state: await nnplay.getState(), metrics: await nnplay.getMetrics()};
    }""", dict(SMALL_CONVNET, backend="webgpu") if gpu else SMALL_CONVNET)
    state, result = r["state"], r["result"]
    assert state["backend"]["backend"] == ("webgpu" if gpu else "numpy"), state["backend"]
    assert result["stopped"] == "epochs" and state["counters"]["epoch"] == 1
    assert state["spec"]["input"] == [24, 24, 1] and state["data"]["name"] == "mnist"
    # The page shows what the session holds (the state event came while the calls ran).
    wait_until(page, "() => document.querySelector('[data-testid=epoch-count]').textContent === '1'", 30)
    wait_until(page, "() => window.nnplayApp.charts.loss.data[1].length > 0", 30)
    s = shown(page)
    assert s["count"] == 3 and s["input"] == [24, 24, 1] and s["dataset"] == "mnist"
    assert s["dataInfo"].startswith("mnist: 240 training and 60 validation")
    assert s["lr"] == 0.003 and s["batch"] == 20
    assert s["epoch"] == 1 and s["examples"] == 240 == state["counters"]["examples"]
    assert float(s["val"]) == pytest.approx(state["last"]["val_accuracy"])
    assert s["lossPoints"] == len(r["metrics"]["step_loss"]) == 12 and s["accPoints"] == 1
    if gpu:
        assert s["play"] and s["backend"] == "webgpu"
        assert page.inner_text("[data-testid=backend-active]").startswith("Backend: webgpu → training runs on WebGPU.")
    else:
        assert s["play"] and s["backend"] == "auto"
        assert page.inner_text("[data-testid=backend-active]").startswith(
            "Backend: auto → training runs on NumPy. auto → NumPy: no WebGPU here")
    # The page's own controls change the same state: a batch size typed in is what getState says.
    page.fill("[data-testid=setting-batchSize]", "12")
    page.dispatch_event("[data-testid=setting-batchSize]", "change")
    wait_until(page, "() => nnplay.getState().then(s => s.train.batchSize === 12)", 20)

    # Counters, charts, weights and history come back after a reload (the autosave).
    harness.wait_autosaved(page, "s => s.train && s.train.batchSize === 12 && s.history && s.history.examples === 240")
    predicted = page.evaluate("() => nnplay.evaluate()")
    page.reload()
    harness.wait_ready(page)
    after = shown(page)
    assert after["epoch"] == 1 and after["examples"] == 240 and after["batch"] == 12
    assert after["lossPoints"] == 12 and after["accPoints"] == 1
    assert after["dataset"] == "mnist" and after["input"] == [24, 24, 1]
    assert after["backend"] == ("webgpu" if gpu else "auto")  # the backend choice came back too
    assert page.evaluate("nnplay.backend") == ("webgpu" if gpu else "numpy")
    assert page.evaluate("() => nnplay.evaluate()")["loss"] == pytest.approx(predicted["loss"], rel=1e-5)


@pytest.mark.timeout(300)
def test_regression1d_trains_by_clicks_to_a_small_loss_and_draws_its_curve(page):
    page.select_option("[data-testid=setting-dataset]", "regression1d")
    wait_until(page, "() => nnplay.getState().then(s => s.data.name === 'regression1d' && s.fit.ok)", 30)
    assert page.input_value("[data-testid=setting-loss]") == "mse"  # regression data defaults to mse
    assert not page.is_disabled("[data-testid=play]")
    page.click("[data-testid=play]")
    try:
        wait_until(page, "() => nnplay.getState().then(s => s.last && s.last.val_loss < 0.02)", 200)
    finally:
        if page.get_attribute("[data-testid=play]", "aria-label") == "Pause":
            page.click("[data-testid=play]")
    wait_until(page, "() => !document.body.dataset.training || document.body.dataset.training === 'false'", 30)
    wait_until(page, "() => document.querySelector('#heatmap').dataset.view === 'curve' && !document.querySelector('#heatmap').hidden", 30)
    assert page.evaluate("() => nnplay.evaluate()")["loss"] < 0.03
    assert page.evaluate("nnplay.backend") == "numpy"  # auto: with SwiftShader's adapter too
    assert page.locator("table.confusion").count() == 0  # no confusion matrix for regression


@pytest.mark.timeout(300)
def test_every_dataset_with_the_default_network_gets_a_fitting_network_or_a_disabled_play_with_the_reason(browser, server):
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(server.url)
        harness.wait_ready(page)
        for name in ["circle", "xor", "gauss", "regression1d", "mnist", "spiral"]:
            page.select_option("[data-testid=setting-dataset]", name)
            wait_until(page, "n => nnplay.getState().then(s => s.data.name === n && !s.training)", 60, name)
            wait_until(page, "() => nnplay.getState().then(s => s.revision === Number(document.body.dataset.revision))", 20)
            state = page.evaluate("() => nnplay.getState()")
            if state["fit"]["ok"]:
                assert not page.is_disabled("[data-testid=play]"), name
                assert page.is_hidden("[data-testid=fit]")
            else:
                assert page.is_disabled("[data-testid=play]") and state["fit"]["reason"] in page.inner_text("[data-testid=fit]")
            assert state["fit"]["ok"], f"{name}: the untouched default network should follow the data"
        # An edited network that cannot take the data: Play is disabled with the reason and a fix.
        page.evaluate("() => nnplay.setSpec({input: [2], layers: [{type: 'dense', units: 3}, {type: 'dense', units: 2}], loss: 'softmax_cross_entropy'})")
        page.select_option("[data-testid=setting-dataset]", "mnist")
        wait_until(page, "() => !document.querySelector('[data-testid=fit]').hidden", 60)
        assert page.is_disabled("[data-testid=play]")
        assert "input is [2]" in page.inner_text("[data-testid=fit]")
        page.click("[data-testid=fit-fix-0]")  # "Set the input to [784]"
        wait_until(page, "() => nnplay.getState().then(s => s.fit.ok)", 30)
        assert not page.is_disabled("[data-testid=play]") and page.is_hidden("[data-testid=fit]")
        # Uploads that are not there: a message, and the data stays.
        page.select_option("[data-testid=setting-dataset]", "csv")
        wait_until(page, "() => document.querySelector('#message').textContent.includes('No CSV file')", 20)
        assert page.evaluate("() => nnplay.getState()")["data"]["name"] == "mnist"
        assert page.input_value("[data-testid=setting-dataset]") == "mnist"
    finally:
        context.close()


@pytest.mark.timeout(420)
def test_auto_on_swiftshader_is_numpy_with_the_reason_and_webgpu_by_name_survives_spec_preset_load_and_autosave(
        webgpu_browser, server):
    """The only adapter is SwiftShader (a software emulation): "auto" trains on NumPy and the page
    says why. A learner who picks "webgpu" in the Backend menu keeps that choice through a new
    spec, a preset, a loaded model file and the autosave (a reload), and it trains there."""
    context = webgpu_browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto(server.url)
        harness.wait_ready(page)
        state = page.evaluate("() => nnplay.getState()")
        b = state["backend"]
        assert (b["requested"], b["backend"]) == ("auto", "numpy"), b
        assert b["reason"] == ("auto → NumPy: the only WebGPU adapter here is a software emulation (SwiftShader), "
                               "far slower than NumPy")
        assert b["adapter"]["software"] == "SwiftShader" and b["notice"] is None
        wait_until(page, "() => document.querySelector('[data-testid=backend-active]')?.dataset.backend === 'numpy'", 30)
        line = page.inner_text("[data-testid=backend-active]")
        assert line.startswith("Backend: auto → training runs on NumPy. auto → NumPy: the only WebGPU adapter here "
                               "is a software emulation (SwiftShader)"), line
        assert page.input_value("[data-testid=setting-backend]") == "auto"

        # WebGPU by name, in the Backend menu
        page.select_option("[data-testid=setting-backend]", "webgpu")
        wait_until(page, "() => nnplay.getState().then(s => s.backend.backend === 'webgpu')", 60)
        wait_until(page, "() => document.querySelector('[data-testid=backend-active]').dataset.backend === 'webgpu'", 30)
        assert page.inner_text("[data-testid=backend-active]").startswith(
            "Backend: webgpu → training runs on WebGPU. WebGPU, as requested, on google swiftshader")

        def on_webgpu(what):
            s = page.evaluate("() => nnplay.getState()")
            assert s["spec"]["backend"] == "webgpu" and s["backend"]["requested"] == "webgpu", (what, s["backend"])
            assert s["backend"]["backend"] == "webgpu", (what, s["backend"])
            wait_until(page, "() => document.querySelector('[data-testid=setting-backend]').value === 'webgpu'", 20)

        # a new spec (without "backend") keeps the choice
        page.evaluate("spec => nnplay.setSpec(spec)", SMALL_CONVNET)
        on_webgpu("setSpec")
        # a file saved on NumPy, loaded: the session's choice stays
        saved = page.evaluate("""async spec => {
            await nnplay.setSpec({...spec, backend: "numpy"});
            const bytes = Array.from(await nnplay.save());
            await nnplay.setBackend("webgpu");
            return bytes;
        }""", SMALL_CONVNET)
        page.evaluate("bytes => nnplay.load(new Uint8Array(bytes))", saved)
        on_webgpu("load")
        # a preset chosen in the page
        page.select_option("[data-testid=preset]", "mlp")
        wait_until(page, "() => nnplay.getState().then(s => s.spec.input.length === 1 && s.spec.layers.length === 3)", 60)
        on_webgpu("preset")
        r = page.evaluate("() => nnplay.train({steps: 2, batchSize: 16})")
        assert r["steps"] == 2 and r["loss"] > 0
        on_webgpu("train")
        # the autosave brings it back after a reload
        harness.wait_autosaved(page, "s => s.spec && s.spec.input.length === 1 && s.spec.layers.length === 3 "
                                     "&& s.history && s.history.step_loss.length >= 2")
        page.reload()
        harness.wait_ready(page)
        on_webgpu("autosave")
        assert page.evaluate("() => nnplay.getState()")["spec"]["layers"][0]["units"] == 16  # the preset's net
    finally:
        context.close()
