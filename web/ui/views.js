// Live views: loss/accuracy charts (uPlot), the 2-D decision heatmap with its points and per-neuron
// thumbnails, per-layer activations / gradients / filters, and the confusion matrix.
// Pixels arrive from the worker as base64 uint8 (see pyengine/playground.py).

import uPlot from "../vendor/uplot/uPlot.esm.js";
import { base64ToBytes } from "../nnplay.js";

/** A DOM element: properties (and a `dataset` object), then children. */
export const el = (tag, props = {}, ...children) => {
  const { dataset, ...rest } = props;
  const node = Object.assign(document.createElement(tag), rest);
  for (const [k, v] of Object.entries(dataset ?? {})) node.dataset[k] = v;
  node.append(...children);
  return node;
};

/** Loss (per step, and per epoch for validation) and accuracy (per epoch) charts. */
export class Charts {
  constructor(lossBox, accBox) {
    // sized from the panel (its padding taken off), so the charts never widen a narrow column or a phone
    const width = () => {
      const box = lossBox.parentElement;
      const pad = parseFloat(getComputedStyle(box).paddingLeft) + parseFloat(getComputedStyle(box).paddingRight);
      return Math.max(180, Math.min(520, Math.floor(box.clientWidth - (pad || 0) - 2)));
    };
    const common = { width: width(), height: 160, legend: { live: false }, scales: { x: { time: false } } };
    this.loss = new uPlot({ ...common, title: "loss", series: [{ label: "step" },
      { label: "train", stroke: "#2f6fed", width: 1 }, { label: "validation", stroke: "#e8590c", width: 2, spanGaps: true }] },
      [[], [], []], lossBox);
    this.acc = new uPlot({ ...common, title: "accuracy", scales: { x: { time: false }, y: { range: [0, 1] } },
      series: [{ label: "epoch" }, { label: "train", stroke: "#2f6fed", width: 2 },
        { label: "validation", stroke: "#e8590c", width: 2 }] }, [[], [], []], accBox);
    const resize = () => {
      this.loss.setSize({ width: width(), height: 160 });
      this.acc.setSize({ width: width(), height: 160 });
    };
    addEventListener("resize", resize);
    new ResizeObserver(() => resize()).observe(lossBox.parentElement);
  }

  /** Empty charts with fresh axes (after Reset, a new network or a loaded model). */
  reset() {
    for (const chart of [this.loss, this.acc]) {
      chart.setData([[], [], []], false);
      chart.setScale("x", { min: 0, max: 1 });
      if (chart === this.loss) chart.setScale("y", { min: 0, max: 1 });
    }
  }

  /** @param {{step_loss: number[], step_stride: number, epochs: object[]}} m from getMetrics() */
  update(m) {
    if (!m.step_loss.length && !m.epochs.length) return this.reset();
    const stride = m.step_stride ?? 1;
    const xs = m.step_loss.map((_, i) => (i + 1) * stride);
    const val = new Array(xs.length).fill(null);
    for (const e of m.epochs) {
      const i = Math.min(xs.length - 1, Math.round(e.step / stride) - 1);
      if (i >= 0 && e.val_loss != null) val[i] = e.val_loss;
    }
    this.loss.setData([xs, m.step_loss, val]);
    this.acc.setData([m.epochs.map((e) => e.epoch), m.epochs.map((e) => e.accuracy), m.epochs.map((e) => e.val_accuracy)]);
  }
}

/** Blue (0) to orange (1) through white, as TensorFlow Playground colours its two classes. */
function colour(v) {
  const t = v / 255;
  const a = [47, 111, 237], b = [245, 124, 0], w = [248, 248, 248];
  const mix = t < 0.5 ? [a, w, t * 2] : [w, b, (t - 0.5) * 2];
  return mix[0].map((c, i) => Math.round(c + (mix[1][i] - c) * mix[2]));
}

/** Paint uint8 values (h x w) into a canvas with the two-class palette (or grey). */
export function paint(canvas, bytes, w, h, grey = false) {
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(w, h);
  for (let i = 0; i < w * h; i++) {
    const rgb = grey ? [bytes[i], bytes[i], bytes[i]] : colour(bytes[i]);
    img.data.set([...rgb, 255], i * 4);
  }
  ctx.putImageData(img, 0, 0);
  return canvas;
}

