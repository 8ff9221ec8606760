// A code editor on a <textarea>: CodeMirror 5 (vendor/codemirror, loaded by index.html as classic
// scripts) with Python highlighting, bracket matching and line numbers; the plain textarea when
// CodeMirror did not load. Both give the same small interface, so the panels never ask which.
//
// Keys: Ctrl/Cmd+Enter runs; Tab indents (4 spaces), Shift+Tab dedents; after Esc, Tab and Shift+Tab
// move the focus out of the editor as anywhere else on the page (no keyboard trap).

/**
 * @param {HTMLTextAreaElement} textarea
 * @param {{label: string, onRun?: Function, onChange?: Function, lineNumbers?: boolean}} options
 */
export function createEditor(textarea, { label, onRun = () => {}, onChange = () => {}, lineNumbers = true }) {
  const CM = window.CodeMirror;
  if (typeof CM !== "function") return textareaEditor(textarea, onRun, onChange);
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
