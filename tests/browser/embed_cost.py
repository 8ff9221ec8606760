"""What each <nn-playground> widget costs: boot time and memory, widget by widget, in one headless Chromium.

    .venv/bin/python tests/browser/embed_cost.py [--widgets 3]     (after python3 build.py)

A host page (same origin, cross-origin isolated like `serve`'s pages) gets one spiral widget at a time
(preset mlp, loading="eager"); each must report ready and train 100 steps before the next is added.
Measured after each widget:
- boot: from the iframe's creation to the widget's "ready" (Python up, preset and data loaded:
  element.bootMs), and the worker's stages (runtime, numpy, engine);
- memory, three ways: the size of the widget's Pyodide wasm heap (read in its worker); the proportional set size (PSS, /proc/PID/smaps_rollup) of all of Chromium's
  processes, whose growth per widget is what the machine pays (renderer, JS and wasm heaps of the
  page, frame and worker, GPU and network processes); and performance.measureUserAgentSpecificMemory()
  on the isolated host page (the JS and wasm heaps it attributes to the frames and workers).
The host page and the playground it frames are one origin here: the figures for a cross-origin host are
the same widget in a process of its own (Chromium's site isolation), plus that process's fixed cost.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import uuid
from pathlib import Path

import harness

HOST_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>embed cost</title>
<script src="embed.js"></script></head><body></body></html>"""
ADD_WIDGET = """async (i) => {
  const el = document.createElement("nn-playground");
  el.id = `w${i}`;
  el.setAttribute("preset", "mlp");
  el.setAttribute("panels", "builder,charts,output");
  el.setAttribute("height", "400px");
  el.setAttribute("loading", "eager");
  document.body.append(el);
  const ready = await el.nnplay.ready;
  const trained = await el.nnplay.train({steps: 100, batchSize: 16});
  return {bootMs: el.bootMs, timings: ready.timings, isolated: ready.isolated, steps: trained.steps};
}"""
MEASURE = """async () => {
  if (!self.crossOriginIsolated || !performance.measureUserAgentSpecificMemory) return null;
  const m = await performance.measureUserAgentSpecificMemory();
  return {bytes: m.bytes, breakdown: m.breakdown.filter((b) => b.bytes > 0).map((b) => ({
    bytes: b.bytes, types: b.types, where: b.attribution.map((a) => a.scope + " " + a.url.split("/").pop().split("?")[0])}))};
}"""


def descendants(root_pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def browser_pid(marker: str) -> int:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    return int(entry.name)
            except OSError:
                continue
    raise RuntimeError("could not find the Chromium process")


def pss_mb(root_pid: int) -> float:
    total = 0
    for pid in descendants(root_pid):
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widgets", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    server = harness.Server()
    marker = f"--nnplay-embed-cost={uuid.uuid4().hex}"  # an unknown switch, ignored: finds the process
    try:
        with sync_playwright() as p:
            browser = harness.launch(p, marker)
            root = browser_pid(marker)
            print(f"Chromium {browser.version} (headless), {platform.machine()}, {len(os.sched_getaffinity(0))} cores, "
                  f"load average {os.getloadavg()[0]:.1f}; spiral widgets added one at a time")
            # For scale, in the same run: the full playground page, from navigation to a usable page.
            ref = browser.new_context()
            ref_page = ref.new_page()
            t0 = time.perf_counter()
            ref_page.goto(server.url)
            ref_stages = harness.wait_ready(ref_page)["timings"]
            ref_page.wait_for_selector("body[data-app=ready]", state="attached", timeout=harness.BOOT_TIMEOUT_MS)
            ref_s = time.perf_counter() - t0
            print(f"playground page (index.html) for scale: usable after {ref_s:.2f}s ("
                  + ", ".join(f"{k} {v / 1000:.2f}s" for k, v in ref_stages.items()) + ")")
            ref.close()
            time.sleep(2)
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.route("**/embed-cost.html", lambda route: route.fulfill(
                body=HOST_PAGE, content_type="text/html",
                headers={"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp"}))
            page.goto(server.url + "embed-cost.html")
            time.sleep(2)
            base_pss, base_js = pss_mb(root), page.evaluate(MEASURE)
            print(f"host page alone: Chromium PSS {base_pss:.0f} MB"
                  + (f", measureUserAgentSpecificMemory {base_js['bytes'] / 2**20:.1f} MB" if base_js else ""))
            print(f"{'widget':<7} {'boot':>7} {'runtime':>8} {'numpy':>6} {'engine':>7} {'+PSS':>7} {'+UA mem':>8} "
                  f"{'wasm heap':>10}")
            last_pss, last_js = base_pss, base_js
            for i in range(1, args.widgets + 1):
                r = page.evaluate(ADD_WIDGET, i)
                time.sleep(2)
                now_pss, now_js = pss_mb(root), page.evaluate(MEASURE)
                t = r["timings"]
                frame = page.query_selector(f"#w{i} iframe").content_frame()
                wasm = frame.evaluate("nnplay.runPython('import pyodide_js; pyodide_js._module.HEAPU8.byteLength')")
                js = f"{(now_js['bytes'] - last_js['bytes']) / 2**20:>6.1f}MB" if now_js and last_js else "     n/a"
                print(f"{i:<7} {r['bootMs'] / 1000:>6.2f}s {t['runtime'] / 1000:>7.2f}s {t['numpy'] / 1000:>5.2f}s "
                      f"{t['engine'] / 1000:>6.2f}s {now_pss - last_pss:>5.0f}MB {js} {wasm / 2**20:>8.0f}MB"
                      + ("" if r["bootMs"] is None else f"   ({r['bootMs'] / 1000 / ref_s:.2f}x the playground page)"))
                last_pss, last_js = now_pss, now_js
            n = args.widgets
            print(f"per widget (mean of {n}): +{(last_pss - base_pss) / n:.0f} MB PSS"
                  + (f", +{(last_js['bytes'] - base_js['bytes']) / n / 2**20:.1f} MB measureUserAgentSpecificMemory"
                     if last_js and base_js else ""))
            if last_js:
                for b in sorted(last_js["breakdown"], key=lambda b: -b["bytes"])[:8]:
                    print(f"  {b['bytes'] / 2**20:>7.1f} MB  {','.join(b['types']) or '-':<12} {'; '.join(b['where'])}")
            browser.close()
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
