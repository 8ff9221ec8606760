// Transfer learning (pyengine/pyengine/demos/transfer.py): frozen pretrained convs vs from scratch.
import { $, COLOURS, el, lineChart, pct, startDemo } from "./demo.js";

let chart = null;

function render(view) {
  const names = Object.keys(view.history);
  chart ??= lineChart($("#chart"), { title: `test accuracy on ${view.test} digits 5–9`, labels: names,
    range: [0, 1], width: 560, height: 260 });
  chart.update(view.history_steps, names.map((k) => view.history[k]));
  $("#labelled").textContent = view.labelled;
  $("#table").replaceChildren(el("tr", {}, el("th", {}, "network"), el("th", {}, "test accuracy")),
    ...names.map((k, i) => {
      const swatch = el("span", { className: "swatch" });
      swatch.style.background = COLOURS[i];
      return el("tr", {}, el("td", {}, swatch, k), el("td", {}, pct(view.accuracy[k])));
    }));
}

startDemo({ name: "transfer", render, stepCount: 10 });
