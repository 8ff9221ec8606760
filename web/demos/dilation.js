// Dilated convolutions (pyengine/pyengine/demos/dilation.py): receptive fields of plain and dilated stacks.
import { $, base64ToBytes, el, setupAgain, startDemo } from "./demo.js";

/** Paths from each input pixel to the centre unit: white = none, light to dark blue = few to many. */
function drawPaths(canvas, b64, size) {
  const bytes = base64ToBytes(b64);
  canvas.width = canvas.height = size;
  const img = new ImageData(size, size);
  for (let i = 0; i < size * size; i++) {
    const t = bytes[i] / 255;
    const [r, g, b] = bytes[i] === 0 ? [255, 255, 255] : [200 - 170 * t, 215 - 140 * t, 250 - 60 * t];
    img.data.set([r, g, b, 255], 4 * i);
  }
  const ctx = canvas.getContext("2d");
  ctx.putImageData(img, 0, 0);
  ctx.fillStyle = "#e8590c";  // the output unit's own position
  ctx.fillRect((size - 1) / 2, (size - 1) / 2, 1, 1);
}

const n = (v) => v.toLocaleString("en");

function render(v) {
  for (const key of ["plain", "dilated"]) {
    const s = v[key];
    drawPaths($(`#${key}`), s.paths, v.size);
    $(`#${key}-caption`).textContent = `rates ${s.rates.join(", ")}: sees ${s.measured}×${s.measured} pixels`
      + `${s.covered < s.measured ** 2 ? ` (only ${n(s.covered)} of them: holes)` : ""} · ${n(s.params)} weights`;
  }
  const d = v.dilated.measured;
  $("#summary").textContent = `${v.shown} of ${v.depth} layers, ${v.channels} channels in and out (9·${v.channels}² `
    + `+ ${v.channels} = ${n(v.per_layer_params)} weights per layer). Plain 3×3 convs need `
    + `${v.plain_layers_for_same_field} layer${v.plain_layers_for_same_field === 1 ? "" : "s"} `
    + `(${n(v.plain_params_for_same_field)} weights) to see ${d}×${d} pixels.`;
  $("#layers").replaceChildren(
    el("tr", {}, ...["layer", "plain: sees", "rate", "dilated: sees", "weights"].map((t) => el("th", {}, t))),
    ...v.dilated.rates.map((rate, i) => el("tr", {}, el("td", {}, `${i + 1}`), el("td", {}, `${v.plain.fields[i]}²`),
      el("td", {}, `${rate}`), el("td", {}, `${v.dilated.fields[i]}²`), el("td", {}, n(v.per_layer_params)))));
}

const depth = $("#depth");
for (let i = 1; i <= 8; i++) depth.append(new Option(String(i), String(i), i === 4, i === 4));
const doubling = (k) => Array.from({ length: k }, (_, i) => 2 ** i).join(", ");
depth.addEventListener("change", () => { $("#rates").value = doubling(Number(depth.value)); });
const options = () => ({ depth: Number(depth.value), rates: $("#rates").value, channels: $("#channels").value });
const demo = await startDemo({ name: "dilation", render, options });
$("#apply").addEventListener("click", () => setupAgain(demo, () => {}));
