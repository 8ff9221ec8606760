// Character-level RNN (pyengine/pyengine/demos/charrnn.py): loss, and text sampled at a temperature.
import { $, fmt, lineChart, say, startDemo } from "./demo.js";

let chart = null;
let sampling = false;

async function sample(length = 240) {
  if (sampling || !demo?.state.ready) return;
  sampling = true;
  try {
    const out = await demo.call("sample", { length, temperature: Number($("#temperature").value), prime: $("#prime").value });
    $("#text").textContent = out.text;
  } catch (err) {
    say(err.message);
  } finally {
    sampling = false;
  }
}

function render(view) {
  $("#loss").textContent = fmt(view.loss);
  $("#chance").textContent = fmt(view.chance_loss);
  chart ??= lineChart($("#chart"), { title: "training loss (mean of 20 steps)", labels: ["loss"], width: 520, height: 220 });
  chart.update(view.loss_curve.map((_, i) => (i + 1) * view.stride), [view.loss_curve]);
  if (view.running) sample(100); // fresh text as it learns (short: sampling takes the worker from training)
}

const demo = await startDemo({ name: "charrnn", render, stepCount: 5, options: () => ({ cell: $("#cell").value }) });
$("#temperature").addEventListener("input", () => { $("#temperature-value").textContent = $("#temperature").value; });
$("#temperature").addEventListener("change", () => sample());
$("#sample").addEventListener("click", () => sample());
$("#cell").addEventListener("change", async () => {
  if (demo.state.running) {
    await demo.call("pause");
    while (demo.state.running) await new Promise((r) => setTimeout(r, 50));
  }
  await demo.setup().catch(() => {});
});
