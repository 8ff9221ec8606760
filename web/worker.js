// nnplay's compute worker: boots Pyodide, loads NumPy and pyengine, answers the RPC protocol.
//
// Requests  {id, method, params}            -> replies {id, result} | {id, error: {message, kind}}
// Events    {event: "progress", stage, state, loaded, total, ms}   boot stages: runtime, numpy, engine
//           {event: "epoch", ...}            streamed by Python methods through pyengine.rpc.emit()
//           {event: "error", stage, message, kind}                  boot failed (the page shows it)
//           {event: "log", stream, text, dropped}  Python's stdout / stderr: lines joined by "\n",
//                                          batched (see logLine); `dropped` lines were left out
//           {event: "startup", kind, snapshot, notice, ms, bytes}  how Python started: "cold" or
//                                            "warm" (from the memory snapshot); notice: why a snapshot was not used
//           {event: "crashed", message}      Pyodide hit a fatal error; the page restarts the worker
//           {event: "interrupt-buffer", buffer}  a SharedArrayBuffer: writing 2 into it raises
//                                            KeyboardInterrupt in running Python (isolated pages only)
//
// Methods served here in JavaScript are in JS_METHODS; every other method name goes to
// pyengine.rpc.dispatch(), so Python modules add methods with @rpc.method("name").

import { loadPyodide } from "./pyodide.mjs";
import BUILD from "./build-info.js";
import * as gpu from "./gpu.js"; // the WebGPU bridge pyengine's webgpu backend imports as `nnplay_gpu`
import { installSimd } from "./simd.js";

const BASE = new URL("./", self.location.href).href;
const MNIST_PATH = "/data/mnist.bin";

const post = (message, transfer = []) => self.postMessage(message, transfer);
const emit = (event, fields) => post({ event, ...fields });

// --- Python's output, batched ------------------------------------------------------------------
// A print loop would post one message per line, faster than the page can take them (it then falls
// minutes behind and no click gets through). Lines are gathered and posted at most every
// LOG_FLUSH_MS per stream, at most LOG_MAX_LINES at a time: the rest are counted as dropped (the
// page keeps that many lines anyway). Pending lines go out before any reply, so output comes first.
const LOG_FLUSH_MS = 50;
const LOG_MAX_LINES = 2000;
const log = { stream: null, lines: [], dropped: 0, last: 0, timer: 0 };

function logLine(stream, text) {
  if (log.stream !== stream) flushLog();
  log.stream = stream;
  log.lines.push(text);
  if (log.lines.length > 2 * LOG_MAX_LINES) { // trimmed now and then, not on every line
    const extra = log.lines.length - LOG_MAX_LINES;
    log.lines.splice(0, extra);
    log.dropped += extra;
  }
  // While Python runs, no timer of this worker can fire: the clock is read here instead.
  if (performance.now() - log.last >= LOG_FLUSH_MS) flushLog();
  else if (!log.timer) log.timer = setTimeout(flushLog, LOG_FLUSH_MS);
}

function flushLog() {
  clearTimeout(log.timer);
  log.timer = 0;
  log.last = performance.now();
  if (!log.lines.length) return;
  if (log.lines.length > LOG_MAX_LINES) {
    log.dropped += log.lines.length - LOG_MAX_LINES;
    log.lines.splice(0, log.lines.length - LOG_MAX_LINES);
  }
  emit("log", { stream: log.stream, text: log.lines.join("\n"), dropped: log.dropped });
  log.lines = [];
  log.dropped = 0;
}

// --- byte counting ---------------------------------------------------------------------------
// Pyodide fetches the wasm, the stdlib and the wheels with fetch(); wrapping it lets the progress
// bar show real bytes. Only the body is wrapped: status and headers (Content-Type for
// WebAssembly.instantiateStreaming) pass through unchanged.
let currentStage = null;
const loaded = { runtime: 0, numpy: 0, engine: 0, mnist: 0 };
const nativeFetch = self.fetch.bind(self);
let lastReport = 0;

