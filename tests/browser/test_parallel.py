"""Data-parallel training on two workers (issue 14, item 5; pyengine/pyengine/parallel.py, web/peer.js).

Each test opens the playground in a fresh context of the plain browser and of the one with a WebGPU
adapter (SwiftShader: auto trains on NumPy there, so the CPU workers apply too), right after
`await nnplay.ready`. The two-worker steps must give the weights one worker gives (the same batches,
float32 rounding apart), say on the page on how many workers they run and why, and fall back to one
worker wherever two cannot run.
"""
import functools
import http.server
import threading

import numpy as np
import pytest

from conftest import fresh_page
import harness
from harness import wait_until

WEIGHTS = ("import json, numpy as np\nfrom pyengine.playground import SESSION\n"
           "json.dumps([p.data.reshape(-1).tolist() for p in SESSION.model.parameters(trainable_only=False)])")


@pytest.fixture(params=["numpy", "webgpu"])
def page(request, browser, webgpu_browser, server):
    yield from fresh_page(request, browser, webgpu_browser, server, {"width": 1280, "height": 900}, shot="parallel")


def weights(page):
    import json
    return [np.array(w, np.float32) for w in json.loads(page.evaluate("code => nnplay.runPython(code)", WEIGHTS))]


def mnist_spec(page):
    return page.evaluate("nnplay.runPython('from pyengine import presets\\npresets.convnetjs_mnist()')")


def test_two_workers_train_the_weights_one_worker_does_and_the_page_says_so(page):
    # The default network is far too small for a second worker: auto says so and starts none.
    first = page.evaluate("async () => { await nnplay.train({steps: 30}); return nnplay.workers; }")
    assert first["setting"] == "auto" and first["workers"] == 1 and first["helper"] == "off", first
    assert "too little for a second worker to pay" in first["reason"], first

    spec = mnist_spec(page)
    page.evaluate("""async (spec) => {
        await nnplay.loadDataset('mnist', {count: 300, ratio: 0.8});
        await nnplay.setSpec(spec, false);
        await nnplay.setTrainSettings({batchSize: 20, workers: 2});
        await nnplay.train({steps: 10});
    }""", spec)
    wait_until(page, "() => nnplay.workers.helper === 'ready'", 90)

    def run(workers):
        return page.evaluate("""async (workers) => {
            await nnplay.setTrainSettings({workers});
            await nnplay.reset();
            const before = nnplay.workers.steps_on_two;
            const r = await nnplay.train({steps: 60});
            return {r, w: nnplay.workers, two: nnplay.workers.steps_on_two - before};
        }""", workers)

    two = run(2)
    w2 = weights(page)
    one = run(1)
    w1 = weights(page)
    assert two["w"]["workers"] == 2 and two["w"]["helper"] == "ready", two["w"]
    assert two["two"] >= 20, two  # once the new network is set up in the helper (two time slices), every step runs on two
    assert one["two"] == 0 and one["w"]["workers"] == 1 and one["w"]["reason"] == "one worker: the workers setting is 1"
    assert two["r"]["steps"] == one["r"]["steps"] == 60
    assert two["r"]["loss"] == pytest.approx(one["r"]["loss"], rel=1e-4)
    assert len(w1) == len(w2) == 6
    for a, b in zip(w2, w1):
        assert np.abs(a - b).max() <= 1e-4 * max(1.0, np.abs(b).max()), np.abs(a - b).max()
    assert not np.array_equal(w1[0], weights_after_reset(page)[0])  # (the weights did train)

    # The page shows it: back on two workers, the line under the backend says so.
    page.evaluate("nnplay.setTrainSettings({workers: 2}).then(() => nnplay.train({steps: 30}))")
    line = page.locator("[data-testid=workers-active]")
    assert line.get_attribute("data-workers") == "2", line.text_content()
    assert line.text_content() == "CPU workers: 2 → two workers (the workers setting is 2)"
    assert page.input_value("[data-testid=setting-workers]") == "2"


def weights_after_reset(page):
    page.evaluate("nnplay.reset()")
    return weights(page)


