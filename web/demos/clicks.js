// Click to add points (pyengine/pyengine/demos/clicks.py): 2-D classification or 1-D regression.
import { $, base64ToBytes, drawRgb, el, fmt, pct, say, startDemo, twoClassRgb } from "./demo.js";

const plane = $("#plane");
const ctx = plane.getContext("2d");
const heat = el("canvas");
let extent = 6;
const toPixel = (x, y) => [((x + extent) / (2 * extent)) * plane.width, ((extent - y) / (2 * extent)) * plane.height];
const fromPixel = (px, py) => [(px / plane.width) * 2 * extent - extent, extent - (py / plane.height) * 2 * extent];

function dot(x, y, colour) {
  const [px, py] = toPixel(x, y);
  ctx.beginPath();
  ctx.arc(px, py, 4.5, 0, 2 * Math.PI);
  ctx.fillStyle = colour;
  ctx.fill();
  ctx.strokeStyle = "#1d2330";
  ctx.stroke();
}

function render(view) {
  extent = view.extent;
  $("#points").textContent = view.points.x.length;
  $("#loss").textContent = fmt(view.loss);
  $("#accuracy").textContent = pct(view.accuracy);
  ctx.clearRect(0, 0, plane.width, plane.height);
  if (view.mode === "classify") {
    const r = view.resolution;
    drawRgb(heat, twoClassRgb(base64ToBytes(view.heatmap)), r, r);
    ctx.imageSmoothingEnabled = true;
    ctx.globalAlpha = 0.45; // pale background, so the points of the same colour stand out
    ctx.drawImage(heat, 0, 0, plane.width, plane.height);
    ctx.globalAlpha = 1;
    view.points.x.forEach(([x, y], i) => dot(x, y, view.points.y[i] ? "#f57c00" : "#2f6fed"));
  } else {
    ctx.strokeStyle = "#e4e7ec";
    ctx.beginPath();
    ctx.moveTo(0, plane.height / 2);
    ctx.lineTo(plane.width, plane.height / 2);
    ctx.stroke();
    ctx.strokeStyle = "#2f6fed";
    ctx.lineWidth = 2.5;
    ctx.beginPath();
    view.curve.x.forEach((x, i) => ctx[i ? "lineTo" : "moveTo"](...toPixel(x, view.curve.y[i])));
    ctx.stroke();
    ctx.lineWidth = 1;
    view.points.x.forEach(([x], i) => dot(x, view.points.y[i], "#e8590c"));
  }
}

const demo = await startDemo({ name: "clicks", render, stepCount: 20,
  options: () => ({ mode: $("#mode").value }) });

const refresh = async () => demo.show(await demo.call("view"));
plane.addEventListener("pointerdown", async (e) => {
  if (!demo.state.ready) return;
  const box = plane.getBoundingClientRect();
  const [x, y] = fromPixel((e.clientX - box.left) * (plane.width / box.width), (e.clientY - box.top) * (plane.height / box.height));
  try {
    await demo.call("addPoint", { x, y, label: Number($("#colour").value) });
    if (!demo.state.running) await refresh();
  } catch (err) {
    say(err.message);
  }
});
$("#clear").addEventListener("click", () => demo.call("clear").then(refresh).catch((err) => say(err.message)));
$("#mode").addEventListener("change", async () => {
  $("#colour-label").hidden = $("#mode").value !== "classify";
  if (demo.state.running) {
    await demo.call("pause");
    while (demo.state.running) await new Promise((r) => setTimeout(r, 50));
  }
  await demo.setup().catch(() => {});
});
