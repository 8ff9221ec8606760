"""Embedding across origins, as on a teacher's blog: the host page is on http://localhost:P (another site),
nnplay on http://127.0.0.1:Q. The widget boots, trains and is driven from the host through element.nnplay;
hostile messages (another frame, another origin, code to run) are ignored or refused; the full playground
refuses to be framed by another origin; and dist/ on a plain static server (no headers at all) boots and
trains, with the interrupt degraded to a notice."""
from __future__ import annotations

import http.server
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

import harness

SPEC = {"input": [2], "layers": [{"type": "dense", "units": 12, "activation": "tanh"}, {"type": "dense", "units": 2}],
        "loss": "softmax_cross_entropy", "optimizer": {"type": "adam", "lr": 0.03}, "seed": 1}
EVIL_UNITS = 13  # the attacker's network: a widget that adopts it listened to the wrong frame

HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A course page</title>
<script src="{nnplay}/embed.js"></script></head>
<body>
  <h1>Week 3: a classifier learns a spiral</h1>
  <nn-playground id="widget" preset="mlp" panels="builder,charts,output" height="520px"></nn-playground>
  <iframe id="ad" src="{attacker}/attacker.html" width="20" height="20" title="another site's frame"></iframe>
</body></html>
"""
# A frame of a third origin on the same page: it talks to the widget and forges replies to the host.
ATTACKER_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"></head><body><script>
window.received = [];
addEventListener("message", (e) => received.push(e.data));
const evil = {input: [2], layers: [{type: "dense", units: %d}, {type: "dense", units: 2}],
              loss: "softmax_cross_entropy", optimizer: {type: "sgd", lr: 0.1}};
setInterval(() => {
  for (let i = 0; i < parent.frames.length; i++) {
    const w = parent.frames[i];
    if (w === window) continue;
    w.postMessage({nnplay: 1, id: 1, method: "setSpec", args: [evil]}, "*");
    w.postMessage({nnplay: 1, id: 2, method: "runPython", args: ["pwned = 1"]}, "*");
    w.postMessage({nnplay: 1, type: "on", event: "epoch"}, "*");
  }
  for (let id = 1; id <= 40; id++) parent.postMessage({nnplay: 1, id, result: "forged"}, "*");
  parent.postMessage({nnplay: 1, type: "ready", result: {forged: true}}, "*");
  parent.postMessage({nnplay: 1, type: "event", event: "epoch", data: {forged: true}}, "*");
}, 50);
</script></body></html>
""" % EVIL_UNITS
FRAMING_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"></head><body>
<iframe id="full" src="{nnplay}/index.html" width="600" height="300"></iframe>
<iframe id="full-embed" src="{nnplay}/index.html?embed=1" width="600" height="300"></iframe>
</body></html>
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def sites(server, tmp_path_factory):
    """nnplay on 127.0.0.1:Q (build.py's server); host pages on localhost:P and an attacker on 127.0.0.1:P."""
    root = tmp_path_factory.mktemp("host-site")
    port = free_port()
    (root / "attacker.html").write_text(ATTACKER_PAGE)
    (root / "course.html").write_text(HOST_PAGE.format(nnplay=server.origin, attacker=f"http://127.0.0.1:{port}"))
    (root / "framing.html").write_text(FRAMING_PAGE.format(nnplay=server.origin))
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", port), lambda *a, **k: QuietHandler(*a, directory=str(root), **k))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield {"host": f"http://localhost:{port}", "nnplay": server.origin, "root": root}
    httpd.shutdown()
    httpd.server_close()


DRIVE = """async (spec) => {
  const el = document.querySelector("#widget");
  const nn = el.nnplay;
  const epochs = [];
  nn.on("epoch", (e) => epochs.push(e));
  const ready = await nn.ready;
  const shapes = await nn.setSpec(spec);
  const data = await nn.loadDataset("spiral", {n: 300, noise: 0.1, ratio: 0.8});
  const trained = await nn.train({epochs: 2, batchSize: 16});
  const evaluation = await nn.evaluate();
  const prediction = await nn.predict([0.1, -0.2]);
  const running = nn.train({batchSize: 16});  // until pause()
  await new Promise((r) => setTimeout(r, 300));
  await nn.pause();
  const paused = await running;
  let refused = null;
  try { await nn.setSpec({input: [2], layers: [{type: "no-such-layer"}]}); } catch (e) { refused = e.message; }
  return {ready, shapes, data, trained, evaluation, prediction, paused, refused, epochs,
          spec: await nn.getSpec(), bootMs: el.bootMs, api: Object.keys(nn).sort()};
}"""


