// The peers' side of the benchmark: ConvNetJS 0.3.0 and TensorFlow.js 4.22.0 on the page's main thread.
// bench/run.py injects this file (and the peers' dist bundles) into the nnplay page and calls
// window.nnplayBench.*. Networks arrive as nnplay specs and are translated here, so every runner
// trains the same network on the same examples (bench/engine_bench.py builds the identical data).
(() => {
  "use strict";

  // ---- data ------------------------------------------------------------------------------------
  let mnistBytes = null;

  /** n MNIST digits as central 24x24 crops in [0, 1], indices (i * 7) % count (the file is grouped by digit). */
  async function mnistExamples(n) {
    mnistBytes ??= new Uint8Array(await (await fetch("data/mnist.bin")).arrayBuffer());
    const view = new DataView(mnistBytes.buffer);
    const count = view.getUint32(8, true), rows = view.getUint16(12, true), cols = view.getUint16(14, true);
    const labelsAt = 16 + count * rows * cols, off = (rows - 24) >> 1;
    const x = new Float32Array(n * 24 * 24), y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const k = (i * 7) % count, base = 16 + k * rows * cols;
      for (let r = 0; r < 24; r++)
        for (let c = 0; c < 24; c++) x[(i * 24 + r) * 24 + c] = mnistBytes[base + (r + off) * cols + c + off] / 255;
      y[i] = mnistBytes[labelsAt + k];
    }
    return { x, y, shape: [24, 24, 1] };
  }

  /** The deterministic CIFAR-10 stand-in of engine_bench.synthetic_images. */
  function syntheticImages(n, h, w, c) {
    const x = new Float32Array(n * h * w * c), y = new Int32Array(n);
    let j = 0;
    for (let i = 0; i < n; i++) {
      for (let r = 0; r < h; r++)
        for (let q = 0; q < w; q++)
          for (let ch = 0; ch < c; ch++) x[j++] = Math.fround(((i * 131 + r * 31 + q * 17 + ch * 7) % 255) / 255);
      y[i] = i % 10;
    }
    return { x, y, shape: [h, w, c] };
  }

  const examples = (dataset, n) => (dataset === "mnist" ? mnistExamples(n) : syntheticImages(n, ...dataset));
  const pause = () => new Promise((resolve) => setTimeout(resolve, 0));

  // ---- spec translation (the subset the benchmark networks use) -----------------------------
  function checkSpec(spec) {
    const last = spec.layers[spec.layers.length - 1];
    if (last.type !== "dense" || last.activation) throw new Error("the last layer must be a linear dense layer (softmax cross-entropy)");
    for (const l of spec.layers) {
      if (!["conv2d", "maxpool2d", "flatten", "dense"].includes(l.type)) throw new Error(`layer type ${l.type} is not translated`);
      if (l.type === "conv2d" && (l.strides ?? 1) !== 1) throw new Error("conv2d strides must be 1");
    }
  }

  function convnetjsLayers(spec) {
    checkSpec(spec);
    const [h, w, c] = spec.input;
    const defs = [{ type: "input", out_sx: w, out_sy: h, out_depth: c }];
    spec.layers.forEach((l, i) => {
      if (l.type === "conv2d")
        defs.push({ type: "conv", sx: l.kernel_size, filters: l.filters, stride: 1, pad: l.padding, ...(l.activation ? { activation: l.activation } : {}) });
      else if (l.type === "maxpool2d") defs.push({ type: "pool", sx: l.pool_size, stride: l.strides ?? l.pool_size });
      else if (l.type === "dense" && i === spec.layers.length - 1) defs.push({ type: "softmax", num_classes: l.units });
      else if (l.type === "dense") defs.push({ type: "fc", num_neurons: l.units, ...(l.activation ? { activation: l.activation } : {}) });
      // flatten: ConvNetJS's fc layers flatten their input themselves
    });
    return defs;
  }

  function tfjsModel(spec) {
    checkSpec(spec);
    const model = tf.sequential();
    let first = { inputShape: spec.input };
    spec.layers.forEach((l, i) => {
      if (l.type === "conv2d") {
        const pad = l.padding ?? 0;
        // ConvNetJS's pad p with a (2p+1) kernel at stride 1 is TF's "same"; anything else gets explicit zeros.
        const same = 2 * pad + 1 === l.kernel_size;
        if (!same && pad) { model.add(tf.layers.zeroPadding2d({ ...first, padding: pad })); first = {}; }
        model.add(tf.layers.conv2d({ ...first, filters: l.filters, kernelSize: l.kernel_size, strides: 1,
                                      padding: same ? "same" : "valid", activation: l.activation ?? "linear" }));
      } else if (l.type === "maxpool2d") {
        model.add(tf.layers.maxPooling2d({ ...first, poolSize: l.pool_size, strides: l.strides ?? l.pool_size }));
      } else if (l.type === "flatten") {
        model.add(tf.layers.flatten(first));
      } else {
        const last = i === spec.layers.length - 1;
        model.add(tf.layers.dense({ ...first, units: l.units, activation: last ? "softmax" : l.activation ?? "linear" }));
      }
      first = {};
    });
    const o = spec.optimizer;
    model.compile({ optimizer: tf.train.adadelta(o.lr, o.rho, o.eps), loss: "categoricalCrossentropy" });
    return model;
  }

  /** engine_bench.train_rate's rule: with targetS, time about targetS seconds of steps (at least 1). */
  const fewerSteps = (steps, stepTime, targetS) =>
    targetS && stepTime ? Math.max(1, Math.min(steps, Math.round(targetS / stepTime))) : steps;

  // ---- training ----------------------------------------------------------------------------------
  /** ConvNetJS's own Trainer (adadelta), fed one example at a time; it steps every `batch` examples. */
  async function convnetjsTrain({ spec, dataset, batch, steps, repeats, warmup = 3, targetS = null, yieldEachStep = false }) {
    const n = steps * batch, data = await examples(dataset, n);
    const [h, w, c] = data.shape, size = h * w * c;
    const vols = [];
    for (let i = 0; i < n; i++) {
      const v = new convnetjs.Vol(w, h, c, 0.0);
      // ConvNetJS's Vol is (sx, sy, depth) with index ((sx * y) + x) * depth + d: the same order as NHWC.
      for (let j = 0; j < size; j++) v.w[j] = data.x[i * size + j];
      vols.push(v);
    }
    const net = new convnetjs.Net();
    net.makeLayers(convnetjsLayers(spec));
    const o = spec.optimizer;
    const trainer = new convnetjs.Trainer(net, { method: "adadelta", batch_size: batch, l2_decay: 0.0, ro: o.rho, eps: o.eps });
    let stepTime = null;
    for (let s = 0; s < warmup; s++) {
      const t0 = performance.now();
      for (let i = (s % steps) * batch; i < (s % steps + 1) * batch; i++) trainer.train(vols[i], data.y[i]);
      stepTime = (performance.now() - t0) / 1000;
    }
    steps = fewerSteps(steps, stepTime, targetS);
    const rates = [];
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      for (let s = 0; s < steps; s++) {
        for (let i = s * batch; i < (s + 1) * batch; i++) trainer.train(vols[i], data.y[i]);
        if (yieldEachStep) await pause();
      }
      rates.push((steps * batch) / ((performance.now() - t0) / 1000));
    }
    return { value: Math.max(...rates), rates, steps };
  }

  /** TF.js layers: tf.sequential + trainOnBatch (which awaits the loss: every step is synchronised). */
  async function tfjsTrain({ backend, spec, dataset, batch, steps, repeats, warmup = 3, targetS = null, yieldEachStep = false }) {
    await setBackend(backend);
    const n = steps * batch, data = await examples(dataset, n);
    const classes = spec.layers[spec.layers.length - 1].units;
    const batches = tf.tidy(() => {
      const x = tf.tensor(data.x, [n, ...data.shape]);
      const y = tf.oneHot(tf.tensor1d(data.y, "int32"), classes);
      return Array.from({ length: steps }, (_, s) => [tf.slice(x, s * batch, batch), tf.slice(y, s * batch, batch)]);
    });
    const model = tfjsModel(spec);
    try {
      let stepTime = null;
      for (let i = 0; i < warmup; i++) {
        const t0 = performance.now();
        await model.trainOnBatch(...batches[i % steps]);
        stepTime = (performance.now() - t0) / 1000;
      }
      steps = fewerSteps(steps, stepTime, targetS);
      const rates = [];
      for (let r = 0; r < repeats; r++) {
        const t0 = performance.now();
        for (let s = 0; s < steps; s++) {
          await model.trainOnBatch(...batches[s]);
          if (yieldEachStep) await pause();
        }
        rates.push((steps * batch) / ((performance.now() - t0) / 1000));
      }
      return { value: Math.max(...rates), rates, steps, tensorBytes: tf.memory().numBytes };
    } finally {
      const optimizer = model.optimizer; // compile() got an optimizer object: model.dispose() leaves it
      model.dispose();
      optimizer.dispose();
      tf.dispose(batches);
    }
  }

  async function setBackend(name) {
    if (!(await tf.setBackend(name))) throw new Error(`TF.js backend ${name} did not initialise`);
    await tf.ready();
  }

  // ---- kernels -----------------------------------------------------------------------------------
  /** Best seconds per call of op() (returns a tensor; we await its data so the GPU queue is drained). */
  async function bestSeconds(op, minTime, repeats = 3) {
    const run = async (calls) => {
      let t;
      for (let i = 0; i < calls; i++) {
        if (t) t.dispose();
        t = op();
      }
      await t.data();
      t.dispose();
    };
    await run(1); // warm-up: shader compilation, allocation
    let best = Infinity;
    for (let r = 0; r < repeats; r++) {
      for (let calls = 1; ; calls *= 2) {
        const t0 = performance.now();
        await run(calls);
        const elapsed = (performance.now() - t0) / 1000;
        if (elapsed >= minTime) { best = Math.min(best, elapsed / calls); break; }
      }
    }
    return best;
  }

  async function tfjsMatmul({ backend, sizes, minTime }) {
    await setBackend(backend);
    const out = [];
    for (const n of sizes) {
      const a = tf.randomNormal([n, n], 0, 1, "float32", 1), b = tf.randomNormal([n, n], 0, 1, "float32", 2);
      out.push({ value: (2 * n ** 3) / (await bestSeconds(() => tf.matMul(a, b), minTime)) / 1e9 });
      tf.dispose([a, b]);
    }
    return out;
  }

  async function tfjsConv2d({ backend, shapes, minTime }) {
    await setBackend(backend);
    const out = [];
    for (const s of shapes) {
      const x = tf.randomNormal([s.n, s.h, s.w, s.c], 0, 1, "float32", 1);
      const f = tf.randomNormal([s.k, s.k, s.c, s.f], 0, 1, "float32", 2);
      const flop = 2 * s.n * s.h * s.w * s.f * s.k * s.k * s.c;
      out.push({ value: flop / (await bestSeconds(() => tf.conv2d(x, f, 1, "same"), minTime)) / 1e9 });
      tf.dispose([x, f]);
    }
    return out;
  }

  // ---- jobs the driver polls (it samples heap usage while they run) -------------------------------
  const jobs = {};
  function start(id, promise) {
    jobs[id] = { done: false };
    promise.then((result) => (jobs[id] = { done: true, result }), (err) => (jobs[id] = { done: true, error: String(err?.message ?? err) }));
  }

  window.nnplayBench = { mnistExamples, syntheticImages, convnetjsLayers, convnetjsTrain, tfjsTrain, tfjsMatmul, tfjsConv2d,
                         start, job: (id) => jobs[id] };
})();
