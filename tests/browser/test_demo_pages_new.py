"""The newer demo pages (pong, backprop, dilation, vgg) in real Chromium, on a 390-px phone screen, with and
without a WebGPU adapter (SwiftShader: slow, so the networks are tiny). Each test boots the page, uses
it through its buttons, checks what was learned or computed from window.demoState.view, asserts that
nothing sticks out sideways, and keeps screenshots in test-artifacts/demo-<name>-<variant>.png (plus a
desktop one without WebGPU)."""
from __future__ import annotations

import time

import pytest

from conftest import ARTIFACTS
from test_demo_pages import open_demo as open_page, view

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module", params=["numpy", "webgpu"])
def phone(request):
    """(browser context on a phone-sized screen, variant): Chromium without and with a WebGPU adapter."""
    browser = request.getfixturevalue("browser" if request.param == "numpy" else "webgpu_browser")
    ctx = browser.new_context(viewport=PHONE, device_scale_factor=1)
    yield ctx, request.param
    ctx.close()


def open_demo(phone, server, name):
    return open_page(phone[0], server, name)


def fits_the_phone(page):
    """Nothing sticks out sideways: the page is no wider than the screen (tables may scroll in their box)."""
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px screen"


def shots(page, phone, name):
    ARTIFACTS.mkdir(exist_ok=True)
    variant = phone[1]
    page.screenshot(path=str(ARTIFACTS / f"demo-{name}-phone-{variant}.png"), full_page=True)
    if variant == "numpy":
        page.set_viewport_size({"width": 1100, "height": 900})
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / f"demo-{name}-desktop.png"), full_page=True)
        page.set_viewport_size(PHONE)


def play_until(page, until, timeout_s):
    """Press Play, wait until `until(view)` holds (or the timeout), press Pause; (view, seconds, met)."""
    start = time.monotonic()
    page.click("#play")
    met = False
    while time.monotonic() - start < timeout_s:
        page.wait_for_timeout(1000)
        v = view(page)
        if v and until(v):
            met = True
            break
    seconds = time.monotonic() - start
    page.click("#pause")
    page.wait_for_selector("body[data-state=paused]", timeout=60_000)
    return view(page), seconds, met


def test_pong_agent_improves_from_pixels_and_can_be_watched(phone, server):
    page, errors = open_demo(phone, server, "pong")
    fits_the_phone(page)
    first = view(page)
    assert first["points"] == 0 and first["games"] == 16
    if phone[1] == "numpy":
        # The claim in the README: the mean reward per point visibly rises within a few minutes.
        v, seconds, met = play_until(page, lambda v: v["points"] >= 2000 and v["recent_reward"] > v["first_reward"] + 0.15,
                                     timeout_s=300)
        print(f"pong: {v['points']} points, mean reward first 200 {v['first_reward']:.2f}, last 200 "
              f"{v['recent_reward']:.2f} after {seconds:.0f} s ({v['steps']} steps of 16 games)")
        assert met, (seconds, v["points"], v["first_reward"], v["recent_reward"])
    else:  # the policy net runs on NumPy either way (its custom loss): a short run shows the page works here
        v, seconds, met = play_until(page, lambda v: v["updates"] >= 5, timeout_s=120)
        assert met, v["updates"]
    assert len(v["reward_curve"]) >= 1 and page.locator("#units canvas").count() == 12
    page.click("#watch")  # real speed, no learning
    page.wait_for_function("() => Number(document.body.dataset.watched || 0) >= 2", timeout=60_000)
    assert "Watching (real speed, no learning)" in page.text_content("#court-caption")
    page.click("#watch")
    assert view(page)["updates"] == v["updates"]
    fits_the_phone(page)
    shots(page, phone, "pong")
    page.select_option("#games", "4")  # a new setup with other options
    page.wait_for_function("() => window.demoState.view.games === 4 && window.demoState.view.points === 0")
    assert not errors, errors
    page.close()


