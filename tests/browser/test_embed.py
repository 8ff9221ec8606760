"""<nn-playground>: one script tag and one element per widget. On embed-example.html (three widgets) the two
near the top boot one after the other, the third only once scrolled to; each widget trains and keeps its own
state; element.nnplay drives one; a widget pauses its training while off-screen and resumes on return."""
import time

import pytest

from conftest import ARTIFACTS
import harness
from harness import wait_until


def frame_of(page, widget):
    return page.wait_for_selector(f"#{widget} iframe", timeout=2 * harness.BOOT_TIMEOUT_MS).content_frame()


EXAMPLES = "nnplay.getMetrics().then(m => m.examples)"


@pytest.mark.timeout(480)
def test_widgets_boot_lazily_in_turn_train_and_keep_separate_state(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    console = []
    try:
        page = context.new_page()
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        page.goto(server.url + "embed-example.html")
        frames = [frame_of(page, w) for w in ("spiral-widget", "mnist-widget")]
        for frame in frames:
            harness.wait_ready(frame)
            frame.wait_for_selector("body[data-app=ready]", state="attached", timeout=120_000)
        spiral, mnist = frames
        # One boot at a time: the MNIST widget started loading only once the spiral one was ready.
        t = page.evaluate("['spiral-widget', 'mnist-widget'].map(id => document.getElementById(id).timings)")
        assert t[1]["started"] >= t[0]["ready"]
        # The third widget is far below: not loaded at all yet, only a placeholder.
        assert page.evaluate("document.querySelector('#lenet-widget iframe')") is None
        assert spiral.evaluate("nnplay.getSpec()")["input"] == [2]  # preset="mlp"
        assert mnist.evaluate("nnplay.getSpec()")["input"] != [2]  # preset="mnist"
        # panels="builder,charts,output" / "data,training,charts" hide the rest
        assert spiral.is_hidden("#console") and spiral.is_visible("#builder")
        assert mnist.is_hidden("#builder") and mnist.is_visible("#data-panel")
        # autoplay trains the spiral widget; the MNIST widget waits for its own Play
        wait_until(spiral, f"{EXAMPLES}.then(n => n > 0)")
        assert mnist.evaluate("nnplay.getMetrics()")["examples"] == 0
        mnist.click("[data-testid=play]")
        wait_until(mnist, f"{EXAMPLES}.then(n => n > 0)", 120)
        page.screenshot(path=str(ARTIFACTS / "embed-two-widgets.png"), full_page=True)
        mnist.click("[data-testid=play]")  # pausing one leaves the other as it was
        wait_until(mnist, "document.querySelector('#btn-play').textContent.includes('Play')", 60)
        assert spiral.evaluate("Boolean(nnplayApp.state?.training)")
        # element.nnplay (the postMessage bridge, same origin here) drives a widget from the page.
        spec = page.evaluate("document.getElementById('mnist-widget').nnplay.getSpec()")
        assert spec == mnist.evaluate("nnplay.getSpec()")

        # Scrolled to the third widget: it boots, and the spiral, now off-screen, pauses ...
        page.evaluate("document.getElementById('lenet-widget').scrollIntoView()")
        lenet = frame_of(page, "lenet-widget")
        wait_until(spiral, "document.body.dataset.pausedOffscreen === 'true'", 30)
        assert spiral.evaluate("document.body.dataset.onScreen") == "false"
        wait_until(spiral, "!nnplayApp.state?.training", 30)
        held = spiral.evaluate(EXAMPLES)
        time.sleep(1.5)
        assert spiral.evaluate(EXAMPLES) == held
        harness.wait_ready(lenet)
        lenet.wait_for_selector("body[data-app=ready]", state="attached", timeout=120_000)
        assert lenet.evaluate("nnplay.getSpec()")["input"] == [28, 28, 1]
        # ... and resumes when it is back in view.
        page.evaluate("document.getElementById('spiral-widget').scrollIntoView()")
        wait_until(spiral, "document.body.dataset.pausedOffscreen === 'false' && Boolean(nnplayApp.state?.training)", 30)
        wait_until(spiral, f"{EXAMPLES}.then(n => n > {held})", 60)
        assert not [m for m in console if "Content Security Policy" in m]
    finally:
        context.close()
