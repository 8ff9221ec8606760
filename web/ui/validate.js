// Checks for everything that reaches the page from outside (a #s= link, the query string, the
// autosave record, a file, a window.nnplay call) before it is used further or posted to the worker:
// a depth and size limit on JSON-like values (a link nested 50,000 levels deep overflows the stack of
// JSON.stringify and postMessage), plain-object checks, and lookups that never find Object.prototype
// (a layer type or preset named "constructor", "__proto__" or "toString"). Messages name the field,
// the value and what is allowed. The engine checks its own parameters again (pyengine/checks.py).

export const MAX_DEPTH = 100; // nesting levels; a spec needs about 5, predict's inputs about 4
export const MAX_NODES = 5_000_000; // values in all (predict on 1,000 MNIST digits is ~800,000)

/** An Error whose message is meant for the learner; `field` names what was wrong. */
export class InputError extends Error {
  constructor(message, field = null) {
    super(message);
    this.name = "InputError";
    this.kind = "BadParams";
    this.field = field;
  }
}

/** A value as a message shows it: short, one line, never the whole of a huge or deep value. */
export function describe(value, limit = 40) {
  if (typeof value === "string") return JSON.stringify(value.length > limit ? `${value.slice(0, limit)}…` : value);
  if (typeof value === "number" || typeof value === "boolean" || value == null || typeof value === "bigint") return String(value);
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `${value.constructor.name} of ${value.byteLength} bytes`;
  if (typeof value === "function") return "a function";
  return isPlainObject(value) ? "an object" : `a ${value?.constructor?.name ?? typeof value}`;
}

/** {…} from JSON, a literal or Object.create(null); not an array, a class instance, a typed array. */
export function isPlainObject(value) {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** table[key] only when `key` is the table's own entry (never Object.prototype's "constructor" etc.). */
export function own(table, key) {
  return table != null && typeof key === "string" && Object.hasOwn(table, key) ? table[key] : undefined;
}

/**
 * Why `value` cannot be sent on as JSON-like data (null when it can): deeper than `maxDepth`, more
 * than `maxNodes` values, a number that is not finite (JSON would turn NaN into null), a function,
 * a symbol or a cycle. Walks without recursion, so a hostile depth cannot overflow the stack here.
 * Typed arrays and ArrayBuffers are leaves (model files, weights). `path` names the offending field.
 */
export function jsonProblem(value, { what = "the value", maxDepth = MAX_DEPTH, maxNodes = MAX_NODES } = {}) {
  const stack = [[value, "", 0]];
  const at = (path) => (path ? `${what}: ${path}` : what);
  let nodes = 0;
  while (stack.length) {
    const [v, path, depth] = stack.pop();
    if (++nodes > maxNodes) return `${what} is too big (more than ${maxNodes.toLocaleString("en")} values)`;
    if (typeof v === "number") {
      if (!Number.isFinite(v)) return `${at(path)} is ${v}; a finite number is needed`;
      continue;
    }
    if (v === null || v === undefined || typeof v === "string" || typeof v === "boolean") continue;
    if (typeof v !== "object") return `${at(path)} is ${describe(v)}, which is not data`;
    if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) continue;
    // (a cycle is caught here too: it never ends, so it is too deep)
    if (depth >= maxDepth) return `${what} is nested too deeply (more than ${maxDepth} levels)`;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}[${i}]`, depth + 1]);
    } else {
      for (const k of Object.keys(v)) stack.push([v[k], path ? `${path}.${k}` : k, depth + 1]);
    }
  }
  return null;
}

/** Throw an InputError when jsonProblem finds one. */
export function checkJson(value, options) {
  const problem = jsonProblem(value, options);
  if (problem) throw new InputError(problem);
  return value;
}

/**
 * A saved or shared state ({spec, settings, …} from a link or the autosave) -> its problems (strings;
 * none: it can be applied). Only the shape is checked here; the engine checks the spec itself.
 */
export function stateProblems(state, from = "the link") {
  if (!isPlainObject(state)) return [`${from} holds ${describe(state)}, not {spec, settings}`];
  const problems = [];
  const deep = jsonProblem(state, { what: from });
  if (deep) return [deep];
  if ("settings" in state && state.settings != null && !isPlainObject(state.settings)) {
    problems.push(`settings is ${describe(state.settings)}, not an object of settings`);
  }
  for (const part of ["data", "train"]) {
    if (part in state && state[part] != null && !isPlainObject(state[part])) problems.push(`${part} is ${describe(state[part])}, not an object`);
  }
  if ("spec" in state && state.spec != null) {
    const s = state.spec;
    if (!isPlainObject(s)) problems.push(`spec is ${describe(s)}, not a network spec`);
    else {
      if (!Array.isArray(s.layers)) problems.push(`spec.layers is ${describe(s.layers)}, not a list of layers`);
      if (!Array.isArray(s.input)) problems.push(`spec.input is ${describe(s.input)}, not a shape list such as [2]`);
    }
  }
  return problems;
}
