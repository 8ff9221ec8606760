"""`python3 build.py bench --tiny` runs every part of the benchmark in one Chromium and reports every
cell as a number or an explicit n/a reason (CI proves the benchmark works; it times nothing)."""
import json
import math
import subprocess
import sys

import pytest

import harness

PARTS = {"train", "kernels", "startup", "memory", "scaling", "profile"}
RUNNERS = {"nnplay NumPy", "nnplay NumPy + SIMD", "nnplay WebGPU", "TF.js cpu", "TF.js webgpu"}


@pytest.mark.timeout(480)
def test_bench_tiny_fills_every_row_with_a_number_or_a_reason(chromium_path, tmp_path):
    r = subprocess.run([sys.executable, str(harness.ROOT / "build.py"), "bench", "--tiny", "--out", str(tmp_path)],
                       cwd=harness.ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=460)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    result = json.loads((tmp_path / "bench.json").read_text())
    rows = result["rows"]
    assert {row["part"] for row in rows} == PARTS
    for part in ("train", "kernels", "scaling"):
        assert RUNNERS <= {row["runner"] for row in rows if row["part"] == part}, part
    assert {"ConvNetJS"} <= {row["runner"] for row in rows if row["part"] == "train"}
    for row in rows:
        if "value" in row:
            assert isinstance(row["value"], (int, float)) and math.isfinite(row["value"]) and row["value"] > 0, row
        else:
            assert isinstance(row.get("na"), str) and row["na"], row
    # the runners that need nothing beyond the browser always produce numbers
    for row in rows:
        if row["runner"] in ("nnplay NumPy", "nnplay NumPy + SIMD", "ConvNetJS", "TF.js cpu"):
            assert "value" in row, row
    png = (tmp_path / "bench.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert "| MNIST convnet (batch 20) |" in r.stdout  # the Markdown table
    assert "NumPy + SIMD is" in r.stdout and "x ConvNetJS" in r.stdout  # the ratio line (issue 14)
    profiled = {row["case"] for row in rows if row["part"] == "profile" and row["runner"] == "nnplay NumPy + SIMD"}
    assert {"MNIST (batch 20): matrix products", "CIFAR-10 (batch 4): pooling"} <= profiled
