// The data-parallel experiment's worker (issue 14, item 5; bench/dataparallel.py drives it).
//
// A bare copy of what web/worker.js boots -- Pyodide, NumPy, the pyengine wheel, the WebAssembly SIMD
// kernels and dist/data/mnist.bin -- without the playground's RPC, so that the experiment can run two
// or more of them beside each other and hand them one SharedArrayBuffer. bench/dataparallel.js starts
// it from a blob: URL (a blob worker shares the page's origin and cross-origin isolation), with
// DIST_BASE below replaced by dist/'s URL.
//
// Messages in: {id, code, shared?}: `shared` (a SharedArrayBuffer) is kept as self.dpShared for
// Python (`js.dpShared`); `code` runs with runPythonAsync and its value (a str) is the reply.
// Replies out: {id, result} | {id, error}.

import { loadPyodide } from "DIST_BASE/pyodide.mjs";
import BUILD from "DIST_BASE/build-info.js";

const BASE = "DIST_BASE/";

async function bytes(path) {
  const response = await fetch(new URL(path, BASE));
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

const ready = (async () => {
  const pyodide = await loadPyodide({ indexURL: BASE, lockFileURL: BASE + "pyodide-lock.json" });
  await pyodide.loadPackage("numpy", { messageCallback: () => {} });
  pyodide.unpackArchive(await bytes(BUILD.engine_wheel), "wheel"); // the pyengine wheel, as micropip would
  pyodide.FS.mkdirTree("/lib/nnplay");
  pyodide.FS.writeFile("/lib/nnplay/nnplay_simd.so", await bytes(BUILD.simd.path));
  pyodide.FS.mkdirTree("/data");
  pyodide.FS.writeFile("/data/mnist.bin", await bytes(BUILD.mnist.path));
  const status = pyodide.runPython(
    "from pyengine.backends import numpy_backend as nb\n" +
    "nb.use_simd('/lib/nnplay/nnplay_simd.so')['active']");
  if (!status) throw new Error("the SIMD kernels did not load in the experiment's worker");
  return pyodide;
})();

self.onmessage = async ({ data }) => {
  const { id, code, shared } = data;
  try {
    const pyodide = await ready;
    if (shared) self.dpShared = shared;
    const result = code ? await pyodide.runPythonAsync(code) : null;
    self.postMessage({ id, result: typeof result === "string" ? result : null });
  } catch (err) {
    self.postMessage({ id, error: String(err?.message ?? err) });
  }
};