function reportProgress(stage, state, extra = {}) {
  const total = stage === "mnist" ? BUILD.mnist.bytes : BUILD.stages[stage].bytes;
  emit("progress", { stage, state, loaded: Math.min(loaded[stage], total), total, ...extra });
}

function counted(stage, bytes) {
  loaded[stage] += bytes;
  const now = performance.now();
  if (now - lastReport > 50) {
    lastReport = now;
    reportProgress(stage, "loading");
  }
}

async function countBytes(stage, reader) {
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    counted(stage, value.byteLength);
  }
}

self.fetch = async (input, init) => {
  const response = await nativeFetch(input, init);
  const stage = currentStage;
  // The wasm module goes to instantiateStreaming as fetch gave it: only a response that came from the
  // network or the HTTP cache lets Chromium keep the compiled (and optimised) code in its code cache,
  // so that later boots skip compiling and start on fast code. Its bytes count when the stage ends.
  if (!stage || !response.body) return response;
  if (/\.wasm$/.test(new URL(response.url || String(input), BASE).pathname)) {
    countBytes(stage, response.clone().body.getReader()).catch(() => {}); // a copy is read for the progress bar
    return response;
  }
  const counter = new TransformStream({
    transform(chunk, controller) {
      counted(stage, chunk.byteLength);
      controller.enqueue(chunk);
    },
  });
  return new Response(response.body.pipeThrough(counter), {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
};

// --- boot ------------------------------------------------------------------------------------
let pyodide = null;
let rpc = null; // the pyengine.rpc module (a PyProxy)
let interruptBuffer = null; // Int32Array the page writes 2 into to stop the learner's code
let crashed = false;

function reportCrash(err) {
  if (crashed) return;
  crashed = true;
  emit("crashed", { message: String(err?.message ?? err) });
}

/** Run the learner's code with the Stop button armed: a stale stop request must not hit it. */
async function userCode(work) {
  if (interruptBuffer) Atomics.store(interruptBuffer, 0, 0);
  try {
    return await work();
  } finally {
    if (interruptBuffer) Atomics.store(interruptBuffer, 0, 0);
  }
}
const timings = {};

async function stage(name, work) {
  currentStage = name;
  reportProgress(name, "start");
  const t0 = performance.now();
  try {
    await work();
  } catch (err) {
    err.stage = name;
    throw err;
  }
  timings[name] = Math.round(performance.now() - t0);
  loaded[name] = BUILD.stages[name].bytes; // files not fetched through fetch() (e.g. asm.js) count once done
  reportProgress(name, "done", { ms: timings[name] });
  currentStage = null;
}

/** The WebAssembly SIMD kernels (dist/simd/, issue 14) into Pyodide's file system, opened by the NumPy
 * engine with ctypes.CDLL. Optional: when they cannot load, the einsum path runs and says why. */
async function loadSimdKernels() {
  let bytes;
  try {
    bytes = await early.simd;
  } catch (err) {
    const reason = `SIMD kernels not loaded (the einsum path runs): ${err.message ?? err}`;
    emit("log", { stream: "stderr", text: reason });
    const status = pyodide.pyimport("pyengine.backends.numpy_backend").SIMD_STATUS;
    status.set("reason", reason);
    status.destroy();
    return;
  }
  const status = installSimd(pyodide, bytes);
  if (!status.active) emit("log", { stream: "stderr", text: `SIMD kernels not used: ${status.reason}` });
}

// --- warm starts: a memory snapshot of the bare interpreter (issue 19) ---------------------------
// A cold boot (loadPyodide with _makeSnapshot) takes a snapshot of the interpreter right after it is
// up, before any package is loaded (Pyodide 0.27 cannot snapshot after loadPackage, and one taken with
// NumPy's extension modules imported breaks on use); it is kept in Cache Storage under this build's
// hash, with its SHA-256. The next boot on this origin (a return visit, a reload, each widget after
// the first on a page) restores it instead of starting Python from scratch, then loads NumPy and
// pyengine as a cold boot does. A snapshot of another build, or one whose bytes do not match their
// hash or fail to restore, is deleted and Python starts cold with a notice: never a broken page.
const SNAPSHOT_CACHE = "nnplay-python-snapshot";
const SNAPSHOT_KEY = BASE + "python-snapshot"; // a Cache Storage key only: nothing is served there
const SNAPSHOT_LOCK = "nnplay-python-snapshot"; // one worker of the origin makes it; the others wait
const SNAPSHOT_RESTORE_MS = 30000; // a restore that hangs this long is given up (then a cold boot)
const start = { kind: "cold", snapshot: "none", notice: null, ms: {} }; // how this boot started

const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");

/** The stored snapshot: {bytes} when it is this build's and intact, else {problem} (and it is deleted) or {}. */
async function readSnapshot() {
  if (typeof caches === "undefined") return { unavailable: "no Cache Storage here (not a secure context)" };
  const t0 = performance.now();
  try {
    const cache = await caches.open(SNAPSHOT_CACHE);
    const response = await cache.match(SNAPSHOT_KEY);
    if (!response) return {};
    const build = response.headers.get("x-nnplay-build");
    let problem = null;
    let bytes = null;
    if (build !== BUILD.build_id) problem = `it was made by another build (${build || "unknown"}, this is ${BUILD.build_id})`;
    else {
      bytes = new Uint8Array(await response.arrayBuffer());
      const sha = hex(await crypto.subtle.digest("SHA-256", bytes));
      if (sha !== response.headers.get("x-nnplay-sha256")) problem = "its bytes do not match their SHA-256 (damaged)";
    }
    start.ms.read = Math.round(performance.now() - t0);
    if (problem) {
      await cache.delete(SNAPSHOT_KEY);
      return { problem };
    }
    return { bytes };
  } catch (err) {
    // An opaque or storage-partitioned origin (a sandboxed iframe) may not use Cache Storage at all.
    if (err?.name === "SecurityError") return { unavailable: `Cache Storage is not allowed here (${err.message})` };
    return { problem: `it could not be read (${err.message ?? err})` };
  }
}

async function storeSnapshot(bytes) {
  const t0 = performance.now();
  try {
    const sha = hex(await crypto.subtle.digest("SHA-256", bytes));
    const cache = await caches.open(SNAPSHOT_CACHE);
    await cache.put(SNAPSHOT_KEY, new Response(bytes, { headers: {
      "content-type": "application/octet-stream", "x-nnplay-build": BUILD.build_id, "x-nnplay-sha256": sha } }));
    start.snapshot = "stored";
    start.ms.store = Math.round(performance.now() - t0);
    start.bytes = bytes.byteLength;
  } catch (err) { // e.g. storage quota: the next visit starts cold again, nothing else changes
    start.snapshot = `not stored (${err.message ?? err})`;
  }
  emit("startup", { ...start });
}

let snapshotAttempt = null; // rejects the restore in progress (failures Pyodide only reports globally)

async function restoreSnapshot(options, bytes) {
  const t0 = performance.now();
  let timer;
  try {
    return await Promise.race([
      loadPyodide({ ...options, _loadSnapshot: bytes }),
      new Promise((_, reject) => {
        snapshotAttempt = reject;
        timer = setTimeout(() => reject(new Error(`no answer after ${SNAPSHOT_RESTORE_MS / 1000} s`)), SNAPSHOT_RESTORE_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    snapshotAttempt = null;
    start.ms.restore = Math.round(performance.now() - t0);
  }
}

function coldNotice(problem) {
  return `The saved Python snapshot was not used: ${problem}. Python started from scratch (it is saved again for next time).`;
}

/** loadPyodide: from this build's snapshot when there is a good one, else cold (and make the snapshot). */
async function startPython(options) {
  let found = await readSnapshot();
  if (found.unavailable) { // no place to keep one: a plain cold boot
    start.snapshot = found.unavailable;
    return loadPyodide(options);
  }
  const cold = async (problem) => {
    if (problem) start.notice = coldNotice(problem);
    const py = await loadPyodide({ ...options, _makeSnapshot: true });
    return { py, stored: storeSnapshot(py.makeMemorySnapshot()) };
  };
  const warm = async (bytes) => {
    try {
      const py = await restoreSnapshot(options, bytes);
      start.kind = "warm";
      start.snapshot = "restored";
      start.bytes = bytes.byteLength;
      return { py, stored: null };
    } catch (err) {
      await caches.delete(SNAPSHOT_CACHE).catch(() => {});
      return cold(`it failed to restore (${err.message ?? err})`);
    }
  };
  let result;
  if (found.bytes) result = await warm(found.bytes);
  else if (!navigator.locks) result = await cold(found.problem);
  else {
    // One worker of this origin makes the snapshot while the others (widgets on one page) wait for it.
    let lockDenied = null;
    result = await new Promise((resolve, reject) => {
      navigator.locks.request(SNAPSHOT_LOCK, async () => {
        try {
          const again = await readSnapshot(); // made by another worker while this one waited?
          const r = again.bytes ? await warm(again.bytes) : await cold(found.problem ?? again.problem);
          resolve(r);
          await r.stored; // others wait until it is stored
        } catch (err) {
          reject(err);
        }
      }).catch((err) => { // Web Locks refused (e.g. a sandboxed iframe): no snapshot, a plain cold boot
        lockDenied = err;
        resolve(null);
      });
    });
    if (result === null) {
      start.snapshot = `no snapshot here (Web Locks: ${lockDenied?.message ?? lockDenied})`;
      return loadPyodide(options);
    }
  }
  if (!result.stored) emit("startup", { ...start });
  return result.py;
}

/** Fetched at once, in parallel with the runtime's start (their bytes count in the engine stage). */
function fetchEarly(path) {
  const bytes = nativeFetch(new URL(path, BASE)).then((response) => {
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return response.arrayBuffer();
  });
  bytes.catch(() => {}); // awaited (and reported) in the engine stage
  return bytes;
}
const early = {};

async function boot() {
  early.engine = fetchEarly(BUILD.engine_wheel);
  early.simd = fetchEarly(BUILD.simd.path);
  await stage("runtime", async () => {
    pyodide = await startPython({
      indexURL: BASE,
      lockFileURL: BASE + "pyodide-lock.json",
      stdout: (text) => logLine("stdout", text),
      stderr: (text) => logLine("stderr", text),
    });
    // A fatal error (e.g. the wasm stack overflowing) leaves Pyodide unusable and the call that
    // caused it unanswered: tell the page, which starts a fresh worker.
    if (pyodide._api) pyodide._api.on_fatal = (err) => reportCrash(err);
    if (self.crossOriginIsolated && typeof SharedArrayBuffer === "function") {
      interruptBuffer = new Int32Array(new SharedArrayBuffer(4));
      pyodide.setInterruptBuffer(interruptBuffer);
      emit("interrupt-buffer", { buffer: interruptBuffer.buffer });
    }
  });
  await stage("numpy", () => pyodide.loadPackage("numpy", { messageCallback: () => {} }));
  await stage("engine", async () => {
    // The wheel (fetched since boot began) is unpacked into site-packages: no installer to load, no
    // index lookups; NumPy already came from the lock file. (micropip stays served for the learner's code.)
    pyodide.unpackArchive(await early.engine, "wheel");
    await loadSimdKernels();
    pyodide.registerJsModule("nnplay_worker", { loadMnist });
    pyodide.registerJsModule("nnplay_gpu", gpu);
    pyodide.registerJsModule("nnplay_peer", peerModule);
    rpc = pyodide.pyimport("pyengine.rpc");
    pyodide.pyimport("pyengine.playground"); // registers the playground's playground.* methods
    pyodide.pyimport("pyengine.export.methods"); // registers export.* (downloads for PyTorch / Keras / ONNX)
    rpc.set_emitter((json) => post(JSON.parse(json)));
    pyodide.pyimport("pyengine.backends.webgpu.switch"); // registers setBackend / backendStatus
    const version = pyodide.runPython("import pyengine; pyengine.__version__");
    if (version !== BUILD.version) {
      throw new Error(`pyengine ${version} was installed, but this build is ${BUILD.version}`);
    }
  });
  return { timings: { ...timings }, versions: { nnplay: BUILD.version, pyodide: BUILD.pyodide, numpy: BUILD.numpy },
           start: { ...start } };
}

// Some failures (a refused or corrupt wasm module) make Emscripten abort inside a promise that
// loadPyodide never settles. Catch those as unhandled rejections so boot fails with the reason
// instead of hanging.
let bootSettled = false;
let rejectBoot;
const bootAborted = new Promise((_, reject) => (rejectBoot = reject));
const bootFailed = (err) => {
  if (snapshotAttempt) return snapshotAttempt(err); // a snapshot that fails to restore: then a cold boot
  if (bootSettled) return; // later failures belong to the call that caused them
  err.stage ??= currentStage ?? "boot";
  rejectBoot(err);
};
self.addEventListener("unhandledrejection", (e) => {
  const reason = e.reason instanceof Error ? e.reason : new Error(String(e.reason));
  bootFailed(reason);
});

// Pyodide 0.27 reports a failed wasm instantiation (e.g. refused by the Content-Security-Policy)
// only with console.warn, then waits forever: forward those failures to the boot promise too.
for (const name of ["instantiate", "instantiateStreaming"]) {
  const original = WebAssembly[name];
  WebAssembly[name] = function (...args) {
    const result = original.apply(this, args);
    result.catch((err) => bootFailed(err));
    return result;
  };
}

const booted = Promise.race([boot(), bootAborted]);
booted.then(
  () => { bootSettled = true; },
  () => { bootSettled = true; },
);
booted.catch((err) => {
  emit("error", { stage: err.stage ?? "boot", message: String(err.message ?? err), kind: err.name ?? "Error" });
});

// --- the data-parallel helper (web/peer.js; pyengine/pyengine/parallel.py decides when) ---------
// pyengine imports this as `nnplay_peer`. The helper is started on the first training that would gain
// from it, never at boot, so the page's start costs nothing more.
const peer = { worker: null, booted: null, pending: new Map(), nextId: 0, dead: null };

function peerUnavailable() {
  if (!self.crossOriginIsolated || typeof SharedArrayBuffer !== "function")
    return "the page is not cross-origin isolated (no SharedArrayBuffer; serve it with COOP/COEP headers)";
  if (typeof Worker !== "function") return "this browser cannot start a worker from a worker";
  if ((navigator.hardwareConcurrency ?? 1) < 2) return "this device reports a single CPU core";
  if (peer.dead) return peer.dead;
  return null;
}

function peerCall(op, fields = {}) {
  if (peer.dead) return Promise.reject(new Error(peer.dead));
  const id = peer.nextId++;
  return new Promise((resolve, reject) => {
    peer.pending.set(id, { resolve, reject });
    peer.worker.postMessage({ id, op, ...fields });
  });
}

function peerStart() {
  if (!peer.booted) {
    peer.worker = new Worker(new URL("./peer.js", import.meta.url), { type: "module", name: "nnplay-helper" });
    peer.worker.onmessage = ({ data }) => {
      const waiter = peer.pending.get(data.id);
      if (!waiter) return;
      peer.pending.delete(data.id);
      if (data.error !== undefined) waiter.reject(new Error(data.error));
      else waiter.resolve(data.result);
    };
    peer.worker.onerror = (e) => {
      e.preventDefault?.();
      peer.dead = `the helper worker failed (${e.message || "it could not load"})`;
      for (const waiter of peer.pending.values()) waiter.reject(new Error(peer.dead));
      peer.pending.clear();
    };
    peer.booted = peerCall("boot");
  }
  return peer.booted;
}

const peerModule = {
  unavailable: peerUnavailable,
  start: peerStart,
  buffer: (bytes) => new SharedArrayBuffer(bytes),
  setup: (buffer, config) => peerCall("setup", { buffer, config }),
};

// --- methods served in JavaScript ------------------------------------------------------------

/** Fetch dist/data/mnist.bin (once) into Pyodide's file system at /data/mnist.bin. */
let mnistLoaded = null;
async function loadMnist() {
  if (!mnistLoaded) {
    mnistLoaded = (async () => {
      await booted;
      currentStage = "mnist";
      loaded.mnist = 0;
      reportProgress("mnist", "start");
      try {
        const response = await fetch(new URL(BUILD.mnist.path, BASE));
        if (!response.ok) throw new Error(`${BUILD.mnist.path}: HTTP ${response.status}`);
        const bytes = new Uint8Array(await response.arrayBuffer());
        const magic = new TextDecoder().decode(bytes.subarray(0, 8));
        if (magic !== "NNPMNST1") throw new Error(`${BUILD.mnist.path} is not an nnplay MNIST file`);
        const view = new DataView(bytes.buffer);
        pyodide.FS.mkdirTree("/data");
        pyodide.FS.writeFile(MNIST_PATH, bytes);
        reportProgress("mnist", "done");
        return { path: MNIST_PATH, bytes: bytes.byteLength, count: view.getUint32(8, true),
                 rows: view.getUint16(12, true), cols: view.getUint16(14, true) };
      } finally {
        currentStage = null;
      }
    })();
    mnistLoaded.catch(() => { mnistLoaded = null; }); // a failed load may be retried
  }
  return mnistLoaded;
}

/** Ask for a WebGPU adapter from this worker (the WebGPU backend will run here). */
async function probeWebGPU() {
  if (!self.isSecureContext) return { available: false, reason: "not a secure context (serve from localhost)" };
  if (!("gpu" in navigator)) return { available: false, reason: "this browser does not expose WebGPU" };
  const adapter = await gpu.requestAdapter(); // the same adapter the backend will train on
  if (!adapter) return { available: false, reason: "no WebGPU adapter" };
  return { available: true, adapter: gpu.describeAdapter(adapter) }; // + isFallbackAdapter
}

/** Parse the JSON reply of pyengine.rpc into a result, or throw its error. */
function unwrap(json) {
  const reply = JSON.parse(json);
  if (reply.error) {
    const { message, kind, traceback, line, details } = reply.error;
    throw Object.assign(new Error(message), { kind, traceback, line, details });
  }
  return reply.result;
}

const JS_METHODS = {
  ping: () => "pong",
  ready: () => booted,
  probeWebGPU,
  loadMnist,
  async runPython({ code }) {
    if (typeof code !== "string") throw Object.assign(new Error("runPython needs {code: string}"), { kind: "BadParams" });
    await booted;
    return userCode(async () => unwrap(await rpc.run_python(code)));
  },
};

async function callPython(method, params) {
  await booted;
  const run = async () => unwrap(await rpc.dispatch(method, JSON.stringify(params ?? {})));
  return method === "playground.runCode" ? userCode(run) : run();
}

self.onmessage = async ({ data }) => {
  const { id, method, params } = data ?? {};
  if (id === undefined || typeof method !== "string") {
    emit("error", { stage: "rpc", message: "malformed request (need {id, method, params})", kind: "BadRequest" });
    return;
  }
  try {
    const handler = Object.hasOwn(JS_METHODS, method) ? JS_METHODS[method] : (p) => callPython(method, p);
    const result = await handler(params ?? {});
    flushLog();
    post({ id, result });
  } catch (err) {
    flushLog();
    if (/Pyodide already (fatally failed|exited)/.test(String(err?.message))) reportCrash(err);
    const bootFailed = err.stage !== undefined;
    post({
      id,
      error: {
        message: bootFailed ? `Python failed to start (${err.stage}): ${err.message}` : String(err.message ?? err),
        kind: bootFailed ? "BootError" : err.kind ?? err.name ?? "Error",
        ...(err.traceback ? { traceback: err.traceback } : {}),
        ...(err.line ? { line: err.line } : {}),
        ...(err.details !== undefined ? { details: err.details } : {}),
      },
    });
  }
};
