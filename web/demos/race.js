// Optimizer race (pyengine/pyengine/demos/race.py): loss curves of seven optimizers overlaid.
import { $, COLOURS, el, fmt, lineChart, pct, startDemo } from "./demo.js";

let chart = null;

function render(view) {
  const names = Object.keys(view.curves);
  chart ??= lineChart($("#chart"), { title: "loss", labels: names, log: true, width: 640, height: 300 });
  const n = Math.max(...names.map((k) => view.curves[k].length));
  const xs = Array.from({ length: n }, (_, i) => (i + 1) * view.stride + 9);
  chart.update(xs, names.map((k) => view.curves[k]));
  $("#table").replaceChildren(
    el("tr", {}, el("th", {}, "optimizer"), el("th", {}, "settings"), el("th", {}, "loss"), el("th", {}, "accuracy")),
    ...names.map((k, i) => {
      const swatch = el("span", { className: "swatch" });
      swatch.style.background = COLOURS[i];
      const { type, ...settings } = view.optimizers[k];
      return el("tr", {}, el("td", {}, swatch, k),
        el("td", {}, Object.entries(settings).map(([a, b]) => `${a} ${b}`).join(", ")),
        el("td", {}, fmt(view.loss[k])), el("td", {}, pct(view.accuracy[k])));
    }));
}

startDemo({ name: "race", render, stepCount: 10 });