def test_auto_times_both_and_keeps_the_faster_and_batch_statistics_stay_on_one_worker(page):
    spec = mnist_spec(page)
    status = page.evaluate("""async (spec) => {
        await nnplay.loadDataset('mnist', {count: 400, ratio: 0.8});
        await nnplay.setSpec(spec, false);
        await nnplay.setTrainSettings({batchSize: 64});
        for (let i = 0; i < 60 && !/two do not pay|^two workers: a step takes/.test(nnplay.workers.reason); i++)
            await nnplay.train({steps: 10});
        return nnplay.workers;
    }""", spec)
    # auto decided by measuring: both medians are there and the choice follows them
    assert status["setting"] == "auto" and status["helper"] == "ready", status
    assert status["one_worker_ms"] > 0 and status["two_workers_ms"] > 0, status
    decided = status["decided_on"]  # the trial's medians (the latest ones above go on changing)
    if status["workers"] == 2:
        assert status["reason"].startswith("two workers: a step takes"), status
        assert decided["one_worker_ms"] >= 1.1 * decided["two_workers_ms"], status
    else:
        assert status["reason"].startswith("one worker: two do not pay here now"), status
        assert decided["one_worker_ms"] < 1.1 * decided["two_workers_ms"], status

    bn = dict(spec, layers=spec["layers"][:1] + [{"type": "batchnorm"}] + spec["layers"][1:])
    status = page.evaluate("""async (spec) => {
        await nnplay.setSpec(spec, false);
        await nnplay.setTrainSettings({workers: 2});
        await nnplay.train({steps: 3});
        return nnplay.workers;
    }""", bn)
    assert status["workers"] == 1 and "uses the statistics of the whole batch" in status["reason"], status
    assert "(batchnorm)" in status["reason"], status


def test_the_workers_menu_plays_on_two_and_survives_a_reload(page):
    page.select_option("[data-testid=preset]", "mnist")
    wait_until(page, "() => nnplay.state.data && nnplay.state.data.name === 'mnist' && nnplay.state.spec.layers.length === 6", 120)
    page.fill("[data-testid=setting-batchSize]", "32")
    page.press("[data-testid=setting-batchSize]", "Enter")
    wait_until(page, "() => nnplay.state.train.batchSize === 32", 30)
    page.select_option("[data-testid=setting-workers]", "2")
    wait_until(page, "() => nnplay.state.train.workers === 2", 30)
    page.click("[data-testid=play]")
    wait_until(page, "() => nnplay.workers && nnplay.workers.steps_on_two >= 20", 120)
    page.click("[data-testid=play]")  # pause
    wait_until(page, "() => !nnplay.state.training", 30)
    line = page.locator("[data-testid=workers-active]")
    assert line.get_attribute("data-workers") == "2"
    assert line.text_content().startswith("CPU workers: 2 → two workers"), line.text_content()
    loss = page.evaluate("window.nnplayApp.charts.loss.data[1].at(-1)")
    assert loss is not None and np.isfinite(loss)
    harness.wait_autosaved(page, "s => s.train && s.train.workers === 2 && s.train.batchSize === 32")
    page.reload()
    harness.wait_ready(page)
    assert page.evaluate("nnplay.state.train.workers") == 2
    assert page.input_value("[data-testid=setting-workers]") == "2"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_a_page_that_is_not_cross_origin_isolated_trains_on_one_worker_and_says_why(browser, dist):
    """A plain static host (no COOP/COEP headers): no SharedArrayBuffer, so no helper."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(dist)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{httpd.server_address[1]}/")
        harness.wait_ready(page)
        assert page.evaluate("crossOriginIsolated") is False
        spec = mnist_spec(page)
        status = page.evaluate("""async (spec) => {
            await nnplay.loadDataset('mnist', {count: 100, ratio: 0.8});
            await nnplay.setSpec(spec, false);
            await nnplay.setTrainSettings({batchSize: 20, workers: 2});
            const r = await nnplay.train({steps: 5});
            return {...nnplay.workers, steps: r.steps};
        }""", spec)
        assert status["steps"] == 5 and status["workers"] == 1 and status["helper"] == "off", status
        assert "not cross-origin isolated" in status["reason"], status
    finally:
        context.close()
        httpd.shutdown()
        httpd.server_close()
