// The page's handle on the compute worker: one RPC client and the public `window.nnplay` API.
// The UI thread never runs Python; everything below is message passing to worker.js.

import BUILD from "./build-info.js";

/** A client for the worker protocol: call(method, params) -> Promise, on(event, handler). */
export class RpcClient {
  /** @param {Worker} worker */
  constructor(worker) {
    this.worker = worker;
    this.nextId = 1;
    /** @type {Map<number, {resolve: Function, reject: Function}>} */
    this.pending = new Map();
    /** @type {Map<string, Set<Function>>} */
    this.listeners = new Map();
    worker.addEventListener("message", ({ data }) => this.receive(data));
    // A worker that cannot even start (script error, CSP) fails every call, and says why.
    worker.addEventListener("error", (e) => {
      e.preventDefault();
      const message = e.message || "the worker script failed to load";
      this.receive({ event: "error", stage: "worker", message, kind: "WorkerError" });
      for (const { reject } of this.pending.values()) reject(Object.assign(new Error(message), { kind: "WorkerError" }));
      this.pending.clear();
    });
  }

  /**
   * Call a worker method.
   * @param {string} method
   * @param {object} [params]
   * @param {Transferable[]} [transfer] buffers to move (not copy) into the worker
   */
  call(method, params = {}, transfer = []) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, method, params }, transfer);
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
      for (const handler of this.listeners.get(message.event) ?? []) handler(message);
      return;
    }
    const waiter = this.pending.get(message.id);
    if (!waiter) return;
    this.pending.delete(message.id);
    if (message.error) {
      const { message: text, kind, traceback } = message.error;
      waiter.reject(Object.assign(new Error(kind && kind !== "Error" ? `${kind}: ${text}` : text), { kind, traceback }));
    } else {
      waiter.resolve(message.result);
    }
  }
}

/** Start the worker and build the `window.nnplay` API around it. */
export function createNnplay(workerURL = new URL("./worker.js", import.meta.url)) {
  const client = new RpcClient(new Worker(workerURL, { type: "module", name: "nnplay-python" }));
  const ready = client.call("ready");
  ready.catch(() => {}); // failures are reported through the "error" event; avoid an unhandled rejection
  return {
    /** The nnplay (= pyengine) version of this build. */
    version: BUILD.version,
    /** Resolves with {timings, versions} once pyengine is imported in the worker; rejects if boot fails. */
    ready,
    /** Run Python in the worker; resolves to the JSON value of the last expression. */
    runPython: (code) => client.call("runPython", { code }),
    /** Fetch the MNIST binary into the worker's file system (/data/mnist.bin); resolves to its header. */
    loadMnist: () => client.call("loadMnist"),
    /** Does this browser give the worker a WebGPU adapter? */
    probeWebGPU: () => client.call("probeWebGPU"),
    /** Any worker method, including those pyengine registers in Python. */
    call: (method, params, transfer) => client.call(method, params, transfer),
    /** Subscribe to worker events. */
    on: (event, handler) => client.on(event, handler),
  };
}
