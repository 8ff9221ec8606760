// The page: starts the worker, exposes window.nnplay, and renders boot progress and the compute
// backend. All Python runs in the worker (see worker.js); the UI is web/ui/app.js.

import FIRST_SCREEN from "./catalogue.js";
import { createNnplay } from "./nnplay.js";
import { showFirstScreen, startApp } from "./ui/app.js";

// The playground UI (web/ui/) is drawn at once from the build's catalogue (the default network, the
// controls, empty charts); its start-up (link, autosave or defaults restored) runs once the worker is
// up, and nnplay.ready waits for it to finish. Edits made meanwhile are applied before ready resolves.
const nnplay = createNnplay(undefined, { startup: (api) => startApp(api) });
window.nnplay = nnplay;
showFirstScreen(nnplay, FIRST_SCREEN);
document.body.dataset.firstScreen = String(Math.round(performance.now())); // ms since navigation

const $ = (selector) => document.querySelector(selector);
const STAGES = ["runtime", "numpy", "engine"];

/** "1.2 MB" */
function formatBytes(n) {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${Math.round(n / 1e3)} kB`;
}

// --- boot progress ---------------------------------------------------------------------------
const progress = { runtime: [0, 1], numpy: [0, 1], engine: [0, 1] }; // [loaded, total] bytes

let bootFailed = false;

function showProgress(message) {
  // After a failure, downloads still in flight keep reporting; the failure stays on screen.
  if (bootFailed || !STAGES.includes(message.stage)) return;
  const { stage, state, loaded, total, ms } = message;
  progress[stage] = [loaded, total];
  const item = $(`#boot-stages li[data-stage="${stage}"]`);
  item.dataset.state = state === "done" ? "done" : "loading";
  item.querySelector(".stage-bytes").textContent = `${formatBytes(loaded)} / ${formatBytes(total)}`;
  if (ms !== undefined) item.querySelector(".stage-time").textContent = `${(ms / 1000).toFixed(1)} s`;
  const sum = (i) => STAGES.reduce((acc, s) => acc + progress[s][i], 0);
  $("#boot-progress").value = sum(0) / sum(1);
  if (state !== "done") $("#boot-status").textContent = `Loading ${item.querySelector(".stage-name").textContent}…`;
  showBootLine();
}

/** The slim line under the header: what is loading while the page can already be edited. */
function showBootLine() {
  const stage = STAGES.find((s) => $(`#boot-stages li[data-stage="${s}"]`).dataset.state !== "done");
  if (!stage || document.body.dataset.ready === "true") return;
  const name = $(`#boot-stages li[data-stage="${stage}"] .stage-name`).textContent;
  const [loaded, total] = progress[stage];
  const bytes = loaded > 0 && loaded < total ? ` (${formatBytes(loaded)} / ${formatBytes(total)})` : "";
  $("#boot-line").textContent = `Loading ${name}${bytes}${startKind === "warm" ? " from the saved snapshot" : ""}… `
    + "Edit the network meanwhile: your changes are applied when Python is ready.";
}

let startKind = null; // "warm" (restored from the memory snapshot) or "cold", from the worker's "startup" event
nnplay.on("startup", ({ kind, notice }) => {
  startKind = kind;
  document.body.dataset.start = kind;
  if (notice) {
    console.warn(`nnplay: ${notice}`);
    const box = $("#startup-notice");
    box.textContent = notice;
    box.hidden = false;
  }
  showBootLine();
});

function showBootError({ stage, message }) {
  if (![...STAGES, "boot", "worker"].includes(stage)) {
    console.error(`nnplay worker: ${message}`); // e.g. a malformed request: not a boot failure
    return;
  }
  bootFailed = true;
  $("#boot-line").textContent = "The Python engine could not start: see the Python engine panel.";
  const item = $(`#boot-stages li[data-stage="${stage}"]`);
  if (item) item.dataset.state = "failed";
  $("#boot-status").textContent = "The Python engine could not start.";
  const box = $("#boot-error");
  box.textContent = `Failed while loading ${stage}: ${message}`;
  box.hidden = false;
}

nnplay.on("progress", showProgress);
nnplay.on("error", showBootError);
$("#version").textContent = `v${nnplay.version}`;

// Messages stick just under the header (style.css), whose height changes as it wraps.
new ResizeObserver(([entry]) => {
  document.documentElement.style.setProperty("--header-height", `${Math.ceil(entry.borderBoxSize[0].blockSize)}px`);
}).observe($("header"));

nnplay.workerReady.then(({ timings }) => {
  const total = STAGES.reduce((acc, s) => acc + timings[s], 0);
  $("#boot-progress").value = 1;
  $("#boot-status").textContent = `Ready in ${(total / 1000).toFixed(1)} s`
    + (startKind === "warm" ? " (from the saved snapshot)." : ".");
  document.body.dataset.ready = "true";
  if (nnplay.interruptNotice) { // a plain static host: everything works but interrupting Python
    const notice = Object.assign(document.createElement("p"), { id: "isolation-notice", className: "muted" });
    notice.dataset.testid = "isolation-notice";
    notice.textContent = nnplay.interruptNotice;
    $("#boot-status").after(notice);
  }
}, () => {});

// A restarted worker (after a crash, or Stop on code that would not stop) boots again.
nnplay.on("restarting", ({ reason }) => {
  for (const item of document.querySelectorAll("#boot-stages li")) item.dataset.state = "";
  $("#boot-progress").value = 0;
  $("#boot-status").textContent = `Restarting the Python worker: ${reason}.`;
  document.body.dataset.ready = "false";
});
nnplay.on("restarted", ({ timings }) => {
  const total = STAGES.reduce((acc, s) => acc + timings[s], 0);
  $("#boot-progress").value = 1;
  $("#boot-status").textContent = `Restarted in ${(total / 1000).toFixed(1)} s.`;
  document.body.dataset.ready = "true";
});

// --- compute backend -------------------------------------------------------------------------
nnplay.probeWebGPU().then(
  (probe) => {
    const status = $("#backend-status");
    if (probe.available) {
      const { vendor, architecture, description } = probe.adapter;
      const name = [vendor, architecture, description].filter(Boolean).join(" ") || "unnamed adapter";
      status.textContent = `WebGPU adapter found (${name}): the WebGPU backend can be used.`;
      status.dataset.backend = "webgpu";
    } else {
      status.textContent = `No WebGPU (${probe.reason}): the NumPy backend will be used.`;
      status.dataset.backend = "numpy";
    }
  },
  (err) => {
    $("#backend-status").textContent = `WebGPU probe failed (${err.message}): the NumPy backend will be used.`;
    $("#backend-status").dataset.backend = "numpy";
  },
);
// What each network actually trains on, and why, is drawn by web/ui/app.js from the session's state.
