"""`build.py serve`: right MIME types, a strict CSP, cache headers, a clear port-in-use error."""
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest

import build


@pytest.fixture(scope="module")
def origin():
    build.build(verbose=False)
    server = build.make_server(0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def head(url):
    with urllib.request.urlopen(urllib.request.Request(url, method="HEAD")) as r:
        return r.headers


@pytest.mark.parametrize(
    "path, mime",
    [
        ("/", "text/html"),
        ("/index.html", "text/html"),
        ("/worker.js", "text/javascript"),
        ("/pyodide.mjs", "text/javascript"),
        ("/pyodide.asm.js", "text/javascript"),
        ("/pyodide.asm.wasm", "application/wasm"),
        ("/style.css", "text/css"),
        ("/pyodide-lock.json", "application/json"),
        ("/python_stdlib.zip", "application/zip"),
        ("/packaging-24.2-py3-none-any.whl", "application/zip"),
        ("/data/mnist.bin", "application/octet-stream"),
    ],
)
def test_files_are_served_with_their_mime_type(origin, path, mime):
    assert head(origin + path)["Content-Type"].split(";")[0] == mime


def test_every_response_carries_a_strict_content_security_policy(origin):
    csp = head(origin + "/")["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self' 'wasm-unsafe-eval'"  # no 'unsafe-eval', no inline scripts
    assert directives["connect-src"] == "'self'"
    assert head(origin + "/worker.js")["Content-Security-Policy"] == csp  # the worker gets its own copy


def test_versioned_wheels_are_cached_for_good_and_the_rest_revalidated(origin):
    assert "immutable" in head(origin + "/numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl")["Cache-Control"]
    assert head(origin + "/index.html")["Cache-Control"] == "no-cache"
    assert head(origin + "/worker.js")["Cache-Control"] == "no-cache"


@pytest.mark.parametrize("path", ["/no-such-file.js", "/data/"])
def test_missing_files_and_directory_listings_are_404(origin, path):
    with pytest.raises(urllib.error.HTTPError) as err:
        head(origin + path)
    assert err.value.code == 404


def test_a_busy_port_gives_a_clear_message_and_a_nonzero_exit():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = subprocess.run(
            [sys.executable, str(build.ROOT / "build.py"), "serve", "--port", str(port), "--no-build"],
            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        )
    assert r.returncode != 0
    assert f"port {port} on 127.0.0.1 is already in use" in r.stderr
    assert "--port" in r.stderr


def test_serve_prints_the_url(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, str(build.ROOT / "build.py"), "serve", "--port", str(port), "--no-build"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
    )
    try:
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in line
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html") as r:
            assert r.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
