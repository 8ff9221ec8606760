// The network builder: a palette of every pyengine layer type, the layer list (drag and drop with
// SortableJS, or the ↑/↓ buttons and Alt+Arrow keys), a form per layer built from the engine's own
// field table, and live output shape / parameter count / inline engine messages per layer.

import Sortable from "../vendor/sortablejs/sortable.esm.js";
import { isPlainObject, own } from "./validate.js";

const el = (tag, props = {}, ...children) => {
  const { dataset, ...rest } = props;
  const node = Object.assign(document.createElement(tag), rest);
  for (const [k, v] of Object.entries(dataset ?? {})) node.dataset[k] = v;
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
};

/** "5" -> 5, "[3, 3]" -> [3, 3], "same" -> "same", "" -> undefined (the engine's default). */
export function parseFieldText(text) {
  const t = text.trim();
  if (t === "") return undefined;
  try {
    return JSON.parse(t);
  } catch {
    return t;
  }
}

const fieldText = (v) => (v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v));

export class Builder {
  /**
   * @param {{palette: HTMLElement, list: HTMLElement, catalogue: object, onChange: (layers: object[]) => void}} opts
   */
  constructor({ palette, list, catalogue, onChange }) {
    this.list = list;
    this.catalogue = catalogue;
    this.onChange = onChange;
    /** @type {object[]} spec layer dicts, as the user gave them */
    this.layers = [];
    this.info = null; // the latest checkSpec result
    for (const type of Object.keys(catalogue.layers)) {
      const button = el("button", { type: "button", textContent: `+ ${type}`, title: `Add a ${type} layer at the end` });
      button.dataset.testid = `palette-${type}`;
      button.addEventListener("click", () => this.add(type));
      palette.append(button);
    }
    Sortable.create(list, {
      handle: ".drag-handle",
      animation: 120,
      onEnd: ({ oldIndex, newIndex }) => {
        if (oldIndex !== newIndex) this.move(oldIndex, newIndex);
      },
    });
  }

  setLayers(layers) {
    // From a link, the autosave or a file: each entry an object, its type and name text (an object
    // there would throw where the builder writes them out); the engine then says what is wrong.
    const asText = (v) => (typeof v === "string" ? v : String(JSON.stringify(v)));
    this.layers = (Array.isArray(layers) ? layers : []).map((l) => {
      const layer = isPlainObject(l) ? { ...l } : {};
      if (Object.hasOwn(layer, "type")) layer.type = asText(layer.type);
      if (Object.hasOwn(layer, "name") && layer.name !== undefined) layer.name = asText(layer.name);
      return layer;
    });
    this.render();
  }

  changed() {
    this.render();
    this.onChange(this.layers);
  }

  add(type) {
    const layer = { type };
    for (const f of own(this.catalogue.layers, type) ?? []) {
      if (f.required) layer[f.name] = f.start ?? 1; // the layer record's starting value
    }
    if (this.catalogue.joins.includes(type)) {
      const names = this.names();
      layer.inputs = names.slice(-2).length === 2 ? names.slice(-2) : ["input", ...names.slice(-1)];
    }
    this.layers.push(layer);
    this.changed();
    this.list.lastElementChild?.querySelector("input, select")?.focus();
  }

  remove(i) {
    this.layers.splice(i, 1);
    this.changed();
  }

  move(from, to) {
    if (to < 0 || to >= this.layers.length) return;
    const [layer] = this.layers.splice(from, 1);
    this.layers.splice(to, 0, layer);
    this.changed();
    this.list.children[to]?.querySelector(`[data-testid="layer-${to}-${to < from ? "up" : "down"}"]`)?.focus();
  }

  /** Layer names as the engine resolves them (default `<type>_<index>`). */
  names() {
    return this.layers.map((l, i) => l.name ?? `${l.type}_${i}`);
  }

  /** Show a checkSpec result: shapes, parameter counts and messages per layer. */
  showInfo(info) {
    this.info = info;
    [...this.list.children].forEach((li, i) => {
      const layer = info?.layers?.[i];
      li.querySelector(".shape").textContent = layer?.output_shape ? `→ [${layer.output_shape.join(", ")}]` : "→ ?";
      li.querySelector(".params").textContent = layer?.param_count != null ? `${layer.param_count.toLocaleString("en")} params` : "";
      const msg = li.querySelector(".layer-msg");
      const messages = layer?.messages ?? [];
      msg.textContent = messages.join("\n");
      msg.hidden = messages.length === 0;
      li.classList.toggle("invalid", messages.length > 0);
    });
  }

