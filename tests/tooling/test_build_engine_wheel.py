"""The pyengine wheel built with zipfile is a valid py3-none-any wheel that pip can install."""
import base64
import hashlib
import subprocess
import sys
import zipfile

import build


def test_wheel_has_metadata_wheel_record_and_package_files(tmp_path):
    path = build.build_engine_wheel(tmp_path)
    meta = build.engine_metadata()
    assert path.name == f"pyengine-{meta['version']}-py3-none-any.whl"
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        info = f"pyengine-{meta['version']}.dist-info"
        assert "pyengine/__init__.py" in names and "pyengine/rpc.py" in names
        assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
        metadata = z.read(f"{info}/METADATA").decode()
        assert f"Version: {meta['version']}" in metadata and "Name: pyengine" in metadata
        assert "Tag: py3-none-any" in z.read(f"{info}/WHEEL").decode()
        record = [line.split(",") for line in z.read(f"{info}/RECORD").decode().splitlines()]
        assert sorted(r[0] for r in record) == sorted(names)
        for name, digest, size in record:
            if name.endswith("RECORD"):
                continue
            data = z.read(name)
            assert digest == "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert int(size) == len(data)


def test_wheel_includes_wgsl_kernels_as_package_data(tmp_path, monkeypatch):
    engine = tmp_path / "pyengine"
    (engine / "pyengine" / "kernels").mkdir(parents=True)
    (engine / "pyproject.toml").write_text((build.ENGINE_DIR / "pyproject.toml").read_text())
    (engine / "pyengine" / "__init__.py").write_text('__version__ = "9.9.9"\n')
    (engine / "pyengine" / "kernels" / "add.wgsl").write_text("// kernel\n")
    monkeypatch.setattr(build, "ENGINE_DIR", engine)
    with zipfile.ZipFile(build.build_engine_wheel(tmp_path / "out")) as z:
        assert "pyengine/kernels/add.wgsl" in z.namelist()


def test_the_same_sources_give_the_same_wheel_bytes(tmp_path):
    a = build.build_engine_wheel(tmp_path / "a").read_bytes()
    b = build.build_engine_wheel(tmp_path / "b").read_bytes()
    assert a == b


def test_pip_installs_the_wheel(tmp_path):
    wheel = build.build_engine_wheel(tmp_path / "wheel")
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--target", str(target), str(wheel)],
        check=True,
    )
    assert (target / "pyengine" / "__init__.py").exists()


def test_package_json_and_pyengine_share_one_version():
    import json

    package = json.loads((build.ROOT / "package.json").read_text())
    assert package["version"] == build.engine_metadata()["version"], "bump package.json with pyengine.__version__"
