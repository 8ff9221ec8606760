// The network as a picture you can edit (issue 15), drawn from the session's state only.
// - A dense net: one column per layer, every neuron drawn (a live thumbnail of its output over the
//   2-D plane when the data is 2-D), edges coloured by the weight's sign and as thick as its size;
//   hovering a neuron shows its output in the big heatmap; +/− change a layer's units, add or remove
//   a layer. Every edit is one setSpec of the edited spec (the request the form cards make), so the
//   picture, the cards and getSpec() always show the same network.
// - A conv net (or any net whose layers make pictures): each layer's feature maps as a column of
//   thumbnails for the chosen example; clicking a conv layer's map asks for its close-up.
// - A graph (add/concat joins): the layer DAG (drawGraph, shared with the builder).

import { el, paint } from "./views.js";
import { base64ToBytes } from "../nnplay.js";

const DENSE_LIKE = new Set(["dense", "activation", "relu", "tanh", "sigmoid", "leaky_relu", "elu", "softmax",
  "dropout", "batchnorm", "layernorm", "gaussian_noise"]);
const FEATURE_LABELS = { x1: "x₁", x2: "x₂", x1sq: "x₁²", x2sq: "x₂²", x1x2: "x₁x₂", sinx1: "sin x₁", sinx2: "sin x₂" };
export const MAX_UNITS = 64; // the +/− buttons stop here (the heatmap thumbnails stop here too)

const svgNode = (tag, attrs = {}) => {
  const n = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  return n;
};

/** What kind of picture the spec makes: "dense" | "graph" | "maps". */
export function pictureKind(spec) {
  const layers = spec?.layers ?? [];
  if (layers.some((l) => Array.isArray(l.inputs) && l.inputs.length > 1) || layers.some((l) => l.type === "add" || l.type === "concat")) return "graph";
  if ((spec?.input ?? []).length === 1 && layers.every((l) => DENSE_LIKE.has(l.type))) return "dense";
  return "maps";
}

// --- spec edits: each returns a new spec (the caller sends it with setSpec) ---------------------
/** `spec` with dense layer `index` given `units` neurons. */
export function withUnits(spec, index, units) {
  const layers = spec.layers.map((l, i) => (i === index ? { ...l, units } : { ...l }));
  return { ...spec, layers };
}
/** `spec` with a copy of dense layer `index` (units, activation) inserted after it. */
export function withLayerAdded(spec, index) {
  const src = spec.layers[index];
  const copy = { type: "dense", units: src.units, ...(src.activation ? { activation: src.activation } : {}) };
  const layers = spec.layers.map((l) => ({ ...l }));
  layers.splice(index + 1, 0, copy);
  return { ...spec, layers };
}
/** `spec` without layer `index`. */
export function withLayerRemoved(spec, index) {
  return { ...spec, layers: spec.layers.filter((_, i) => i !== index).map((l) => ({ ...l })) };
}

/** A separate activation layer right after a dense layer (else the dense layer is linear). */
function activationAfter(next) {
  if (!next) return "linear";
  if (next.type === "activation") return next.activation ?? "linear";
  return ["relu", "tanh", "sigmoid", "leaky_relu", "elu", "softmax"].includes(next.type) ? next.type : "linear";
}

/** The columns of a dense net: the input, then each dense layer (with its spec index). */
function denseColumns(spec, heat, data) {
  const features = data?.options?.features;
  const n = spec.input[0];
  const inputs = heat?.inputs?.length === n ? heat.inputs : null;
  const cols = [{ kind: "input", label: "input", units: n,
    names: Array.from({ length: n }, (_, k) => (features?.length === n ? FEATURE_LABELS[features[k]] ?? features[k] : n <= 16 ? `x${k + 1}` : "")),
    thumbs: inputs?.map((i) => i.pixels) ?? null }];
  const heatBy = new Map((heat?.neurons ?? []).map((e) => [e.layer, e]));
  const denses = spec.layers.map((l, i) => [l, i]).filter(([l]) => l.type === "dense");
  denses.forEach(([l, i], k) => {
    const last = k === denses.length - 1;
    const name = l.name ?? `dense_${i}`;
    const h = heatBy.get(name);
    cols.push({ kind: last ? "output" : "hidden", label: last ? "output" : `layer ${k + 1}`, index: i, name, units: l.units,
      activation: l.activation ?? activationAfter(spec.layers[i + 1]),
      thumbs: h ? h.units : null, weight: h?.weight ?? null,
      names: last && data?.classes?.length === l.units ? data.classes : [] });
  });
  return cols;
}

export class NetPicture {
  /**
   * @param {HTMLElement} box
   * @param {{onSpec: (spec: object) => any, onHover: (thumb: string | null, label: string) => void,
   *          onMap: (layer: string, channel: number) => void, drawGraph: (svg: SVGElement) => void}} hooks
   */
  constructor(box, hooks) {
    this.box = box;
    this.hooks = hooks;
    this.state = null;
    this.heat = null;
    this.views = null;
    addEventListener("resize", () => this.state && this.draw());
  }

