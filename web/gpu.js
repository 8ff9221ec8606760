// The JavaScript half of pyengine's WebGPU backend: the only code that touches navigator.gpu.
// Python (pyengine/backends/webgpu/device.py) imports it as the module `nnplay_gpu`
// (registered by worker.js) and keeps all the logic; this file only holds GPU objects by id.
//
// Objects live in one table and are named by integers, so Python never holds a GPU object.
//   init()                          -> Promise<adapter facts: {vendor, architecture, device, description,
//                                      isFallbackAdapter, limits}> (describeAdapter; Python decides
//                                      from them whether the adapter is a software emulation)
//   createBuffer(bytes, uniform)    -> Promise<id>   (rejects on out-of-memory)
//   writeBuffer(id, offset, array)     array: a NumPy array (PyProxy; its bytes are read in place)
//   destroy(id)
//   pipeline(key, code, constantsJson) -> id at once; the pipeline compiles in the background
//                                      (createComputePipelineAsync, all at once) while Python
//                                      records the rest. Cached per device by key + constants,
//                                      shader modules by key: a second model, preset or reset of
//                                      the same shapes compiles nothing.
//   program(opsJson)                -> Promise<id>  waits for the pipelines it uses (rejecting with
//                                      the compiler's messages when a WGSL does not compile), then
//                                      records the ops, bind groups made once:
//       ["dispatch", pipelineId, [bufferId | null per binding], x, y, z] | ["copy", src, dst, bytes]
//   compileStats()                  -> {modules, pipelines, requests, pending, compileMs} (this device)
//   run(programId, readId, readBytes) -> Promise<Float32Array | null>
//       encodes the whole program into one command encoder, submits it and, when readId >= 0,
//       copies readBytes of that buffer to a staging buffer and maps it (the step's only readback)
//   read(id, bytes)                 -> Promise<Float32Array>   (weights: save, inspect, switch)
//   status()                        -> {lost: null | reason, error: null | message}
//
// How Python waits: every promise here is awaited in Python with pyodide.ffi.run_sync(promise),
// which suspends the Python stack with JSPI (WebAssembly stack switching) until the promise settles.
// That works inside the worker's runPython and Python RPC methods (both entered via a promise).
// Failures (device lost, validation, out-of-memory, compile errors) reject the promise; run_sync
// raises them in Python as JsException, and the model falls back to NumPy.

let device = null;
let adapterInfo = null;
let lostReason = null; // set when the device is lost; every later call throws
let uncaptured = null; // the first uncaptured error since the last check
const objects = new Map(); // id -> GPUBuffer | GPUComputePipeline | program
let nextId = 1;
const pipelineCache = new Map(); // key + constants -> id
const moduleCache = new Map(); // key (one kernel's WGSL) -> {module, checked}, shared by its pipelines
const pendingPipelines = new Map(); // id -> Promise settling when that pipeline is compiled
const failedPipelines = new Map(); // id -> Error (the WGSL did not compile)
const compile = { modules: 0, pipelines: 0, requests: 0, ms: 0 }; // counters for this device
const staging = new Map(); // bytes -> GPUBuffer (MAP_READ), reused between readbacks

// Error scopes are per device, not per call: while one Python call waits (suspended by JSPI) the
// worker may start another one, so every function that pushes scopes runs strictly one at a time.
let queue = Promise.resolve();
function serial(work) {
  const result = queue.then(work);
  queue = result.catch(() => {});
  return result;
}

function store(object) {
  const id = nextId++;
  objects.set(id, object);
  return id;
}

function check() {
  if (lostReason !== null) throw new Error(`WebGPU device lost: ${lostReason}`);
  if (uncaptured !== null) {
    const message = uncaptured;
    uncaptured = null;
    throw new Error(`WebGPU error: ${message}`);
  }
  if (device === null) throw new Error("WebGPU is not initialised (call init first)");
}

/** Request an adapter and a device (once); resolves to the adapter's description.
 * Concurrent callers (two Python calls both waiting in run_sync) share one request: a second
 * requestDevice would replace `device` under the first caller and clear the object table. */
export function init() {
  return serial(() => (device !== null && lostReason === null ? adapterInfo : initNow()));
}

