"""Shared pieces for driving the built site in headless Chromium (tests and boot_times.py)."""
from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import build  # noqa: E402  (the repository's build.py)

# Playwright cannot download browsers here; we drive Debian's chromium through executable_path.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BOOT_TIMEOUT_MS = 120_000  # generous: a busy 2-core CI machine boots in ~5 s, but shares its cores


def find_chromium() -> str | None:
    return shutil.which("chromium")


class Server:
    """dist/ served by build.py's own handler on an ephemeral 127.0.0.1 port, in a thread."""

    def __init__(self, root: Path = build.DIST, csp: str = build.CSP):
        os.environ.setdefault("NNPLAY_SERVE_QUIET", "1")
        self.httpd = build.make_server(0, root, csp=csp)
        self.port = self.httpd.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self.url = self.origin + "/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def launch(playwright, *extra_args: str):
    chromium = find_chromium()
    if chromium is None:
        raise RuntimeError("chromium is not on PATH (apt-get install -y chromium)")
    return playwright.chromium.launch(executable_path=chromium, args=[*CHROMIUM_ARGS, *extra_args])


def wait_ready(page) -> dict:
    """Wait for nnplay.ready; returns {timings, versions}. Raises with the page's reason on failure."""
    # (page.wait_for_function polls with eval(), which the page's CSP rightly forbids: use promises.)
    return page.evaluate(
        f"""Promise.race([
            new Promise(resolve => {{
                const poll = () => window.nnplay ? resolve(window.nnplay.ready) : setTimeout(poll, 20);
                poll();
            }}),
            new Promise((_, reject) => setTimeout(() => reject(new Error('boot timed out')), {BOOT_TIMEOUT_MS})),
        ])"""
    )


def wait_autosaved(page, accepts, timeout=30, arg=None):
    """Wait until the page's autosave (its IndexedDB record, read through web/ui/storage.js) is one that
    `accepts` (a JS function of the saved record and `arg`) takes. It checks what was saved, not a stamp: a
    save already on its way when the test acted must not stand for the action (a CI run once reloaded on one)."""
    js = ("async (arg) => { const { autosave } = await import(new URL('ui/storage.js', document.baseURI).href); "
          f"const s = await autosave.load(); return !!s && ({accepts})(s, arg); }}")
    return wait_until(page, js, timeout, arg)


def wait_until(page, js, timeout=60, arg=None):
    """Poll a JS expression (a function body's value) until truthy; the page's CSP forbids wait_for_function."""
    end = time.time() + timeout
    while time.time() < end:
        value = page.evaluate(js, arg) if arg is not None else page.evaluate(js)
        if value:
            return value
        time.sleep(0.2)
    try:  # what the page said and where it stood: #message, and its body's data-* flags (training, stepping, ...)
        where = page.evaluate("""() => { const m = document.querySelector('#message');
            return [m ? m.innerText : null, JSON.stringify({...document.body.dataset})]; }""")
    except Exception as err:  # noqa: BLE001 (a page that is gone still gets the timeout reported)
        where = [None, f"(not readable: {err})"]
    raise AssertionError(f"timed out waiting for {js}; message: {where[0]!r}; body: {where[1]}")