/** The decision surface, scaled up, with the data points on top. */
export function drawHeatmap(canvas, heat, points) {
  const r = heat.resolution;
  const small = paint(document.createElement("canvas"), base64ToBytes(heat.pixels), r, r);
  const size = canvas.width;
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(small, 0, 0, size, size);
  const toPx = (v) => ((v + heat.extent) / (2 * heat.extent)) * size;
  const dot = (x, y, label, test, wrong) => {
    ctx.beginPath();
    ctx.arc(toPx(x), size - toPx(y), 3, 0, 2 * Math.PI);
    ctx.fillStyle = label >= 0.5 ? "#f57c00" : "#2f6fed";
    ctx.fill();
    ctx.strokeStyle = test ? "#000" : "#fff";
    ctx.lineWidth = 1;
    ctx.stroke();
    if (wrong) { // a misclassified point: ringed
      ctx.beginPath();
      ctx.arc(toPx(x), size - toPx(y), 6, 0, 2 * Math.PI);
      ctx.strokeStyle = "#d92d20";
      ctx.lineWidth = 2;
      ctx.stroke();
    }
  };
  const wrongTrain = new Set(heat.wrong?.train ?? []), wrongVal = new Set(heat.wrong?.val ?? []);
  if (points?.train_x) {
    points.train_x.forEach(([x, y], i) => dot(x, y, points.train_y[i], false, wrongTrain.has(i)));
    points.val_x.forEach(([x, y], i) => dot(x, y, points.val_y[i], true, wrongVal.has(i)));
  }
  canvas.dataset.wrong = String(wrongTrain.size + wrongVal.size);
  canvas.dataset.view = "heatmap";
  canvas.dataset.version = String(Number(canvas.dataset.version ?? 0) + 1);
}

/** A 1-D regression: the data points and the network's fitted curve over them. */
export function drawCurve(canvas, points, curve) {
  const size = canvas.width;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#f8f8f8";
  ctx.fillRect(0, 0, size, size);
  const xs = [...(points?.train_x ?? []), ...(points?.val_x ?? [])].map((p) => p[0]);
  const ys = [...(points?.train_y ?? []), ...(points?.val_y ?? [])].map((p) => (Array.isArray(p) ? p[0] : p));
  const all = [...ys, ...curve.y].filter(Number.isFinite);
  const x0 = Math.min(...xs, ...curve.x), x1 = Math.max(...xs, ...curve.x);
  let y0 = Math.min(...all), y1 = Math.max(...all);
  if (!(y1 > y0)) { y0 -= 1; y1 += 1; }
  const pad = 10;
  const px = (x) => pad + ((x - x0) / (x1 - x0 || 1)) * (size - 2 * pad);
  const py = (y) => size - pad - ((y - y0) / (y1 - y0)) * (size - 2 * pad);
  const dots = (pxs, pys, colour) => pxs.forEach((x, i) => {
    ctx.beginPath();
    ctx.arc(px(x[0]), py(Array.isArray(pys[i]) ? pys[i][0] : pys[i]), 2.5, 0, 2 * Math.PI);
    ctx.fillStyle = colour;
    ctx.fill();
  });
  dots(points?.train_x ?? [], points?.train_y ?? [], "#2f6fed");
  dots(points?.val_x ?? [], points?.val_y ?? [], "#e8590c");
  ctx.beginPath();
  curve.x.forEach((x, i) => (i ? ctx.lineTo(px(x), py(curve.y[i])) : ctx.moveTo(px(x), py(curve.y[i]))));
  ctx.strokeStyle = "#111";
  ctx.lineWidth = 2;
  ctx.stroke();
  canvas.dataset.version = String(Number(canvas.dataset.version ?? 0) + 1);
  canvas.dataset.view = "curve";
}

