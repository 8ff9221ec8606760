// The one table of settings (as TensorFlow Playground's PROPS): it makes the form controls, and
// says where each value lives in the playground session's state (web/ui/app.js renders every
// control from the "state" events; a change becomes one request to the session).
//   data:  the data choice, state.data.{name, options}       -> nnplay.loadDataset(name, options)
//   spec:  the network's loss, optimizer and backend choice   -> nnplay.setSpec(spec)
//   train: the training settings, state.train                 -> nnplay.setTrainSettings(...)
// Share links and the autosave hold the same state ({spec, data, train}), not a copy of the table.

import { describe } from "./validate.js";

/**
 * @typedef {{key: string, label: string, group: "data" | "train", type: "number" | "select" | "checkbox",
 *            default: any, min?: number, max?: number, step?: number, options?: string[],
 *            when?: (s: object) => boolean, of: (state: object) => any}} Setting
 */

const TOY = ["spiral", "circle", "xor", "gauss", "regression1d"];
const opt = (state) => state?.spec?.optimizer;
const optimizerType = (state) => (typeof opt(state) === "string" ? opt(state) : opt(state)?.type);
const lossType = (state) => (typeof state?.spec?.loss === "string" ? state.spec.loss : state?.spec?.loss?.type);

/** @type {Setting[]} */
export const SETTINGS = [
  { key: "dataset", label: "Dataset", group: "data", type: "select", default: "spiral",
    options: ["spiral", "circle", "xor", "gauss", "regression1d", "mnist", "images", "csv"], // images, csv: uploaded
    of: (st) => st?.data?.name },
  { key: "noise", label: "Noise", group: "data", type: "number", default: 0, min: 0, max: 1, step: 0.05,
    when: (s) => TOY.includes(s.dataset), of: (st) => st?.data?.options?.noise },
  { key: "points", label: "Points", group: "data", type: "number", default: 400, min: 10, max: 5000, step: 10,
    when: (s) => TOY.includes(s.dataset), of: (st) => st?.data?.options?.n },
  { key: "mnistCount", label: "Digits used", group: "data", type: "number", default: 4000, min: 100, max: 10000,
    step: 100, when: (s) => s.dataset === "mnist", of: (st) => st?.data?.options?.count },
  { key: "ratio", label: "Train ratio", group: "data", type: "number", default: 0.8, min: 0.1, max: 1, step: 0.05,
    of: (st) => st?.data?.options?.ratio },
  { key: "loss", label: "Loss", group: "train", type: "select", default: "softmax_cross_entropy",
    options: ["softmax_cross_entropy", "binary_cross_entropy", "mse", "mae", "huber", "hinge"], of: lossType },
  { key: "optimizer", label: "Optimizer", group: "train", type: "select", default: "adam",
    options: ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "adamw"], of: optimizerType },
  { key: "lr", label: "Learning rate", group: "train", type: "number", default: 0.01, min: 0, max: 10, step: 0.001,
    of: (st) => opt(st)?.lr },
  { key: "momentum", label: "Momentum", group: "train", type: "number", default: 0.9, min: 0, max: 0.999, step: 0.01,
    when: (s) => s.optimizer === "momentum" || s.optimizer === "nesterov", of: (st) => opt(st)?.momentum },
  { key: "l1", label: "L1", group: "train", type: "number", default: 0, min: 0, max: 1, step: 0.0001,
    of: (st) => opt(st)?.l1 },
  { key: "l2", label: "L2", group: "train", type: "number", default: 0, min: 0, max: 1, step: 0.0001,
    of: (st) => opt(st)?.l2 },
  { key: "batchSize", label: "Batch size", group: "train", type: "number", default: 16, min: 1, max: 1024, step: 1,
    of: (st) => st?.train?.batchSize },
  { key: "patience", label: "Early stopping patience (epochs, 0 = off)", group: "train", type: "number", default: 0,
    min: 0, max: 100, step: 1, of: (st) => (typeof st?.train?.earlyStopping === "number" ? st.train.earlyStopping
      : st?.train?.earlyStopping?.patience ?? 0) },
  { key: "backend", label: "Backend", group: "train", type: "select", default: "auto", options: ["auto", "numpy", "webgpu"],
    of: (st) => st?.spec?.backend },
  // On the CPU, steps may run on two workers (data-parallel; pyengine/pyengine/parallel.py): auto does when it pays.
  { key: "workers", label: "CPU workers", group: "train", type: "select", default: "auto", options: ["auto", "1", "2"],
    of: (st) => (st?.train?.workers === undefined ? undefined : String(st.train.workers)) },
];

export const DEFAULTS = Object.fromEntries(SETTINGS.map((s) => [s.key, s.default]));

/** The controls' values as the session's state says them (defaults where the state is silent). */
export function valuesFrom(state) {
  const out = {};
  for (const s of SETTINGS) {
    const v = s.of(state);
    out[s.key] = v === undefined || v === null ? s.default : v;
  }
  return out;
}

/** The data options of the controls' values for `dataset` (what loadDataset takes). */
export function dataOptions(values, dataset = values.dataset) {
  if (dataset === "mnist") return { count: values.mnistCount, ratio: values.ratio };
  if (TOY.includes(dataset)) {
    const out = { n: values.points, noise: values.noise, ratio: values.ratio };
    if (dataset !== "regression1d" && Array.isArray(values.features)) out.features = values.features; // 2-D feature inputs
    return out;
  }
  return { ratio: values.ratio };
}

/** Optimizer fields every optimizer takes (kept when the type changes); the rest belong to one type. */
const COMMON_OPTIMIZER_FIELDS = ["lr", "l1", "l2", "clipnorm", "clipvalue", "schedule"];

