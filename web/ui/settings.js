// The one table of settings (as TensorFlow Playground's PROPS): it makes the form controls, and
// the same entries are written to and read from the share URL and the autosave.

import { describe } from "./validate.js";

/**
 * @typedef {{key: string, label: string, group: "data" | "train", type: "number" | "select" | "checkbox",
 *            default: any, min?: number, max?: number, step?: number, options?: string[],
 *            when?: (s: object) => boolean}} Setting
 */

/** @type {Setting[]} */
export const SETTINGS = [
  { key: "dataset", label: "Dataset", group: "data", type: "select", default: "spiral",
    options: ["spiral", "circle", "xor", "gauss", "regression1d", "mnist", "images", "csv"] }, // images, csv: uploaded
  { key: "noise", label: "Noise", group: "data", type: "number", default: 0, min: 0, max: 1, step: 0.05,
    when: (s) => !["mnist", "images", "csv"].includes(s.dataset) },
  { key: "points", label: "Points", group: "data", type: "number", default: 400, min: 10, max: 5000, step: 10,
    when: (s) => !["mnist", "images", "csv"].includes(s.dataset) },
  { key: "mnistCount", label: "Digits used", group: "data", type: "number", default: 4000, min: 100, max: 10000,
    step: 100, when: (s) => s.dataset === "mnist" },
  { key: "ratio", label: "Train ratio", group: "data", type: "number", default: 0.8, min: 0.1, max: 1, step: 0.05 },
  { key: "optimizer", label: "Optimizer", group: "train", type: "select", default: "adam",
    options: ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "adamw"] },
  { key: "lr", label: "Learning rate", group: "train", type: "number", default: 0.03, min: 0, max: 10, step: 0.001 },
  { key: "momentum", label: "Momentum", group: "train", type: "number", default: 0.9, min: 0, max: 0.999, step: 0.01,
    when: (s) => s.optimizer === "momentum" || s.optimizer === "nesterov" },
  { key: "l1", label: "L1", group: "train", type: "number", default: 0, min: 0, max: 1, step: 0.0001 },
  { key: "l2", label: "L2", group: "train", type: "number", default: 0, min: 0, max: 1, step: 0.0001 },
  { key: "batchSize", label: "Batch size", group: "train", type: "number", default: 16, min: 1, max: 1024, step: 1 },
  { key: "patience", label: "Early stopping patience (epochs, 0 = off)", group: "train", type: "number", default: 0,
    min: 0, max: 100, step: 1 },
  { key: "backend", label: "Backend", group: "train", type: "select", default: "numpy", options: ["numpy", "webgpu"] },
];

export const DEFAULTS = Object.fromEntries(SETTINGS.map((s) => [s.key, s.default]));

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