export function drawNeurons(box, heat) {
  box.replaceChildren(...heat.neurons.map((layer) => el("div", { className: "neuron-layer" },
    el("span", { className: "muted", textContent: `${layer.layer} (${layer.total})` }),
    ...layer.units.map((u, k) => {
      const c = paint(document.createElement("canvas"), base64ToBytes(u), heat.resolution, heat.resolution);
      c.className = "thumb";
      c.title = `${layer.layer} unit ${k}`;
      return c;
    }))));
}

/** What dark and light mean in a layer's pictures: lowest … highest value. */
function scaleKey(lo, hi) {
  const f = (v) => (Math.abs(v) >= 100 || (v !== 0 && Math.abs(v) < 0.01) ? v.toExponential(1) : v.toFixed(2));
  return el("span", { className: "scale muted" }, ` black ${f(lo)} `, el("span", { className: "scale-bar grey" }), ` ${f(hi)} white`);
}

/** ConvNetJS-style rows: one per layer, its activation channels, weight gradient and filters. */
export function drawLayerViews(box, views) {
  const pics = (images, w, h, cls) => images.map((b) => {
    const c = paint(document.createElement("canvas"), base64ToBytes(b), w, h, true);
    c.className = cls;
    return c;
  });
  box.replaceChildren(...views.layers.map((v) => {
    const row = el("div", { className: "lv-row" });
    row.dataset.testid = `lv-${v.name}`;
    row.append(el("div", { className: "lv-name" }, el("strong", { textContent: v.name }),
      el("span", { className: "muted", textContent: ` ${v.type} [${v.shape.join(", ")}] ` }),
      scaleKey(v.range[0], v.range[1])));
    const acts = el("div", { className: "lv-pics" }, ...pics(v.images, v.w, v.h, v.h === 1 ? "act-row" : "act"));
    row.append(acts);
    if (v.h === 1 && views.classes?.length === v.w && v === views.layers[views.layers.length - 1]) { // the output: one unit per class
      acts.firstChild.classList.add("act-classes");
      row.append(el("div", { className: "lv-classes" }, ...views.classes.map((k) => el("span", { textContent: k }))));
    }
    if (v.filters) row.append(el("div", { className: "lv-pics" }, el("span", { className: "muted", textContent: "filters " }),
      ...pics(v.filters.images, v.filters.w, v.filters.h, "filter")));
    if (v.gradient) row.append(el("div", { className: "lv-pics" }, el("span", { className: "muted", textContent: "weight gradient " }),
      ...pics([v.gradient.pixels], v.gradient.w, v.gradient.h, "grad")));
    return row;
  }));
}

export function drawConfusion(box, c) {
  const table = el("table", { className: "confusion" });
  table.append(el("caption", { textContent: `Confusion matrix (${c.split}, ${c.wrong} of ${c.total} wrong); rows: true class` }));
  const head = el("tr", {}, el("th", { textContent: "" }), ...c.classes.map((k) => el("th", { textContent: k, scope: "col" })));
  table.append(head);
  const max = Math.max(1, ...c.matrix.flat());
  c.matrix.forEach((row, i) => {
    table.append(el("tr", {}, el("th", { textContent: c.classes[i] ?? i, scope: "row" }), ...row.map((n, j) => {
      const td = el("td", { textContent: n });
      const a = n / max;
      td.style.background = i === j ? `rgba(6, 118, 71, ${a * 0.6})` : `rgba(180, 35, 24, ${a * 0.6})`;
      return td;
    })));
  });
  const wrong = el("div", { className: "misclassified" }, ...c.examples.filter((e) => e.pixels).map((e) => {
    const fig = el("figure", {});
    if (e.pixels) fig.append(paint(document.createElement("canvas"), base64ToBytes(e.pixels), e.w, e.h, true));
    fig.append(el("figcaption", { textContent: `${c.classes[e.label] ?? e.label}→${c.classes[e.predicted] ?? e.predicted}` }));
    return fig;
  }));
  const pictured = c.examples.some((e) => e.pixels);
  box.replaceChildren(table, ...(pictured ? [el("p", { className: "muted", textContent: "Misclassified (true→predicted):" }), wrong] : []));
}