/** What the page and Python need to know about an adapter (GPUAdapter.info and isFallbackAdapter:
 * Chromium 156 reports SwiftShader as vendor "google", architecture "swiftshader", isFallbackAdapter
 * true on info; older versions had isFallbackAdapter on the adapter itself). */
export function describeAdapter(adapter) {
  const info = adapter.info ?? {};
  return {
    vendor: info.vendor ?? "", architecture: info.architecture ?? "", device: info.device ?? "",
    description: info.description ?? "",
    isFallbackAdapter: Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false),
  };
}

/** The adapter the backend trains on, and the one the page's probe describes: on a machine with two
 *  GPUs, the discrete one (high-performance). */
export function requestAdapter() {
  return navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
}

async function initNow() {
  if (!("gpu" in navigator)) throw new Error("this browser does not expose WebGPU");
  const adapter = await requestAdapter();
  if (!adapter) throw new Error("no WebGPU adapter");
  const limits = adapter.limits;
  // Ask for the adapter's own storage limits: big conv layers exceed the 128 MiB default binding.
  device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
    },
  });
  lostReason = null;
  uncaptured = null;
  objects.clear();
  pipelineCache.clear();
  moduleCache.clear();
  pendingPipelines.clear();
  failedPipelines.clear();
  Object.assign(compile, { modules: 0, pipelines: 0, requests: 0, ms: 0 });
  staging.clear();
  const thisDevice = device;
  device.lost.then((info) => {
    if (device === thisDevice) lostReason = info.message || info.reason || "unknown reason";
  });
  device.addEventListener("uncapturederror", (e) => {
    uncaptured ??= e.error.message;
  });
  adapterInfo = {
    ...describeAdapter(adapter),
    limits: { maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
              maxComputeWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension },
  };
  return adapterInfo;
}

/** Test hook: lose the device as a driver crash would (device.destroy() resolves device.lost). */
export function loseDevice() {
  if (!device) return;
  lostReason = "destroyed by loseDevice()"; // at once: device.lost only resolves a task later
  device.destroy();
}

export function createBuffer(bytes, uniform = false) {
  return serial(() => createBufferNow(bytes, uniform));
}

async function createBufferNow(bytes, uniform) {
  check();
  const usage = uniform
    ? GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST
    : GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const dev = device; // scopes are popped from the device they were pushed on
  dev.pushErrorScope("out-of-memory");
  dev.pushErrorScope("validation");
  const buffer = dev.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage });
  const [validation, oom] = [await dev.popErrorScope(), await dev.popErrorScope()];
  if (oom) throw new Error(`WebGPU out of memory allocating ${bytes} bytes: ${oom.message}`);
  if (validation) throw new Error(`WebGPU buffer of ${bytes} bytes refused: ${validation.message}`);
  return store(buffer);
}

export function writeBuffer(id, offset, array) {
  check();
  const view = array.getBuffer(); // the NumPy array's bytes in the wasm heap, no copy
  try {
    const data = view.data;
    device.queue.writeBuffer(objects.get(id), offset, data.buffer, data.byteOffset, data.byteLength);
  } finally {
    view.release();
  }
}

export function destroy(id) {
  const object = objects.get(id);
  objects.delete(id);
  if (object instanceof GPUBuffer) object.destroy();
}

export function pipeline(key, code, constantsJson = "{}") {
  check();
  const cacheKey = key + "|" + constantsJson;
  compile.requests++;
  if (pipelineCache.has(cacheKey)) return pipelineCache.get(cacheKey);
  const id = nextId++;
  pipelineCache.set(cacheKey, id);
  const started = performance.now();
  const dev = device;
  const done = compilePipeline(dev, key, code, JSON.parse(constantsJson)).then(
    (created) => { objects.set(id, created); },
    (err) => { failedPipelines.set(id, err); },
  ).finally(() => {
    pendingPipelines.delete(id);
    compile.ms += performance.now() - started;
  });
  pendingPipelines.set(id, done);
  return id;
}

