// Draw-a-digit: a canvas the learner draws on; after each stroke segment the drawing is cut to its
// bounding box, centred in a 28×28 frame like MNIST's digits, cropped to the network's input size and
// handed to `classify(pixels[size][size] in 0..1, size)` (throttled).

export function startDrawing(canvas, classify, inputSize) {
  const ctx = canvas.getContext("2d");
  const clear = () => {
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  };
  clear();
  let drawing = false, last = null, pending = null;
  const pos = (e) => {
    const r = canvas.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * canvas.width, ((e.clientY - r.top) / r.height) * canvas.height];
  };
  const schedule = () => {
    if (pending) return;
    pending = setTimeout(() => {
      pending = null;
      const size = inputSize();
      if (size > 0 && size <= 28) classify(toDigit(canvas, size), size);
    }, 120);
  };
  canvas.addEventListener("pointerdown", (e) => {
    drawing = true;
    last = pos(e);
    canvas.setPointerCapture(e.pointerId);
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    const p = pos(e);
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = canvas.width / 12;
    ctx.lineCap = "round";
    ctx.beginPath();
    ctx.moveTo(...last);
    ctx.lineTo(...p);
    ctx.stroke();
    last = p;
    schedule();
  });
  canvas.addEventListener("pointerup", () => (drawing = false));
  document.querySelector("#draw-clear")?.addEventListener("click", clear);
}

/** The drawing as MNIST does it: a 20×20 box centred in 28×28, then a central crop to `size`. */
function toDigit(canvas, size) {
  const small = document.createElement("canvas");
  small.width = small.height = 28;
  const s = small.getContext("2d");
  s.fillStyle = "#000";
  s.fillRect(0, 0, 28, 28);
  s.imageSmoothingEnabled = true;
  s.drawImage(canvas, 4, 4, 20, 20);
  const data = s.getImageData(0, 0, 28, 28).data;
  const off = Math.floor((28 - size) / 2);
  return Array.from({ length: size }, (_, y) =>
    Array.from({ length: size }, (_, x) => data[((y + off) * 28 + (x + off)) * 4] / 255));
}
