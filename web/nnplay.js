// The page's handle on the compute worker: one RPC client and the public `window.nnplay` API.
// The UI thread never runs Python; everything below is message passing to worker.js.

import BUILD from "./build-info.js";
import { describe, jsonProblem } from "./ui/validate.js";

/** A client for the worker protocol: call(method, params) -> Promise, on(event, handler). */
export class RpcClient {
  /** @param {Worker} worker */
  constructor(worker) {
    this.nextId = 1;
    /** @type {Map<number, {resolve: Function, reject: Function, method: string}>} */
    this.pending = new Map();
    /** @type {Map<string, Set<Function>>} */
    this.listeners = new Map();
    this.attach(worker);
  }

  /** Talk to `worker` from now on; messages of any earlier worker are ignored. */
  attach(worker) {
    this.worker = worker;
    worker.addEventListener("message", ({ data }) => this.worker === worker && this.receive(data));
    // A worker that cannot even start (script error, CSP) fails every call, and says why.
    worker.addEventListener("error", (e) => {
      e.preventDefault();
      if (this.worker !== worker) return;
      const message = e.message || "the worker script failed to load";
      this.receive({ event: "error", stage: "worker", message, kind: "WorkerError" });
      this.rejectAll(message, "WorkerError");
    });
  }

  /** Fail every call still waiting for a reply (the worker that owed it is gone). */
  rejectAll(message, kind) {
    for (const { reject } of this.pending.values()) reject(Object.assign(new Error(message), { kind }));
    this.pending.clear();
  }

  /** Are calls other than pings waiting for the worker? */
  busy() {
    for (const { method } of this.pending.values()) if (method !== "ping") return true;
    return false;
  }

  /**
   * Call a worker method.
   * @param {string} method
   * @param {object} [params]
   * @param {Transferable[]} [transfer] buffers to move (not copy) into the worker
   */
  call(method, params = {}, transfer = []) {
    // Checked here, once, before anything is posted: too deep or too big (postMessage would overflow
    // the stack), or NaN / Infinity (the worker's JSON would silently make them null).
    const problem = jsonProblem(params, { what: String(method) });
    if (problem) return Promise.reject(Object.assign(new Error(problem), { kind: "BadParams" }));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      try {
        this.worker.postMessage({ id, method, params }, transfer);
      } catch (err) { // e.g. a value that cannot be cloned: nothing was sent, nothing waits
        this.pending.delete(id);
        reject(Object.assign(new Error(`${method}: the parameters cannot be sent to the worker (${err.message})`),
          { kind: "BadParams" }));
      }
    });
  }

  /** Subscribe to streamed events ("progress", "epoch", "error", "log"); returns an unsubscribe function. */
  on(event, handler) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event).add(handler);
    return () => this.listeners.get(event).delete(handler);
  }

  receive(message) {
    if (message.event !== undefined) {
      // One listener's bug must not starve the others (or the page): each runs on its own.
      for (const handler of this.listeners.get(message.event) ?? []) {
        try {
          handler(message);
        } catch (err) {
          console.error(`nnplay: a "${message.event}" listener failed:`, err);
        }
      }
      return;
    }
    const waiter = this.pending.get(message.id);
    if (!waiter) return;
    this.pending.delete(message.id);
    if (message.error) {
      const { message: text, kind, traceback } = message.error;
      const { line, details } = message.error;
      waiter.reject(Object.assign(new Error(kind && kind !== "Error" ? `${kind}: ${text}` : text), { kind, traceback, line, details }));
    } else {
      waiter.resolve(message.result);
    }
  }
}

/** How long the worker may leave a ping unanswered, while calls wait on it, before "unresponsive". */
export const UNRESPONSIVE_MS = 15000;
const PING_EVERY_MS = 2000;
/** Said wherever Stop would interrupt Python: the page lacks the headers that allow SharedArrayBuffer. */
export const NOT_ISOLATED_NOTICE = "This page is not cross-origin isolated (its server sends no COOP/COEP headers, "
  + "or it is a widget on a page that is not isolated), so running Python cannot be interrupted: Stop restarts the "
  + "Python worker instead.";

