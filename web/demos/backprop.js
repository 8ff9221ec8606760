// Backprop one step at a time (pyengine/pyengine/demos/backprop.py): the network with its numbers.
import { $, el, fmt, lineChart, setupAgain, startDemo } from "./demo.js";

const SVG = "http://www.w3.org/2000/svg";
const X = [45, 215, 385];  // columns: inputs, hidden, output
const Y = { in: [95, 275], hidden: [95, 275], out: [185] };
const R = 40;  // unit radius
let chart = null;

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text != null) node.textContent = text;
  return node;
}

const num = (v) => (v == null || v === "" ? "" : fmt(v, 3));

/** One edge with its weight (black) and, once known, the weight's gradient (red), `t` of the way along. */
function edge(g, [x1, y1], [x2, y2], name, w, grad, t) {
  g.append(svg("line", { x1: x1 + R, y1, x2: x2 - R, y2, stroke: "#c9ced8", "stroke-width": 1.5 }));
  const lx = x1 + R + (x2 - x1 - 2 * R) * t, ly = y1 + (y2 - y1) * t;
  g.append(svg("text", { x: lx, y: ly - 3, "text-anchor": "middle", class: "halo" }, `${name} ${num(w)}`));
  if (grad != null) g.append(svg("text", { x: lx, y: ly + 13, "text-anchor": "middle", class: "grad halo" }, `∂ ${num(grad)}`));
}

/** One unit: up to two values inside (e.g. u and h = σ(u)), their gradients (red) below it (above: `up`). */
function unit(g, [x, y], lines, grads, fresh, up = false) {
  g.append(svg("circle", { cx: x, cy: y, r: R, fill: fresh ? "#fef0c7" : "#fff", stroke: "#667085" }));
  const shown = lines.filter(([, v]) => v != null);
  shown.forEach(([name, v], i) => g.append(svg("text", { x, y: y + 5 + (i - (shown.length - 1) / 2) * 17,
    "text-anchor": "middle", class: i === shown.length - 1 ? "value" : "name" }, `${name} ${num(v)}`)));
  const known = grads.filter(([, v]) => v != null);
  known.forEach(([name, v], i) => g.append(svg("text", { x, y: up ? y - R - 8 - 17 * (known.length - 1 - i)
    : y + R + 16 + 17 * i, "text-anchor": "middle", class: "grad" }, `∂L/∂${name} ${num(v)}`)));
}

function drawNet(v) {
  const g = $("#net");
  g.replaceChildren();
  const W1 = v.weights.hidden.weight, W2 = v.weights.output.weight;
  const gh = v.param_grads.hidden, go = v.param_grads.output;
  const at = (col, y) => [X[col], y];
  for (let i = 0; i < 2; i++) {
    for (let j = 0; j < 2; j++) {
      edge(g, at(0, Y.in[i]), at(1, Y.hidden[j]), `w${i + 1}${j + 1}`, W1[i][j], gh?.weight[i][j], i === j ? 0.42 : 0.6);
    }
    edge(g, at(1, Y.hidden[i]), at(2, Y.out[0]), `v${i + 1}`, W2[i][0], go?.weight[i][0], 0.5);
  }
  const stage = v.stage;  // the step just done is stage - 1: its unit is highlighted
  for (let i = 0; i < 2; i++) unit(g, at(0, Y.in[i]), [[`x${i + 1}`, ""], ["", v.x[i]]], [], false);
  for (let j = 0; j < 2; j++) {
    unit(g, at(1, Y.hidden[j]), [[`u${j + 1}`, v.z?.[j]], [`h${j + 1}`, v.h?.[j]]],
      [[`h${j + 1}`, v.grad.h?.[j]], [`u${j + 1}`, v.grad.z?.[j]]], [1, 2, 8, 9, 10].includes(stage), j === 0);
  }
  unit(g, at(2, Y.out[0]), [["z", v.z2?.[0]], ["ŷ", v.yhat?.[0]]], [["ŷ", v.grad.yhat?.[0]], ["z", v.grad.z2?.[0]]],
    [3, 4, 5, 6, 7].includes(stage));
  g.append(svg("text", { x: X[2], y: Y.out[0] + R + 62, "text-anchor": "middle", class: "value" },
    v.loss == null ? `target t ${num(v.target)}` : `L ${num(v.loss)} (t ${num(v.target)})`));
  g.append(svg("text", { x: 5, y: 374, class: "name" }, "biases b1, b2, c: in the table below"));
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