  render() {
    const names = this.names();
    this.list.replaceChildren(...this.layers.map((layer, i) => this.renderLayer(layer, i, names)));
    if (this.info) this.showInfo(this.info);
    this.redrawGraph();
  }

  redrawGraph() {
    const graph = document.querySelector("#graph");
    if (graph) drawGraph(graph, this.layers, this.names());
  }

  renderLayer(layer, i, names) {
    const tid = (s) => `layer-${i}-${s}`;
    const li = el("li", { className: "layer", tabIndex: 0 });
    li.dataset.testid = `layer-${i}`;
    li.dataset.type = layer.type;
    li.setAttribute("aria-label", `Layer ${i + 1}: ${layer.type}. Alt+Up / Alt+Down move it.`);
    li.addEventListener("keydown", (e) => {
      if (e.altKey && (e.key === "ArrowUp" || e.key === "ArrowDown")) {
        e.preventDefault();
        this.move(i, i + (e.key === "ArrowUp" ? -1 : 1));
      }
    });
    const button = (text, label, test, action) => {
      const b = el("button", { type: "button", textContent: text, title: label });
      b.setAttribute("aria-label", label);
      b.dataset.testid = tid(test);
      b.addEventListener("click", action);
      return b;
    };
    const head = el("div", { className: "layer-head" },
      el("span", { className: "drag-handle", textContent: "⠿", title: "Drag to reorder" }),
      el("strong", { textContent: layer.type }),
      el("span", { className: "muted", textContent: ` ${names[i]}` }),
      el("span", { className: "shape", dataset: { testid: tid("shape") } }),
      el("span", { className: "params muted", dataset: { testid: tid("params") } }),
      el("span", { className: "spacer" }),
      button("↑", `Move layer ${i + 1} up`, "up", () => this.move(i, i - 1)),
      button("↓", `Move layer ${i + 1} down`, "down", () => this.move(i, i + 1)),
      button("✕", `Remove layer ${i + 1}`, "remove", () => this.remove(i)));
    const form = el("div", { className: "layer-form" });
    for (const f of own(this.catalogue.layers, layer.type) ?? []) form.append(this.renderField(layer, i, f));
    if (this.catalogue.joins.includes(layer.type)) form.append(this.renderInputs(layer, i, names));
    const msg = el("p", { className: "error layer-msg", hidden: true });
    msg.dataset.testid = tid("msg");
    li.append(head, form, msg);
    return li;
  }

  renderField(layer, i, f) {
    const id = `layer-${i}-${f.name}`;
    const label = el("label", { htmlFor: id, textContent: f.name });
    let input;
    if (f.name === "activation") {
      input = el("select", { id });
      input.append(new Option("none", ""), ...this.catalogue.activations.map((a) => new Option(a, a)));
      input.value = layer.activation ?? "";
      input.addEventListener("change", () => this.setField(i, "activation", input.value || undefined));
    } else if (f.expected === "true or false" || typeof f.default === "boolean") {
      input = el("input", { id, type: "checkbox", checked: layer[f.name] ?? f.default });
      input.addEventListener("change", () => this.setField(i, f.name, input.checked));
    } else {
      const placeholder = f.default && typeof f.default === "object" && "same_as" in f.default
        ? `= ${f.default.same_as}` : fieldText(f.default ?? "");
      input = el("input", { id, type: "text", value: fieldText(layer[f.name]), placeholder, size: 6 });
      input.addEventListener("change", () => this.setField(i, f.name, parseFieldText(input.value)));
    }
    input.dataset.testid = `layer-${i}-${f.name}`;
    input.title = `${f.name}: ${f.expected}${f.required ? " (required)" : ""}`;
    return el("span", { className: "layer-field" }, label, input);
  }