  /** Draw for `state`; `extra` is the latest heatmap (2-D data) or layer views (a conv net), when known. */
  render(state, extra = {}) {
    this.state = state;
    if ("heat" in extra) this.heat = extra.heat;
    if ("views" in extra) this.views = extra.views;
    this.draw();
  }

  draw() {
    const spec = this.state?.spec;
    if (!spec) return this.box.replaceChildren();
    const kind = pictureKind(spec);
    this.box.dataset.kind = kind;
    this.box.dataset.spec = JSON.stringify(spec.layers.map((l) => [l.type, l.units ?? l.filters ?? null]));
    if (kind === "dense") this.drawDense(spec);
    else if (kind === "graph") this.drawGraph();
    else this.drawMaps(spec);
    this.box.dataset.version = String(Number(this.box.dataset.version ?? 0) + 1);
  }

  edit(spec) {
    this.hooks.onSpec(spec);
  }

  drawDense(spec) {
    const heat = this.heat && this.state.data?.kind === "2d" ? this.heat : null;
    const cols = denseColumns(spec, heat, this.state.data);
    const width = Math.max(260, this.box.clientWidth || 400);
    const most = Math.max(...cols.map((c) => Math.min(c.units, MAX_UNITS * 2)));
    const size = Math.max(6, Math.min(30, Math.floor(420 / most) - 4)); // a neuron's square, px
    const gap = Math.max(2, Math.min(6, Math.round(size / 5)));
    const headH = 64, labelW = cols[0].names.some(Boolean) ? 34 : 0;
    const colW = (width - labelW - 8) / cols.length;
    const height = headH + most * (size + gap) + 8;
    const x = (c) => labelW + colW * c + colW / 2;
    const y = (c, u) => headH + ((most - cols[c].shown) * (size + gap)) / 2 + u * (size + gap) + size / 2;
    for (const c of cols) c.shown = Math.min(c.units, MAX_UNITS * 2);
    const stage = el("div", { className: "np-stage" });
    stage.style.height = `${height}px`;
    const svg = svgNode("svg", { class: "np-edges", width, height, viewBox: `0 0 ${width} ${height}` });
    stage.append(svg);
    // edges: colour = sign (orange +, blue −), thickness and opacity = size
    cols.forEach((col, c) => {
      if (!c || !col.weight) return;
      const w = col.weight;
      const max = Math.max(1e-6, ...w.flat().map(Math.abs));
      const prev = cols[c - 1];
      for (let i = 0; i < Math.min(prev.shown, w.length); i++) {
        for (let j = 0; j < Math.min(col.shown, w[i].length); j++) {
          const v = w[i][j];
          const t = Math.abs(v) / max;
          svg.append(svgNode("line", { x1: x(c - 1) + size / 2, y1: y(c - 1, i), x2: x(c) - size / 2, y2: y(c, j),
            stroke: v >= 0 ? "#f57c00" : "#2f6fed", "stroke-width": (0.3 + 3.2 * t).toFixed(2),
            "stroke-opacity": (0.15 + 0.8 * t).toFixed(2), class: "np-edge", "data-w": v.toFixed(4) }));
        }
      }
    });
    cols.forEach((col, c) => {
      const head = el("div", { className: "np-head" });
      head.style.left = `${labelW + colW * c}px`;
      head.style.width = `${colW}px`;
      head.dataset.testid = `np-col-${c}`;
      const title = col.kind === "input" ? `${col.units} input${col.units > 1 ? "s" : ""}`
        : col.kind === "output" ? `output: ${col.units}` : `${col.units} neuron${col.units > 1 ? "s" : ""}`;
      head.append(el("span", { className: "np-col-label muted", textContent: col.kind === "hidden" ? `${col.label} · ${col.activation}` : "" }));
      head.append(el("span", { className: "np-title", textContent: title, title: col.activation ? `${col.name}, ${col.activation}` : "" }));
      if (col.kind === "hidden") {
        const b = (text, label, testid, fn, disabled = false) => {
          const btn = el("button", { type: "button", textContent: text, title: label, disabled, className: "np-btn" });
          btn.setAttribute("aria-label", label);
          btn.dataset.testid = testid;
          btn.addEventListener("click", fn);
          return btn;
        };
        head.append(el("span", { className: "np-btns" },
          b("−", `One neuron fewer in ${col.label}`, `np-units-minus-${c}`, () => this.edit(withUnits(spec, col.index, col.units - 1)), col.units <= 1),
          b("+", `One neuron more in ${col.label}`, `np-units-plus-${c}`, () => this.edit(withUnits(spec, col.index, col.units + 1)), col.units >= MAX_UNITS)),
        el("span", { className: "np-btns" },
          b("⊕", `Add a layer after ${col.label}`, `np-layer-add-${c}`, () => this.edit(withLayerAdded(spec, col.index))),
          b("✕", `Remove ${col.label}`, `np-layer-remove-${c}`, () => this.edit(withLayerRemoved(spec, col.index)))));
      } else if (col.kind === "input" && cols.length === 2) {
        const btn = el("button", { type: "button", textContent: "⊕ layer", className: "np-btn", title: "Add a hidden layer" });
        btn.dataset.testid = "np-layer-add-0";
        btn.addEventListener("click", () => this.edit({ ...spec,
          layers: [{ type: "dense", units: 8, activation: "tanh" }, ...spec.layers.map((l) => ({ ...l }))] }));
        head.append(btn);
      }
      stage.append(head);
      for (let u = 0; u < col.shown; u++) {
        let n;
        const thumb = col.thumbs?.[u];
        if (thumb && heat) {
          n = paint(document.createElement("canvas"), base64ToBytes(thumb), heat.resolution, heat.resolution);
          n.className = "np-neuron np-thumb";
        } else {
          n = el("div", { className: `np-neuron np-dot np-${col.kind}` });
        }
        n.style.left = `${x(c) - size / 2}px`;
        n.style.top = `${y(c, u) - size / 2}px`;
        n.style.width = n.style.height = `${size}px`;
        const name = col.names?.[u];
        n.title = col.kind === "input" ? `input ${name || u + 1}` : col.kind === "output" ? `output ${name || u} (before softmax)` : `${col.label} neuron ${u + 1}`;
        n.dataset.testid = `np-neuron-${c}-${u}`;
        if (thumb && heat) {
          n.addEventListener("mouseenter", () => this.hooks.onHover(thumb, n.title));
          n.addEventListener("mouseleave", () => this.hooks.onHover(null, ""));
        }
        stage.append(n);
        if (name && (col.kind === "input" || col.kind === "output")) {
          const lab = el("span", { className: "np-label", textContent: name });
          lab.style.top = `${y(c, u) - 8}px`;
          if (col.kind === "input") lab.style.left = `${x(c) - size / 2 - labelW - 2}px`;
          else lab.style.left = `${x(c) + size / 2 + 3}px`;
          lab.style.width = `${labelW}px`;
          stage.append(lab);
        }
      }
    });
    const legend = el("p", { className: "np-legend muted" },
      heat ? "Each square is a neuron's output over the plane (hover one to see it large). " : "",
      el("span", { className: "np-key np-pos" }), " positive weight ", el("span", { className: "np-key np-neg" }),
      " negative weight; thicker = larger. − + change a layer's neurons, ⊕ adds a layer after it, ✕ removes it.");
    this.box.replaceChildren(stage, legend);
  }

