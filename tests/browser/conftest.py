"""Browser fixtures: one server and one headless Chromium with one booted page, shared by all tests
(booting Pyodide costs seconds, so tests reuse the page and keep their Python state apart)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import harness

ARTIFACTS = harness.ROOT / "test-artifacts"


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if Path(item.fspath).parent == here:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = harness.find_chromium()
    if path is None:
        message = "chromium is not on PATH; `python3 build.py test` installs it (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def dist() -> Path:
    """dist/ as `python3 build.py` leaves it (a no-op when build.py test already built it)."""
    harness.build.build(verbose=False)
    return harness.build.DIST


@pytest.fixture(scope="session")
def server(dist):
    srv = harness.Server(dist)
    yield srv
    srv.close()


@pytest.fixture(scope="session")
def playwright_session(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_session):
    browser = harness.launch(playwright_session)
    yield browser
    browser.close()


class BootedPage:
    """The shared page after boot, with every request it (and its worker) made."""

    def __init__(self, page, requests, failures, console, ready):
        self.page = page
        self.console = console  # "type: text" of every console message (page and worker)
        self.requests = requests  # list of URLs
        self.failures = failures  # list of "URL: reason" for failed requests and HTTP errors
        self.ready = ready  # what nnplay.ready resolved to

    def run(self, code: str):
        """nnplay.runPython(code) -> the JSON value of the last expression."""
        return self.page.evaluate("code => nnplay.runPython(code)", code)


@pytest.fixture(scope="session")
def booted(browser, server) -> BootedPage:
    context = browser.new_context()
    requests: list[str] = []
    failures: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    context.on("requestfailed", lambda r: failures.append(f"{r.url}: {r.failure}"))
    context.on("response", lambda r: failures.append(f"{r.url}: HTTP {r.status}") if r.status >= 400 else None)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.goto(server.url)
    ready = harness.wait_ready(page)
    page.wait_for_selector("#backend-status[data-backend]")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "booted.png"), full_page=True)
    yield BootedPage(page, requests, failures, console, ready)
    context.close()


def fresh_page(request, browser, webgpu_browser, server, viewport, shot=None):
    """A fresh playground page in its own context of the plain browser (request.param "numpy") or of
    the one with a WebGPU adapter ("webgpu"), `nnplay.ready` awaited and nothing else; `page.adapter`
    says which. A generator for a fixture to `yield from`; with `shot` (a file-name prefix) it keeps a
    full-page screenshot in ARTIFACTS when the test is done."""
    context = (browser if request.param == "numpy" else webgpu_browser).new_context(viewport=viewport)
    page = context.new_page()
    page.goto(server.url)
    harness.wait_ready(page)
    page.adapter = request.param
    yield page
    if shot:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{shot}-{request.node.name}.png".replace("[", "-").replace("]", "")),
                        full_page=True)
    context.close()


@pytest.fixture(scope="session")
def webgpu_browser(playwright_session):
    """A second Chromium with --enable-unsafe-webgpu: the worker gets SwiftShader's WebGPU adapter."""
    browser = harness.launch(playwright_session, "--enable-unsafe-webgpu")
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def webgpu_booted(webgpu_browser, server) -> BootedPage:
    """One booted page with WebGPU, shared by the WebGPU kernel and training tests."""
    context = webgpu_browser.new_context()
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.goto(server.url)
    ready = harness.wait_ready(page)
    yield BootedPage(page, [], [], console, ready)
    context.close()
