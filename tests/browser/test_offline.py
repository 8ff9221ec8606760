"""The page needs nothing but its own origin: no CDN, no package index, no telemetry."""


def test_every_request_goes_to_the_page_origin(booted, server):
    booted.page.evaluate("nnplay.loadMnist()")  # on-demand data counts too
    assert booted.requests, "no requests were recorded"
    foreign = [url for url in booted.requests if not url.startswith(server.origin + "/")]
    assert foreign == []


def test_no_request_fails(booted):
    assert booted.failures == []
