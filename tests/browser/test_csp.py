"""The Content-Security-Policy is strict and still lets Pyodide run: nothing is refused under it,
and each source it allows is needed (without it, boot fails and the page says why)."""
import pytest

import harness


def test_booting_under_the_policy_reports_no_violation(booted):
    assert not [m for m in booted.console if "Content Security Policy" in m or "Content-Security-Policy" in m]


@pytest.mark.parametrize(
    "removed, reason",
    [
        (" 'wasm-unsafe-eval'", "Content Security policy"),  # Pyodide compiles wasm
        ("connect-src 'self'; ", "Failed to fetch"),  # the worker fetches the runtime and wheels
    ],
)
def test_without_a_needed_source_boot_fails_with_the_reason_shown(browser, removed, reason):
    assert removed in harness.build.CSP
    server = harness.Server(csp=harness.build.CSP.replace(removed, ""))
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(server.url)
        page.wait_for_selector("#boot-error:not([hidden])", timeout=harness.BOOT_TIMEOUT_MS)
        assert reason in page.inner_text("#boot-error")
    finally:
        context.close()
        server.close()
