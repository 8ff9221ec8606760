// Backprop one step at a time (pyengine/pyengine/demos/backprop.py): the network with its numbers.
import { $, el, fmt, lineChart, setupAgain, startDemo } from "./demo.js";

const SVG = "http://www.w3.org/2000/svg";
const X = [45, 215, 385];  // columns: inputs, hidden, output
const Y = { in: [90, 210], hidden: [90, 210], out: [150] };
let chart = null;

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text != null) node.textContent = text;
  return node;
}

const num = (v) => (v == null ? "" : fmt(v, 3));

/** One edge with its weight (black) and, once known, the weight's gradient (red). */
function edge(g, x1, y1, x2, y2, name, w, grad, t) {
  g.append(svg("line", { x1, y1, x2, y2, stroke: "#c9ced8", "stroke-width": 1.5 }));
  const lx = x1 + (x2 - x1) * t, ly = y1 + (y2 - y1) * t;
  g.append(svg("text", { x: lx, y: ly - 4, "text-anchor": "middle" }, `${name} ${num(w)}`));
  if (grad != null) g.append(svg("text", { x: lx, y: ly + 12, "text-anchor": "middle", class: "grad" }, `∂ ${num(grad)}`));
}

/** One unit: a circle with its name, its value (black) and its gradient (red). */
function unit(g, x, y, name, value, grad, fresh) {
  g.append(svg("circle", { cx: x, cy: y, r: 30, fill: fresh ? "#fef0c7" : "#fff", stroke: "#667085" }));
  g.append(svg("text", { x, y: y - 8, "text-anchor": "middle", class: "name" }, name));
  g.append(svg("text", { x, y: y + 7, "text-anchor": "middle", class: "value" }, num(value)));
  if (grad != null) g.append(svg("text", { x, y: y + 46, "text-anchor": "middle", class: "grad" }, `∂L/∂ ${num(grad)}`));
}

function drawNet(v) {
  const g = $("#net");
  g.replaceChildren();
  const W1 = v.weights.hidden.weight, b1 = v.weights.hidden.bias, W2 = v.weights.output.weight, b2 = v.weights.output.bias;
  const gh = v.param_grads.hidden, go = v.param_grads.output;
  for (let i = 0; i < 2; i++) {
    for (let j = 0; j < 2; j++) {
      edge(g, X[0] + 30, Y.in[i], X[1] - 30, Y.hidden[j], `w${i + 1}${j + 1}`, W1[i][j], gh?.weight[i][j],
        i === j ? 0.5 : i === 0 ? 0.22 : 0.78);  // the crossing edges: labels apart
    }
    edge(g, X[1] + 30, Y.hidden[i], X[2] - 30, Y.out[0], `v${i + 1}`, W2[i][0], go?.weight[i][0], 0.5);
  }
  const stage = v.stage;  // what was just done is stage - 1
  for (let i = 0; i < 2; i++) unit(g, X[0], Y.in[i], `x${i + 1}`, v.x[i], null, false);
  for (let j = 0; j < 2; j++) {
    // a hidden unit shows u (pre-activation) and h = σ(u)
    const label = v.h ? `h${j + 1} = σ(u${j + 1})` : `u${j + 1}`;
    unit(g, X[1], Y.hidden[j], label, v.h ? v.h[j] : v.z?.[j], v.grad.h?.[j], stage === 1 || stage === 2);
    if (v.z) g.append(svg("text", { x: X[1], y: Y.hidden[j] - 38, "text-anchor": "middle", class: "name" },
      `u${j + 1} ${num(v.z[j])}${v.grad.z ? `  ∂ ${num(v.grad.z[j])}` : ""}`));
    g.append(svg("text", { x: X[1], y: Y.hidden[j] + (j === 0 ? -54 : 66), "text-anchor": "middle", class: "name" },
      `b${j + 1} ${num(b1[j])}${gh ? `  ∂ ${num(gh.bias[j])}` : ""}`));
  }
  unit(g, X[2], Y.out[0], v.yhat ? "ŷ = σ(z)" : "z", v.yhat ? v.yhat[0] : v.z2?.[0], v.grad.yhat?.[0], stage === 3 || stage === 4);
  g.append(svg("text", { x: X[2], y: Y.out[0] - 54, "text-anchor": "middle", class: "name" },
    `c ${num(b2[0])}${go ? `  ∂ ${num(go.bias[0])}` : ""}`));
  if (v.z2) g.append(svg("text", { x: X[2], y: Y.out[0] - 38, "text-anchor": "middle", class: "name" },
    `z ${num(v.z2[0])}${v.grad.z2 ? `  ∂ ${num(v.grad.z2[0])}` : ""}`));
  g.append(svg("text", { x: X[2] - 20, y: Y.out[0] + 80, "text-anchor": "middle", class: "value" },
    v.loss == null ? `t = ${num(v.target)}` : `L = ${num(v.loss)} (t = ${num(v.target)})`));
}

function drawTable(v) {
  const rows = [];
  const names = { hidden: { weight: (i, j) => `w${i + 1}${j + 1}`, bias: (i) => `b${i + 1}` },
    output: { weight: (i) => `v${i + 1}`, bias: () => "c" } };
  for (const layer of ["hidden", "output"]) {
    for (const key of ["weight", "bias"]) {
      const w = v.weights[layer][key];
      const flat = key === "weight" ? w.flatMap((row, i) => row.map((x, j) => [i, j])) : w.map((_, i) => [i, 0]);
      for (const [i, j] of flat) {
        const get = (m) => (m == null ? null : key === "weight" ? m[layer]?.[key][i][j] : m[layer]?.[key][i]);
        const name = layer === "hidden" && key === "weight" ? names.hidden.weight(i, j) : names[layer][key](i, j);
        rows.push(el("tr", {}, el("td", {}, name), el("td", {}, num(get(v.weights))),
          el("td", {}, num(get(v.param_grads))), el("td", {}, num(get(v.finite_differences)))));
      }
    }
  }
  $("#grads").replaceChildren(el("tr", {}, ...["weight", "value", "∂L/∂w", "finite diff."]
    .map((t) => el("th", {}, t))), ...rows);
}

function render(v) {
  $("#stages").replaceChildren(...v.stages.map((s, i) => el("li", {
    className: i === v.stage ? "next" : i < v.stage ? "done" : "" }, s)));
  $("#iteration").textContent = v.iteration + 1;
  $("#next").textContent = v.next;
  $("#formula").textContent = v.formula.split("; ").join("\n");
  $("#loss").textContent = v.loss == null ? "–" : fmt(v.loss, 4);
  drawNet(v);
  drawTable(v);
  const box = $("#chart");
  chart ??= lineChart(box, { title: "loss after each pass", labels: ["loss"], log: true,
    width: Math.min(480, box.clientWidth || 480), height: 200 });
  chart.update(v.losses.map((_, i) => v.losses_from + i + 1), [v.losses]);
}

const options = () => Object.fromEntries(["x1", "x2", "target", "lr"].map((k) => [k, $(`#${k}`).value]));
const demo = await startDemo({ name: "backprop", render, options });
$("#apply").addEventListener("click", () => setupAgain(demo, () => {}));
