// The Python view and the Python console. The view shows the builder's network as pyengine code
// (or, read-only, as PyTorch / Keras code); the learner edits and runs it in the worker, and a Model
// the code builds becomes the builder's network (playground.runCode). Stop interrupts running code
// with KeyboardInterrupt; code that does not stop (a long NumPy call) costs a worker restart, after
// which the app restores the autosave (App.recover).

import { createEditor } from "./editor.js";

const $ = (s) => document.querySelector(s);
const STOP_GRACE_MS = 3000; // after an interrupt, how long code may take to stop before a restart
export const MAX_OUTPUT_LINES = 2000; // each output keeps its last lines; it says how many were dropped
const FLUSH_MS = 150; // while output streams in, the box is updated at most this often

/**
 * An output box that stays cheap however much is printed: lines wait in a queue (itself bounded) and
 * reach the DOM in an animation frame at most every FLUSH_MS, in one append (a span per run of lines
 * of one kind) and one scroll; only the last MAX_OUTPUT_LINES stay, under a note saying how many
 * earlier lines were dropped (here, or already in the worker, which batches Python's prints).
 */
export class OutputLog {
  constructor(box, maxLines = MAX_OUTPUT_LINES) {
    this.box = box;
    this.maxLines = maxLines;
    this.queue = []; // [text, className] not yet shown
    this.chunks = []; // [{span, lines}] on screen, oldest first
    this.lines = 0; // lines on screen
    this.dropped = 0;
    this.scheduled = false;
    this.flushed = -Infinity; // when the DOM was last updated
    this.note = Object.assign(document.createElement("span"), { className: "muted output-dropped" });
  }

  /** Queue `text` (one or more lines); `dropped`: lines the worker already left out before these. */
  add(text, className, dropped = 0) {
    this.dropped += dropped;
    for (const line of String(text).replace(/\n$/, "").split("\n")) this.queue.push([line, className]);
    if (this.queue.length > 2 * this.maxLines) { // what could never be shown is dropped (now and then: cheap)
      const extra = this.queue.length - this.maxLines;
      this.queue.splice(0, extra);
      this.dropped += extra;
    }
    if (!this.scheduled) { // at the next animation frame, at most every FLUSH_MS (each costs a layout)
      this.scheduled = true;
      const wait = Math.max(0, FLUSH_MS - (performance.now() - this.flushed));
      setTimeout(() => requestAnimationFrame(() => this.flush()), wait);
      setTimeout(() => this.flush(), wait + 250); // a hidden tab runs no animation frames
    }
  }

  /** Put the queued lines on screen now (also called before the page reports a finished run). */
  flush() {
    this.scheduled = false;
    if (!this.queue.length) return;
    this.flushed = performance.now();
    if (this.chunks.length && !this.chunks[0].span.isConnected) this.forget(); // the box was emptied meanwhile
    if (this.queue.length > this.maxLines) {
      this.dropped += this.queue.length - this.maxLines;
      this.queue.splice(0, this.queue.length - this.maxLines);
    }
    const added = [];
    for (let i = 0; i < this.queue.length;) {
      const className = this.queue[i][1];
      let j = i;
      while (j < this.queue.length && this.queue[j][1] === className) j++;
      const span = document.createElement("span");
      span.textContent = `${this.queue.slice(i, j).map((q) => q[0]).join("\n")}\n`;
      if (className) span.className = className;
      added.push({ span, lines: j - i });
      i = j;
    }
    this.queue = [];
    this.chunks.push(...added);
    this.lines += added.reduce((n, c) => n + c.lines, 0);
    while (this.lines > this.maxLines) { // the oldest lines go: whole spans, then the head of one
      const first = this.chunks[0];
      const excess = this.lines - this.maxLines;
      if (first.lines <= excess) {
        first.span.remove();
        this.chunks.shift();
        this.lines -= first.lines;
        this.dropped += first.lines;
      } else {
        const text = first.span.textContent;
        let cut = -1;
        for (let k = 0; k < excess; k++) cut = text.indexOf("\n", cut + 1);
        first.span.textContent = text.slice(cut + 1);
        first.lines -= excess;
        this.lines -= excess;
        this.dropped += excess;
      }
    }
    const kept = new Set(this.chunks); // (a new span may already be gone again: more than maxLines came)
    this.box.append(...added.filter((c) => kept.has(c)).map((c) => c.span));
    if (this.dropped) {
      this.note.textContent = `(${this.dropped.toLocaleString("en")} earlier line${this.dropped === 1 ? "" : "s"} dropped: `
        + `only the last ${this.maxLines.toLocaleString("en")} are kept)\n`;
      this.box.prepend(this.note);
    }
    this.box.scrollTop = this.box.scrollHeight;
  }

