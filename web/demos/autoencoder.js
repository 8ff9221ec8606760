// Denoising autoencoder (pyengine/pyengine/demos/autoencoder.py): 2-D code scatter and reconstructions.
import { $, COLOURS, drawGrey, el, fmt, lineChart, pct, startDemo } from "./demo.js";

const scatter = $("#scatter");
let chart = null;

$("#legend").append(...COLOURS.map((c, d) => {
  const swatch = el("span", { className: "swatch" });
  swatch.style.background = c;
  return el("span", {}, swatch, `${d} `);
}));

function drawScatter(codes, labels) {
  const ctx = scatter.getContext("2d");
  ctx.clearRect(0, 0, scatter.width, scatter.height);
  const xs = codes.map((c) => c[0]), ys = codes.map((c) => c[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const pad = 10, w = scatter.width - 2 * pad, h = scatter.height - 2 * pad;
  codes.forEach(([x, y], i) => {
    ctx.fillStyle = COLOURS[labels[i]];
    ctx.beginPath();
    ctx.arc(pad + ((x - x0) / (x1 - x0 || 1)) * w, pad + (1 - (y - y0) / (y1 - y0 || 1)) * h, 3, 0, 2 * Math.PI);
    ctx.fill();
  });
}

function render(view) {
  $("#test-loss").textContent = fmt(view.test_loss);
  $("#knn").textContent = pct(view.knn_accuracy);
  drawScatter(view.codes, view.labels);
  $("#examples").replaceChildren(...view.examples.map((e) => {
    const row = el("div");
    for (const key of ["noisy", "rebuilt", "clean"]) {
      const c = el("canvas", { className: "pixels" });
      drawGrey(c, e[key], view.size, view.size, 3);
      row.append(c);
    }
    return row;
  }));
  chart ??= lineChart($("#chart"), { title: "training loss (mean of 20 steps)", labels: ["loss"], log: true, width: 360, height: 180 });
  chart.update(view.loss_curve.map((_, i) => (i + 1) * view.stride), [view.loss_curve]);
}

startDemo({ name: "autoencoder", render, stepCount: 20 });
