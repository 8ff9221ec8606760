"""The WebAssembly SIMD kernels: the committed build matches its sha256 and, where Debian's clang 14 and
lld are installed (`python3 build.py test` installs them as root), rebuilding the source gives the
committed bytes exactly. A clone without clang builds dist/ from the committed library."""
import hashlib
import re

import pytest

import build


def test_the_committed_build_matches_its_sha256_and_is_a_wasm_shared_library():
    data = build.SIMD_LIB.read_bytes()
    assert hashlib.sha256(data).hexdigest() == build.committed_simd_sha256()
    assert data[:4] == b"\0asm" and b"dylink.0" in data[:64]  # a wasm side module Pyodide's dlopen takes
    for name in build.SIMD_EXPORTS:
        assert name.encode() in data
    text = build.SIMD_SHA256.read_text()
    assert re.fullmatch(r"[0-9a-f]{64}  nnplay_simd\.so\n", text)  # `sha256sum -c` format


def test_every_exported_function_is_defined_in_the_source():
    source = build.SIMD_SOURCE.read_text()
    for name in build.SIMD_EXPORTS:
        assert re.search(rf"EXPORT \w+ {name}\(", source), name


@pytest.mark.skipif(build.simd_toolchain() is None, reason="needs Debian's clang 14 and lld (apt-get install -y clang lld)")
def test_rebuilding_the_source_gives_the_committed_bytes(tmp_path):
    out = tmp_path / "nnplay_simd.so"
    build.compile_simd(out, build.simd_toolchain())
    assert out.read_bytes() == build.SIMD_LIB.read_bytes(), (
        "pyengine/native/simd/nnplay_simd.so is stale: run `python3 build.py` and commit it with its .sha256")


def test_without_clang_the_build_uses_the_committed_library_and_checks_its_sha256(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "simd_toolchain", lambda: None)
    logged = []
    dst = tmp_path / "simd" / "nnplay_simd.so"
    build.step_simd(dst, logged.append)
    assert dst.read_bytes() == build.SIMD_LIB.read_bytes()
    assert any("using the committed build" in line for line in logged)
    # a committed library that does not match its sha256 stops the build, saying which file
    bad_sha = tmp_path / "bad.sha256"
    bad_sha.write_text("0" * 64 + "  nnplay_simd.so\n")
    monkeypatch.setattr(build, "SIMD_SHA256", bad_sha)
    with pytest.raises(build.BuildError, match="sha256 mismatch for nnplay_simd.so"):
        build.step_simd(tmp_path / "again.so", logged.append)


def test_a_compiler_error_is_reported_with_the_compilers_message(tmp_path, monkeypatch):
    toolchain = build.simd_toolchain()
    if toolchain is None:
        pytest.skip("needs Debian's clang 14 and lld")
    bad = tmp_path / "broken.c"
    bad.write_text("int nnp_version(void) { return }\n")
    monkeypatch.setattr(build, "SIMD_SOURCE", bad)
    with pytest.raises(build.BuildError, match="clang failed building the SIMD kernels"):
        build.compile_simd(tmp_path / "x.so", toolchain)
