"""Hostile and careless input, per entry point: links and query strings, the autosave record, the
IndexedDB itself, window.nnplay calls and endless printing. Each case checks the message (it names what
was wrong), that the page still answers, and that the previous state is kept (or, at start-up, that the
playground became ready on the default network). Keep this corpus growing with every new input path."""
import base64
import json
import time

import pytest

from test_ui import open_app, wait_until

CONSOLE = "[data-testid=console-input-cm] .CodeMirror-code"


def link(state) -> str:
    """A #s= link as storage.encodeState writes it (URL-safe base64 of UTF-8 JSON; `state` may be JSON text)."""
    text = state if isinstance(state, str) else json.dumps(state)
    return "#s=" + base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.fixture(scope="module")
def context(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def mlp():
    from pyengine.presets import playground_presets
    return playground_presets()["mlp"]["spec"]


def layer_types(page):
    return page.evaluate("[...document.querySelectorAll('#layers > li')].map(li => li.dataset.type)")


def answers(page):
    """The page and its worker still answer: a spec check round trip."""
    r = page.evaluate("nnplay.checkSpec({input: [2], layers: [{type: 'dense', units: 2}]})")
    return r["ok"]


# A spec nested 50,000 levels deep (JSON text: Python's own json cannot even build it).
DEEP = '{"settings": {}, "spec": {"input": [2], "layers": [' + "[" * 50000 + "]" * 50000 + "]}}"


@pytest.mark.timeout(300)
@pytest.mark.parametrize("suffix,message", [
    (link({"settings": 7}), "settings: 7 is not an object of settings"),
    (link({"settings": "abc", "spec": None}), 'settings: "abc" is not an object of settings'),
    ("", "the link's data is nested too deeply"),  # DEEP (100 kB of brackets)
    ("?preset=constructor", 'There is no preset "constructor"'),
    ("?embed=1&preset=__proto__", 'There is no preset "__proto__"'),
])
def test_a_hostile_link_or_query_still_starts_the_playground_on_the_default_network(browser, server, mlp, suffix,
                                                                                    message):
    if not suffix:
        suffix = link(DEEP)
    context = browser.new_context()  # no autosave (it would win over ?preset=)
    page = open_app(context, server.url + suffix)  # waits for nnplay.ready and body[data-app=ready]
    try:
        assert message in page.inner_text("#message"), page.inner_text("#message")
        assert page.evaluate("nnplay.getSpec()")["layers"] == mlp["layers"]
        assert layer_types(page) == [layer["type"] for layer in mlp["layers"]]
        assert answers(page)
    finally:
        context.close()


@pytest.mark.timeout(120)
def test_layer_types_named_after_object_prototype_start_on_the_default_network_with_a_message(context, server, mlp):
    spec = {"input": [2], "layers": [{"type": "constructor"}, {"type": "__proto__"}, {"type": "toString"},
                                     {"type": {"toString": 1}}, 7]}
    page = open_app(context, server.url + link({"spec": spec, "settings": {"lr": 0.1}}))
    try:
        message = page.inner_text("#message")
        assert "could not be used" in message and "the network" in message, message
        assert "constructor" in message.lower() or "unknown layer type" in message.lower(), message
        assert page.evaluate("nnplay.getSpec()")["layers"] == mlp["layers"]  # never Object.prototype's
        assert layer_types(page) == [layer["type"] for layer in mlp["layers"]]
        assert answers(page)
    finally:
        page.close()


def idb(page, script, arg=None):
    """Run `script` (an async function body with db, get(key), put(key, value), arg) on the page's "nnplay"
    IndexedDB, as a damaged or hand-edited store would be."""
    return page.evaluate(
        "async (arg) => {"
        "  const db = await new Promise((ok, no) => { const r = indexedDB.open('nnplay'); r.onsuccess = () => ok(r.result);"
        "                                              r.onerror = () => no(r.error); });"
        "  const req = (r) => new Promise((ok, no) => { r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });"
        "  const store = (mode) => db.transaction('autosave', mode).objectStore('autosave');"
        "  const get = (key) => req(store('readonly').get(key));"
        "  const put = (key, value) => req(store('readwrite').put(value, key));"
        f"  try {{ {script} }} finally {{ db.close(); }}"
        "}", arg)


@pytest.mark.timeout(420)  # three boots: minutes on a loaded 2-core machine
def test_a_damaged_autosave_is_set_aside_for_download_and_not_retried(browser, server, mlp):
    ctx = browser.new_context(accept_downloads=True)
    try:
        page = open_app(ctx, server.url)
        wait_until(page, "document.body.dataset.autosaved")
        idb(page, "const s = await get('state'); s.settings = 7; await put('state', s); return true;")
        page.reload()
        page.wait_for_selector("body[data-app=ready]", state="attached", timeout=120_000)
        text = page.inner_text("#message")
        assert "The autosave is damaged (settings is 7, not an object of settings) and was set aside" in text, text
        assert page.evaluate("nnplay.getSpec()")["layers"] == mlp["layers"] and answers(page)
        kept = idb(page, "return get('damaged');")
        assert kept["record"]["settings"] == 7 and "settings is 7" in kept["reason"]
        with page.expect_download() as download:
            page.click("[data-testid=download-damaged]")
        saved = json.loads(open(download.value.path()).read())
        assert saved["record"]["settings"] == 7 and saved["record"]["spec"]["layers"] == mlp["layers"]
        wait_until(page, "document.body.dataset.autosaved")  # a good autosave replaces it
        page.reload()
        page.wait_for_selector("body[data-app=ready]", state="attached", timeout=120_000)
        assert "damaged" not in page.inner_text("#message")  # not retried on the next reload
        assert page.is_hidden("[data-testid=download-damaged]")
    finally:
        ctx.close()


@pytest.mark.timeout(240)
def test_an_indexeddb_at_another_version_without_the_store_is_upgraded_and_autosaves(browser, server):
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        page.goto(server.url + "favicon.svg")  # the origin, without the app
        page.evaluate("""() => new Promise((ok, no) => {
            const r = indexedDB.open("nnplay", 7);
            r.onupgradeneeded = () => r.result.createObjectStore("something-else");
            r.onsuccess = () => { r.result.close(); ok(); };
            r.onerror = () => no(r.error);
        })""")
        page.goto(server.url)
        page.wait_for_selector("body[data-app=ready]", state="attached", timeout=120_000)
        wait_until(page, "document.body.dataset.autosaved")
        version, state = page.evaluate("""() => new Promise((ok) => {
            const r = indexedDB.open("nnplay");
            r.onsuccess = () => { const db = r.result; const g = db.transaction("autosave").objectStore("autosave").get("state");
                                  g.onsuccess = () => { db.close(); ok([db.version, g.result]); }; };
        })""")
        assert version == 8 and state["spec"]["input"] == [2]
        assert "autosave failed" not in page.inner_text("#message").lower()
    finally:
        ctx.close()


API_CASES = [
    ("nnplay.train({epochs: NaN})", "epochs is NaN; a finite number is needed"),
    ("nnplay.train({epochs: Infinity})", "epochs is Infinity; a finite number is needed"),
    ("nnplay.train({epochs: 'abc'})", "epochs must be a positive number up to 1000000, got 'abc'"),
    ("nnplay.train({earlyStopping: 'abc'})", "earlyStopping must be a patience"),
    ("nnplay.train({batchSize: -1})", "batchSize must be a whole number from 1 to 4096, got -1"),
    ("nnplay.loadDataset('mnist', {count: 0})", "count must be a whole number >= 1, got 0"),
    ("nnplay.loadDataset('mnist', {count: -5})", "count must be a whole number >= 1, got -5"),
    ("nnplay.loadDataset('mnist', {count: 20000})", "count must be a whole number from 1 to 10000, got 20000"),
    ("nnplay.loadDataset('spiral', {ratio: 'abc'})", "ratio must be a number from 0.05 to 1, got 'abc'"),
    ("nnplay.loadDataset('regression1d', {n: -5})", "n must be a whole number from 10 to 20000, got -5"),
    ("nnplay.loadDataset('regression1d', {n: 1e9})", "n must be a whole number from 10 to 20000, got 1000000000"),
    ("nnplay.loadDataset('images', {classes: ['str', 'str']})", "class 1 must be an object {name, images}"),
    ("nnplay.loadDataset('images', {classes: [{name: 'a', images: ['AAA']}, {name: 'b', images: ['AAA']}]})",
     "class 'a', image 1: not valid base64"),
    ("nnplay.loadDataset('constructor')", "unknown dataset 'constructor'"),
    ("nnplay.load(123456789)", "bytes must be a model file's contents (a Uint8Array or ArrayBuffer), got 123456789"),
    ("nnplay.load('abc')", "got \"abc\""),
    ("(() => { let s = []; for (let i = 0; i < 50000; i++) s = [s]; return nnplay.setSpec({input: [2], layers: s}); })()",
     "playground.setSpec is nested too deeply"),
    ("(() => { const a = {}; a.self = a; return nnplay.checkSpec(a); })()", "nested too deeply"),
    ("nnplay.importConvnetjs({layers: [{layer_type: 'input', out_sx: 1, out_depth: 2}]})",
     "ConvNetJS layer 0 (input): missing field 'out_sy' (the input size)"),
    ("nnplay.importConvnetjs({layers: [{layer_type: 'input', out_sx: 1, out_sy: 1, out_depth: 2}, "
     "{layer_type: 'fc', out_depth: 2, filters: [{w: [1, 2]}, {w: [3]}], biases: {w: [0, 0]}}]})",
     "ConvNetJS layer 1 (fc): filter 1 has 1 weights, filter 0 has 2"),
    ("nnplay.predict([[NaN, 1]])", "inputs[0][0] is NaN"),
]


@pytest.mark.timeout(180)
def test_bad_window_nnplay_calls_are_refused_with_the_field_and_the_session_keeps_its_state(booted, mlp):
    page = booted.page
    page.wait_for_selector("body[data-app=ready]", state="attached", timeout=60_000)
    page.evaluate("""async (spec) => { await nnplay.setSpec(spec); await nnplay.loadDataset('spiral', {n: 200});
                                        await nnplay.train({steps: 2}); }""", mlp)
    before = page.evaluate("Promise.all([nnplay.getSpec(), nnplay.call('playground.datasetInfo'), nnplay.getMetrics()])"
                           ".then(([s, d, m]) => JSON.stringify([s, d, m.step, m.training]))")
    failures = []
    for call, message in API_CASES:
        got = page.evaluate(f"(async () => {{ try {{ await {call}; return null; }} catch (e) {{ return e.message; }} }})()")
        if got is None or message not in got or "Traceback" in got:
            failures.append((call, got))
        now = page.evaluate("Promise.all([nnplay.getSpec(), nnplay.call('playground.datasetInfo'), nnplay.getMetrics()])"
                            ".then(([s, d, m]) => JSON.stringify([s, d, m.step, m.training]))")
        if now != before:
            failures.append((call, "changed the session"))
    assert not failures, failures
    assert page.evaluate("nnplay.train({steps: 1}).then(r => r.steps)") == 1  # not wedged: it still trains


@pytest.mark.timeout(180)
def test_python_printing_without_end_keeps_the_page_responsive_the_output_bounded_and_stop_clickable(booted):
    page = booted.page
    page.wait_for_selector("body[data-app=ready]", state="attached", timeout=60_000)
    runs = page.evaluate("Number(document.body.dataset.codeRuns || 0)")
    page.evaluate("window.__printTasks = []; window.__printObserver = new PerformanceObserver((l) => "
                  "l.getEntries().forEach((e) => __printTasks.push(Math.round(e.duration)))); "
                  "__printObserver.observe({type: 'longtask'})")
    page.click(CONSOLE)
    page.keyboard.press("Control+A")
    page.keyboard.insert_text("i = 0\nwhile True:\n    print(i)\n    i += 1")
    page.click("#console-run")
    wait_until(page, "document.body.dataset.codeRunning === 'console'", 10)
    shown = ("[...document.querySelectorAll('#console-output > span:not(.output-dropped)')]"
             ".reduce((n, s) => n + s.textContent.split('\\n').length - 1, 0)")
    wait_until(page, f"{shown} > 1000", 60)
    # While it prints: the page answers quickly in its own clock, and the output stays bounded.
    lags = []
    for _ in range(5):
        lags.append(page.evaluate("new Promise(r => { const t = performance.now(); setTimeout(() => r(performance.now() - t), 0); })"))
        time.sleep(0.3)
    lines = page.evaluate(shown)
    note = page.inner_text("#console-output .output-dropped")
    assert lines <= 2000 and "earlier lines dropped: only the last 2,000 are kept" in note, (lines, note)
    assert page.evaluate("document.body.dataset.codeRunning") == "console"  # still printing
    page.click("#console-stop")  # clickable while Python floods the page with output
    wait_until(page, "n => Number(document.body.dataset.codeRuns || 0) > n", 60, runs)
    out = page.inner_text("#console-output")
    assert "KeyboardInterrupt" in out or "restarting the Python worker" in out, out[-300:]
    tasks = page.evaluate("__printObserver.disconnect(), __printTasks")
    print(f"while printing: timer lags {[round(x) for x in lags]} ms (a loaded machine adds its own); "
          f"{len(tasks)} long tasks of the page, {sum(tasks)} ms in all, longest {max(tasks, default=0)} ms")
    page.click("#console-clear")
    assert page.inner_text("#console-output") == ""
