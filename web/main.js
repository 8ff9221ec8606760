// The page: starts the worker, exposes window.nnplay, and renders boot progress and the compute
// backend. All Python runs in the worker (see worker.js); the UI is web/ui/app.js.

import { createNnplay } from "./nnplay.js";
import { startApp } from "./ui/app.js";

// The playground UI (web/ui/) starts once the worker is up; nnplay.ready waits for it to finish.
const nnplay = createNnplay(undefined, { startup: (api) => startApp(api) });
window.nnplay = nnplay;

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
}

function showBootError({ stage, message }) {
  if (![...STAGES, "boot", "worker"].includes(stage)) {
    console.error(`nnplay worker: ${message}`); // e.g. a malformed request: not a boot failure
    return;
  }
  bootFailed = true;
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
  $("#boot-status").textContent = `Ready in ${(total / 1000).toFixed(1)} s.`;
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
