"""Training speed of ConvNetJS's MNIST network: pyengine (CPython, Pyodide) against ConvNetJS.

    .venv/bin/python bench/engine_speed.py [--steps 100] [--repeats 3]

(`python3 build.py test` creates .venv and dist/.) One headless Chromium session runs both
browser columns on the same page: pyengine in Pyodide in the worker, ConvNetJS 0.3.0 (npm, a dev
dependency used by benchmarks only) on the page itself. Same network, batch size (20), optimizer
(adadelta, rho 0.95, eps 1e-6) and the same MNIST digits (central 24x24 crops) for every runner.
The network: 24x24x1 -> conv 5x5x8 pad 2 relu -> maxpool 2 -> conv 5x5x16 pad 2 relu -> maxpool 3
-> dense 10 -> softmax cross-entropy. Prints examples/s (best and median of the repeats).
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # see tests/conftest.py: faster on 2 loaded cores

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "pyengine"))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

BATCH = 20

# Runs in CPython and, verbatim, in Pyodide: times `steps` train_step calls after a warm-up.
ENGINE_BENCH = """
import time
import numpy as np, pyengine
from pyengine import data
from pyengine.presets import convnetjs_mnist

def engine_bench(mnist_path, steps, repeats, batch):
    images, labels = data.load_mnist(mnist_path)
    x, y = data.mnist_arrays(images, labels, crop=24)
    idx = (np.arange(steps * batch) * 7) % len(x)   # the same digits every runner sees
    x, y = x[idx], y[idx]
    model = pyengine.build(convnetjs_mnist())
    for i in range(5):                              # warm-up: first-call costs, allocator
        model.train_step(x[i * batch:(i + 1) * batch], y[i * batch:(i + 1) * batch])
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for i in range(steps):
            model.train_step(x[i * batch:(i + 1) * batch], y[i * batch:(i + 1) * batch])
        rates.append(steps * batch / (time.perf_counter() - t0))
    return rates
"""

# ConvNetJS's own MNIST demo network and trainer, fed the same digits one example at a time
# (ConvNetJS's Trainer accumulates gradients over batch_size examples, then steps).
CONVNETJS_BENCH = """
async ({steps, repeats, batch}) => {
  const raw = new Uint8Array(await (await fetch('data/mnist.bin')).arrayBuffer());
  const view = new DataView(raw.buffer);
  const count = view.getUint32(8, true), rows = view.getUint16(12, true), cols = view.getUint16(14, true);
  const labelsAt = 16 + count * rows * cols;
  const n = steps * batch, off = (rows - 24) >> 1;
  const vols = [], labels = [];
  for (let i = 0; i < n; i++) {
    const k = (i * 7) % count, base = 16 + k * rows * cols;
    const v = new convnetjs.Vol(24, 24, 1, 0.0);
    for (let yy = 0; yy < 24; yy++)
      for (let xx = 0; xx < 24; xx++) v.w[yy * 24 + xx] = raw[base + (yy + off) * cols + xx + off] / 255;
    vols.push(v); labels.push(raw[labelsAt + k]);
  }
  const layer_defs = [
    {type: 'input', out_sx: 24, out_sy: 24, out_depth: 1},
    {type: 'conv', sx: 5, filters: 8, stride: 1, pad: 2, activation: 'relu'},
    {type: 'pool', sx: 2, stride: 2},
    {type: 'conv', sx: 5, filters: 16, stride: 1, pad: 2, activation: 'relu'},
    {type: 'pool', sx: 3, stride: 3},
    {type: 'softmax', num_classes: 10}];
  const net = new convnetjs.Net();
  net.makeLayers(layer_defs);
  const trainer = new convnetjs.Trainer(net, {method: 'adadelta', batch_size: batch, l2_decay: 0.0, ro: 0.95, eps: 1e-6});
  for (let i = 0; i < 5 * batch; i++) trainer.train(vols[i], labels[i]);
  const rates = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) trainer.train(vols[i], labels[i]);
    rates.push(n / ((performance.now() - t0) / 1000));
  }
  return rates;
}
"""


def cpython_rates(steps, repeats):
    import numpy as np

    scope = {}
    exec(ENGINE_BENCH, scope)
    rates = scope["engine_bench"](str(ROOT / "dist" / "data" / "mnist.bin"), steps, repeats, BATCH)
    return rates, f"pyengine, CPython {platform.python_version()}, NumPy {np.__version__} (1 BLAS thread)"


def browser_rates(steps, repeats):
    from playwright.sync_api import sync_playwright

    import harness

    convnet_js = ROOT / "node_modules" / "convnetjs" / "build" / "convnet.js"
    if not convnet_js.exists():
        raise SystemExit(f"{convnet_js} is missing: run `npm ci` (convnetjs is a dev dependency)")
    harness.build.build(verbose=False)
    server = harness.Server()
    try:
        with sync_playwright() as p:
            browser = harness.launch(p)
            version = browser.version
            # The page's CSP allows only its own scripts; the benchmark adds ConvNetJS beside them.
            context = browser.new_context(bypass_csp=True)
            page = context.new_page()
            page.goto(server.url)
            harness.wait_ready(page)
            page.evaluate("nnplay.loadMnist()")
            code = ENGINE_BENCH + f"\nengine_bench('/data/mnist.bin', {steps}, {repeats}, {BATCH})"
            engine = page.evaluate("code => nnplay.runPython(code)", code)
            page.add_script_tag(path=str(convnet_js))
            convnet = page.evaluate(CONVNETJS_BENCH, {"steps": steps, "repeats": repeats, "batch": BATCH})
            browser.close()
    finally:
        server.close()
    return [(engine, f"pyengine, Pyodide 0.27.7 (NumPy 2.0.2), worker, Chromium {version}"),
            (convnet, f"ConvNetJS 0.3.0, page main thread, Chromium {version}")]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="train steps (of 20 examples) per repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-browser", action="store_true", help="CPython only")
    args = parser.parse_args(argv)
    rows = [cpython_rates(args.steps, args.repeats)]
    if not args.no_browser:
        rows += browser_rates(args.steps, args.repeats)
    print(f"ConvNetJS MNIST network, batch {BATCH}, adadelta; {args.steps} steps x {args.repeats} repeats; "
          f"{os.cpu_count()} cores")
    print(f"{'runner':<72} {'best ex/s':>10} {'median ex/s':>12}")
    for rates, label in rows:
        print(f"{label:<72} {max(rates):>10.0f} {statistics.median(rates):>12.0f}")
    if not args.no_browser:
        ratio = max(rows[1][0]) / max(rows[2][0])
        print(f"pyengine in Pyodide / ConvNetJS: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
