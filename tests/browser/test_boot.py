"""Pyodide boots in a Web Worker, imports NumPy and pyengine, and answers window.nnplay."""
import harness

ENGINE_VERSION = harness.build.engine_metadata()["version"]


def test_ready_resolves_with_a_time_for_each_boot_stage(booted):
    timings = booted.ready["timings"]
    assert set(timings) == {"runtime", "numpy", "engine"}
    assert all(ms > 0 for ms in timings.values())


def test_numpy_and_pyengine_import_in_the_worker(booted):
    versions = booted.run("import numpy, pyengine\n[numpy.__version__, pyengine.__version__]")
    assert versions == ["2.0.2", ENGINE_VERSION]


def test_nnplay_version_is_the_package_version(booted):
    assert booted.page.evaluate("nnplay.version") == ENGINE_VERSION
    assert booted.run("import pyengine; pyengine.__version__") == booted.page.evaluate("nnplay.version")


def test_python_runs_in_the_worker_not_on_the_ui_thread(booted):
    # The worker has no DOM; the page has no Pyodide.
    assert booted.run("import js; hasattr(js, 'document')") is False
    assert booted.page.evaluate("typeof window.loadPyodide === 'undefined' && typeof window.pyodide === 'undefined'")


def test_the_page_is_cross_origin_isolated(booted):
    # COOP/COEP from build.py serve: SharedArrayBuffer is available (e.g. to interrupt Python later).
    assert booted.page.evaluate("crossOriginIsolated && typeof SharedArrayBuffer === 'function'")


def test_run_python_returns_json_values_of_the_last_expression(booted):
    assert booted.run("x = 2\nx * 21") == 42
    assert booted.run("x + 1") == 3  # variables persist between calls
    assert booted.run("import numpy as np\n{'a': np.arange(3), 'b': np.float32(0.5), 't': (1, None)}") == {
        "a": [0, 1, 2], "b": 0.5, "t": [1, None]}
    assert booted.run("y = 1") is None  # no trailing expression
    assert booted.run("import asyncio\nawait asyncio.sleep(0)\n'awaited'") == "awaited"


def test_run_python_rejects_with_the_python_error_message(booted):
    error = booted.page.evaluate(
        "nnplay.runPython('1/0').then(() => null, e => ({message: e.message, kind: e.kind, tb: e.traceback}))"
    )
    assert error["message"] == "ZeroDivisionError: division by zero"
    assert error["kind"] == "ZeroDivisionError"
    assert "line 1" in error["tb"]
    error = booted.page.evaluate("nnplay.runPython('object()').then(() => null, e => e.message)")
    assert "not JSON-serialisable" in error


def test_python_methods_registered_with_rpc_stream_events(booted):
    booted.run(
        "from pyengine import rpc\n"
        "@rpc.method('test_count')\n"
        "def count(n):\n"
        "    for i in range(n):\n"
        "        rpc.emit('epoch', epoch=i, loss=1.0 / (i + 1))\n"
        "    return {'counted': n}\n"
    )
    result = booted.page.evaluate(
        """async () => {
            const events = [];
            const off = nnplay.on('epoch', e => events.push(e));
            const result = await nnplay.call('test_count', {n: 3});
            off();
            return {result, events};
        }"""
    )
    assert result["result"] == {"counted": 3}
    assert [e["epoch"] for e in result["events"]] == [0, 1, 2]
    assert result["events"][2] == {"event": "epoch", "epoch": 2, "loss": 1 / 3}
    unknown = booted.page.evaluate("nnplay.call('no_such_method').then(() => null, e => e.kind)")
    assert unknown == "UnknownMethod"


def test_mnist_is_fetched_on_demand_into_the_worker_file_system(booted):
    header = booted.page.evaluate("nnplay.loadMnist()")
    assert header == {"path": "/data/mnist.bin", "bytes": 16 + 10000 * 28 * 28 + 10000, "count": 10000,
                      "rows": 28, "cols": 28}
    counts = booted.run(
        "import numpy as np\n"
        "raw = open('/data/mnist.bin', 'rb').read()\n"
        "np.bincount(np.frombuffer(raw[-10000:], np.uint8), minlength=10)"
    )
    assert counts == [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]


def test_python_can_fetch_mnist_itself_through_the_worker(booted):
    result = booted.run(
        "from nnplay_worker import loadMnist\n"
        "header = await loadMnist()\n"
        "[header.path, header.count, len(open(header.path, 'rb').read())]"
    )
    assert result == ["/data/mnist.bin", 10000, 16 + 10000 * 784 + 10000]


def test_page_shows_every_stage_done_and_the_ready_message(booted):
    page = booted.page
    assert page.get_attribute("body", "data-ready") == "true"
    assert page.eval_on_selector("#boot-progress", "p => p.value") == 1
    states = page.eval_on_selector_all("#boot-stages li", "items => items.map(li => li.dataset.state)")
    assert states == ["done", "done", "done"]
    assert "MB" in page.inner_text("#boot-stages li[data-stage=runtime] .stage-bytes")
    assert page.inner_text("#boot-status").startswith("Ready in")
    assert page.is_hidden("#boot-error")


def test_a_boot_failure_is_shown_in_the_page_with_its_reason(browser, server):
    context = browser.new_context()
    page = context.new_page()
    page.route("**/pyodide.asm.wasm", lambda route: route.fulfill(status=404, body="gone"))
    page.goto(server.url)
    page.wait_for_selector("#boot-error:not([hidden])", timeout=harness.BOOT_TIMEOUT_MS)
    text = page.inner_text("#boot-error")
    assert text.startswith("Failed while loading runtime:")
    error = page.evaluate("nnplay.ready.then(() => null, e => ({message: e.message, kind: e.kind}))")
    assert error["kind"] == "BootError"
    assert page.get_attribute("#boot-stages li[data-stage=runtime]", "data-state") == "failed"
    context.close()