  drawGraph() {
    const svg = svgNode("svg", { class: "graph np-graph", role: "img", "aria-label": "The layer graph" });
    svg.dataset.testid = "np-graph";
    this.box.replaceChildren(el("p", { className: "muted", textContent: "A graph: the arcs on the right are the joins (add, concat). Edit the layers in the cards below." }), svg);
    this.hooks.drawGraph(svg);
  }

  drawMaps(spec) {
    const v = this.views;
    if (!v?.layers) {
      this.box.replaceChildren(el("p", { className: "muted", textContent: "The layers' pictures appear once data is loaded." }));
      return;
    }
    const strip = el("div", { className: "np-maps" });
    strip.dataset.testid = "np-maps";
    const convs = new Set(spec.layers.map((l, i) => (l.type === "conv2d" ? l.name ?? `conv2d_${i}` : null)).filter(Boolean));
    for (const layer of v.layers) {
      const col = el("div", { className: "np-mapcol" });
      col.append(el("div", { className: "np-maphead", textContent: layer.name, title: `${layer.type} [${layer.shape.join(", ")}]` }),
        el("div", { className: "muted np-mapshape", textContent: `[${layer.shape.join("×")}]` }));
      const grey = true;
      layer.images.forEach((b, k) => {
        const c = paint(document.createElement("canvas"), base64ToBytes(b), layer.w, layer.h, grey);
        c.className = layer.h === 1 ? "np-maprow" : "np-map";
        if (convs.has(layer.name)) {
          c.classList.add("np-clickable");
          c.title = `${layer.name} feature map ${k}: click to see how it is computed`;
          c.dataset.testid = `np-map-${layer.name}-${k}`;
          c.addEventListener("click", () => this.hooks.onMap(layer.name, k));
        } else c.title = `${layer.name} ${layer.h === 1 ? "units" : `channel ${k}`}`;
        col.append(c);
      });
      if (layer.shape.length === 3 && layer.shape[2] > layer.images.length) {
        col.append(el("div", { className: "muted np-mapshape", textContent: `first ${layer.images.length} of ${layer.shape[2]}` }));
      }
      strip.append(col);
    }
    this.box.replaceChildren(el("p", { className: "np-legend muted",
      textContent: `Each column is a layer's output for example ${v.example} (black = lowest, white = highest). Click a conv layer's map to see the kernel at work.` }), strip);
  }
}