/**
 * The worker's life: start it, restart it when Pyodide reports a fatal error (the worker then
 * emits "crashed"; every waiting call is rejected with kind "WorkerRestarted"), and watch that it
 * answers. Events it adds to the worker's own: "restarting" {reason}, "restarted" {reason, timings},
 * "unresponsive" {ms} (a ping went unanswered UNRESPONSIVE_MS while calls waited) and "responsive".
 */
class Supervisor {
  constructor(client, workerURL) {
    this.client = client;
    this.workerURL = workerURL;
    this.interruptBuffer = null; // Int32Array on a SharedArrayBuffer (cross-origin isolated pages only)
    // Without isolation (a plain static host, a widget on a page that is not isolated) there is no
    // SharedArrayBuffer to share: interrupt() says false and callers restart the worker instead.
    this.isolated = globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer === "function";
    this.restarts = 0;
    this.ready = this.watchReady();
    client.on("interrupt-buffer", ({ buffer }) => { this.interruptBuffer = new Int32Array(buffer); });
    // After the page's own "crashed" listeners have run:
    client.on("crashed", ({ message }) => queueMicrotask(() => this.restart(`it crashed (${message})`)));
    this.ping = null; // {sent, flagged}
    setInterval(() => this.heartbeat(), PING_EVERY_MS);
  }

  watchReady() {
    const ready = this.client.call("ready");
    ready.catch(() => {}); // failures are reported through the "error" event; avoid an unhandled rejection
    return ready;
  }

  heartbeat() {
    const now = performance.now();
    if (this.ping) {
      if (!this.ping.flagged && now - this.ping.sent > UNRESPONSIVE_MS) {
        this.ping.flagged = true;
        this.client.receive({ event: "unresponsive", ms: Math.round(now - this.ping.sent) });
      }
      return;
    }
    if (!this.client.busy()) return;
    const ping = (this.ping = { sent: now, flagged: false });
    this.client.call("ping").then(() => {
      if (this.ping !== ping) return;
      this.ping = null;
      if (ping.flagged) this.client.receive({ event: "responsive" });
    }, () => {});
  }

  /** Ask running Python code to stop (KeyboardInterrupt); false when this page cannot interrupt. */
  interrupt() {
    if (!this.interruptBuffer) return false;
    Atomics.store(this.interruptBuffer, 0, 2); // 2 = SIGINT, as Pyodide's setInterruptBuffer expects
    return true;
  }

  /** End the worker and start a fresh one (boot again); resolves when it is ready. */
  restart(reason = "it was asked to") {
    const old = this.client.worker;
    old.terminate();
    this.restarts += 1;
    this.interruptBuffer = null;
    const wasFlagged = this.ping?.flagged;
    this.ping = null;
    if (wasFlagged) this.client.receive({ event: "responsive" });
    this.client.attach(new Worker(this.workerURL, { type: "module", name: "nnplay-python" }));
    this.client.rejectAll(`The Python worker was restarted because ${reason}.`, "WorkerRestarted");
    this.client.receive({ event: "restarting", reason });
    this.ready = this.watchReady();
    return this.ready.then((info) => {
      this.client.receive({ event: "restarted", reason, timings: info.timings });
      return info;
    });
  }
}

/**
 * Start the worker and build the `window.nnplay` API around it.
 *
 * `startup(api)` (optional; the playground page passes its own) runs once the worker is up and
 * again after every restart; `ready` resolves only when it has finished, so that nothing the page
 * does on start-up can overwrite a call made right after `await nnplay.ready`.
 */
