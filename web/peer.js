// The data-parallel helper (issue 14; pyengine/pyengine/parallel.py says how a step goes).
//
// web/worker.js starts this worker on a cross-origin isolated page when training on the CPU would
// gain from a second core. It boots its own Pyodide with NumPy, pyengine and the SIMD kernels (no
// snapshot, no data, no RPC for the page) and then only computes gradients: for each step the
// playground's worker writes the weights and half a batch into a SharedArrayBuffer and bumps its GO
// counter; this worker notices (see serve()), runs pyengine.parallel.peer_step() and sets DONE.
//
// Messages in:  {id, op: "boot"}                         -> {id, result: {ms}}
//               {id, op: "setup", buffer, config}        -> {id, result: JSON {ok, reason?}}
// Replies out:  {id, result} | {id, error}

import { loadPyodide } from "./pyodide.mjs";
import BUILD from "./build-info.js";
import { installSimd } from "./simd.js";

const BASE = new URL("./", self.location.href).href;
const GO = 0;

async function bytes(path) {
  const response = await fetch(new URL(path, BASE));
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

let parallel = null; // pyengine.parallel (a PyProxy)
let kernelsActive = false;
const booted = (async () => {
  const t0 = performance.now();
  const wheel = bytes(BUILD.engine_wheel);
  const simd = bytes(BUILD.simd.path).catch(() => null);
  const pyodide = await loadPyodide({
    indexURL: BASE,
    lockFileURL: BASE + "pyodide-lock.json",
    stdout: (text) => console.log(`[nnplay helper] ${text}`),
    stderr: (text) => console.warn(`[nnplay helper] ${text}`),
  });
  await pyodide.loadPackage("numpy", { messageCallback: () => {} });
  pyodide.unpackArchive(await wheel, "wheel");
  const kernels = await simd;
  if (kernels) {
    const status = installSimd(pyodide, kernels);
    kernelsActive = status.active;
    if (!kernelsActive) console.warn(`[nnplay helper] SIMD kernels not used: ${status.reason}`);
  }
  parallel = pyodide.pyimport("pyengine.parallel");
  return { ms: Math.round(performance.now() - t0), simd: kernelsActive };
})();
booted.catch(() => {});

let generation = 0; // a new setup ends the previous buffer's loop

const IDLE = 4; // ctl[IDLE] = 1 while this worker waits with waitAsync: only then is GO notified
const QUIT = 6; // ctl[QUIT] = 1: this buffer is done with (a new setup follows)
const BUSY_MS = 30; // after a step, spin this long for the next before going idle

/** Answer the steps posted in `ctl` until a newer setup comes. Idle, the worker waits with
 * Atomics.waitAsync (no wake-ups, messages still come in). While steps come (every few ms while
 * training) it spins on GO: measured in Chromium here, a blocking Atomics.wait wakes about a
 * millisecond late, an Atomics.notify to a waitAsync waiter costs its sender about 1 ms, and a
 * setTimeout yield comes back some ms late -- each as much as a whole MNIST half step gains. */
async function serve(ctl, mine) {
  let seen = Atomics.load(ctl, GO);
  while (mine === generation) {
    Atomics.store(ctl, IDLE, 1);
    if (Atomics.load(ctl, GO) === seen) {
      const wait = Atomics.waitAsync(ctl, GO, seen);
      if (wait.async) await wait.value;
    }
    Atomics.store(ctl, IDLE, 0);
    // Busy: spin on GO until no step has come for BUSY_MS, with no yielding to the event loop (a
    // setTimeout here comes back a few ms late; a new setup only comes after steps have stopped).
    let busyUntil = performance.now() + BUSY_MS;
    while (performance.now() < busyUntil) {
      if (Atomics.load(ctl, QUIT)) return; // the worker is about to send a new setup
      const now = Atomics.load(ctl, GO);
      if (now === seen) continue;
      seen = now;
      parallel.peer_step();
      busyUntil = performance.now() + BUSY_MS;
    }
  }
}

self.onmessage = async ({ data }) => {
  const { id, op } = data ?? {};
  try {
    let result;
    if (op === "boot") result = await booted;
    else if (op === "setup") {
      await booted;
      generation += 1;
      result = parallel.peer_setup(data.buffer, data.config);
      if (JSON.parse(result).ok) serve(new Int32Array(data.buffer, 0, 16), generation);
    } else throw new Error(`unknown op ${op}`);
    self.postMessage({ id, result });
  } catch (err) {
    self.postMessage({ id, error: String(err?.message ?? err) });
  }
};
