"""<nn-playground>: one script tag and one element per widget; two widgets on one page (each an iframe
with its own worker) boot, train and keep their own state."""
import time

import pytest

from conftest import ARTIFACTS
import harness


def poll(frame, js, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        value = frame.evaluate(js)
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {js}")


@pytest.mark.timeout(240)
def test_two_embedded_widgets_boot_train_and_keep_separate_state(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(server.url + "embed-example.html")
        frames = [page.wait_for_selector(f"#{w} iframe").content_frame() for w in ("spiral-widget", "mnist-widget")]
        for frame in frames:
            harness.wait_ready(frame)
            frame.wait_for_selector("body[data-app=ready]", state="attached", timeout=120_000)
        spiral, mnist = frames
        assert spiral.evaluate("nnplay.getSpec()")["input"] == [2]  # preset="mlp"
        assert mnist.evaluate("nnplay.getSpec()")["input"] != [2]  # preset="mnist"
        # panels="builder,charts,output" / "data,training,charts" hide the rest
        assert spiral.is_hidden("#console") and spiral.is_visible("#builder")
        assert mnist.is_hidden("#builder") and mnist.is_visible("#data-panel")
        # autoplay trains the spiral widget; the MNIST widget waits for its own Play
        poll(spiral, "nnplay.getMetrics().then(m => m.examples > 0)")
        assert mnist.evaluate("nnplay.getMetrics()")["examples"] == 0
        mnist.click("[data-testid=play]")
        poll(mnist, "nnplay.getMetrics().then(m => m.examples > 0)", 120)
        page.screenshot(path=str(ARTIFACTS / "embed-two-widgets.png"), full_page=True)
        for frame in frames:  # pausing one leaves the other as it was
            frame.click("[data-testid=play]")
            poll(frame, "document.querySelector('#btn-play').textContent.includes('Play')", 60)
    finally:
        context.close()
