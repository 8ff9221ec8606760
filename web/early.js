// The first script the playground page runs (index.html loads it `async`, ahead of everything else):
// it starts the Python worker at once, so that Pyodide's boot (seconds) overlaps the page's own
// scripts and first screen instead of waiting for them. What the worker says before main.js is
// listening is kept, in order, and handed to the page's RPC client by createNnplay (nnplay.js).
// The widget page (embed.html, a copy of index.html) loads it too; pages without it (the demos) start
// their worker in createNnplay as before.
const url = new URL("./worker.js", import.meta.url).href;
const worker = new Worker(url, { type: "module", name: "nnplay-python" });
const said = []; // {data} of a message, or {error} of a worker that failed to start
const onMessage = ({ data }) => said.push({ data });
const onError = (e) => {
  e.preventDefault();
  said.push({ error: e.message || "the worker script failed to load" });
};
worker.addEventListener("message", onMessage);
worker.addEventListener("error", onError);

globalThis.nnplayEarlyWorker = {
  url,
  /** What the worker has said so far, by event name ("reply", "error" for a worker that failed to start). */
  get heard() { return said.map((s) => (s.error !== undefined ? "error" : s.data?.event ?? "reply")); },
  /** The worker and what it has said so far; from now on the caller listens (called once). */
  adopt() {
    worker.removeEventListener("message", onMessage);
    worker.removeEventListener("error", onError);
    delete globalThis.nnplayEarlyWorker;
    return { worker, said };
  },
};
