// Image painting (pyengine/pyengine/demos/paint.py): (x, y) -> (r, g, b), drawn as it learns.
import { $, bytesToBase64, drawRgb, fmt, lineChart, say, startDemo, setupAgain } from "./demo.js";

const MAX_SIDE = 64;
let chart = null;
let upload = null; // {image (base64 RGB), width, height} or null for the bundled picture

function render(view) {
  const scale = Math.max(1, Math.floor(240 / Math.max(view.width, view.height)));
  drawRgb($("#original"), view.image, view.width, view.height, scale);
  drawRgb($("#guess"), view.guess, view.width, view.height, scale);
  $("#psnr").textContent = fmt(view.psnr);
  $("#mse").textContent = fmt(view.mse);
  chart ??= lineChart($("#chart"), { title: "training loss (mean of 20 steps)", labels: ["loss"], log: true, width: 360 });
  chart.update(view.loss_curve.map((_, i) => (i + 1) * view.stride), [view.loss_curve]);
}

/** An image file -> RGB bytes scaled down to at most MAX_SIDE a side. */
async function readImage(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new Error(`“${file.name}” is not an image this browser can read`);
  }
  const k = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const width = Math.max(4, Math.round(bitmap.width * k)), height = Math.max(4, Math.round(bitmap.height * k));
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext("2d");
  ctx.drawImage(bitmap, 0, 0, width, height);
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) rgb.set(rgba.subarray(4 * i, 4 * i + 3), 3 * i);
  return { image: bytesToBase64(rgb), width, height };
}

const demo = await startDemo({ name: "paint", render, stepCount: 20, options: () => upload ?? {} });

async function restart(next) {
  const previous = upload;
  upload = next;
  await setupAgain(demo, () => (upload = previous)); // keep the picture that worked
}

$("#upload").addEventListener("change", async (e) => {
  const file = e.target.files[0];
  if (!file) return;
  try {
    await restart(await readImage(file));
  } catch (err) {
    say(err.message);
  }
});
$("#bundled").addEventListener("click", () => restart(null));
