// Pictures that explain themselves (issue 15): probability bars, colour scales, the feature-input
// boxes, the live learning-rate slider and the convolution close-up. Each draws from what the
// session returned (state, layerViews, convDetail); none keeps state of its own.

import { el, paint } from "./views.js";
import { base64ToBytes } from "../nnplay.js";

export const FEATURES = [["x1", "x₁"], ["x2", "x₂"], ["x1sq", "x₁²"], ["x2sq", "x₂²"], ["x1x2", "x₁x₂"], ["sinx1", "sin x₁"], ["sinx2", "sin x₂"]];

/** One bar per class: its probability; the top one and the true label marked. */
export function drawProbabilities(box, probs, classes, label = null) {
  const top = probs.indexOf(Math.max(...probs));
  box.replaceChildren(...probs.map((p, k) => {
    const row = el("div", { className: "prob-row" + (k === top ? " top" : "") + (k === label ? " truth" : "") });
    row.dataset.testid = `prob-${k}`;
    row.dataset.p = String(p);
    const bar = el("span", { className: "prob-bar" });
    bar.style.width = `${(100 * p).toFixed(1)}%`;
    row.append(el("span", { className: "prob-class", textContent: classes?.[k] ?? String(k) }),
      el("span", { className: "prob-track" }, bar), el("span", { className: "prob-value", textContent: `${(100 * p).toFixed(0)}%` }));
    return row;
  }));
  box.dataset.top = String(top);
}

/** A small colour bar with its two ends' values: what dark and light mean in the picture beside it. */
export function colourScale(lo, hi, { grey = true, what = "" } = {}) {
  const bar = el("span", { className: grey ? "scale-bar grey" : "scale-bar diverging" });
  return el("span", { className: "scale muted" }, what ? `${what} ` : "", `${fmt(lo)} `, bar, ` ${fmt(hi)}`);
}

export function fmt(v) {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 0.01 || a >= 1000) ? v.toExponential(1) : v.toFixed(a < 1 ? 3 : 2);
}

/**
 * The 2-D data's feature inputs as tick boxes (TensorFlow Playground's left column); a change calls
 * `onChange(list)`. Returns refresh(data) that shows the data's choice (hidden for other data).
 */
export function featureBoxes(container, onChange) {
  const boxes = FEATURES.map(([key, label]) => {
    const input = el("input", { type: "checkbox", value: key });
    input.dataset.testid = `feature-${key}`;
    input.addEventListener("change", () => {
      const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
      if (!chosen.length) { input.checked = true; return; } // at least one input
      onChange(chosen);
    });
    container.append(el("label", { className: "feature" }, input, ` ${label}`));
    return input;
  });
  return (data) => {
    const f = data?.options?.features;
    container.hidden = !Array.isArray(f);
    if (Array.isArray(f)) for (const b of boxes) b.checked = f.includes(b.value);
  };
}

/**
 * A logarithmic learning-rate slider (1e-4 … 1) that acts at once, while training too (a setSpec of
 * the same network is applied between two steps). Returns refresh(lr).
 */
export function learningRateSlider(range, out, onChange) {
  const toLr = (v) => Number((10 ** Number(v)).toPrecision(2));
  let timer = null;
  range.addEventListener("input", () => {
    out.textContent = String(toLr(range.value));
    clearTimeout(timer);
    timer = setTimeout(() => onChange(toLr(range.value)), 120);
  });
  return (lr) => {
    if (typeof lr !== "number" || document.activeElement === range) return;
    range.value = String(Math.log10(Math.max(1e-4, Math.min(1, lr))));
    out.textContent = String(lr);
  };
}

/** A grid of numbers (a kernel or an input window), shaded by value. */
function numberGrid(values, cls, max) {
  const table = el("table", { className: `numgrid ${cls}` });
  for (const row of values) {
    table.append(el("tr", {}, ...row.map((v) => {
      const td = el("td", { textContent: Math.abs(v) >= 100 ? v.toExponential(0) : v.toFixed(2), title: String(v) });
      const t = Math.min(1, Math.abs(v) / (max || 1));
      td.style.background = v >= 0 ? `rgba(245, 124, 0, ${(0.45 * t).toFixed(2)})` : `rgba(47, 111, 237, ${(0.45 * t).toFixed(2)})`;
      return td;
    })));
  }
  return table;
}

