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


# --- embedding on other sites: per-path headers -------------------------------------------------


def directives(csp):
    return dict(d.strip().split(" ", 1) for d in csp.split(";"))


def test_the_playground_may_be_framed_by_its_own_origin_only(origin):
    for path in ("/", "/index.html", "/index.html?embed=1", "/demos/mnist.html"):
        headers = head(origin + path)
        assert directives(headers["Content-Security-Policy"])["frame-ancestors"] == "'self'", path
        assert headers["Cross-Origin-Resource-Policy"] == "same-origin", path


def test_the_widget_page_may_be_framed_by_any_site_with_the_policy_otherwise_unchanged(origin):
    widget = head(origin + "/embed.html?embed=1&host=https%3A%2F%2Fblog.example")
    page = head(origin + "/index.html")
    assert directives(widget["Content-Security-Policy"])["frame-ancestors"] == "* file:"  # file:// pages too
    rest = lambda h: {k: v for k, v in directives(h["Content-Security-Policy"]).items() if k != "frame-ancestors"}
    assert rest(widget) == rest(page)  # as strict as the playground in every other way
    assert widget["Cross-Origin-Resource-Policy"] == "cross-origin"  # an isolated host page may frame it too
    assert widget["Cross-Origin-Embedder-Policy"] == "require-corp"


def test_embed_js_may_be_loaded_by_any_page_and_the_rest_stays_same_origin(origin):
    assert head(origin + "/embed.js")["Cross-Origin-Resource-Policy"] == "cross-origin"
    for path in ("/embed-widget.js", "/main.js", "/worker.js", "/pyodide.asm.wasm", "/data/mnist.bin"):
        assert head(origin + path)["Cross-Origin-Resource-Policy"] == "same-origin", path


def test_embed_html_is_index_html_started_by_the_widget_module():
    index = (build.DIST / "index.html").read_text()
    widget = (build.DIST / "embed.html").read_text()
    assert build.MAIN_SCRIPT_TAG in index and build.MAIN_SCRIPT_TAG not in widget
    assert widget == index.replace(build.MAIN_SCRIPT_TAG, build.WIDGET_SCRIPT_TAG)
    with pytest.raises(build.BuildError, match="main.js exactly once"):
        build.widget_page("<html>no module here</html>")


def test_embed_origins_restrict_who_may_frame_the_widget():
    origins = build.parse_embed_origins("https://blog.example, http://localhost:8080")
    assert origins == ("https://blog.example", "http://localhost:8080")
    server = build.make_server(0, embed_origins=origins)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        csp = directives(head(url + "/embed.html")["Content-Security-Policy"])
        assert csp["frame-ancestors"] == "'self' https://blog.example http://localhost:8080"
        assert directives(head(url + "/index.html")["Content-Security-Policy"])["frame-ancestors"] == "'self'"
    finally:
        server.shutdown()
        server.server_close()
    assert build.parse_embed_origins(None) is None and build.parse_embed_origins("*") is None


@pytest.mark.parametrize("bad", ["https://blog.example/course", "blog.example", "ftp://x.example", "https://a b"])
def test_an_embed_origin_that_is_not_an_origin_is_refused_by_name(bad):
    with pytest.raises(build.BuildError, match="is not an origin"):
        build.parse_embed_origins(f"https://ok.example,{bad}")


def test_serve_says_who_may_embed_and_refuses_a_bad_origin():
    r = subprocess.run(
        [sys.executable, str(build.ROOT / "build.py"), "serve", "--no-build", "--embed-origins", "blog.example/x"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    assert r.returncode != 0 and "'blog.example/x' is not an origin" in r.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, str(build.ROOT / "build.py"), "serve", "--port", str(port), "--no-build",
         "--embed-origins", "https://blog.example"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
    )
    try:
        proc.stdout.readline()
        assert "may be embedded by this origin, https://blog.example" in proc.stdout.readline()
        csp = directives(head(f"http://127.0.0.1:{port}/embed.html")["Content-Security-Policy"])
        assert csp["frame-ancestors"] == "'self' https://blog.example"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