def open_course(browser, sites):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    console = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.goto(sites["host"] + "/course.html")
    return context, page, console


def widget_frame(page):
    return page.wait_for_selector("#widget iframe", timeout=harness.BOOT_TIMEOUT_MS).content_frame()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("gpu", [False, True], ids=["numpy", "webgpu"])
def test_a_widget_on_another_site_boots_trains_and_is_driven_through_element_nnplay(request, sites, gpu):
    browser = request.getfixturevalue("webgpu_browser" if gpu else "browser")
    context, page, console = open_course(browser, sites)
    try:
        # WebGPU by name: "auto" never trains on SwiftShader, the only adapter here
        result = page.evaluate(DRIVE, dict(SPEC, backend="webgpu") if gpu else SPEC)
        assert result["api"] == sorted(["ready", "on", "getSpec", "setSpec", "loadDataset", "train", "pause", "reset",
                                        "evaluate", "predict", "getMetrics"])  # no runPython, runCode, call
        assert set(result["ready"]["timings"]) == {"runtime", "numpy", "engine"}
        assert result["ready"]["isolated"] is False  # a host page that is not isolated: no SharedArrayBuffer
        assert result["bootMs"] > 0
        assert result["spec"]["layers"][0]["units"] == 12  # the host's network, not the attacker's ...
        assert result["spec"]["seed"] == SPEC["seed"]  # ... exactly as the host gave it
        assert result["data"]["train"] == 240
        assert result["trained"]["steps"] == 2 * 15 and result["trained"]["loss"] > 0
        assert len(result["epochs"]) >= 2 and all("forged" not in e for e in result["epochs"])
        assert 0 <= result["evaluation"]["accuracy"] <= 1
        assert sum(result["prediction"]["outputs"]) == pytest.approx(1, abs=1e-4)
        assert result["paused"]["stopped"] == "paused"
        assert "no-such-layer" in result["refused"]
        frame = widget_frame(page)
        assert frame.url.startswith(sites["nnplay"] + "/embed.html?")
        assert frame.evaluate("document.body.dataset.bridge") == "on"
        assert frame.evaluate("nnplay.getMetrics()")["examples"] > 0  # the widget's own page trained
        backend = frame.evaluate("nnplay.backend")
        assert backend == ("webgpu" if gpu else "numpy")
        # The widget's builder shows the network the host set.
        assert frame.evaluate("nnplayApp.builder.layers.length") == 2
        assert not [m for m in console if "Content Security Policy" in m]
    finally:
        context.close()


@pytest.mark.timeout(300)
def test_hostile_messages_are_ignored_and_code_is_never_run(browser, sites):
    context, page, _ = open_course(browser, sites)
    try:
        ready = page.evaluate("document.querySelector('#widget').nnplay.ready")
        assert "forged" not in ready and set(ready["timings"]) == {"runtime", "numpy", "engine"}
        frame = widget_frame(page)
        # The host itself asks for code to run: refused with a reason, and nothing ran.
        reply = page.evaluate("""() => new Promise((resolve) => {
          const w = document.querySelector('#widget iframe').contentWindow;
          addEventListener('message', (e) => e.data?.id === 9999 && resolve(e.data));
          w.postMessage({nnplay: 1, id: 9999, method: 'runPython', args: ['pwned = 1']}, '*');
        })""")
        assert reply["error"]["kind"] == "BridgeError" and "runPython" in reply["error"]["message"]
        # Meanwhile the attacker's frame has been posting to the widget and forging replies for seconds.
        time.sleep(1)
        assert frame.evaluate("nnplay.runPython(\"'pwned' in globals()\")") is False
        spec = frame.evaluate("nnplay.getSpec()")
        assert spec["layers"][0]["units"] != EVIL_UNITS
        # The host's own calls get the widget's answers, never the forged ones.
        assert page.evaluate("document.querySelector('#widget').nnplay.getSpec()") == spec
        metrics = page.evaluate("document.querySelector('#widget').nnplay.getMetrics()")
        assert isinstance(metrics, dict) and "examples" in metrics
        # The widget never answered the attacker.
        assert page.query_selector("#ad").content_frame().evaluate("window.received.length") == 0
    finally:
        context.close()


