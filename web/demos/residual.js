// Plain vs residual (pyengine/pyengine/demos/residual.py): per-layer gradient norms and loss curves.
import { $, COLOURS, el, fmt, lineChart, pct, startDemo } from "./demo.js";

let charts = null;

function render(view) {
  const names = Object.keys(view.curves);
  charts ??= {
    grad: lineChart($("#grad-chart"), { title: "weight-gradient norm per layer (input → output)", labels: names,
      log: true, width: 440, height: 260 }),
    loss: lineChart($("#loss-chart"), { title: "training loss", labels: names, log: true, width: 440, height: 260 }),
  };
  const depth = Math.max(...names.map((k) => view.grad_norms[k].length));
  charts.grad.update(Array.from({ length: depth }, (_, i) => i + 1), names.map((k) => view.grad_norms[k]));
  const n = Math.max(...names.map((k) => view.curves[k].length));
  charts.loss.update(Array.from({ length: n }, (_, i) => (i + 1) * view.stride), names.map((k) => view.curves[k]));
  $("#table").replaceChildren(
    el("tr", {}, ...["network", "loss (last 20 steps)", "accuracy", "gradient norm, first layer", "last layer"]
      .map((t) => el("th", {}, t))),
    ...names.map((k, i) => {
      const swatch = el("span", { className: "swatch" });
      swatch.style.background = COLOURS[i];
      const g = view.grad_norms[k];
      return el("tr", {}, el("td", {}, swatch, k), el("td", {}, fmt(view.loss[k])), el("td", {}, pct(view.accuracy[k])),
        el("td", {}, fmt(g[0], 2)), el("td", {}, fmt(g[g.length - 1], 2)));
    }));
}

startDemo({ name: "residual", render, stepCount: 10 });