export function createNnplay(workerURL = new URL("./worker.js", import.meta.url), { startup = null } = {}) {
  const client = new RpcClient(new Worker(workerURL, { type: "module", name: "nnplay-python" }));
  const life = new Supervisor(client, workerURL);
  // The playground session's latest state ({spec, data, train, counters, backend, fit, training}),
  // from its "state" events: every change, whoever made it, is announced this way.
  let state = null;
  client.on("state", (s) => { state = s; });
  client.on("workers", ({ event, ...w }) => { if (state) state = { ...state, workers: w }; }); // (between state events)
  client.on("restarting", () => { state = null; });
  let started = null; // the promise of startup() for the current worker
  const api = {
    /** The nnplay (= pyengine) version of this build. */
    version: BUILD.version,
    /** Resolves with {timings, versions} once pyengine is imported in the worker and the page has
     *  finished starting (the playground: autosave or link restored, or the defaults applied);
     *  rejects if boot fails. After a restart this is the new worker's boot and start-up. */
    get ready() { return started ?? life.ready; },
    /** The worker alone is up (the page's own start-up waits for this, not for `ready`). */
    get workerReady() { return life.ready; },
    /** Run Python in the worker; resolves to the JSON value of the last expression. */
    runPython: (code) => client.call("runPython", { code }),
    /** Run the learner's code; a Model it builds becomes the playground's network.
     *  Resolves to {value: repr text | null, adopted: {variable, spec} | null}. */
    runCode: (code) => client.call("playground.runCode", { code }),
    /** Ask running Python code to stop with KeyboardInterrupt; false when the page is not
     *  cross-origin isolated (then only restart() stops it). */
    interrupt: () => life.interrupt(),
    /** Is the page cross-origin isolated (SharedArrayBuffer, so interrupt() can work)? */
    get isolated() { return life.isolated; },
    /** Why interrupt() cannot work on this page (NOT_ISOLATED_NOTICE), or null where it can. */
    get interruptNotice() { return life.isolated ? null : NOT_ISOLATED_NOTICE; },
    /** End the Python worker and boot a fresh one (all Python state is lost); resolves when ready. */
    restart: async (reason) => { await life.restart(reason); return api.ready; },
    /** How many times the worker was restarted. */
    get restarts() { return life.restarts; },
    /** Fetch the MNIST binary into the worker's file system (/data/mnist.bin); resolves to its header. */
    loadMnist: () => client.call("loadMnist"),
    /** Does this browser give the worker a WebGPU adapter? */
    probeWebGPU: () => client.call("probeWebGPU"),
    /** Any worker method, including those pyengine registers in Python. */
    call: (method, params, transfer) => client.call(method, params, transfer),
    /** The playground's latest state (as getState() returns it), or null before the first one. */
    get state() { return state; },
    /** The compute backend that actually runs ("webgpu" | "numpy"), or null before a network exists. */
    get backend() { return state?.backend?.backend ?? null; },
    /** Why the network runs where it runs (a fallback or auto's reason), or null. */
    get backendNotice() { return state?.backend?.notice ?? null; },
    /** On how many CPU workers training steps run and why: {setting, workers, helper, reason,
     *  one_worker_ms, two_workers_ms (the latest medians), steps_on_two, decided_on (auto's trial medians)} (pyengine/pyengine/parallel.py). */
    get workers() { return state?.workers ?? null; },
    /** Subscribe to worker events ("state", "progress", "epoch", "notice", "error", ...); returns an unsubscribe function. */
    on: (event, handler) => client.on(event, handler),
    ...playgroundApi(client),
  };
  if (startup) {
    const start = () => {
      started = life.ready.then(async (info) => { await startup(api); return info; });
      started.catch(() => {});
    };
    start();
    // (after the Supervisor has put the new worker's boot in place: it does so right after this event)
    client.on("restarting", () => queueMicrotask(start));
  }
  return api;
}

