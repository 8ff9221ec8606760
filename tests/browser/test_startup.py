"""Start-up (issue 19): the first screen before Python, edits made while it boots, warm starts from the
memory snapshot, and the cold boot (with a notice) when the snapshot is damaged, stale or fails to restore.

All in one browser context of the suite's browser, one page per boot: its Cache Storage holds the snapshot."""
from __future__ import annotations

import pytest

import harness

SNAPSHOT = "nnplay-python-snapshot"  # worker.js: the Cache Storage name (and the key's last path part)


@pytest.fixture(scope="module")
def context(browser):
    ctx = browser.new_context()
    yield ctx
    ctx.close()


def open_page(context, server, hold_wasm=False):
    """A new page of `context` on the playground; with hold_wasm, Pyodide's wasm is held back until released."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    held = []
    if hold_wasm:
        page.route("**/pyodide.asm.wasm", lambda route: held.append(route))
    page.goto(server.url)
    return page, errors, held


def snapshot_entry(page):
    """{build, sha, size} of the stored snapshot, or None."""
    return page.evaluate(f"""async () => {{
        const r = await (await caches.open('{SNAPSHOT}')).match(new URL('python-snapshot', location.href).href);
        return r ? {{build: r.headers.get('x-nnplay-build'), sha: r.headers.get('x-nnplay-sha256'),
                     size: (await r.arrayBuffer()).byteLength}} : null;
    }}""")


def wait_snapshot(page):
    page.evaluate(f"""() => new Promise((resolve, reject) => {{
        const t0 = performance.now();
        const poll = async () => {{
            const r = await (await caches.open('{SNAPSHOT}')).match(new URL('python-snapshot', location.href).href);
            if (r) return resolve(true);
            if (performance.now() - t0 > 60000) return reject(new Error('no snapshot stored'));
            setTimeout(poll, 100);
        }};
        poll();
    }})""")


def rewrite_snapshot(page, change):
    """Replace the stored snapshot: `change` is JS that gets {bytes, headers} and edits them in place."""
    page.evaluate(f"""async () => {{
        const cache = await caches.open('{SNAPSHOT}');
        const key = new URL('python-snapshot', location.href).href;
        const old = await cache.match(key);
        const bytes = new Uint8Array(await old.arrayBuffer());
        const headers = Object.fromEntries(old.headers.entries());
        const sha = async (b) => [...new Uint8Array(await crypto.subtle.digest('SHA-256', b))]
            .map(x => x.toString(16).padStart(2, '0')).join('');
        await (async ({{bytes, headers, sha}}) => {{ {change} }})({{bytes, headers, sha}});
        await cache.put(key, new Response(bytes, {{headers}}));
    }}""")


def test_first_screen_renders_before_python_and_edits_made_meanwhile_are_applied(context, server):
    page, errors, held = open_page(context, server, hold_wasm=True)
    page.wait_for_selector("#layers li")
    first = page.evaluate("""() => ({
        layers: document.querySelectorAll('#layers li').length,
        totals: document.querySelector('#totals').textContent,
        data: document.querySelector('#data-info').textContent,
        presets: document.querySelectorAll('#preset option').length,
        optimizer: document.querySelector('[data-testid=setting-optimizer]').value,
        charts: document.querySelectorAll('#loss-chart canvas, #acc-chart canvas').length,
        line: document.querySelector('#boot-line').textContent,
        lineShown: getComputedStyle(document.querySelector('#boot-line')).display !== 'none',
        play: document.querySelector('#btn-play').disabled,
        workerState: window.nnplay.state, ready: document.body.dataset.ready ?? null,
        app: document.body.dataset.app, ms: Number(document.body.dataset.firstScreen)})""")
    # Python cannot be up: its wasm has not even been sent. The default network and its check are on screen.
    assert held, "the worker did not ask for pyodide.asm.wasm"
    assert first["workerState"] is None and first["ready"] is None and first["app"] == "provisional"
    assert first["layers"] == 3 and first["totals"] == "3 layers, 354 parameters, output [2]"
    assert first["data"].startswith("spiral: 400 training and 100 validation examples")
    assert first["presets"] > 3 and first["optimizer"] == "adam" and first["charts"] >= 2
    assert first["lineShown"] and first["line"].startswith("Loading Python runtime")
    assert first["play"], "Play must wait for Python"
    # Edits while Python boots: a layer from the palette, then an optimizer: held, not lost.
    page.click("[data-testid=palette-dense]")
    page.select_option("[data-testid=setting-optimizer]", "sgd")
    assert page.evaluate("document.querySelectorAll('#layers li').length") == 4
    assert "as soon as Python is ready" in page.text_content("#totals")
    for route in held:
        route.continue_()
    page.unroute("**/pyodide.asm.wasm")
    harness.wait_ready(page)
    spec = page.evaluate("nnplay.getSpec()")
    assert [layer["type"] for layer in spec["layers"]] == ["dense"] * 4
    assert spec["optimizer"]["type"] == "sgd"
    shown = page.evaluate("""() => ({layers: document.querySelectorAll('#layers li').length,
        totals: document.querySelector('#totals').textContent, optimizer: document.querySelector('[data-testid=setting-optimizer]').value,
        play: document.querySelector('#btn-play').disabled, line: getComputedStyle(document.querySelector('#boot-line')).display})""")
    assert shown["layers"] == 4 and shown["totals"].startswith("4 layers") and shown["optimizer"] == "sgd"
    assert not shown["play"] and shown["line"] == "none"
    # The build's catalogue is the engine's: what the worker answers now is what the first screen used.
    same = page.evaluate("""async () => {
        const first = (await import('./catalogue.js')).default;
        const canon = (v) => JSON.stringify(v, (_k, x) => x && typeof x === 'object' && !Array.isArray(x)
            ? Object.fromEntries(Object.keys(x).sort().map(k => [k, x[k]])) : x);
        return canon(first.catalogue) === canon(await nnplay.call('playground.catalogue'));
    }""")
    assert same, "dist/catalogue.js differs from the worker's playground.catalogue"
    assert not errors, errors
    wait_snapshot(page)  # this cold boot stored the interpreter's snapshot for the next one
    page.close()


def test_a_return_visit_restores_python_from_the_snapshot(context, server):
    page, errors, _ = open_page(context, server)
    assert snapshot_entry(page)["build"] == page.evaluate("import('./build-info.js').then(m => m.default.build_id)")
    ready = harness.wait_ready(page)
    assert ready["start"]["kind"] == "warm" and ready["start"]["snapshot"] == "restored", ready["start"]
    assert page.evaluate("document.body.dataset.start") == "warm"
    assert "from the saved snapshot" in page.text_content("#boot-status")
    r = page.evaluate("nnplay.train({steps: 3})")  # NumPy and the engine work on the restored interpreter
    assert r["steps"] == 3
    assert page.evaluate("nnplay.runPython('import numpy as np; float(np.arange(4.0).sum())')") == 6.0
    assert page.is_hidden("#startup-notice") and not errors, errors
    page.close()


@pytest.mark.parametrize("damage, reason", [
    ("bytes[bytes.length >> 1] ^= 0xff;", "do not match their SHA-256"),  # damaged on disk
    ("headers['x-nnplay-build'] = 'an-older-build';", "made by another build"),  # stale
    # intact bytes that Pyodide refuses: the restore itself fails
    ("bytes.fill(0, 0, 4); headers['x-nnplay-sha256'] = await sha(bytes);", "failed to restore"),
])
def test_a_bad_snapshot_falls_back_to_a_cold_boot_with_a_notice(context, server, damage, reason):
    page, errors, _ = open_page(context, server)
    wait_snapshot(page)
    rewrite_snapshot(page, damage)
    page.reload()
    ready = harness.wait_ready(page)
    assert ready["start"]["kind"] == "cold", ready["start"]
    notice = page.text_content("#startup-notice")
    assert page.is_visible("#startup-notice") and reason in notice and "started from scratch" in notice, notice
    assert page.evaluate("nnplay.train({steps: 2})")["steps"] == 2  # the page works
    wait_snapshot(page)
    entry = snapshot_entry(page)  # and a good snapshot is stored again for the next visit
    assert entry["build"] == page.evaluate("import('./build-info.js').then(m => m.default.build_id)")
    assert not errors, errors
    page.close()


def test_the_code_editor_is_a_textarea_until_codemirror_loads_and_then_codemirror_with_the_same_text(context, server):
    """CodeMirror loads after the first screen: meanwhile the editor is its textarea; then CodeMirror takes it over."""
    page = context.new_page()
    held = []
    page.route("**/vendor/codemirror/codemirror.js", lambda route: held.append(route))
    page.goto(server.url, wait_until="domcontentloaded")  # (the held script holds the load event back)
    harness.wait_ready(page)  # the page and Python start without it
    assert page.evaluate("typeof window.CodeMirror") == "undefined"
    assert page.locator("#code .CodeMirror").count() == 0
    assert page.evaluate("window.nnplayApp.code.view.kind") == "textarea"
    page.evaluate("window.nnplayApp.code.view.value = '# typed before CodeMirror came\\nx = 1'")
    assert held, "codemirror.js was never asked for"
    for route in held:
        route.continue_()
    harness.wait_until(page, "document.querySelectorAll('#code .CodeMirror').length === 1", 30)
    assert page.evaluate("window.nnplayApp.code.view.kind") == "codemirror"
    assert page.evaluate("document.querySelector('#code .CodeMirror').CodeMirror.getValue()") == \
        "# typed before CodeMirror came\nx = 1"
    assert page.locator("#console .CodeMirror").count() == 1
    page.close()
