"""The Python view (CodeMirror), the console's Stop, and recovery when the Python worker crashes or
will not stop: each test drives the real page by keyboard and clicks, in a context of its own (fresh
IndexedDB), because the crash tests end the page's worker."""
import pytest

import harness
from test_ui import open_app, set_field, shot, wait_until

EDITOR = "[data-testid=code-view-cm] .CodeMirror-code"
CONSOLE = "[data-testid=console-input-cm] .CodeMirror-code"
POINTS = [[0.1, 0.2], [0.5, -0.3], [-1.0, 0.7]]
VIEW_TEXT = "document.querySelector('#code .CodeMirror').CodeMirror.getValue()"


@pytest.fixture()
def app(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = open_app(context, server.url)
    yield page
    context.close()


def replace_text(page, selector, code):
    """Select all in a CodeMirror editor and put `code` there, as a paste would."""
    page.click(selector)
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(code)


def run(page, selector, code, timeout=60):
    runs = page.evaluate("Number(document.body.dataset.codeRuns || 0)")
    replace_text(page, selector, code)
    page.keyboard.press("Control+Enter")
    wait_until(page, "n => Number(document.body.dataset.codeRuns || 0) > n", timeout, runs)


def output(page, which="code"):
    return page.inner_text(f"[data-testid={which}-output]")


def test_the_python_view_is_edited_and_run_and_the_builder_follows(app):
    wait_until(app, VIEW_TEXT + ".includes('pyengine.build(spec)')")
    assert app.locator("#code .CodeMirror").count() == 1  # the editor library, not a bare textarea
    code = ("import pyengine\n"
            "spec = {'input': [2], 'layers': [{'type': 'dense', 'units': 5, 'activation': 'relu'},\n"
            "                                 {'type': 'dense', 'units': 2}]}\n"
            "net = pyengine.build(spec)\n"
            "print('built', len(spec['layers']), 'layers')\n")
    run(app, EDITOR, code)
    assert "built 2 layers" in output(app)
    assert app.input_value("[data-testid=layer-0-units]") == "5"
    assert app.locator("#layers > li").count() == 2
    assert app.evaluate("nnplay.getSpec()")["layers"][0]["units"] == 5
    assert "'net' from your code" in app.inner_text("[data-testid=message]")
    assert app.is_visible("[data-testid=code-revert]")  # the learner's text stays in the view
    shot(app, "code-view-ran")

    # An error names its line, marks it in the editor and leaves the network alone.
    run(app, EDITOR, "x = 1\ny = 2\nz = undefined_name + x\n")
    assert "line 3: NameError" in output(app)
    assert app.locator("#code .code-error-line").count() == 1
    assert app.evaluate("nnplay.getSpec()")["layers"][0]["units"] == 5

    # PyTorch is shown read-only; going back to Python brings the learner's draft back.
    app.select_option("[data-testid=code-kind]", "pytorch")
    wait_until(app, VIEW_TEXT + ".includes('import torch')")
    app.click(EDITOR)
    app.keyboard.insert_text("typed into read-only code")
    assert "typed into" not in app.evaluate(VIEW_TEXT)
    assert app.is_disabled("[data-testid=code-run]")
    app.select_option("[data-testid=code-kind]", "python")
    wait_until(app, VIEW_TEXT + ".includes('undefined_name')")

    # A builder change while the view holds edited code keeps the code and says so.
    set_field(app, "layer-0-units", 6)
    wait_until(app, "document.querySelector('[data-testid=code-note]').textContent.includes('kept')", 20)
    app.click("[data-testid=code-revert]")
    text = app.evaluate(VIEW_TEXT)
    assert "'units': 6" in text and "undefined_name" not in text
    assert not app.is_visible("[data-testid=code-revert]")

    # Tab indents in the editor; Esc, then Tab, leaves it (no keyboard trap), and Shift+Tab too.
    app.click(EDITOR)
    in_view = "document.activeElement.closest('#code .CodeMirror') !== null"
    app.keyboard.press("Tab")
    assert app.evaluate(in_view)
    app.keyboard.press("Escape")
    app.keyboard.press("Tab")
    assert not app.evaluate(in_view)
    assert app.evaluate("document.activeElement.closest('#console') !== null")  # the console's input is next
    app.click(EDITOR)
    app.keyboard.press("Escape")
    app.keyboard.press("Shift+Tab")
    assert app.evaluate("document.activeElement.dataset.testid") == "code-revert"  # (the Tab above edited)


def test_stop_interrupts_endless_code_and_the_page_keeps_its_state(app):
    spec = app.evaluate("nnplay.getSpec()")
    runs = app.evaluate("Number(document.body.dataset.codeRuns || 0)")
    replace_text(app, CONSOLE, "n = 0\nwhile True:\n    n += 1\n")
    app.keyboard.press("Control+Enter")
    wait_until(app, "document.body.dataset.codeRunning === 'console'", 10)
    app.wait_for_timeout(1000)
    assert app.is_enabled("[data-testid=console-stop]")
    app.click("[data-testid=console-stop]")
    wait_until(app, "n => Number(document.body.dataset.codeRuns || 0) > n", 10, runs)
    assert output(app, "console").strip() in ("KeyboardInterrupt: stopped at line 2", "KeyboardInterrupt: stopped at line 3")
    assert app.evaluate("nnplay.restarts") == 0  # interrupted, not restarted
    run(app, CONSOLE, "n > 0")
    assert output(app, "console").strip().endswith("True")  # the variables survive a stop
    assert app.evaluate("nnplay.getSpec()") == spec


@pytest.mark.timeout(240)
def test_a_worker_crash_restarts_python_and_restores_the_autosave(app):
    for _ in range(3):
        app.click("[data-testid=step]")
    wait_until(app, "Number(document.querySelector('#example-count').textContent) >= 48", 20)
    examples = app.evaluate("nnplay.getState().then(s => s.counters.examples)")
    harness.wait_autosaved(app, "(s, n) => s.history && s.history.examples === n", arg=examples)
    before = app.evaluate("p => nnplay.predict(p)", POINTS)
    spec = app.evaluate("nnplay.getSpec()")
    # Nested 200,000 deep, json.dumps overflows the WebAssembly stack: a real Pyodide fatal error.
    crash = ("import json, sys\nsys.setrecursionlimit(10**6)\nx = []\n"
             "for _ in range(200000):\n    x = [x]\njson.dumps(x)\n")
    run(app, CONSOLE, crash, timeout=120)
    wait_until(app, "document.body.dataset.recovered === '1'", 120)
    assert "crashed" in output(app, "console") and "restarted" in output(app, "console")
    assert app.evaluate("nnplay.restarts") == 1
    assert app.evaluate("nnplay.getSpec()") == spec
    assert app.evaluate("p => nnplay.predict(p)", POINTS) == before  # the autosaved weights are back
    assert "Restarted" in app.inner_text("#boot-status")
    shot(app, "recovered-after-crash")
    run(app, CONSOLE, "6 * 7")  # the new worker runs code
    assert output(app, "console").strip().endswith("42")


@pytest.mark.timeout(240)
def test_code_that_will_not_stop_is_ended_by_a_restart_offered_when_python_stops_answering(app):
    set_field(app, "setting-batchSize", 24)
    harness.wait_autosaved(app, "s => s.train && s.train.batchSize === 24")
    # One long NumPy call: the interrupt is only seen between Python bytecodes, so Stop cannot end it.
    replace_text(app, CONSOLE, "import numpy as np\na = np.ones((4000, 4000))\na @ a\n")
    app.keyboard.press("Control+Enter")
    banner = "[data-testid=worker-stuck]"
    wait_until(app, f"!document.querySelector('{banner}').hidden", 60)
    assert "not answered" in app.inner_text(banner)
    shot(app, "worker-stuck")
    app.click("[data-testid=restart-worker]")
    wait_until(app, "document.body.dataset.recovered === '1'", 120)
    assert "did not stop" in output(app, "console")
    assert app.input_value("[data-testid=setting-batchSize]") == "24"
    assert app.evaluate("nnplay.getSpec()")["layers"][0]["units"] == 16
    assert app.is_hidden(banner)
    run(app, CONSOLE, "1 + 1")
    assert output(app, "console").strip().endswith("2")


def test_edited_code_is_autosaved_and_comes_back_after_a_reload_without_running(app):
    spec = app.evaluate("nnplay.getSpec()")
    replace_text(app, EDITOR, "import pyengine\n# my draft\nmodel = pyengine.build({'input': [2], 'layers': []})\n")
    replace_text(app, CONSOLE, "print('console draft')")
    harness.wait_autosaved(app, "s => s.code && (s.code.view || '').includes('# my draft') "
                                "&& (s.code.console || '').includes('console draft')")
    app.reload()
    app.wait_for_selector("body[data-app=ready]", state="attached", timeout=60_000)
    wait_until(app, VIEW_TEXT + ".includes('# my draft')", 20)
    assert "console draft" in app.evaluate("document.querySelector('#console .CodeMirror').CodeMirror.getValue()")
    assert app.evaluate("nnplay.getSpec()") == spec  # shown, not run
    assert "Edited" in app.inner_text("[data-testid=code-note]")


def test_an_uploaded_csv_is_the_data_choice_and_comes_back_after_a_reload(app):
    rows = "\n".join(f"{i % 7},{(i * 3) % 5},{int(i % 7 > 3)}" for i in range(50))
    app.click("#data-panel summary:has-text('Upload a CSV')")
    app.fill("[data-testid=csv-label]", "y")
    app.set_input_files("[data-testid=csv-file]", files=[
        {"name": "points.csv", "mimeType": "text/csv", "buffer": f"a,b,y\n{rows}\n".encode()}])
    wait_until(app, "document.querySelector('[data-testid=data-info]').textContent.startsWith('csv:')", 20)
    info = app.inner_text("[data-testid=data-info]")
    assert app.input_value("[data-testid=setting-dataset]") == "csv"
    harness.wait_autosaved(app, "s => s.data && s.data.name === 'csv' && s.csv && s.csv.label === 'y'")
    assert "csv" not in app.evaluate("JSON.stringify(Object.keys(JSON.parse(atob("
                                     "location.hash.slice(3).replaceAll('-', '+').replaceAll('_', '/')))))")
    app.reload()
    app.wait_for_selector("body[data-app=ready]", state="attached", timeout=60_000)
    wait_until(app, "document.querySelector('[data-testid=data-info]').textContent.startsWith('csv:')", 20)
    assert app.inner_text("[data-testid=data-info]") == info
    assert app.input_value("[data-testid=csv-label]") == "y"
    # Picking "csv" where no file was ever loaded (a fresh context) says so and keeps the data shown.
    context = app.context.browser.new_context()
    try:
        fresh = open_app(context, app.url.split("#")[0])
        shown = fresh.inner_text("[data-testid=data-info]")
        fresh.select_option("[data-testid=setting-dataset]", "csv")
        wait_until(fresh, "document.querySelector('#message').textContent.includes('No CSV file')", 10)
        assert fresh.inner_text("[data-testid=data-info]") == shown
        assert fresh.input_value("[data-testid=setting-dataset]") == "spiral"
    finally:
        context.close()
