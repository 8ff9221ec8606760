// Shared by every demo page (web/demos/*.html): boots the worker, wires Play / Pause / Step, shows
// errors, and draws charts (uPlot) and pixel canvases. Each page's own module only says which demo
// it runs (pyengine/pyengine/demos/<name>.py) and how to draw its view.
//
// Test hooks: window.demoState = {name, view, ready, running, error}; <body data-ready, data-state>.

import uPlot from "../vendor/uplot/uPlot.esm.js";
import { createNnplay, base64ToBytes, bytesToBase64 } from "../nnplay.js";

export { base64ToBytes, bytesToBase64 };
export const $ = (selector) => document.querySelector(selector);
export const COLOURS = ["#2f6fed", "#e8590c", "#0ca678", "#ae3ec9", "#f59f00", "#e03131", "#1098ad", "#495057",
  "#74b816", "#5c7cfa"];

/** A tagged element: el("p", {className: "x"}, "text") */
export function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

/** Show a message (an error in words, never a stack trace) above the demo; "" hides it. */
export function say(text, kind = "error") {
  const box = $("#message");
  box.textContent = text;
  box.dataset.kind = kind;
  box.hidden = !text;
}

/**
 * Start a demo page.
 * @param {object} cfg
 * @param {string} cfg.name demo name (RPC methods demo.<name>.*)
 * @param {() => object} [cfg.options] setup options (read from the page's controls)
 * @param {(view: object) => void} cfg.render draws a view (streamed while running)
 * @param {number} [cfg.stepCount] steps per click of Step
 * @returns {Promise<object>} {nnplay, call(method, params), setup(), state, show(view)}
 */
export async function startDemo({ name, options = () => ({}), render, stepCount = 1 }) {
  const state = { name, view: null, ready: false, running: false, error: null };
  window.demoState = state;
  const nnplay = createNnplay(new URL("../worker.js", import.meta.url));
  const call = (method, params) => nnplay.call(`demo.${name}.${method}`, params);
  const controls = $("#controls");
  const button = (id, text, label) => el("button", { type: "button", id, textContent: text, disabled: true,
    ariaLabel: label });
  const play = button("play", "▶ Play", "Play");
  const pause = button("pause", "❚❚ Pause", "Pause");
  const step = button("step", "Step", "One step");
  const reset = button("reset", "Reset", "Start again with fresh weights");
  const steps = el("output", { id: "steps" }, "0");
  for (const b of [play, pause, step, reset]) b.dataset.testid = b.id;
  controls.append(play, pause, step, reset, el("span", { className: "counter" }, "steps ", steps));
  const status = $("#status");

  const show = (view) => {
    state.view = view;
    steps.textContent = view.steps;
    document.body.dataset.steps = view.steps;
    try {
      render(view);
    } catch (err) {
      console.error(err);
      say(`Could not draw the demo's view: ${err.message}`);
    }
  };
  const setRunning = (running) => {
    state.running = running;
    document.body.dataset.state = running ? "running" : "paused";
    play.disabled = running;
    pause.disabled = !running;
    step.disabled = running;
    reset.disabled = running;
  };
  const report = (err) => {
    state.error = err.message;
    say(err.message);
  };
  nnplay.on("demo", (view) => view.demo === name && show(view));
  nnplay.on("error", (e) => ["runtime", "numpy", "engine", "boot", "worker"].includes(e.stage)
    && say(`The Python engine could not start (${e.stage}): ${e.message}`));

  const setup = async () => {
    say("");
    status.textContent = "Setting up…";
    try {
      show(await call("setup", { options: options() }));
      status.textContent = "Ready: press Play.";
    } catch (err) {
      report(err);
      status.textContent = "Setup failed.";
      throw err;
    }
  };
  play.addEventListener("click", async () => {
    setRunning(true);
    say("");
    status.textContent = "Training…";
    try {
      show(await call("run", {}));
      status.textContent = "Paused.";
    } catch (err) {
      report(err);
      status.textContent = "Stopped.";
    } finally {
      setRunning(false);
    }
  });
  pause.addEventListener("click", () => call("pause").catch(report));
  step.addEventListener("click", async () => {
    try {
      show(await call("step", { count: stepCount }));
    } catch (err) {
      report(err);
    }
  });
  reset.addEventListener("click", () => setup().catch(() => {}));

  status.textContent = "Starting the Python engine…";
  try {
    await nnplay.ready;
    await nnplay.runPython("import pyengine.demos");
    await setup();
  } catch (err) {
    report(err);
    return { nnplay, call, setup, state, show };
  }
  setRunning(false);
  state.ready = true;
  document.body.dataset.ready = "true";
  return { nnplay, call, setup, state, show };
}

