// GAN on a 2-D ring (pyengine/pyengine/demos/gan.py): samples over time, the two losses, D's belief.
import { $, base64ToBytes, drawRgb, el, fmt, lineChart, startDemo } from "./demo.js";

let chart = null;
const heat = el("canvas");

/** Grey (0) -> white, green (255) for the discriminator's P(real). */
function greenRgb(bytes) {
  const out = new Uint8Array(bytes.length * 3);
  for (let i = 0; i < bytes.length; i++) {
    const t = bytes[i] / 255;
    out.set([Math.round(255 - 150 * t), Math.round(255 - 40 * t), Math.round(255 - 140 * t)], 3 * i);
  }
  return out;
}

function plot(canvas, extent, sets, background = null) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (background) ctx.drawImage(background, 0, 0, canvas.width, canvas.height);
  const to = (x, y) => [((x + extent) / (2 * extent)) * canvas.width, ((extent - y) / (2 * extent)) * canvas.height];
  for (const [points, colour, r] of sets) {
    ctx.fillStyle = colour;
    for (const [x, y] of points) {
      ctx.beginPath();
      ctx.arc(...to(x, y), r, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
}

function render(view) {
  drawRgb(heat, greenRgb(base64ToBytes(view.discriminator)), view.resolution, view.resolution);
  plot($("#plane"), view.extent, [[view.real, "#98a2b3", 2.5], [view.fake, "#e8590c", 2.5]], heat);
  $("#distance").textContent = fmt(view.ring_distance);
  chart ??= lineChart($("#chart"), { title: "losses (mean of 20 steps)", labels: ["generator", "discriminator"], width: 420, height: 260 });
  chart.update(view.g_curve.map((_, i) => (i + 1) * view.stride), [view.g_curve, view.d_curve]);
  $("#snapshots").replaceChildren(...view.snapshots.map((s) => {
    const c = el("canvas", { className: "plane", width: 120, height: 120 });
    plot(c, view.extent, [[s.points, "#e8590c", 1.5]]);
    return el("figure", {}, c, el("figcaption", {}, `step ${s.step}`));
  }));
}

startDemo({ name: "gan", render, stepCount: 20 });