/** base64 text (how the worker's JSON replies carry bytes) -> Uint8Array. */
export function base64ToBytes(text) {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

/** Uint8Array | ArrayBuffer -> base64 text. */
export function bytesToBase64(bytes) {
  const view = bytes instanceof Uint8Array ? bytes
    : ArrayBuffer.isView(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : new Uint8Array(bytes);
  let raw = "";
  for (let i = 0; i < view.length; i += 0x8000) raw += String.fromCharCode(...view.subarray(i, i + 0x8000));
  return btoa(raw);
}

/**
 * The playground's part of window.nnplay: every call goes to pyengine.playground in the worker
 * (methods "playground.<name>"). Failures reject with the engine's own message.
 */
function playgroundApi(client) {
  const pg = (method, params) => client.call(`playground.${method}`, params);
  /** Report a failed training call on the "error" event too (callers may only listen). */
  const reportError = (stage) => (err) => {
    client.receive({ event: "error", stage, message: err.message, kind: err.kind });
    throw err;
  };
  return {
    /** The current network spec (docs/engine.md; it always names its "backend"), or null. */
    getSpec: () => pg("getSpec"),
    /** The whole playground state: {spec, data, train, counters, training, backend, fit, last}. */
    getState: () => pg("getState"),
    /** Build a network; keeps trained weights when only loss/optimizer/backend changed (also while
     *  training: it goes on). A new network ends a running train() first (stopped: "changed").
     *  A spec without "backend" keeps the current choice. Rejects with the engine's validation
     *  message (err.details: per-layer shapes and problems); the previous network stays. */
    setSpec: (spec, { keepWeights = true } = {}) => pg("setSpec", { spec, keepWeights }),
    /** Per-layer output shapes, parameter counts and messages for a spec, without building it. */
    checkSpec: (spec) => pg("checkSpec", { spec }),
    /** "spiral" | "circle" | "xor" | "gauss" | "regression1d" | "mnist" | "csv" | "images"; ends a running train() first. */
    loadDataset: (name, options = {}) => pg("loadDataset", { name, options }),
    /** {batchSize, earlyStopping, workers: "auto" | 1 | 2} (applied between steps, also while training). */
    setTrainSettings: (settings) => pg("setTrainSettings", settings),
    /** "auto" | "numpy" | "webgpu": part of the spec; resolves to {requested, backend, notice}. */
    setBackend: (name) => pg("setBackend", { name }),
    /** Train {steps} or {epochs} (neither: until pause()); batchSize/earlyStopping, when given, become
     *  the training settings. Resolves to {steps, loss, accuracy, stopped, ...}; a second train()
     *  while one runs rejects with kind "Busy". */
    train: ({ steps, epochs, batchSize, earlyStopping, maxSeconds } = {}) => {
      const params = { steps, epochs, batchSize, maxSeconds };
      if (earlyStopping !== undefined) params.earlyStopping = earlyStopping;
      return pg("train", params).catch(reportError("train"));
    },
    /** Stop a running train() after its current step; resolves once the session is idle. */
    pause: () => pg("pause"),
    /** Fresh weights for the current spec; counters and history cleared. */
    reset: () => pg("reset"),
    /** {loss, accuracy} on the validation data. */
    evaluate: () => pg("evaluate"),
    /** Outputs for one example or a batch; classifiers give probabilities and `classes`. */
    predict: (inputs) => pg("predict", { inputs }),
    /** {step, epoch, examples, examples_per_s, step_loss, epochs, last, training}. */
    getMetrics: () => pg("getMetrics"),
    /** The model file (pyengine.save) as a Uint8Array. */
    save: async () => base64ToBytes((await pg("save")).bytes),
    /** Load a model file (Uint8Array | ArrayBuffer); rejects with ModelFileError, keeping the current model. */
    load: async (bytes) => {
      if (!(bytes instanceof ArrayBuffer || ArrayBuffer.isView(bytes))) {
        throw Object.assign(new Error(`load(bytes): bytes must be a model file's contents (a Uint8Array or `
          + `ArrayBuffer), got ${describe(bytes)}`), { kind: "BadParams" });
      }
      return pg("load", { bytes: bytesToBase64(bytes) });
    },
    /** Import a ConvNetJS net.toJSON() (object or text) with its weights. */
    importConvnetjs: async (json) => {
      if (typeof json === "string") return pg("importConvnetjs", { json });
      const problem = jsonProblem(json, { what: "importConvnetjs(json)" }); // before JSON.stringify walks it
      if (problem) throw Object.assign(new Error(problem), { kind: "BadParams" });
      return pg("importConvnetjs", { json: JSON.stringify(json) });
    },
    /** The current network as "python" | "pytorch" | "keras" source code. */
    code: (kind = "python") => pg("code", { kind }),
  };
}