/** Outline the cells `rows` × `cols` (or one cell) on a scaled-up copy of a map. */
function mapWithBox(pixels, h, w, rows, cols, cls, scale = 4) {
  const src = paint(document.createElement("canvas"), base64ToBytes(pixels), w, h, true);
  const c = document.createElement("canvas");
  c.width = w * scale;
  c.height = h * scale;
  c.className = cls;
  const ctx = c.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(src, 0, 0, c.width, c.height);
  ctx.strokeStyle = "#e8590c";
  ctx.lineWidth = 2;
  const r0 = rows[0], r1 = rows[rows.length - 1], c0 = cols[0], c1 = cols[cols.length - 1];
  ctx.strokeRect(c0 * scale, r0 * scale, (c1 - c0 + 1) * scale, (r1 - r0 + 1) * scale);
  return c;
}

/**
 * The convolution close-up (as CNN Explainer shows it): for one output value of a conv layer, each
 * input channel's window with the kernel's weights and their products' sum, then + bias, the sum
 * before the activation and the value after it. Clicking the output map picks another position:
 * `onPick(row, col)`.
 */
export function drawConvDetail(box, d, onPick, onClose) {
  const [ih, iw] = d.input_shape;
  const [oh, ow] = d.output_shape;
  const head = el("div", { className: "cd-head" },
    el("strong", { textContent: `How ${d.layer} map ${d.channel} gets its value at row ${d.row}, column ${d.col}` }),
    el("button", { type: "button", textContent: "Close", className: "cd-close", onclick: onClose }));
  const intro = el("p", { className: "muted", textContent:
    `A ${d.kernel[0]}×${d.kernel[1]} kernel slides over the input (stride ${d.strides.join("×")}${d.dilation[0] > 1 ? `, dilation ${d.dilation[0]}` : ""}). `
    + "At each position it multiplies the input window (left) by its weights (right) and adds everything up, over every input channel, plus a bias; "
    + "the activation then gives the map's value. Click the output map to pick another position." });
  const terms = el("div", { className: "cd-terms" }, ...d.terms.map((t) => {
    const max = Math.max(1e-6, ...t.window.flat().map(Math.abs));
    const wmax = Math.max(1e-6, ...t.weights.flat().map(Math.abs));
    return el("div", { className: "cd-term", dataset: { testid: `cd-term-${t.channel}` } },
      el("div", { className: "muted", textContent: `input channel ${t.channel}` }),
      mapWithBox(t.picture, ih, iw, d.rows.map((r) => Math.max(0, Math.min(ih - 1, r))), d.cols.map((c) => Math.max(0, Math.min(iw - 1, c))), "cd-map", Math.max(2, Math.round(112 / Math.max(ih, iw)))),
      el("div", { className: "cd-grids" }, numberGrid(t.window, "cd-window", max), el("span", { className: "cd-op", textContent: "×" }),
        numberGrid(t.weights, "cd-kernel", wmax)),
      el("div", { className: "cd-sum", textContent: `sum of products = ${fmt(t.sum)}` }));
  }));
  const more = d.in_channels > d.terms.length
    ? ` + the other ${d.in_channels - d.terms.length} channels (${fmt(d.others)})` : "";
  const total = el("p", { className: "cd-total", dataset: { testid: "cd-total" } },
    `${d.terms.map((t) => fmt(t.sum)).join(" + ")}${more} + bias ${fmt(d.bias)} = ${fmt(d.z)}`,
    el("br"), `${d.activation}(${fmt(d.z)}) = `, el("strong", { textContent: fmt(d.value) }));
  const scale = Math.max(2, Math.round(140 / Math.max(oh, ow)));
  const out = mapWithBox(d.output, oh, ow, [d.row], [d.col], "cd-out", scale);
  out.title = "Click a position to see how it is computed";
  out.dataset.testid = "cd-output";
  out.addEventListener("click", (e) => {
    const r = out.getBoundingClientRect();
    onPick(Math.floor(((e.clientY - r.top) / r.height) * oh), Math.floor(((e.clientX - r.left) / r.width) * ow));
  });
  box.replaceChildren(head, intro, el("div", { className: "cd-body" }, terms,
    el("div", { className: "cd-result" }, el("div", { className: "muted", textContent: `output map ${d.channel} [${oh}×${ow}]` }), out, total)));
  box.hidden = false;
  box.dataset.version = String(Number(box.dataset.version ?? 0) + 1);
}
