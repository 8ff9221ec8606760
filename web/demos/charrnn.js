// Character-level RNN (pyengine/pyengine/demos/charrnn.py): loss, and text sampled at a temperature.
import { $, fmt, lineChart, say, startDemo } from "./demo.js";

let chart = null;
// One sample runs at a time. A click, or a new temperature, while one runs is queued (the newest
// wins) and runs next with the prompt and temperature as they were when asked: the sample that
// answers an explicit request is the one shown, never an older one that finished later. Automatic
// samples while training (render) only run when nothing else is running or waiting.
let running = null; // the request being sampled
let queued = null; // the next request
let asked = 0; // requests made; a result is shown only when no newer explicit request exists
let lastExplicit = 0;
let answered = false; // an explicit request's text is on screen (until Play is pressed again)

function sample(length = 240, auto = false) {
  if (!demo?.state.ready) return;
  if (auto && (running || queued)) return;
  const request = { id: ++asked, auto, length, temperature: Number($("#temperature").value), prime: $("#prime").value };
  if (!auto) lastExplicit = request.id;
  queued = request;
  if (!running) drain();
}

async function drain() {
  while (queued) {
    running = queued;
    queued = null;
    const { id, length, temperature, prime } = running;
    try {
      const out = await demo.call("sample", { length, temperature, prime });
      // An automatic sample never covers the answer to a click (nor an older click a newer one).
      if (id >= lastExplicit && !(running.auto && answered)) {
        answered = !running.auto;
        if (out.dropped) say(`Left out of the prompt (not in the training text): ${out.dropped}`, "info");
        $("#text").textContent = out.text;
        $("#text").dataset.prime = prime;
        document.body.dataset.samples = String(Number(document.body.dataset.samples ?? 0) + 1);
      }
    } catch (err) {
      say(err.message);
    } finally {
      running = null;
    }
  }
}

function render(view) {
  $("#loss").textContent = fmt(view.loss);
  $("#chance").textContent = fmt(view.chance_loss);
  chart ??= lineChart($("#chart"), { title: "training loss (mean of 20 steps)", labels: ["loss"], width: 520, height: 220 });
  chart.update(view.loss_curve.map((_, i) => (i + 1) * view.stride), [view.loss_curve]);
  if (view.running) sample(100, true); // fresh text as it learns (short: sampling takes the worker from training)
}

const demo = await startDemo({ name: "charrnn", render, stepCount: 5, options: () => ({ cell: $("#cell").value }) });
$("#temperature").addEventListener("input", () => { $("#temperature-value").textContent = $("#temperature").value; });
$("#temperature").addEventListener("change", () => sample());
$("#sample").addEventListener("click", () => sample());
$("#play").addEventListener("click", () => { answered = false; }); // fresh text as it learns again
$("#cell").addEventListener("change", async () => {
  if (demo.state.running) {
    await demo.call("pause");
    while (demo.state.running) await new Promise((r) => setTimeout(r, 50));
  }
  await demo.setup().catch(() => {});
});
