"""The Pyodide wheels are verified by sha256 against Pyodide's lock file; bad copies are refused."""
import hashlib
import json
import shutil
import threading
import time

import pytest

import build


@pytest.fixture(scope="module")
def entries():
    build.build(verbose=False)
    return build.lock_entries(build.read_pyodide_lock())


def test_verification_accepts_the_exact_file(tmp_path, entries):
    numpy = entries["numpy"]
    copy = tmp_path / numpy["file_name"]
    shutil.copyfile(build.DIST / numpy["file_name"], copy)
    build.verify_sha256(copy, numpy["sha256"])
    assert copy.exists()


def test_verification_refuses_a_tampered_copy_names_both_hashes_and_removes_it(tmp_path, entries):
    numpy = entries["numpy"]
    copy = tmp_path / numpy["file_name"]
    data = bytearray((build.DIST / numpy["file_name"]).read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(data)
    with pytest.raises(build.BuildError) as err:
        build.verify_sha256(copy, numpy["sha256"])
    message = str(err.value)
    assert numpy["file_name"] in message
    assert numpy["sha256"] in message
    assert hashlib.sha256(data).hexdigest() in message
    assert not copy.exists()


def test_a_corrupted_cache_entry_fails_the_wheel_step_and_is_removed(tmp_path, entries, monkeypatch):
    cache, dist = tmp_path / "cache", tmp_path / "dist"
    (cache / "wheels").mkdir(parents=True)
    dist.mkdir()
    for e in entries.values():
        shutil.copyfile(build.DIST / e["file_name"], cache / "wheels" / e["file_name"])
    bad = cache / "wheels" / entries["micropip"]["file_name"]
    bad.write_bytes(bad.read_bytes() + b"tampered")
    monkeypatch.setattr(build, "CACHE", cache)
    monkeypatch.setattr(build, "DIST", dist)
    monkeypatch.setenv("NNPLAY_PYODIDE_CDN", "off")
    with pytest.raises(build.BuildError, match="sha256 mismatch for micropip-0.9.0-py3-none-any.whl"):
        build.step_pyodide_wheels(entries)
    assert not bad.exists()
    assert not (dist / bad.name).exists()


def test_dist_lock_file_lists_exactly_the_wheels_dist_serves(entries):
    lock = json.loads((build.DIST / "pyodide-lock.json").read_text())
    assert lock["info"]["version"] == build.PYODIDE_VERSION
    assert sorted(lock["packages"]) == ["micropip", "numpy", "packaging"]
    for name, entry in lock["packages"].items():
        assert entry == entries[name]
        assert build.sha256_file(build.DIST / entry["file_name"]) == entry["sha256"]
    served_wheels = sorted(p.name for p in build.DIST.glob("*.whl"))
    engine = build.wheel_name(build.engine_metadata())
    assert served_wheels == sorted([e["file_name"] for e in lock["packages"].values()] + [engine])


def test_a_second_build_skips_every_unchanged_step(entries, capsys):
    build.build()
    out = capsys.readouterr().out
    for step in ("pyodide-core", "pyodide-wheels", "mnist"):
        assert f"[build] {step}: up to date" in out, out


def _isolated_cache(tmp_path, monkeypatch):
    cache, dist = tmp_path / "cache", tmp_path / "dist"
    cache.mkdir()
    dist.mkdir()
    monkeypatch.setattr(build, "CACHE", cache)
    monkeypatch.setattr(build, "DIST", dist)
    return cache, dist


def test_wheels_come_from_the_official_distribution_when_it_answers(tmp_path, entries, monkeypatch):
    cache, dist = _isolated_cache(tmp_path, monkeypatch)
    mirror = build.make_server(0, build.DIST)  # stands in for the CDN: it serves the same files
    threading.Thread(target=mirror.serve_forever, daemon=True).start()
    monkeypatch.setenv("NNPLAY_PYODIDE_CDN", f"http://127.0.0.1:{mirror.server_address[1]}/")
    monkeypatch.setenv("NNPLAY_SERVE_QUIET", "1")
    try:
        fetched = build.step_pyodide_wheels(entries)
    finally:
        mirror.shutdown()
        mirror.server_close()
    assert sorted(fetched) == sorted(e["file_name"] for e in entries.values())
    for e in entries.values():
        assert build.sha256_file(cache / "wheels" / e["file_name"]) == e["sha256"]
        assert (dist / e["file_name"]).exists()


def test_an_unreachable_distribution_falls_back_to_the_pypi_bundle_quickly(tmp_path, entries, monkeypatch):
    bundle = build.CACHE / "wheel-bundle"
    if not any(bundle.glob("*.whl")):
        pytest.skip("the PyPI bundle was never needed here (the wheels came from the official distribution)")
    cache, dist = _isolated_cache(tmp_path, monkeypatch)
    (cache / "wheel-bundle").symlink_to(bundle)
    monkeypatch.setenv("NNPLAY_PYODIDE_CDN", "http://127.0.0.1:9/")  # discard port: connection refused
    started = time.monotonic()
    build.step_pyodide_wheels(entries)
    assert time.monotonic() - started < 30
    assert sorted(p.name for p in dist.iterdir()) == sorted(e["file_name"] for e in entries.values())