async function compilePipeline(dev, key, code, constants) {
  // One shader module per kernel, and its compilation messages asked for once: in Chromium 156 a
  // second module.getCompilationInfo() after the first has settled never settles (the kernels'
  // pipelines with other constants would wait for it forever), so every pipeline of the kernel
  // awaits the module's one check.
  let entry = moduleCache.get(key);
  if (!entry) {
    const module = dev.createShaderModule({ code, label: key });
    entry = { module, checked: module.getCompilationInfo().then((info) => {
      const errors = info.messages.filter((m) => m.type === "error");
      if (errors.length) {
        throw new Error(`WGSL ${key} does not compile: ` + errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join("; "));
      }
    }) };
    entry.checked.catch(() => {}); // a failure is reported to each pipeline that awaits it
    moduleCache.set(key, entry);
    compile.modules++;
  }
  await entry.checked;
  compile.pipelines++;
  return dev.createComputePipelineAsync({
    layout: "auto", label: key, compute: { module: entry.module, entryPoint: "main", constants },
  });
}

/** Wait until the given pipelines are compiled; throws the first compile error among them. */
async function compiled(ids) {
  await Promise.all(ids.map((id) => pendingPipelines.get(id)).filter(Boolean));
  for (const id of ids) if (failedPipelines.has(id)) throw failedPipelines.get(id);
}

export function compileStats() {
  return { modules: compile.modules, pipelines: compile.pipelines, requests: compile.requests,
           pending: pendingPipelines.size, compileMs: compile.ms };
}

/** Record ops once: bind groups are created here, not per run. */
export async function program(opsJson) {
  check();
  const parsed = JSON.parse(opsJson);
  await compiled([...new Set(parsed.filter((op) => op[0] === "dispatch").map((op) => op[1]))]);
  check();
  const ops = parsed.map((op) => {
    if (op[0] === "copy") return { copy: [objects.get(op[1]), objects.get(op[2]), op[3]] };
    const [, pipelineId, bufferIds, x, y, z] = op;
    const pipe = objects.get(pipelineId);
    const bindGroup = device.createBindGroup({
      layout: pipe.getBindGroupLayout(0),
      // null marks a binding the shader does not declare (the list is in binding order)
      entries: bufferIds.flatMap((id, binding) => (id === null ? [] : [{ binding, resource: { buffer: objects.get(id) } }])),
    });
    return { pipe, bindGroup, groups: [x, y, z] };
  });
  return store({ ops });
}

export function run(programId, readId = -1, readBytes = 0) {
  return serial(() => runNow(programId, readId, readBytes));
}

async function runNow(programId, readId, readBytes) {
  check();
  const { ops } = objects.get(programId);
  const dev = device;
  dev.pushErrorScope("out-of-memory");
  dev.pushErrorScope("validation");
  const encoder = dev.createCommandEncoder();
  let pass = null;
  for (const op of ops) {
    if (op.copy) {
      if (pass) { pass.end(); pass = null; }
      encoder.copyBufferToBuffer(op.copy[0], 0, op.copy[1], 0, op.copy[2]);
      continue;
    }
    pass ??= encoder.beginComputePass();
    pass.setPipeline(op.pipe);
    pass.setBindGroup(0, op.bindGroup);
    pass.dispatchWorkgroups(...op.groups);
  }
  if (pass) pass.end();
  let target = null;
  if (readId >= 0) {
    const size = Math.ceil(readBytes / 4) * 4;
    target = staging.get(size);
    if (!target) {
      target = dev.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      staging.set(size, target);
    }
    encoder.copyBufferToBuffer(objects.get(readId), 0, target, 0, size);
  }
  dev.queue.submit([encoder.finish()]);
  const validation = await dev.popErrorScope();
  const oom = await dev.popErrorScope();
  if (oom) throw new Error(`WebGPU out of memory: ${oom.message}`);
  if (validation) throw new Error(`WebGPU validation error: ${validation.message}`);
  if (!target) {
    await dev.queue.onSubmittedWorkDone();
    check();
    return null;
  }
  await target.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(target.getMappedRange().slice(0));
  target.unmap();
  check();
  return out;
}

export async function read(id, bytes) {
  check();
  const prog = store({ ops: [] });
  try {
    return await run(prog, id, bytes);  // queued behind any submission in flight
  } finally {
    objects.delete(prog);
  }
}

export function status() {
  return { lost: lostReason, error: uncaptured, ready: device !== null };
}
