// The data-parallel experiment's page side (issue 14, item 5): starts bench/dp_worker.js workers,
// hands them one SharedArrayBuffer and runs Python in several of them at once.
window.nnplayDP = (() => {
  const workers = [];
  const pending = new Map();
  let nextId = 0;

  function call(rank, code, shared) {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      workers[rank].postMessage({ id, code, shared });
    });
  }

  function onMessage({ data }) {
    const waiter = pending.get(data.id);
    if (!waiter) return;
    pending.delete(data.id);
    if (data.error !== undefined) waiter.reject(new Error(data.error));
    else {
      try {
        waiter.resolve(data.result === null ? null : JSON.parse(data.result));
      } catch (err) {
        waiter.reject(new Error(`worker replied with no JSON: ${String(data.result).slice(0, 80)}`));
      }
    }
  }

  return {
    /** Start `count` workers running `source` (bench/dp_worker.js) with dist/ at `base`, and run
     * `code` (the engine's bench code) in each. */
    async start({ source, base, count, code }) {
      if (!self.crossOriginIsolated) throw new Error("the page is not cross-origin isolated: no SharedArrayBuffer");
      const url = URL.createObjectURL(new Blob([source.replaceAll("DIST_BASE", base.replace(/\/$/, ""))],
                                               { type: "text/javascript" }));
      while (workers.length < count) {
        const worker = new Worker(url, { type: "module", name: `nnplay-dp-${workers.length}` });
        worker.onmessage = onMessage;
        worker.onerror = (e) => {
          for (const waiter of pending.values()) waiter.reject(new Error(`worker error: ${e.message}`));
          pending.clear();
        };
        workers.push(worker);
      }
      const t0 = performance.now();
      await Promise.all(workers.map((_, rank) => call(rank, code)));
      return { bootMs: performance.now() - t0 };
    },
    /** A fresh SharedArrayBuffer of `bytes`, posted to every worker. */
    share({ bytes }) {
      const sab = new SharedArrayBuffer(bytes);
      return Promise.all(workers.map((_, rank) => call(rank, null, sab)));
    },
    /** Run codes[i] in worker i, all at once (a null code: that worker sits idle); resolves to their results. */
    all({ codes }) {
      return Promise.all(codes.map((code, rank) => (code === null ? null : call(rank, code))));
    },
    stop() {
      for (const worker of workers) worker.terminate();
      workers.length = 0;
    },
  };
})();