  forget() {
    this.chunks = [];
    this.lines = 0;
  }

  clear() {
    this.queue = [];
    this.forget();
    this.dropped = 0;
    this.box.replaceChildren();
  }
}

export class CodePanel {
  /** @param {object} app the App (web/ui/app.js): nnplay, message(), pause(), adoptModel() */
  constructor(app) {
    this.app = app;
    this.nnplay = app.nnplay;
    this.generated = ""; // the builder's network as pyengine code, as last generated
    this.shownKind = "python";
    this.draft = null; // the learner's edited Python while another kind is shown
    this.running = null; // "view" | "console" while their code runs
    this.adopting = null; // "view" | "console" while the builder takes a model their code built
    this.view = createEditor($("#code-view"), {
      label: "Python code of the network (editable; Ctrl+Enter runs it)",
      onRun: () => this.run("view"),
      onChange: () => {
        this.showState();
        this.app.saveSoon(); // drafts are autosaved (never shared, never run without a click)
      },
    });
    this.console = createEditor($("#console-input"), {
      label: "Python console input (Ctrl+Enter runs it)",
      onRun: () => this.run("console"),
      onChange: () => this.app.saveSoon(),
      lineNumbers: false,
    });
    this.outputs = { view: $("#code-output"), console: $("#console-output") };
    this.logs = { view: new OutputLog(this.outputs.view), console: new OutputLog(this.outputs.console) };
    $("#code-kind").addEventListener("change", () => this.showKind());
    $("#code-run").addEventListener("click", () => this.run("view"));
    $("#console-run").addEventListener("click", () => this.run("console"));
    for (const id of ["#code-stop", "#console-stop"]) $(id).addEventListener("click", () => this.stop());
    $("#code-revert").addEventListener("click", () => {
      this.view.value = this.generated;
      this.showState();
    });
    $("#console-clear").addEventListener("click", () => this.logs.console.clear());
    this.nnplay.on("log", ({ text, stream, dropped }) =>
      this.logs[this.running ?? "console"].add(text, stream === "stderr" ? "error" : undefined, dropped ?? 0));
    this.nnplay.on("restarting", () => this.setRunning(null));
    this.setRunning(null);
  }

  get kind() {
    return $("#code-kind").value;
  }

  /** Is the Python in the view the learner's own (different from the builder's code)? */
  get edited() {
    return this.shownKind === "python" ? this.view.value !== this.generated : this.draft !== null;
  }

  append(source, text, className) {
    this.logs[source].add(text, className);
  }

  /** The builder's network changed (or was first built): regenerate the code views. */
  async networkChanged() {
    const adopting = this.adopting; // (read before the await: the adoption may finish meanwhile)
    let python;
    try {
      python = await this.nnplay.code("python");
    } catch {
      return; // no valid network yet
    }
    // The learner's edits stay (when the view's own code built this network, they are what made it).
    const keep = this.edited;
    const first = this.generated === ""; // a draft from the autosave is not a change of the builder
    const moved = !first && python !== this.generated; // (a state event for the same network moves nothing)
    this.generated = python;
    if (this.shownKind === "python") {
      if (!keep) this.view.value = python;
    } else {
      if (!keep) this.draft = null;
      await this.showKind();
    }
    this.showState(keep && moved && adopting !== "view");
  }

  /** The learner's code for the autosave: the view's text when edited, and the console's. */
  drafts() {
    const view = this.shownKind === "python" ? (this.edited ? this.view.value : null) : this.draft;
    return { view, console: this.console.value };
  }

  /** Put autosaved drafts back into the editors (they are shown, never run). */
  restoreDrafts(saved) {
    if (!saved || typeof saved !== "object") return;
    if (typeof saved.view === "string" && saved.view) this.view.value = saved.view;
    if (typeof saved.console === "string") this.console.value = saved.console;
    this.showState();
  }