def test_the_full_playground_refuses_to_be_framed_by_another_origin(browser, sites):
    context = browser.new_context()
    console = []
    try:
        page = context.new_page()
        page.on("console", lambda m: console.append(m.text))
        page.goto(sites["host"] + "/framing.html")
        time.sleep(1.5)
        for frame_id in ("full", "full-embed"):
            frame = page.query_selector(f"#{frame_id}").content_frame()
            assert not frame.url.startswith(sites["nnplay"]) or frame.evaluate("typeof window.nnplay") == "undefined"
        assert any("frame-ancestors 'self'" in m for m in console), console
    finally:
        context.close()


def test_a_page_opened_from_a_local_file_shows_a_widget(browser, sites, tmp_path):
    page_file = tmp_path / "lesson.html"
    page_file.write_text(f'<!doctype html><meta charset="utf-8"><script src="{sites["nnplay"]}/embed.js"></script>'
                         '<nn-playground id="widget" preset="mlp" loading="eager" height="300px"></nn-playground>')
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(page_file.as_uri())
        frame = widget_frame(page)
        frame.wait_for_selector("body[data-bridge]", state="attached", timeout=harness.BOOT_TIMEOUT_MS)
        assert frame.url.startswith(sites["nnplay"] + "/embed.html?")  # framed (`frame-ancestors * file:`)
        # An opaque origin cannot be posted to: the widget shows, the page cannot drive it.
        assert frame.evaluate("document.body.dataset.bridge") == "off"
    finally:
        context.close()


@pytest.fixture(scope="module")
def plain_server(dist):
    """dist/ served by `python -m http.server`: no CSP, no COOP/COEP/CORP, nothing but files."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(dist)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(url + "index.html") as r:
                    assert "Cross-Origin-Embedder-Policy" not in r.headers
                    break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("gpu", [False, True], ids=["numpy", "webgpu"])
def test_dist_on_a_plain_static_server_boots_and_trains_with_an_interrupt_notice(request, plain_server, sites, gpu):
    browser = request.getfixturevalue("webgpu_browser" if gpu else "browser")
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(plain_server + "index.html")
        harness.wait_ready(page)
        page.wait_for_selector("body[data-app=ready]", state="attached", timeout=harness.BOOT_TIMEOUT_MS)
        assert page.evaluate("crossOriginIsolated") is False
        assert page.evaluate("nnplay.interrupt()") is False  # degraded, not failed ...
        assert "cannot be interrupted" in page.inner_text("[data-testid=isolation-notice]")  # ... and said
        # Through the page: Play trains, Pause stops.
        page.click("[data-testid=play]")
        harness.wait_until(page, "nnplay.getMetrics().then(m => m.examples > 0)", 120)
        page.click("[data-testid=play]")  # Pause
        page.wait_for_selector("#btn-play[aria-label=Play]", timeout=60_000)
        assert page.evaluate("nnplay.getMetrics()")["examples"] > 0
        assert page.evaluate("nnplay.backend") == "numpy"  # auto: with SwiftShader's adapter too
        # Through window.nnplay, on the backend asked for (WebGPU by name where there is an adapter).
        r = page.evaluate("""async (spec) => {
          await nnplay.setSpec(spec);
          await nnplay.loadDataset('spiral', {n: 200, ratio: 0.8});
          return nnplay.train({steps: 10, batchSize: 16});
        }""", dict(SPEC, backend="webgpu") if gpu else SPEC)
        assert r["steps"] == 10 and r["loss"] > 0
        assert page.evaluate("nnplay.backend") == ("webgpu" if gpu else "numpy")
        if not gpu:  # the playground's Embed snippet, pasted into another site's page, boots and is driven
            snippet = page.input_value("[data-testid=embed-snippet]")
            assert snippet.startswith(f'<script src="{plain_server}embed.js"></script>\n<nn-playground share="#s=')
            (sites["root"] / "plain-course.html").write_text(
                f'<!doctype html><html lang="en"><head><meta charset="utf-8"></head><body>{snippet}</body></html>')
            page.goto(sites["host"] + "/plain-course.html")
            r = page.evaluate("""async () => {
              const nn = document.querySelector('nn-playground').nnplay;
              const ready = await nn.ready;
              return {ready, trained: await nn.train({steps: 5, batchSize: 16})};
            }""")
            assert r["ready"]["isolated"] is False and r["trained"]["steps"] == 5
    finally:
        context.close()
