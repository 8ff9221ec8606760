"""Measure nnplay's boot stages (runtime, numpy, engine) in a real headless Chromium.

    python3 build.py boot-times [--runs N]     (builds, then runs this with .venv's python)

Each run uses a fresh browser context (empty HTTP cache), so every byte comes from the local
server; stage times are measured inside the worker (performance.now around each stage).
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys

import harness


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    server = harness.Server()
    rows = []
    try:
        with sync_playwright() as p:
            browser = harness.launch(p)
            print(f"Chromium {browser.version} (headless), {platform.machine()}, "
                  f"{len(os.sched_getaffinity(0))} cores; {args.runs} cold-cache runs")
            for _ in range(args.runs):
                context = browser.new_context()
                page = context.new_page()
                page.goto(server.url)
                rows.append(harness.wait_ready(page)["timings"])
                print("  run {}: ".format(len(rows)) + ", ".join(f"{k} {v / 1000:.2f}s" for k, v in rows[-1].items()))
                context.close()
            browser.close()
    finally:
        server.close()
    stages = ["runtime", "numpy", "engine"]
    print(f"{'stage':<8} {'median':>8} {'min':>8} {'max':>8}")
    for stage in stages + ["total"]:
        values = [sum(r[s] for s in stages) if stage == "total" else r[stage] for r in rows]
        print(f"{stage:<8} {statistics.median(values) / 1000:>7.2f}s {min(values) / 1000:>7.2f}s "
              f"{max(values) / 1000:>7.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
