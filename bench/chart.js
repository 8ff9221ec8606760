// Draws bench.json as one PNG-ready canvas: a grouped bar chart per table (cases along x, one
// colour per runner), log scale where values span orders of magnitude. bench/run.py screenshots it.
/* exported drawBenchChart */
function drawBenchChart(result) {
  "use strict";
  const COLORS = { "nnplay CPython (ref.)": "#9aa5b1", "nnplay NumPy": "#1f6feb",
                   "nnplay NumPy + SIMD": "#2da44e", "nnplay WebGPU": "#8250df", "nnplay auto": "#0e8a9a",
                   "ConvNetJS": "#d29922", "TF.js cpu": "#e8590c", "TF.js webgpu": "#c92a2a" };
  const rows = result.rows;
  const panels = [
    { title: "Training examples/s (higher is better)", part: "train", log: true },
    { title: "matmul GFLOP/s", part: "kernels", filter: (r) => r.case.startsWith("matmul"), log: true,
      label: (c) => c.replace("matmul ", "") },
    { title: "conv2d forward GFLOP/s (N×H×W×C * K×K×F)", part: "kernels", filter: (r) => r.case.startsWith("conv2d"), log: true,
      label: (c) => c.replace("conv2d ", "") },
    { title: "Scaling: examples/s as batch size doubles", part: "scaling", filter: (r) => r.case.startsWith("batch"), log: true },
    { title: "Scaling: examples/s as network width doubles", part: "scaling", filter: (r) => r.case.startsWith("width"), log: true },
    { title: "Cold start to first training step (s, lower is better)", part: "startup", filter: (r) => r.case === "total" },
    { title: "Peak memory while training MNIST (MB)", part: "memory", filter: (r) => r.case !== "wasm memory" },
    { title: "ms per training step, NumPy engine (lower is better)", part: "profile",
      label: (c) => c.replace(" (batch ", " b").replace("): ", ": ").replace("Python and other NumPy", "other") },
  ];
  const W = 1400, PH = 330, cols = 2, rowsN = Math.ceil((panels.length + 1) / cols), HEAD = 70;
  const canvas = document.createElement("canvas");
  canvas.width = W;
  canvas.height = HEAD + rowsN * PH;
  document.body.appendChild(canvas);
  const g = canvas.getContext("2d");
  g.fillStyle = "#fff";
  g.fillRect(0, 0, canvas.width, canvas.height);
  const m = result.meta;
  g.fillStyle = "#111";
  g.font = "bold 20px sans-serif";
  g.fillText(`nnplay vs peers — ${m.command}`, 20, 30);
  g.font = "13px sans-serif";
  g.fillText(`${m.date}; ${m.machine}; Chromium ${m.chromium} headless; WebGPU = SwiftShader (CPU-emulated). ` +
             "nnplay in a worker (Pyodide, NumPy); peers on the page. n/a: see bench.json for the reason.", 20, 54);

  const fmt = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toPrecision(2));

  function panel(p, x0, y0, w, h) {
    const pr = rows.filter((r) => r.part === p.part && (!p.filter || p.filter(r)));
    g.fillStyle = "#111";
    g.font = "bold 15px sans-serif";
    g.fillText(p.title, x0 + 10, y0 + 20);
    if (!pr.length) {
      g.font = "13px sans-serif";
      g.fillText("(not run)", x0 + 10, y0 + 45);
      return;
    }
    const cases = [...new Set(pr.map((r) => r.case))];
    const runners = [...new Set(pr.map((r) => r.runner))];
    const values = pr.filter((r) => typeof r.value === "number" && r.value > 0).map((r) => r.value);
    const left = x0 + 60, right = x0 + w - 15, top = y0 + 35, bottom = y0 + h - 55;
    const max = Math.max(...values, 1e-9), min = Math.min(...values, max);
    const lo = p.log ? Math.pow(10, Math.floor(Math.log10(min))) : 0;
    const hi = p.log ? Math.pow(10, Math.ceil(Math.log10(max * 1.0001))) : max * 1.15;
    const yOf = (v) => bottom - (p.log ? (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) : v / hi) * (bottom - top);
    // axis and grid
    g.strokeStyle = "#ddd";
    g.fillStyle = "#555";
    g.font = "11px sans-serif";
    const ticks = p.log ? Array.from({ length: Math.round(Math.log10(hi / lo)) + 1 }, (_, i) => lo * 10 ** i)
                        : Array.from({ length: 5 }, (_, i) => (hi * i) / 4);
    for (const t of ticks) {
      const y = yOf(Math.max(t, p.log ? lo : 0));
      g.beginPath(); g.moveTo(left, y); g.lineTo(right, y); g.stroke();
      g.fillText(fmt(t), x0 + 8, y + 4);
    }
    const groupW = (right - left) / cases.length, barW = Math.min(28, (groupW - 12) / runners.length);
    cases.forEach((c, ci) => {
      const gx = left + ci * groupW + (groupW - barW * runners.length) / 2;
      runners.forEach((rn, ri) => {
        const r = pr.find((q) => q.case === c && q.runner === rn);
        const x = gx + ri * barW;
        if (!r) return;
        if (typeof r.value === "number" && r.value > 0) {
          const y = yOf(r.value);
          g.fillStyle = COLORS[rn] ?? "#444";
          g.fillRect(x + 1, y, barW - 2, bottom - y);
          g.save(); g.translate(x + barW / 2 + 4, y - 3); g.rotate(-Math.PI / 2);
          g.fillStyle = "#222"; g.font = "10px sans-serif"; g.fillText(fmt(r.value), 0, 0); g.restore();
        } else {
          g.save(); g.translate(x + barW / 2 + 4, bottom - 3); g.rotate(-Math.PI / 2);
          g.fillStyle = "#999"; g.font = "10px sans-serif"; g.fillText("n/a", 0, 0); g.restore();
        }
      });
      g.fillStyle = "#333";
      g.font = "11px sans-serif";
      const label = p.label ? p.label(c) : c;
      g.textAlign = "center";
      label.replace(/\)$/, "").split(" (").slice(0, 2).forEach((line, li) => g.fillText(line, left + (ci + 0.5) * groupW, bottom + 15 + 13 * li));
      g.textAlign = "left";
    });
    g.strokeStyle = "#888";
    g.beginPath(); g.moveTo(left, top); g.lineTo(left, bottom); g.lineTo(right, bottom); g.stroke();
  }

  const pw = W / cols;
  panels.forEach((p, i) => panel(p, (i % cols) * pw, HEAD + Math.floor(i / cols) * PH, pw, PH));
  // legend in the last slot
  const li = panels.length, lx = (li % cols) * pw + 30, ly = HEAD + Math.floor(li / cols) * PH + 30;
  g.font = "bold 15px sans-serif";
  g.fillStyle = "#111";
  g.fillText("Runners", lx, ly);
  g.font = "14px sans-serif";
  Object.entries(COLORS).forEach(([name, color], i) => {
    g.fillStyle = color;
    g.fillRect(lx, ly + 16 + i * 26, 18, 18);
    g.fillStyle = "#111";
    g.fillText(name, lx + 28, ly + 30 + i * 26);
  });
  // notes, word-wrapped to the slot
  g.fillStyle = "#444";
  g.font = "12px sans-serif";
  let ny = ly + 200;
  for (const note of m.notes ?? []) {
    let line = "";
    for (const word of note.split(" ")) {
      if (g.measureText(line + word).width > pw - 60) { g.fillText(line, lx, ny); ny += 16; line = ""; }
      line += word + " ";
    }
    g.fillText(line, lx, ny);
    ny += 20;
  }
}