  renderInputs(layer, i, names) {
    const box = el("fieldset", { className: "join-inputs" }, el("legend", { textContent: "inputs (earlier layers)" }));
    const chosen = new Set(layer.inputs ?? []);
    ["input", ...names.slice(0, i)].forEach((name) => {
      const id = `layer-${i}-in-${name}`;
      const cb = el("input", { type: "checkbox", id, checked: chosen.has(name) });
      cb.dataset.testid = `layer-${i}-input-${name}`;
      cb.addEventListener("change", () => {
        const next = new Set(this.layers[i].inputs ?? []);
        if (cb.checked) next.add(name);
        else next.delete(name);
        this.setField(i, "inputs", ["input", ...names.slice(0, i)].filter((n) => next.has(n)));
      });
      box.append(el("label", { htmlFor: id, className: "check" }, cb, ` ${name}`));
    });
    return box;
  }

  setField(i, name, value) {
    if (value === undefined) delete this.layers[i][name];
    else this.layers[i][name] = value;
    if (name === "inputs") this.redrawGraph(); // the graph's arcs follow the join's inputs
    this.onChange(this.layers); // no re-render: keep the focus where the learner is typing
  }
}

/**
 * The layer DAG as SVG when the network has joins (a layer with `inputs`): one box per layer top to
 * bottom, a straight edge from the layer before, and an arc on the right for each named input further up.
 * The boxes widen for long labels up to GRAPH_LABEL_CHARS characters; a longer label ends in "…" and its
 * <title> (the tooltip) holds it whole.
 */
export function drawGraph(svg, layers, names) {
  const joined = layers.some((l) => Array.isArray(l.inputs));
  svg.toggleAttribute("hidden", !joined); // (SVG elements have no .hidden property)
  svg.replaceChildren();
  if (!joined) return;
  const NS = "http://www.w3.org/2000/svg";
  const node = (tag, attrs, text) => {
    const n = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text) n.textContent = text;
    svg.append(n);
    return n;
  };
  const all = ["input", ...names];
  const labels = all.map((name, k) => (k === 0 ? "input" : `${name} (${layers[k - 1].type})`));
  const chars = Math.min(GRAPH_LABEL_CHARS, Math.max(...labels.map((t) => t.length)));
  const row = 26, x = 10, w = Math.max(150, Math.ceil(chars * GRAPH_CHAR_PX) + 12);
  const y = (k) => 8 + k * row; // box k: 0 is the input
  svg.setAttribute("viewBox", `0 0 ${w + 120} ${y(all.length) + 4}`);
  svg.setAttribute("width", String(w + 120));
  const edge = (from, to, curved) => {
    const x1 = x + w, y1 = y(from) + 9, y2 = y(to) + 9;
    const bend = x + w + 12 + 10 * Math.min(8, to - from);
    node("path", { d: curved ? `M${x1},${y1} C${bend},${y1} ${bend},${y2} ${x1},${y2}` : `M${x + w / 2},${y(from) + 18} L${x + w / 2},${y(to)}`,
      class: curved ? "graph-edge join" : "graph-edge", "data-from": all[from], "data-to": all[to] });
  };
  layers.forEach((layer, i) => {
    const k = i + 1;
    const sources = Array.isArray(layer.inputs) ? layer.inputs : [all[k - 1]];
    for (const s of sources) {
      const from = all.indexOf(s);
      if (from >= 0) edge(from, k, from !== k - 1);
    }
  });
  labels.forEach((full, k) => {
    node("rect", { x, y: y(k), width: w, height: 18, rx: 4, class: "graph-node" });
    const text = node("text", { x: x + 6, y: y(k) + 13, class: "graph-label" },
      full.length > GRAPH_LABEL_CHARS ? `${full.slice(0, GRAPH_LABEL_CHARS - 1)}…` : full);
    // A font wider than assumed (measurable only when the graph is displayed): shorten until it fits.
    while (text.textContent.length > 2 && text.getComputedTextLength?.() > w - 12) {
      text.textContent = `${text.textContent.replace(/…$/, "").slice(0, -1)}…`;
    }
    if (text.textContent !== full) {
      const title = document.createElementNS(NS, "title");
      title.textContent = full;
      text.append(title);
    }
  });
}

const GRAPH_LABEL_CHARS = 40; // the longest label shown whole in the layer graph
const GRAPH_CHAR_PX = 6.1; // one character of .graph-label (10px monospace, style.css)