  /** Show the kind picked in #code-kind: editable pyengine Python, or read-only PyTorch / Keras. */
  async showKind() {
    const kind = this.kind;
    if (this.shownKind === "python" && kind !== "python" && this.view.value !== this.generated) {
      this.draft = this.view.value; // the learner's edits wait while another kind is shown
    }
    this.shownKind = kind;
    this.view.readOnly = kind !== "python";
    if (kind === "python") {
      this.view.value = this.draft ?? this.generated;
      this.draft = null;
    } else {
      try {
        this.view.value = await this.nnplay.code(kind);
      } catch (err) {
        this.view.value = `# ${err.message}`;
      }
    }
    this.showState();
  }

  /** The note under the buttons: what the view shows and whether it matches the builder. */
  showState(builderMovedOn = false) {
    const python = this.shownKind === "python";
    const edited = python && this.view.value !== this.generated;
    $("#code-revert").hidden = !edited;
    $("#code-run").disabled = !python || this.running !== null;
    const note = $("#code-note");
    if (!python) note.textContent = `Read-only ${this.shownKind === "pytorch" ? "PyTorch" : "Keras"} code of the network (channels order handled).`;
    else if (builderMovedOn) note.textContent = "The builder's network changed; your edited code is kept. “Show the builder's code” replaces it.";
    else if (edited) note.textContent = "Edited: Run (Ctrl+Enter) executes it in the worker; a model it builds replaces the builder's network.";
    else note.textContent = "The builder's network as pyengine code. Edit it and Run (Ctrl+Enter); a model the code builds becomes the builder's network. Esc, then Tab, leaves the editor.";
  }

  setRunning(source) {
    this.running = source;
    $("#console-run").disabled = source !== null || !this.app.ready;
    $("#code-stop").disabled = source !== "view";
    $("#console-stop").disabled = source !== "console";
    document.body.dataset.codeRunning = source ?? "";
    this.showState();
  }

  /** Run the view's or the console's code; adopt a model it builds. */
  async run(source) {
    if (this.running || !this.app.ready || (source === "view" && this.shownKind !== "python")) return;
    const editor = source === "view" ? this.view : this.console;
    const code = editor.value;
    editor.markLine(null);
    await this.app.pause(); // training must not run under the learner's code (it may build a model)
    if (source === "view") this.logs.view.clear(); // a new run of the view's code: only its own output shows
    this.setRunning(source);
    const started = performance.now();
    this.call = this.nnplay.runCode(code);
    try {
      const r = await this.call;
      if (r.value !== null) this.append(source, r.value);
      if (r.adopted) {
        this.adopting = source;
        try {
          await this.app.adoptModel(r.adopted.spec);
        } finally {
          this.adopting = null;
        }
        this.app.message(`The builder now shows the model in '${r.adopted.variable}' from your code.`, "info");
      }
      if (source === "view") this.append(source, `(ran in ${((performance.now() - started) / 1000).toFixed(1)} s)`, "muted");
    } catch (err) {
      const named = !err.line || err.message.includes(`line ${err.line}`);
      this.append(source, named ? err.message : `line ${err.line}: ${err.message}`, "error");
      if (err.kind !== "WorkerRestarted") editor.markLine(err.line);
    } finally {
      this.logs[source].flush(); // what the run printed is on screen before it counts as finished
      this.call = null;
      this.setRunning(null);
      document.body.dataset.codeRuns = String(Number(document.body.dataset.codeRuns ?? 0) + 1);
    }
  }

  /** Stop running code: KeyboardInterrupt first; a restart of the worker if it does not stop. */
  async stop() {
    const call = this.call;
    if (!call) return;
    const source = this.running;
    const settled = call.then(() => true, () => true);
    if (this.nnplay.interrupt()) {
      const stopped = await Promise.race([settled, new Promise((r) => setTimeout(() => r(false), STOP_GRACE_MS))]);
      if (stopped) return;
    }
    const why = this.nnplay.interruptNotice ? `${this.nnplay.interruptNotice} Restarting it` : "The code did not stop; restarting the Python worker";
    this.append(source, `${why} (your network comes back from the autosave).`, "error");
    await this.app.restartWorker("the Stop button was pressed while code was running");
  }
}
