"""The worker finds a WebGPU adapter when the browser offers one (SwiftShader in headless Chromium
with --enable-unsafe-webgpu) and none otherwise; the page says which backend will be used."""
import harness


def test_without_the_flag_there_is_no_adapter_and_the_page_says_numpy(booted):
    probe = booted.page.evaluate("nnplay.probeWebGPU()")
    assert probe["available"] is False
    assert probe["reason"]
    assert booted.page.get_attribute("#backend-status", "data-backend") == "numpy"
    assert "the NumPy backend will be used" in booted.page.inner_text("#backend-status")


def test_with_enable_unsafe_webgpu_the_worker_gets_an_adapter(playwright_session, server):
    browser = harness.launch(playwright_session, "--enable-unsafe-webgpu")
    try:
        page = browser.new_page()
        page.goto(server.url)
        probe = page.evaluate("nnplay.probeWebGPU()")
        assert probe["available"] is True, probe
        assert probe["adapter"]["architecture"] == "swiftshader" or probe["adapter"]["vendor"]
        page.wait_for_selector("#backend-status[data-backend]")
        assert page.get_attribute("#backend-status", "data-backend") == "webgpu"
        assert "WebGPU backend can be used" in page.inner_text("#backend-status")
    finally:
        browser.close()