/** A uPlot line chart: chart.update(xs, [ys1, ys2, ...]) */
/** Pause the demo if it is running, then set it up again with its current options; `undo` runs when
 *  the new setup is refused (its message is already shown), so the demo keeps what worked. */
export async function setupAgain(demo, undo) {
  if (demo.state.running) {
    await demo.call("pause");
    while (demo.state.running) await new Promise((r) => setTimeout(r, 50));
  }
  try {
    await demo.setup();
  } catch {
    undo();
  }
}

export function lineChart(box, { title, labels, yLabel = "", log = false, range = null, width = 420, height = 200 }) {
  const series = [{ label: "step" }, ...labels.map((label, i) => ({ label, stroke: COLOURS[i % COLOURS.length],
    width: 2, spanGaps: true }))];
  const y = { ...(log ? { distr: 3 } : {}), ...(range ? { range } : {}) };
  // never wider than its box (a phone): the chart takes the room there is, up to `width`
  const room = () => Math.max(200, Math.min(width, Math.floor(box.clientWidth || box.parentElement?.clientWidth || width)));
  const plot = new uPlot({ title, width: room(), height, series, legend: { live: false },
    scales: { x: { time: false }, y },
    // log axes span many decades: write their ticks as 1e-6, 0.01, 1 rather than rounding them to 0
    axes: [{}, { label: yLabel, ...(log ? { values: (u, ticks) => ticks.map(logTick) } : {}) }] },
  [[], ...labels.map(() => [])], box);
  new ResizeObserver(() => { if (plot.width !== room()) plot.setSize({ width: room(), height }); }).observe(box.parentElement ?? box);
  return {
    plot,
    update(xs, ys) {
      plot.setData([xs, ...ys.map((s) => (log ? s.map((v) => (v > 0 ? v : null)) : s))]);
    },
  };
}

const logTick = (v) => (v == null ? "" : v >= 0.01 && v < 1e4 ? String(+v.toPrecision(2)) : v.toExponential(0));

/** Grey uint8 pixels (base64, h x w) into a canvas; `scale` upsamples with CSS pixels kept crisp. */
export function drawGrey(canvas, b64, w, h, scale = 1) {
  const bytes = typeof b64 === "string" ? base64ToBytes(b64) : b64;
  const rgba = new Uint8ClampedArray(w * h * 4);
  for (let i = 0; i < w * h; i++) {
    rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = bytes[i];
    rgba[4 * i + 3] = 255;
  }
  putPixels(canvas, rgba, w, h, scale);
}

/** RGB uint8 pixels (base64, h x w x 3) into a canvas. */
export function drawRgb(canvas, b64, w, h, scale = 1) {
  const bytes = typeof b64 === "string" ? base64ToBytes(b64) : b64;
  const rgba = new Uint8ClampedArray(w * h * 4);
  for (let i = 0; i < w * h; i++) {
    rgba[4 * i] = bytes[3 * i];
    rgba[4 * i + 1] = bytes[3 * i + 1];
    rgba[4 * i + 2] = bytes[3 * i + 2];
    rgba[4 * i + 3] = 255;
  }
  putPixels(canvas, rgba, w, h, scale);
}

function putPixels(canvas, rgba, w, h, scale) {
  canvas.width = w;
  canvas.height = h;
  canvas.style.width = `${w * scale}px`;
  canvas.style.height = "auto"; // keeps w:h when max-width (demo.css) shrinks it to a phone's width
  canvas.getContext("2d").putImageData(new ImageData(rgba, w, h), 0, 0);
}

/** Two-class map: 0 -> blue, 128 -> white, 255 -> orange (TensorFlow Playground's palette). */
export function twoClassRgb(bytes) {
  const a = [47, 111, 237], b = [245, 124, 0], w = [248, 248, 248];
  const out = new Uint8Array(bytes.length * 3);
  for (let i = 0; i < bytes.length; i++) {
    const t = bytes[i] / 255;
    const [p, q, f] = t < 0.5 ? [a, w, t * 2] : [w, b, (t - 0.5) * 2];
    for (let c = 0; c < 3; c++) out[3 * i + c] = Math.round(p[c] + (q[c] - p[c]) * f);
  }
  return out;
}

/** A row of small canvases (e.g. filters, activations) in `box`, each drawn grey from base64. */
export function greyStrip(box, images, w, h, scale = 3, titles = []) {
  box.replaceChildren(...images.map((img, i) => {
    const c = el("canvas", { className: "pixels", title: titles[i] ?? "" });
    drawGrey(c, img, w, h, scale);
    return c;
  }));
}

/** Format a number for the page: 3 significant digits, "–" for null. */
export const fmt = (v, digits = 3) => (v == null ? "–" : Number(v).toPrecision(digits));
export const pct = (v) => (v == null ? "–" : `${(100 * v).toFixed(1)}%`);
