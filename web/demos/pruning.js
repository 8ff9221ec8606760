// Pruning (pyengine/pyengine/demos/pruning.py): accuracy against sparsity, and recovery by fine-tuning.
import { $, drawGrey, el, lineChart, pct, startDemo } from "./demo.js";

let chart = null;

function render(view) {
  chart ??= lineChart($("#chart"), { title: "test accuracy against the share of weights pruned",
    labels: ["right after pruning", "after fine-tuning"], range: [0, 1], width: 520, height: 260 });
  chart.update(view.curve.map((c) => 100 * c.sparsity), [view.curve.map((c) => c.pruned), view.curve.map((c) => c.finetuned)]);
  const shares = view.first_layer_kept.flat();
  const top = Math.max(...shares) || 1; // scaled to the busiest pixel: at 99% pruned all shares are small
  const kept = shares.map((v) => Math.round((255 * v) / top));
  drawGrey($("#kept"), Uint8Array.from(kept), 14, 14, 12);
  $("#table").replaceChildren(
    el("tr", {}, ...["pruned", "weights left", "accuracy after pruning", "after fine-tuning"].map((t) => el("th", {}, t))),
    ...view.curve.map((c) => el("tr", {}, el("td", {}, pct(c.actual_sparsity)),
      el("td", {}, Math.round(view.weights * (1 - c.actual_sparsity)).toLocaleString("en")),
      el("td", {}, pct(c.pruned)), el("td", {}, pct(c.finetuned)))));
}

startDemo({ name: "pruning", render });
