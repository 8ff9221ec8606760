// The widget's side of <nn-playground> (web/embed.js). dist/embed.html is index.html with this module
// in place of main.js (build.py): the playground in embed mode, plus two things a widget needs:
//
// - a postMessage bridge that lets the host page drive window.nnplay across origins. It answers one
//   window only, window.parent, and one origin only, the `host` the address names (cross-checked
//   with location.ancestorOrigins where the browser has it); it serves the methods in BRIDGED and
//   forwards events the host subscribed to. It never runs code from the host: runPython, runCode
//   and call are not bridged, and every argument is structured-cloned data.
// - pausing: training stops while the widget is off-screen (scrolled away, or a hidden tab) and
//   starts again when it comes back, if it was the widget's own training that stopped.

import "./main.js"; // the playground: window.nnplay, then window.nnplayApp once it is ready

const BRIDGED = new Set(["getSpec", "setSpec", "loadDataset", "train", "pause", "reset", "evaluate", "predict", "getMetrics"]);
const NOT_FORWARDED = new Set(["interrupt-buffer"]); // a SharedArrayBuffer is this page's own business
const OFFSCREEN_PAUSE_MS = 500; // scrolling past a widget does not pause it

const nnplay = window.nnplay;
const params = new URLSearchParams(location.search);

/** The host's origin, or null when this page is not framed by a host it can answer. */
function hostOrigin() {
  if (window.parent === window) return null;
  const host = params.get("host");
  // A file:// page (location.origin "file://" in Chromium, "null" elsewhere) is an opaque origin:
  // postMessage cannot address it, so such a page shows widgets but cannot drive them.
  if (!host || !/^https?:\/\//.test(host)) return null;
  const seen = location.ancestorOrigins?.[0];
  if (seen !== undefined && seen !== host) {
    console.warn(`nnplay widget: framed by ${seen}, not by ${host} as the address says; the bridge is off`);
    return null;
  }
  return host;
}

/** Resolves once Python is up and the playground has restored its network and data. */
function appReady() {
  return nnplay.ready.then(() => new Promise((resolve) => {
    const check = () => document.body.dataset.app === "ready" && (observer.disconnect(), resolve(window.nnplayApp));
    const observer = new MutationObserver(check);
    observer.observe(document.body, { attributes: true, attributeFilter: ["data-app"] });
    check();
  }));
}
const ready = appReady();

// --- the bridge ----------------------------------------------------------------------------------
const HOST = hostOrigin();
let hostTrains = 0; // train() calls from the host still running
document.body.dataset.bridge = HOST ? "on" : "off";

function send(message) {
  try {
    window.parent.postMessage({ nnplay: 1, ...message }, HOST);
  } catch (err) {
    console.error("nnplay widget: a message for the host could not be sent:", err);
  }
}

/** What the host may call: window.nnplay's method (the page's views follow from the state it changes). */
async function serve(method, args) {
  await ready;
  if (method === "train") hostTrains += 1;
  try {
    // The host's request exactly (or its error, nothing changed); the page draws what it changed
    // from the session's state, as it does for its own controls.
    const result = await nnplay[method](...args);
    return result;
  } finally {
    if (method === "train") hostTrains -= 1;
  }
}

const subscriptions = new Map(); // event name -> unsubscribe

if (HOST) {
  window.addEventListener("message", async (event) => {
    if (event.source !== window.parent || event.origin !== HOST) return; // not our host: ignored
    const data = event.data;
    if (!data || data.nnplay !== 1) return;
    if (data.type === "on" || data.type === "off") {
      const name = data.event;
      if (typeof name !== "string" || NOT_FORWARDED.has(name)) return;
      if (data.type === "on" && !subscriptions.has(name)) {
        subscriptions.set(name, nnplay.on(name, (fields) => send({ type: "event", event: name, data: fields })));
      } else if (data.type === "off") {
        subscriptions.get(name)?.();
        subscriptions.delete(name);
      }
      return;
    }
    const { id, method, args } = data;
    if (!Number.isInteger(id)) return;
    if (typeof method !== "string" || !BRIDGED.has(method) || !Array.isArray(args) || args.length > 2) {
      send({ id, error: { message: `the widget does not serve ${JSON.stringify(method)} to its host page`
        + ` (it serves ${[...BRIDGED].join(", ")})`, kind: "BridgeError" } });
      return;
    }
    try {
      send({ id, result: await serve(method, args) });
    } catch (err) {
      send({ id, error: { message: String(err?.message ?? err), kind: err?.kind ?? "Error" } });
    }
  });
  send({ type: "hello" });
  ready.then(
    async () => send({ type: "ready", result: { ...(await nnplay.ready), isolated: nnplay.isolated ?? self.crossOriginIsolated } }),
    (err) => send({ type: "ready", error: { message: String(err?.message ?? err), kind: err?.kind ?? "BootError" } }),
  );
}

// --- pause while off-screen ----------------------------------------------------------------------
let inView = true; // the iframe's own viewport meets the host's (IntersectionObserver's implicit root)
let pausedOffscreen = false; // the widget's own training, to start again on return
let pending = null;

function onScreen() {
  return inView && document.visibilityState !== "hidden";
}

async function followVisibility() {
  document.body.dataset.onScreen = String(onScreen());
  clearTimeout(pending);
  const app = await ready.catch(() => null);
  if (!app) return;
  if (!onScreen()) {
    pending = setTimeout(async () => {
      if (onScreen()) return;
      if (app.state?.training) {
        pausedOffscreen = hostTrains === 0; // the widget's own Play comes back on return; the host's train() resolves "paused"
        await app.pause();
      }
      document.body.dataset.pausedOffscreen = String(pausedOffscreen);
    }, OFFSCREEN_PAUSE_MS);
  } else if (pausedOffscreen) {
    pausedOffscreen = false;
    document.body.dataset.pausedOffscreen = "false";
    if (!app.state?.training) app.play();
  }
}

new IntersectionObserver((entries) => {
  inView = entries[entries.length - 1].isIntersecting;
  followVisibility();
}).observe(document.documentElement);
document.addEventListener("visibilitychange", followVisibility);
ready.then(followVisibility, () => {}); // autoplay may have started a widget that is already off-screen