/** The spec with one of its training settings (loss, optimizer, lr, ...) changed; every other field
 *  of the optimizer (rho, eps, schedules, clipping) is kept. */
export function specWith(spec, key, value) {
  const current = typeof spec.optimizer === "string" ? { type: spec.optimizer } : { ...(spec.optimizer ?? {}) };
  if (key === "loss") {
    const loss = typeof spec.loss === "object" && spec.loss?.type === value ? spec.loss : value;
    return { ...spec, loss };
  }
  if (key === "backend") return { ...spec, backend: value };
  if (key === "optimizer") {
    const next = { type: value };
    for (const f of COMMON_OPTIMIZER_FIELDS) if (current[f] !== undefined) next[f] = current[f];
    if ((value === "momentum" || value === "nesterov") && next.momentum === undefined) next.momentum = DEFAULTS.momentum;
    return { ...spec, optimizer: next };
  }
  return { ...spec, optimizer: { ...current, [key]: value } };
}

/** A share link or autosave of the older format {spec, settings: {dataset, noise, ...}} as state;
 *  settings that cannot be used are said in `notes`. */
export function fromOldSettings(saved, notes = [], from = "link") {
  if (saved == null || typeof saved !== "object" || Array.isArray(saved) || saved.data !== undefined
      || saved.settings === undefined) return saved;
  const [values, problems] = sanitize(saved.settings);
  if (problems.length) notes.push(`Some settings in the ${from} were ignored: ${problems.join("; ")}`);
  let spec = saved.spec;
  if (spec && typeof spec === "object" && !Array.isArray(spec)) {
    // the old page built the optimizer from these settings (and kept the backend beside the spec)
    const given = saved.settings && typeof saved.settings === "object" ? saved.settings : {};
    const optimizer = typeof spec.optimizer === "object" && spec.optimizer ? { ...spec.optimizer } : {};
    for (const key of ["lr", "l1", "l2", "momentum"]) if (Object.hasOwn(given, key)) optimizer[key] = values[key];
    if (Object.hasOwn(given, "optimizer")) optimizer.type = values.optimizer;
    spec = { ...spec, backend: values.backend, ...(Object.keys(optimizer).length ? { optimizer } : {}) };
  }
  return { ...saved, spec, settings: undefined,
    data: { name: values.dataset, options: dataOptions(values) },
    train: { batchSize: values.batchSize, earlyStopping: values.patience > 0 ? values.patience : null } };
}

/**
 * Check one value against its setting; returns [value, null] or [null, message].
 * @param {Setting} setting
 */
export function coerce(setting, raw) {
  if (setting.type === "select") {
    return setting.options.includes(raw) ? [raw, null]
      : [null, `${setting.label}: ${describe(raw)} is not one of ${setting.options.join(", ")}`];
  }
  if (setting.type === "checkbox") return [raw === true || raw === "true" || raw === "1", null];
  const v = typeof raw === "number" ? raw : Number(String(raw).trim());
  if (typeof raw !== "number" && typeof raw !== "string") return [null, `${setting.label}: ${describe(raw)} is not a number`];
  if (String(raw).trim() === "" || !Number.isFinite(v)) return [null, `${setting.label}: "${raw}" is not a number`];
  if (v < setting.min || v > setting.max) return [null, `${setting.label} must be between ${setting.min} and ${setting.max}`];
  if (setting.step >= 1 && !Number.isInteger(v)) return [null, `${setting.label} must be a whole number`];
  return [v, null];
}

/** Keep only known keys with valid values (anything else falls back to the default). */
export function sanitize(values) {
  const out = { ...DEFAULTS };
  const problems = [];
  if (values != null && (typeof values !== "object" || Array.isArray(values))) {
    return [out, [`settings: ${describe(values)} is not an object of settings (all defaults are used)`]];
  }
  for (const s of SETTINGS) {
    if (values == null || !Object.hasOwn(values, s.key)) continue;
    const [v, err] = coerce(s, values[s.key]);
    if (err) problems.push(err);
    else out[s.key] = v;
  }
  return [out, problems];
}

/**
 * Build the form controls of one group into `container`; `onChange(key, value)` fires on valid edits,
 * invalid ones show their message next to the control and keep the previous value.
 */
export function renderControls(container, group, state, onChange) {
  container.replaceChildren();
  const rows = [];
  for (const s of SETTINGS.filter((x) => x.group === group)) {
    const id = `setting-${s.key}`;
    const row = document.createElement("div");
    row.className = "field";
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = s.label;
    let input;
    if (s.type === "select") {
      input = document.createElement("select");
      for (const o of s.options) input.append(new Option(o, o));
    } else {
      input = document.createElement("input");
      input.type = "number";
      Object.assign(input, { min: s.min, max: s.max, step: s.step });
    }
    input.id = id;
    input.dataset.testid = `setting-${s.key}`;
    input.value = state[s.key];
    const msg = document.createElement("span");
    msg.className = "error field-msg";
    msg.id = `${id}-msg`;
    input.setAttribute("aria-describedby", msg.id);
    input.addEventListener("change", () => {
      const [v, err] = coerce(s, input.value);
      msg.textContent = err ?? "";
      input.setAttribute("aria-invalid", err ? "true" : "false");
      if (!err) onChange(s.key, v);
    });
    row.append(label, input, msg);
    container.append(row);
    rows.push([s, row, input]);
  }
  const refresh = (st) => {
    for (const [s, row, input] of rows) {
      row.hidden = s.when ? !s.when(st) : false;
      if (document.activeElement !== input) input.value = st[s.key];
    }
  };
  refresh(state);
  return refresh;
}