def test_backprop_steps_through_one_pass_and_its_gradients_match_finite_differences(phone, server):
    page, errors = open_demo(phone, server, "backprop")
    fits_the_phone(page)
    stages = view(page)["stages"]
    assert page.locator("#stages li").count() == len(stages) == 11
    for i in range(len(stages) - 1):
        page.click("#step")
        page.wait_for_function(f"() => window.demoState.view.stage === {i + 1}")
    v = view(page)
    assert v["next"] == "update" and "∂L/∂w11 = x1 · ∂L/∂u1" in page.text_content("#formula")
    assert page.locator("#net text.grad").count() >= 9  # gradients on every weight and unit
    page.click("#step")  # the update, with the finite-difference check
    page.wait_for_function("() => window.demoState.view.stage === 0")
    u = view(page)
    for layer, grads in v["param_grads"].items():
        for key, grad in grads.items():
            fd = u["finite_differences"][layer][key]
            flat_g = [g for row in grad for g in (row if isinstance(row, list) else [row])]
            flat_f = [f for row in fd for f in (row if isinstance(row, list) else [row])]
            assert all(abs(a - b) < 2e-4 + 1e-2 * abs(b) for a, b in zip(flat_g, flat_f)), (layer, key, grad, fd)
    assert page.locator("#grads tr").count() == 10  # header + 9 weights and biases
    fits_the_phone(page)
    shots(page, phone, "backprop")
    w, seconds, met = play_until(page, lambda w: len(w["losses"]) >= 30, timeout_s=60)
    assert met and w["losses"][-1] < 0.5 * w["losses"][0], w["losses"][::5]
    page.fill("#target", "2")
    page.click("#apply")
    page.wait_for_selector("#message:not([hidden])")
    assert "target must be between 0.0 and 1.0" in page.text_content("#message")
    assert abs(view(page)["target"] - 0.9) < 1e-6  # the demo that worked stays
    assert not [e for e in errors if "target must be" not in e], errors
    page.close()


def test_dilation_draws_receptive_fields_that_grow_exponentially(phone, server):
    page, errors = open_demo(phone, server, "dilation")
    fits_the_phone(page)
    assert view(page)["shown"] == 1
    page.click("#step")
    page.wait_for_function("() => window.demoState.view.shown === 2")
    page.click("#play")
    page.wait_for_function("() => window.demoState.view.shown === 4 && !window.demoState.running")
    v = view(page)
    assert v["plain"]["fields"] == [3, 5, 7, 9] and v["dilated"]["fields"] == [3, 7, 15, 31]
    assert v["dilated"]["measured"] == 31 and v["plain"]["params"] == v["dilated"]["params"]
    assert "15 layers" in page.text_content("#summary")
    assert page.evaluate("() => document.querySelector('#dilated').width") == v["size"]
    fits_the_phone(page)
    shots(page, phone, "dilation")
    page.select_option("#depth", "3")  # rates follow: 1, 2, 4
    page.fill("#rates", "2, 2, 2")
    page.click("#apply")
    page.wait_for_function("() => window.demoState.view.depth === 3")
    page.click("#play")
    page.wait_for_function("() => window.demoState.view.shown === 3 && !window.demoState.running")
    assert "holes" in page.text_content("#dilated-caption")
    shots(page, phone, "dilation-gridding")
    page.fill("#rates", "1, 2")
    page.click("#apply")
    page.wait_for_selector("#message:not([hidden])")
    assert "rates lists 2 rates for a depth of 3" in page.text_content("#message")
    assert not [e for e in errors if "rates lists" not in e], errors
    page.close()


@pytest.mark.timeout(480)
def test_vgg_inception_and_5x5_train_side_by_side_with_their_costs_and_fields(phone, server):
    page, errors = open_demo(phone, server, "vgg")
    fits_the_phone(page)
    first = view(page)
    assert [n["receptive_field"] for n in first["nets"]] == [7, 7, 7]
    # "auto" trains on NumPy with SwiftShader's adapter too (a software emulation): the same bar
    steps, bar, limit = (100, 0.7, 200)
    v, seconds, met = play_until(page, lambda v: v["steps"] >= steps and all(n["test_accuracy"] > bar for n in v["nets"]),
                                 timeout_s=limit)
    backends = {n["name"]: n["backend"] for n in v["nets"]}
    print(f"vgg ({phone[1]}): {v['steps']} steps in {seconds:.0f} s, "
          f"{[(n['name'], round(n['test_accuracy'], 3)) for n in v['nets']]}, {backends}")
    assert met, [(n["name"], n["test_accuracy"]) for n in v["nets"]]
    # auto: NumPy without an adapter and with SwiftShader's (the WebGPU plan's joins: test_webgpu_parity.py)
    assert set(backends.values()) == {"numpy"}, backends
    assert page.locator("#table tr").count() == 4
    fits_the_phone(page)
    shots(page, phone, "vgg")
    assert not errors, errors
    page.close()
