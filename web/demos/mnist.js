// MNIST convnet (pyengine/pyengine/demos/mnist.py): filters, activations, test digits with top-3 guesses.
import { $, drawGrey, el, greyStrip, lineChart, pct, startDemo } from "./demo.js";

let chart = null;

function render(view) {
  $("#examples").textContent = view.examples.toLocaleString("en");
  $("#train-acc").textContent = pct(view.train_accuracy);
  $("#test-acc").textContent = pct(view.test_accuracy);
  chart ??= lineChart($("#chart"), { title: "training loss (mean of 20 steps)", labels: ["loss"], width: 420 });
  chart.update(view.loss_curve.map((_, i) => (i + 1) * view.stride), [view.loss_curve]);
  greyStrip($("#filters"), view.filters, 5, 5, 14); // 70 px a filter: big enough to watch each weight change
  const input = el("canvas", { className: "pixels" });
  drawGrey(input, view.input, view.size, view.size, 2);
  $("#layers").replaceChildren(el("div", {}, el("b", {}, "input "), input), ...view.layers.map((layer) => {
    const strip = el("div", { className: "strip" });
    greyStrip(strip, layer.images, layer.w, layer.h, layer.h === 1 ? 12 : Math.max(1, Math.round(48 / layer.h)));
    return el("div", {}, el("b", {}, `${layer.name} `), strip);
  }));
  $("#digits").replaceChildren(...view.digits.map((d) => {
    const c = el("canvas", { className: "pixels" });
    drawGrey(c, d.pixels, view.size, view.size, 2);
    const guesses = d.top.map(([k, p], i) => el("span", { className: i === 0 && k !== d.label ? "wrong" : "" },
      `${k}: ${(100 * p).toFixed(0)}%`));
    return el("div", { className: "digit" }, c, ...guesses);
  }));
}

startDemo({ name: "mnist", render, stepCount: 10 });
