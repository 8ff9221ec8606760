// A code editor on a <textarea>: CodeMirror 5 (vendor/codemirror, classic scripts) with Python
// highlighting, bracket matching and line numbers; the plain textarea when CodeMirror did not load.
// Both give the same small interface, so the panels never ask which. CodeMirror is loaded after the
// first screen (issue 19: its 400 kB of script cost the first screen about 0.18 s here): until it is
// there the editor is the textarea, which it then takes over in place (text, read-only, focus kept).
//
// Keys: Ctrl/Cmd+Enter runs; Tab indents (4 spaces), Shift+Tab dedents; after Esc, Tab and Shift+Tab
// move the focus out of the editor as anywhere else on the page (no keyboard trap).

const CODEMIRROR = new URL("../vendor/codemirror/", import.meta.url);
const CODEMIRROR_SCRIPTS = ["codemirror.js", "python.js", "matchbrackets.js"]; // in this order
let codeMirrorLoading = null;

/** Load CodeMirror's scripts once, in order; resolves to whether window.CodeMirror is there. */
export function loadCodeMirror() {
  if (codeMirrorLoading) return codeMirrorLoading;
  if (typeof window.CodeMirror === "function") return (codeMirrorLoading = Promise.resolve(true));
  codeMirrorLoading = CODEMIRROR_SCRIPTS.reduce((before, name) => before.then((ok) => ok && new Promise((resolve) => {
    const script = document.createElement("script");
    script.src = new URL(name, CODEMIRROR).href;
    script.onload = () => resolve(true);
    script.onerror = () => resolve(false); // (the textarea stays: everything works without highlighting)
    document.head.append(script);
  })), Promise.resolve(true)).then((ok) => ok && typeof window.CodeMirror === "function");
  return codeMirrorLoading;
}

/**
 * @param {HTMLTextAreaElement} textarea
 * @param {{label: string, onRun?: Function, onChange?: Function, lineNumbers?: boolean}} options
 */
export function createEditor(textarea, options) {
  if (typeof window.CodeMirror === "function") return codeMirrorEditor(textarea, options);
  let impl = textareaEditor(textarea, options.onRun ?? (() => {}), options.onChange ?? (() => {}));
  let readOnly = false;
  loadCodeMirror().then((ok) => {
    if (!ok) return;
    const focused = document.activeElement === textarea;
    impl = codeMirrorEditor(textarea, options); // it reads the textarea's text as it is now
    impl.readOnly = readOnly;
    if (focused) impl.focus();
  });
  return {
    get kind() { return impl.kind; },
    get value() { return impl.value; },
    set value(text) { impl.value = text; },
    set readOnly(flag) {
      readOnly = flag;
      impl.readOnly = flag;
    },
    focus: () => impl.focus(),
    markLine: (line) => impl.markLine(line),
    refresh: () => impl.refresh(),
  };
}

function codeMirrorEditor(textarea, { label, onRun = () => {}, onChange = () => {}, lineNumbers = true }) {
  const CM = window.CodeMirror;
  let escaped = false; // Esc was the last key: Tab / Shift+Tab leave the editor
  const cm = CM.fromTextArea(textarea, {
    mode: "python",
    indentUnit: 4,
    lineNumbers,
    matchBrackets: true,
    viewportMargin: Infinity, // the whole text is laid out, so the editor grows with it (see style.css)
    screenReaderLabel: label,
    extraKeys: {
      "Ctrl-Enter": () => onRun(),
      "Cmd-Enter": () => onRun(),
      Tab: (ed) => (ed.somethingSelected() ? ed.indentSelection("add") : ed.replaceSelection("    ", "end")),
      "Shift-Tab": (ed) => ed.indentSelection("subtract"),
      Esc: () => { escaped = true; },
    },
  });
  cm.getWrapperElement().dataset.testid = `${textarea.dataset.testid ?? textarea.id}-cm`;
  cm.on("keydown", (_ed, e) => {
    if (e.key === "Tab" && escaped) e.codemirrorIgnore = true; // the browser moves the focus on
    else if (!["Escape", "Shift", "Control", "Alt", "Meta"].includes(e.key)) escaped = false;
  });
  cm.on("focus", () => { escaped = false; });
  let marked = null;
  cm.on("change", (_ed, change) => {
    if (change.origin !== "setValue") onChange();
  });
  return {
    kind: "codemirror",
    get value() { return cm.getValue(); },
    set value(text) {
      if (text !== cm.getValue()) cm.setValue(text);
    },
    set readOnly(flag) {
      cm.setOption("readOnly", flag);
      cm.getWrapperElement().classList.toggle("read-only", flag);
    },
    focus: () => cm.focus(),
    /** Mark line `line` (1-based) as where an error happened; null clears the mark. */
    markLine(line) {
      if (marked !== null) cm.removeLineClass(marked, "background", "code-error-line");
      marked = null;
      if (line && line <= cm.lineCount()) {
        marked = cm.addLineClass(line - 1, "background", "code-error-line");
        cm.scrollIntoView({ line: line - 1, ch: 0 }, 40);
      }
    },
    refresh: () => cm.refresh(),
  };
}

function textareaEditor(textarea, onRun, onChange) {
  textarea.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      onRun();
    }
  });
  textarea.addEventListener("input", () => onChange());
  return {
    kind: "textarea",
    get value() { return textarea.value; },
    set value(text) { textarea.value = text; },
    set readOnly(flag) { textarea.readOnly = flag; },
    focus: () => textarea.focus(),
    markLine(line) {
      if (!line) return;
      const lines = textarea.value.split("\n");
      const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
      textarea.setSelectionRange(start, start + (lines[line - 1] ?? "").length);
    },
    refresh: () => {},
  };
}
