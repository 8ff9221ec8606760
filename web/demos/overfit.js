// Overfitting lab (pyengine/pyengine/demos/overfit.py): training and validation curves side by side.
import { $, COLOURS, el, fmt, lineChart, pct, startDemo } from "./demo.js";

let charts = null;

function render(view) {
  const names = Object.keys(view.variants);
  charts ??= {
    train: lineChart($("#train-chart"), { title: "training loss (200 digits)", labels: names, log: true, width: 440, height: 260 }),
    val: lineChart($("#val-chart"), { title: "validation loss (1,000 unseen digits)", labels: names, width: 440, height: 260 }),
  };
  const xs = view.history.plain.loss.map((_, i) => i + 1);
  charts.train.update(xs, names.map((k) => view.history[k].loss));
  charts.val.update(xs, names.map((k) => view.history[k].val_loss));
  $("#epochs").textContent = view.epochs;
  $("#early").textContent = view.early_stopped_at
    ? `stopped at epoch ${view.early_stopped_at}, kept epoch ${view.early_best_epoch}` : "still training";
  $("#table").replaceChildren(
    el("tr", {}, ...["variant", "what it does", "train loss", "val loss", "train acc", "val acc", "best val acc"]
      .map((t) => el("th", {}, t))),
    ...names.filter((k) => view.final[k]).map((k) => {
      const f = view.final[k];
      const swatch = el("span", { className: "swatch" });
      swatch.style.background = COLOURS[names.indexOf(k)];
      return el("tr", {}, el("td", {}, swatch, k), el("td", {}, view.variants[k]), el("td", {}, fmt(f.loss)),
        el("td", {}, fmt(f.val_loss)), el("td", {}, pct(f.accuracy)), el("td", {}, pct(f.val_accuracy)),
        el("td", {}, pct(f.best_val_accuracy)));
    }));
}

startDemo({ name: "overfit", render });
