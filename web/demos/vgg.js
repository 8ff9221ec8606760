// VGG stacks, inception, one 5x5 (pyengine/pyengine/demos/vgg.py): cost, receptive field, accuracy.
import { $, COLOURS, el, fmt, lineChart, pct, startDemo } from "./demo.js";

let charts = null;
const n = (v) => v.toLocaleString("en");

function render(view) {
  const names = view.nets.map((net) => net.name);
  const width = Math.min(440, $("main section").clientWidth - 34 || 440);
  charts ??= {
    acc: lineChart($("#acc-chart"), { title: `test accuracy (${view.test} digits)`, labels: names, range: [0, 1],
      width, height: 240 }),
    loss: lineChart($("#loss-chart"), { title: "training loss (mean of 10 steps)", labels: names, log: true,
      width, height: 240 }),
  };
  const evals = Math.max(...view.nets.map((net) => net.accuracy_curve.length));
  charts.acc.update(Array.from({ length: evals }, (_, i) => i * view.eval_every),
    view.nets.map((net) => net.accuracy_curve));
  const steps = Math.max(...names.map((k) => view.loss_curves[k].length));
  charts.loss.update(Array.from({ length: steps }, (_, i) => (i + 1) * view.stride + 9),
    names.map((k) => view.loss_curves[k]));
  $("#table").replaceChildren(
    el("tr", {}, ...["block", "weights: block", "all", "field", "test acc."]
      .map((t) => el("th", {}, t))),
    ...view.nets.map((net, i) => {
      const swatch = el("span", { className: "swatch" });
      swatch.style.background = COLOURS[i];
      return el("tr", {}, el("td", {}, swatch, net.name), el("td", {}, n(net.block_params)),
        el("td", {}, n(net.total_params)), el("td", {}, `${net.receptive_field}×${net.receptive_field}`),
        el("td", {}, pct(net.test_accuracy)));
    }));
  const where = view.nets.map((net) => `${net.name}: ${net.backend === "webgpu" ? "WebGPU" : "NumPy"}`).join(" · ");
  $("#backend-note").textContent = `Receptive field: the input pixels one output unit of the block depends on. `
    + `“All” adds the stem and the classifier, which grows with the block's output channels `
    + `(${view.nets.map((net) => net.block_layers.at(-1).output.at(-1)).join(", ")}). `
    + `Trained on ${n(view.train)} digits, batches of 32. Runs on ${where}.`;
  $("#blocks").replaceChildren(...view.nets.map((net) => el("div", {}, el("b", {}, net.name),
    el("ul", {}, ...net.block_layers.map((l) => el("li", {}, `${l.name}: ${l.type}${l.kernel ? ` ${l.kernel}×${l.kernel}` : ""}`
      + ` → ${l.output.join("×")}, ${n(l.params)} weights`))))));
}

startDemo({ name: "vgg", render, stepCount: 5 });
