// The playground page. The worker's playground session (pyengine/playground.py) holds the one
// state: the network spec (loss, optimizer, backend choice included), the data choice, the training
// settings, the counters and the history. This page keeps no second copy: every control sends a
// request through window.nnplay (the very calls a host page or a test makes) and everything on
// screen is drawn from the session's "state" events (render). Every failure becomes a message in
// #message and leaves the previous state in place.

import { SETTINGS, DEFAULTS, valuesFrom, dataOptions, specWith, fromOldSettings, renderControls } from "./settings.js";
import { Builder } from "./builder.js";
import { Charts, drawHeatmap, drawCurve, drawLayerViews, drawConfusion } from "./views.js";
import { autosave, damagedToJson, readHash, shareURL } from "./storage.js";
import { startDrawing } from "./draw.js";
import { startImageUpload, IMAGE_SIZE } from "./images.js";
import { CodePanel } from "./code.js";
import { initExport } from "./export.js";
import { own, stateProblems } from "./validate.js";
import { NetPicture, pictureKind } from "./netpic.js";
import { drawProbabilities, featureBoxes, learningRateSlider, drawConvDetail } from "./teach.js";
import { drawGraph } from "./builder.js";

const $ = (s) => document.querySelector(s);
const VIEW_INTERVAL_MS = 700; // live views refresh at most this often while training
const LAYER_VIEWS_MS = 5000; // the layer pictures and the confusion matrix at most this often
const CONFUSION_MS = 3000;
const AUTOSAVE_TRAINING_MS = 15000; // while training, the autosave (weights included) is this fresh
const CSV_AUTOSAVE_MAX = 8_000_000; // characters: a bigger uploaded CSV is used but not autosaved
const EDIT_DEBOUNCE_MS = 150;

/**
 * How the page was opened: `index.html?embed=1&preset=mnist&panels=builder,charts&autoplay=1` is one
 * embedded widget (web/embed.js puts it in an iframe). An embed shows only the listed panels (all by
 * default), starts from `preset`, never reads or writes the autosave (widgets on one page, and the
 * playground itself, would overwrite each other's) and, with `autoplay`, starts training.
 */
export function pageOptions(search = location.search) {
  const q = new URLSearchParams(search);
  const embed = q.has("embed") && q.get("embed") !== "0";
  const panels = (q.get("panels") ?? "").split(/[\s,]+/).filter(Boolean);
  return { embed, preset: q.get("preset"), panels, autoplay: embed && q.has("autoplay") && q.get("autoplay") !== "0" };
}

let app = null;

/** A greyscale example image (base64 uint8) into a canvas. */
function paintGrey(canvas, image) {
  const bytes = Uint8Array.from(atob(image.pixels), (c) => c.charCodeAt(0));
  canvas.width = image.w;
  canvas.height = image.h;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(image.w, image.h);
  bytes.forEach((v, i) => img.data.set([v, v, v, 255], i * 4));
  ctx.putImageData(img, 0, 0);
}

/**
 * The page's start-up, run by window.nnplay once its worker is up (and again after a restart):
 * window.nnplay.ready resolves only after this, so a test's first call always comes after it.
 */
export async function startApp(nnplay, options = pageOptions()) {
  if (app?.started) {
    await app.recover();
    return;
  }
  if (!app) showFirstScreen(nnplay, { catalogue: await nnplay.call("playground.catalogue") }, options);
  app.started = true;
  await app.start();
  document.body.dataset.app = "ready";
  if (options.autoplay && app.state?.fit?.ok) app.play();
}

/**
 * The first screen, before Python is up (issue 19): the builder with the default network, the
 * controls and empty charts, drawn by the same render() from `first` (dist/catalogue.js, which
 * build.py gets from pyengine.playground.first_screen()). Edits made meanwhile are the same
 * window.nnplay requests, held until start-up has restored the session and then sent in order.
 */
export function showFirstScreen(nnplay, first, options = pageOptions()) {
  if (options.embed) {
    document.body.dataset.embed = "true";
    if (options.panels.length) {
      for (const section of document.querySelectorAll("section[data-panel]")) {
        section.hidden = !options.panels.includes(section.dataset.panel) && section.dataset.panel !== "boot";
      }
    }
  }
  app = new App(nnplay, first.catalogue, options, first);
  window.nnplayApp = app;
  if (first.state) {
    // `?preset=` (every widget has one): that network, and its data's name, until Python has loaded it
    const preset = own(first.catalogue.presets, options.preset);
    const entry = preset && first.checks.find((c) => c.preset === options.preset);
    const data = !preset || preset.dataset === first.state.data.name ? first.state.data : { name: preset.dataset, options: {} };
    app.render(entry ? { ...first.state, spec: entry.spec, data, fit: null } : first.state);
    document.body.dataset.app = "provisional";
  }
  return app;
}

/**
 * window.nnplay for the page's own controls: while `app.queue` is an array (Python starting), a call
 * waits in it and goes out, unchanged and in order, once start-up has restored the session.
 */
function heldUntilStarted(nnplay, app) {
  return new Proxy(nnplay, {
    get(target, key) {
      const value = Reflect.get(target, key);
      if (typeof value !== "function" || key === "on") return value;
      return (...args) => {
        if (!app.queue) return value.apply(target, args);
        return new Promise((resolve, reject) => app.queue.push(() => {
          const result = Promise.resolve().then(() => value.apply(target, args));
          result.then(resolve, reject);
          return result;
        }));
      };
    },
  });
}

/** JSON with sorted keys: the same value gives the same text. */
const canonical = (v) => JSON.stringify(v, (_k, x) => (x && typeof x === "object" && !Array.isArray(x)
  ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, x[k]])) : x));

/** The two lines that embed this network and settings on a page of any site (web/embed.js). */
function embedSnippet(link) {
  const hash = new URL(link, location.href).hash;
  return `<script src="${new URL("embed.js", location.href).href}"></script>\n<nn-playground share="${hash}"></nn-playground>`;
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
/** The part of a spec the builder shows: its input and layers. */
const netPart = (spec) => ({ input: spec?.input, layers: spec?.layers });

/** "[28, 28, 1]", "28 28 1", "28x28x1" or "2" -> a list of positive whole numbers; null when it is not one. */
function parseInputShape(text) {
  let v;
  try {
    v = JSON.parse(text);
  } catch {
    v = String(text).split(/[ ,x×]+/).filter(Boolean).map(Number);
  }
  if (typeof v === "number") v = [v];
  return Array.isArray(v) && v.length > 0 && v.every((n) => Number.isInteger(n) && n > 0) ? v : null;
}

/** The status paragraph `id` (testid the same), made once and put after what `anchor()` gives. */
function statusLine(id, anchor) {
  let line = document.getElementById(id);
  if (!line) {
    line = document.createElement("p");
    line.id = id;
    line.dataset.testid = id;
    anchor().after(line);
  }
  return line;
}

class App {
  constructor(nnplay, catalogue, options = {}, first = null) {
    this.api = nnplay; // window.nnplay itself (start-up's own requests)
    this.queue = []; // requests made before start-up has restored the session (heldUntilStarted)
    this.nnplay = heldUntilStarted(nnplay, this);
    this.knownChecks = new Map((first?.checks ?? []).map(({ spec, check }) => [canonical(spec), check]));
    this.options = options;
    this.catalogue = catalogue;
    // The engine's own lists (never a copy kept here).
    SETTINGS.find((s) => s.key === "loss").options = Object.keys(catalogue.losses);
    SETTINGS.find((s) => s.key === "optimizer").options = Object.keys(catalogue.optimizers);
    SETTINGS.find((s) => s.key === "backend").options = catalogue.backends;
    this.state = null; // the session's latest state (render() draws it)
    this.values = { ...DEFAULTS }; // the controls' values, as the state says them
    this.builderSpec = null; // the spec the builder shows (JSON), to tell a new spec from the one being edited
    this.sentNets = []; // the builder's networks sent to the session whose state event has not come yet
    this.builderSending = null; // the builder's sends on their way (one after the other)
    this.settingsQueue = Promise.resolve(); // the control changes on their way (one after the other)
    this.points = null;
    this.pointsFor = null;
    this.builder = new Builder({ palette: $("#palette"), list: $("#layers"), catalogue,
      onChange: () => this.networkEdited() });
    this.charts = new Charts($("#loss-chart"), $("#acc-chart"));
    const onSetting = (k, v) => this.settingChanged(k, v);
    this.refreshData = renderControls($("#data-settings"), "data", this.values, onSetting);
    this.refreshTrain = renderControls($("#train-settings"), "train", this.values, onSetting);
    for (const [key, p] of Object.entries(catalogue.presets)) $("#preset").append(new Option(p.title, key));
    // The slower views are computed only while on screen; one scrolled into view is brought up to date.
    this.onScreen = new Set();
    const observer = new IntersectionObserver((entries) => {
      for (const e of entries) {
        if (!e.isIntersecting) this.onScreen.delete(e.target.id);
        else if (!this.onScreen.has(e.target.id)) {
          this.onScreen.add(e.target.id);
          if (e.target.id === "layers-view") this.lastSlow = 0;
          else this.confusionDue = true;
          if (!this.state?.training) this.refreshViews();
        }
      }
    });
    for (const id of ["#layers-view", "#output", "#netpic-panel"]) observer.observe($(id));
    this.teach();
    this.ready = false; // the worker answers and start-up is done (false while it restarts)
    this.snapshot = null; // the last autosaved state, kept in memory too (embeds have no autosave)
    this.code = new CodePanel(this);
    this.wire();
    initExport(this);
  }

  // --- messages ----------------------------------------------------------------------------
  message(text, kind = "error") {
    const box = $("#message");
    box.textContent = text;
    box.dataset.kind = kind;
    box.hidden = !text;
    clearTimeout(this.messageTimer);
    if (kind !== "error") this.messageTimer = setTimeout(() => (box.hidden = true), 6000);
  }

  // --- rendering: everything on screen comes from the session's state ------------------------
  render(state) {
    if (!state || (this.state && state.revision < this.state.revision)) return; // an older reply
    const before = this.state;
    this.state = state;
    this.values = valuesFrom(state);
    this.refreshData(this.values);
    this.refreshTrain(this.values);
    if (state.spec && this.networkChangedElsewhere(state.spec, before?.spec)) this.showSpec(state.spec);
    this.values.features = state.data?.options?.features; // (not a form control: the feature boxes)
    this.renderTeach(state, before);
    this.renderData(state.data, before?.data);
    this.renderCounters(state);
    this.renderFit(state);
    this.renderBackend(state.backend);
    this.renderWorkers(state.workers);
    this.renderPlay();
    const playing = state.training;
    if (playing && !this.viewTimer) {
      this.viewTimer = setInterval(() => this.refreshViews(), VIEW_INTERVAL_MS);
      this.autosaveTimer = setInterval(() => this.saveSoon(0), AUTOSAVE_TRAINING_MS);
    } else if (!playing && this.viewTimer) {
      clearInterval(this.viewTimer);
      clearInterval(this.autosaveTimer);
      this.viewTimer = this.autosaveTimer = null;
    }
    const reset = before && (state.counters.step < before.counters.step || (state.counters.examples === 0 && before.counters.examples > 0));
    if (reset) this.charts.reset();
    if (!playing) this.refreshViews(true);
    if (this.ready) {
      this.showLink(); // at once (the autosave below waits for changes to settle)
      this.saveSoon();
    }
    document.body.dataset.revision = String(state.revision);
  }

  /**
   * Whether the session's network (input and layers: what the builder shows) is new and not one this
   * builder sent. A state event about anything else (data, counters, the learning rate) or the echo
   * of the builder's own edit leaves the builder alone, so an edit still on its way, or refused
   * (an unfinished network), is never replaced by the network the session had before it.
   */
  networkChangedElsewhere(spec, previous) {
    const net = netPart(spec);
    const echo = this.sentNets.findIndex((n) => same(n, net));
    if (echo >= 0) {
      this.sentNets.splice(0, echo + 1); // this edit and the ones before it have arrived
      return false;
    }
    return !previous || !same(net, netPart(previous));
  }

  /** Put a spec into the builder and the network controls, and show its check. */
  async showSpec(spec) {
    this.builderSpec = spec;
    $("#input-shape").value = JSON.stringify(spec.input);
    $("#input-shape-msg").hidden = true;
    this.builder.setLayers(spec.layers ?? []);
    this.code.networkChanged();
    const known = this.queue && this.knownChecks.get(canonical(spec)); // Python is starting: the build's check
    if (known) return this.showCheck(known);
    try {
      this.showCheck(await this.nnplay.checkSpec(spec));
    } catch (err) {
      this.message(err.message);
    }
  }

  showCheck(info) {
    this.builder.showInfo(info);
    $("#totals").textContent = info.ok
      ? `${this.builder.layers.length} layers, ${info.param_count.toLocaleString("en")} parameters, output [${info.output_shape.join(", ")}]`
      : `${info.param_count.toLocaleString("en")} parameters so far; fix the marked problems to train`;
    $("#spec-problems").replaceChildren(...info.problems.filter((p) => p.index == null)
      .map((p) => Object.assign(document.createElement("li"), { textContent: p.message })));
  }

  renderData(d, before) {
    if (!d) return;
    if (!d.input_shape) { // the first screen, for data Python has not loaded yet
      $("#data-info").textContent = `${d.name}: loaded as soon as Python is ready`;
      return;
    }
    const info = `${d.name}: ${d.train} training and ${d.val} validation examples, input [${d.input_shape.join(", ")}]`
      + (d.classes.length ? `, classes ${d.classes.join(" ")}` : ", numeric targets (regression)");
    $("#data-info").textContent = info;
    $("#draw-wrap").hidden = d.name !== "mnist";
    if (!same(d, before)) {
      this.points = null;
      this.clearViews();
      this.confusionDue = true;
    }
  }

  renderCounters(state) {
    const c = state.counters;
    $("#epoch-count").textContent = String(c.epoch);
    $("#example-count").textContent = c.examples.toLocaleString("en");
    $("#rate").textContent = c.examples_per_s ? Math.round(c.examples_per_s).toLocaleString("en") : "–";
    $("#epoch-progress").value = c.batches ? c.batch / c.batches : 0;
    const acc = state.last?.val_accuracy;
    $("#val-accuracy").textContent = acc != null ? `${(100 * acc).toFixed(1)}%` : "–";
    $("#val-accuracy").dataset.value = String(acc ?? "");
  }

  /** Play/Step are enabled only when the network can train on the data; else the reason and fixes. */
  renderFit(state) {
    const fit = state.fit;
    const box = $("#fit");
    const ok = Boolean(fit?.ok) && this.builderValid !== false && this.ready; // (not while Python starts)
    for (const id of ["#btn-play", "#btn-step"]) $(id).disabled = !ok && !state.training;
    $("#btn-reset").disabled = !state.spec || !this.ready;
    $("#btn-play").title = ok ? "" : this.ready ? fit?.reason ?? "" : "Python is starting…";
    if (fit?.ok || !fit) {
      box.hidden = true;
      box.replaceChildren();
      return;
    }
    const buttons = fit.fixes.map((f, i) => {
      const b = Object.assign(document.createElement("button"), { type: "button", textContent: f.label });
      b.dataset.testid = `fit-fix-${i}`;
      b.addEventListener("click", () => this.applyFix(f));
      return b;
    });
    box.replaceChildren(Object.assign(document.createElement("span"), { textContent: `Cannot train yet: ${fit.reason}. ` }), ...buttons);
    box.hidden = false;
  }

  renderBackend(b) {
    if (!b) return;
    const line = statusLine("backend-active", () => $("#backend-status"));
    line.dataset.backend = b.backend ?? "";
    line.dataset.requested = b.requested ?? "";
    const runs = b.backend === "webgpu" ? "WebGPU" : b.backend === "numpy" ? "NumPy" : "–";
    // what was asked for, what runs, and why (auto's reason: "auto → NumPy: ... software emulation ...")
    const why = b.reason ?? b.notice;
    line.textContent = `Backend: ${b.requested} → training runs on ${runs}.` + (why ? ` ${why}${/[.)]$/.test(why) ? "" : "."}` : "");
    line.dataset.reason = b.reason ?? "";
    $("#backend-status").dataset.active = b.backend ?? "";
  }

  /** On how many CPU workers steps run, and why (parallel.Parallel.status; also between state events). */
  renderWorkers(w) {
    if (!w) return;
    const line = statusLine("workers-active", () => $("#backend-active") ?? $("#backend-status"));
    line.dataset.workers = String(w.workers);
    line.dataset.setting = String(w.setting);
    line.dataset.helper = w.helper ?? "";
    line.textContent = `CPU workers: ${w.setting} → ${w.reason}${/[.)]$/.test(w.reason ?? "") ? "" : "."}`;
  }

  clearViews() {
    $("#confusion").replaceChildren();
    $("#activations").replaceChildren();
    $("#neurons").replaceChildren();
    $("#heatmap").hidden = true;
    $("#heatmap-caption").textContent = "";
    $("#conv-detail").hidden = true;
    $("#lv-probs").replaceChildren();
    this.heat = null;
    this.netpic?.render(this.state ?? {}, { heat: null, views: null });
  }

  // --- requests: each control is one call to the session --------------------------------------
  /** Run a request; its failure is shown and the state stays as it was. Resolves to its result or null. */
  async request(work) {
    try {
      return await work();
    } catch (err) {
      if (err.kind !== "WorkerRestarted") this.message(err.message);
      return null;
    }
  }

  networkEdited() {
    clearTimeout(this.editTimer);
    this.editTimer = setTimeout(() => { this.editTimer = null; this.queueBuilderSpec(); }, EDIT_DEBOUNCE_MS);
  }

  /** Send the builder's network after any send still on its way (sends never overtake each other). */
  queueBuilderSpec() {
    const send = (this.builderSending ?? Promise.resolve()).then(() => this.sendBuilderSpec());
    this.builderSending = send;
    send.finally(() => { if (this.builderSending === send) this.builderSending = null; });
    return send;
  }

  /**
   * Send a builder edit still waiting out its debounce and wait for every edit on its way, so that
   * what follows (a training setting, Play, Step) applies to the network the builder shows.
   */
  async flushBuilderEdit() {
    if (this.editTimer) {
      clearTimeout(this.editTimer);
      this.editTimer = null;
      this.queueBuilderSpec();
    }
    if (this.queue) return; // Python starting: held requests go out in order anyway (sendHeld), do not wait on them
    while (this.builderSending) await this.builderSending;
  }

  /** The builder's network as a spec: its input field and layers, the state's loss, optimizer and backend. */
  builderSpecNow() {
    const base = this.state?.spec ?? this.catalogue.presets[this.catalogue.default_preset].spec;
    return { ...base, input: parseInputShape($("#input-shape").value) ?? base.input, layers: this.builder.layers.map((l) => ({ ...l })) };
  }

  /** One request per builder edit: setSpec checks and builds; a bad spec comes back with its check. */
  async sendBuilderSpec() {
    const spec = this.builderSpecNow();
    if (same(spec, this.state?.spec)) { // back to the network the session has (e.g. a field put back)
      this.builderValid = true;
      this.builderSpec = spec;
      await this.request(async () => this.showCheck(await this.nnplay.checkSpec(spec)));
      if (this.state) this.renderFit(this.state);
      return;
    }
    this.builderSpec = spec; // the state event for this spec must not redraw the builder under the learner
    if (this.queue) $("#totals").textContent = "Checked and built as soon as Python is ready (your edits are kept).";
    const net = netPart(spec);
    this.sentNets.push(net);
    try {
      const info = await this.nnplay.setSpec(spec);
      this.builderValid = true;
      this.showCheck(info);
      this.code.networkChanged();
    } catch (err) {
      this.sentNets = this.sentNets.filter((n) => n !== net); // refused: no state event will echo it
      if (err.kind === "SpecError" && err.details) {
        this.builderValid = false;
        this.showCheck(err.details);
        if (this.state) this.renderFit(this.state);
      } else if (err.kind !== "WorkerRestarted") this.message(err.message);
    }
  }

  /** A control's new value. Changes apply one after the other, each to the spec the one before it left
   *  (two quick changes, e.g. the optimizer then its learning rate, never both start from the same old spec). */
  settingChanged(key, value) {
    const run = this.settingsQueue.then(() => this.applySetting(key, value));
    this.settingsQueue = run.catch(() => {});
    return run;
  }

  async applySetting(key, value) {
    const s = SETTINGS.find((x) => x.key === key);
    if (same(this.values[key], value)) return; // "change" on blur with the value already applied
    if (s.group === "data") {
      const values = { ...this.values, [key]: value };
      await this.loadData(values.dataset, dataOptions(values));
    } else if (key === "batchSize") await this.request(() => this.nnplay.setTrainSettings({ batchSize: value }));
    else if (key === "patience") await this.request(() => this.nnplay.setTrainSettings({ earlyStopping: value > 0 ? value : null }));
    else if (key === "workers") await this.request(() => this.nnplay.setTrainSettings({ workers: value === "auto" ? "auto" : Number(value) }));
    else if (this.state?.spec) {
      await this.flushBuilderEdit(); // the change applies to the builder's network, not the one before it
      const spec = this.queue ? this.builderSpecNow() : this.state.spec; // (Python starting: the builder's network)
      await this.request(() => this.nnplay.setSpec(specWith(spec, key, value)));
    }
    this.render(this.state); // a refused value goes back to what the state says
  }

  async loadData(name, options) {
    if (name === "images") {
      if (!(this.uploads.usable().length >= 2)) return this.noUpload();
      options = { ...options, classes: this.uploads.usable(), size: IMAGE_SIZE };
    }
    if (name === "csv") {
      if (typeof this.csv?.text !== "string") return this.noUpload("No CSV file is loaded: pick one under “Upload a CSV”.");
      options = { ...options, text: this.csv.text, label: this.csv.label };
    }
    const shown = $("#data-info").textContent;
    if (name === "mnist") $("#data-info").textContent = "Loading MNIST…";
    const r = await this.request(() => this.nnplay.loadDataset(name, options));
    if (!r) $("#data-info").textContent = shown; // the previous dataset is still loaded
    return Boolean(r);
  }

  /** The data choice is an upload that is not here: says `text`; the data loaded stays. */
  noUpload(text = "Uploaded images need at least two classes with pictures: under “Upload images per class”, "
      + "pick images for each class and press “Use these images”.") {
    this.message(text);
    this.render(this.state);
    return false;
  }

  async applyFix(fix) {
    if (fix.preset) return this.choosePreset(fix.preset);
    if (fix.spec && await this.request(() => this.nnplay.setSpec(fix.spec, { keepWeights: false }))) this.showChosenSpec();
  }

  /** After the learner picked a network (a preset, a fix): the builder shows it, even when it is the
   *  network the session already had and the builder held an unfinished edit of it. */
  showChosenSpec() {
    if (this.state?.spec && !same(netPart(this.builderSpec), netPart(this.state.spec))) this.showSpec(this.state.spec);
  }

  async choosePreset(key) {
    const preset = own(this.catalogue.presets, key);
    if (!preset) return;
    // The backend choice stays (a spec without "backend" keeps it); the preset's data comes with it.
    clearTimeout(this.editTimer); // an edit not yet sent is dropped: the preset replaces the network
    this.editTimer = null;
    const ok = await this.request(() => this.nnplay.setSpec(preset.spec, { keepWeights: false }));
    if (ok) this.showChosenSpec();
    if (ok && this.state?.data?.name !== preset.dataset) {
      await this.loadData(preset.dataset, dataOptions({ ...this.values, dataset: preset.dataset }));
    }
    $("#preset").value = "";
  }

  // --- training -----------------------------------------------------------------------------
  /** The Play button: "Pause" while Play trains or waits to (a Step alone is not playing). */
  renderPlay() {
    const playing = Boolean(this.playQueued || (this.state?.training && !this.stepping));
    $("#btn-play").textContent = playing ? "Pause" : "▶ Play"; // style.css draws the pause bars
    $("#btn-play").setAttribute("aria-label", playing ? "Pause" : "Play");
    document.body.dataset.training = String(Boolean(this.state?.training));
    document.body.dataset.playQueued = String(Boolean(this.playQueued));
    document.body.dataset.stepping = String(Boolean(this.stepping));
  }

  async play() {
    if (this.playQueued) { // a second click takes back the Play waiting for a Step
      this.playQueued = false;
      return this.renderPlay();
    }
    if (this.state?.training && !this.stepping) return this.pause();
    if (this.playing) return; // a Play already on its way
    this.playing = (async () => {
      await this.flushBuilderEdit(); // Play trains the network the builder shows
      if (this.stepping) { // a Step in flight (its first GPU step may be compiling): Play is queued, never "Busy"
        this.playQueued = true;
        this.renderPlay();
        await this.stepping;
        const go = this.playQueued;
        this.playQueued = false;
        this.renderPlay();
        if (!go) return;
      }
      const r = await this.request(() => this.nnplay.train({}));
      if (r?.stopped === "early_stopping") this.message(`Early stopping after epoch ${r.epoch}.`, "info");
    })();
    try {
      await this.playing;
    } finally {
      this.playing = null;
    }
  }

  async pause() {
    await this.request(() => this.nnplay.pause());
  }

  /** The Step button: one step; a click while a Step is still on its way is one more step, not lost. */
  async step() {
    if (this.stepping) {
      this.stepsQueued += 1;
      return;
    }
    if (this.state?.training) return; // Play is training
    this.stepsQueued = 0;
    try {
      let r;
      do {
        this.stepping = this.flushBuilderEdit().then(() => this.request(() => this.nnplay.train({ steps: 1 })));
        this.renderPlay();
        r = await this.stepping;
      } while (r && this.stepsQueued-- > 0 && !this.playQueued); // (a failed step ends the queue; Play takes over)
    } finally {
      this.stepping = null;
      this.stepsQueued = 0;
      this.renderPlay();
    }
  }

  async reset() {
    await this.request(() => this.nnplay.reset());
    this.charts.reset();
  }

  /** Charts, heatmap or fitted curve, layer pictures, confusion matrix; `all` also redraws the slower ones. */
  async refreshViews(all = false) {
    const state = this.state;
    if (!this.ready || !state?.spec || !state.data) return;
    if (this.refreshing) { // one refresh at a time; a request made meanwhile runs right after it
      this.refreshAgain = this.refreshAgain || (all ? "all" : "some");
      return;
    }
    this.refreshing = true;
    try {
      this.charts.update(await this.nnplay.getMetrics());
      if (!state.fit?.ok) return;
      const d = state.data;
      const input = state.spec.input;
      const twoD = d.kind === "2d" && same(input, d.input_shape);
      const oneD = d.kind === "1d" && same(input, [1]);
      if ((twoD || oneD) && this.pointsFor !== d) {
        this.points = await this.nnplay.call("playground.points");
        this.pointsFor = d;
      }
      $("#heatmap").hidden = !(twoD || oneD);
      if (twoD) {
        const heat = await this.nnplay.call("playground.heatmap", { resolution: 48 });
        this.heat = state.counters.step ? heat : { ...heat, wrong: {} }; // rings mean something once it has trained
        if (!this.hovering) drawHeatmap($("#heatmap"), this.heat, this.points);
        this.heatmapCaption(this.heat);
        this.netpic.render(this.state, { heat });
      } else if (oneD) {
        drawCurve($("#heatmap"), this.points, await this.nnplay.call("playground.curve", { points: 200 }));
        $("#neurons").replaceChildren();
      } else $("#neurons").replaceChildren();
      const now = performance.now();
      const maps = pictureKind(state.spec) === "maps" && this.onScreen.has("netpic-panel");
      if (all || ((this.onScreen.has("layers-view") || maps) && now - (this.lastSlow ?? 0) > LAYER_VIEWS_MS)) {
        this.lastSlow = now;
        await this.showLayerViews();
      }
      const confusionOk = this.onScreen.has("output") && now - (this.lastConfusion ?? 0) > CONFUSION_MS;
      if (d.classes.length && (all || (this.confusionDue && confusionOk))) {
        this.confusionDue = false;
        this.lastConfusion = now;
        drawConfusion($("#confusion"), await this.nnplay.call("playground.confusion", { limit: 500 }));
      } else if (!d.classes.length) $("#confusion").replaceChildren();
    } catch (err) {
      if (!/no network|no dataset|needs|input|WorkerRestarted/.test(`${err.message} ${err.kind}`)) this.message(err.message);
    } finally {
      this.refreshing = false;
      const again = this.refreshAgain;
      this.refreshAgain = null;
      if (again) this.refreshViews(again === "all");
    }
  }

  /** Wait for the refresh in flight, then redraw everything once more. */
  async viewsDrawn() {
    while (this.refreshing) await new Promise((r) => setTimeout(r, 20));
    await this.refreshViews(true);
  }

  // --- pictures that teach (web/ui/netpic.js, web/ui/teach.js) --------------------------------
  /** Wire the network picture, the feature boxes, the learning-rate slider and the example chooser. */
  teach() {
    this.netpic = new NetPicture($("#netpic"), {
      onSpec: (spec) => this.request(() => this.nnplay.setSpec(spec)), // the very request the cards make
      onHover: (thumb, label) => this.hoverNeuron(thumb, label),
      onMap: (layer, channel) => this.showConvDetail({ layer, channel }),
      drawGraph: (svg) => drawGraph(svg, this.builder.layers, this.builder.names()),
    });
    this.refreshFeatures = featureBoxes($("#features"), (features) =>
      this.loadData(this.values.dataset, dataOptions({ ...this.values, features })));
    this.refreshLr = learningRateSlider($("#lr-range"), $("#lr-value"), (lr) => {
      if (this.state?.spec) this.request(() => this.nnplay.setSpec(specWith(this.state.spec, "lr", lr)));
    });
    this.lvExample = 0;
    const pick = (i) => {
      const n = this.lvExamples; // (unknown before the first pictures: the worker wraps the number then)
      const k = Math.trunc(Number(i) || 0);
      this.lvExample = n ? ((k % n) + n) % n : Math.max(0, k);
      $("#conv-detail").hidden = true;
      this.showLayerViews();
    };
    $("#lv-example").addEventListener("change", (e) => pick(e.target.value));
    $("#lv-prev").addEventListener("click", () => pick(this.lvExample - 1));
    $("#lv-next").addEventListener("click", () => pick(this.lvExample + 1));
  }

  renderTeach(state, before) {
    this.refreshFeatures(state.data);
    this.refreshLr(state.spec?.optimizer?.lr);
    if (!same(state.spec, before?.spec) || !same(state.data, before?.data)) this.netpic.render(state);
  }

  /** The layer pictures of the chosen example, its probability bars, and the network picture's maps. */
  async showLayerViews() {
    const state = this.state;
    if (!state?.fit?.ok) return;
    const views = await this.nnplay.call("playground.layerViews", { example: this.lvExample });
    this.lvExamples = views.examples;
    drawLayerViews($("#activations"), views);
    const box = $("#lv-example");
    if (document.activeElement !== box) box.value = String(views.example); // never under the learner's typing
    box.max = String(views.examples - 1);
    const truth = views.classes?.length ? views.classes[views.label] ?? views.label : (Array.isArray(views.label) ? views.label.map((v) => +v.toFixed(3)).join(", ") : views.label);
    $("#lv-example-info").textContent = `${views.split === "val" ? "validation" : "training"} example ${views.example} of ${views.examples}; true ${views.classes?.length ? "class" : "value"}: ${truth}`;
    if (views.probabilities) drawProbabilities($("#lv-probs"), views.probabilities, views.classes, views.label);
    else $("#lv-probs").replaceChildren();
    const img = $("#lv-image");
    img.hidden = !views.image;
    if (views.image) paintGrey(img, views.image);
    if (pictureKind(state.spec) === "maps") this.netpic.render(this.state, { views });
    if (this.convDetail && !$("#conv-detail").hidden) await this.showConvDetail(this.convDetail, false);
  }

  /** The convolution close-up of one feature map (at its strongest position, or the one picked). */
  async showConvDetail(which, scroll = true) {
    this.convDetail = which;
    const d = await this.request(() => this.nnplay.call("playground.convDetail", { ...which, example: this.lvExample }));
    if (!d) return;
    drawConvDetail($("#conv-detail"), d, (row, col) => this.showConvDetail({ ...which, row, col }, false),
      () => { $("#conv-detail").hidden = true; });
    if (scroll) $("#conv-detail").scrollIntoView({ block: "start" });
  }

  /** Hovering a neuron in the picture: its output over the plane in the big heatmap (with the points). */
  hoverNeuron(thumb, label) {
    this.hovering = Boolean(thumb);
    if (!this.heat) return;
    drawHeatmap($("#heatmap"), thumb ? { ...this.heat, pixels: thumb, wrong: {} } : this.heat, this.points);
    $("#heatmap").dataset.showing = thumb ? label : "output";
    if (thumb) $("#heatmap-caption").textContent = `${label}: its output over the plane (orange > 0 > blue)`;
    else this.heatmapCaption(this.heat);
  }

  heatmapCaption(heat) {
    const wrong = (heat.wrong?.train?.length ?? 0) + (heat.wrong?.val?.length ?? 0);
    $("#heatmap-caption").textContent = "The network's answer over the plane: orange = class 1, blue = class 0. "
      + "Dots are the data (black edge: validation)"
      + (heat.classifier && this.state?.counters?.step ? `; ${wrong} misclassified ringed in red.` : ". Press Play to train.");
  }

  // --- keep and share -------------------------------------------------------------------------
  /** What a share link holds: the network and the settings, never weights, uploads or code. */
  linkState() {
    const s = this.state;
    return { spec: s?.spec, data: s?.data ? { name: s.data.name, options: s.data.options } : null, train: s?.train };
  }

  /** The uploaded data the session needs again on a restore (a link never carries it). */
  uploadOptions(data) {
    if (data?.name === "csv" && typeof this.csv?.text === "string") return { text: this.csv.text, label: this.csv.label };
    if (data?.name === "images" && this.uploads.usable().length >= 2) return { classes: this.uploads.usable(), size: IMAGE_SIZE };
    return null;
  }

  /** The address bar, the share field and the embed snippet hold the current state's link. */
  showLink() {
    const link = shareURL(this.linkState());
    history.replaceState(null, "", link);
    $("#share-url").value = location.href;
    $("#embed-snippet").value = embedSnippet(link);
  }

  saveSoon(delay = 1500) {
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(async () => {
      if (!this.ready || !this.state) return; // a restarting worker has nothing worth keeping
      const readAt = Date.now(); // everything changed before this moment is in the save below
      this.showLink();
      try {
        const snap = await this.nnplay.call("playground.snapshot");
        this.snapshot = { ...snap, savedAt: Date.now() };
        if (this.options.embed) return; // an embedded widget keeps no autosave (see pageOptions)
        // uploads and code drafts are never in the share link
        const csv = this.csv && this.csv.text.length <= CSV_AUTOSAVE_MAX ? this.csv : null;
        await autosave.save({ ...snap, uploads: this.uploads.get(), csv, code: this.code.drafts() });
        // (when the saved content was read, not when the write ended: a save already on its way when the learner
        // typed does not hold what they typed)
        document.body.dataset.autosaved = String(readAt);
      } catch (err) {
        console.warn(`autosave failed: ${err.message}`);
        if (!this.autosaveFailed) this.message(`The autosave failed (${err.message}); use “Save model file” to keep your work.`, "info");
        this.autosaveFailed = true; // said once, not every save
      }
    }, delay);
  }

  /** Put the autosave's uploaded CSV back (before the data is loaded); problems go to `notes`. */
  restoreCsv(saved, notes) {
    const csv = saved?.csv;
    if (csv == null) return;
    if (typeof csv.text !== "string" || typeof csv.name !== "string" || !(csv.label === null || typeof csv.label === "string")) {
      notes.push("The autosaved CSV upload is damaged; upload the file again.");
      return;
    }
    this.csv = { name: csv.name, text: csv.text, label: csv.label };
    $("#csv-label").value = csv.label ?? "";
  }

  /** Put the autosave's image uploads back into the upload panel (before the data is loaded). */
  restoreUploads(saved, notes) {
    if (saved?.uploads == null) return;
    try {
      this.uploads.set(saved.uploads);
    } catch (err) {
      notes.push(`The autosaved image uploads could not be restored (${err.message}); upload them again.`);
    }
  }

  /** Start from the share link, else the autosave, else `?preset=`, else the default network. */
  async start() {
    let shared = null;
    const notes = [];
    try {
      shared = fromOldSettings(readHash(), notes, "link");
    } catch (err) {
      notes.push(`The shared link could not be read (${err.message}); the default network is shown instead.`);
    }
    let stored = this.options.embed ? null : await autosave.load().catch(() => null);
    const damage = stored ? stateProblems(stored, "the autosave") : [];
    if (damage.length) stored = await this.setAsideAutosave(stored, damage.join("; "), notes);
    stored = fromOldSettings(stored, notes, "autosave");
    this.restoreUploads(stored, notes);
    this.restoreCsv(stored, notes);
    this.code.restoreDrafts(stored?.code);
    // The autosave's weights and history also apply under a link to the very same network (a plain reload).
    let saved = shared ?? stored;
    if (shared && stored && same(shared.spec, stored.spec)) saved = { ...shared, weights: stored.weights, history: stored.history };
    const preset = own(this.catalogue.presets, this.options.preset); // never Object.prototype's "constructor"
    if (!saved && this.options.preset) {
      if (preset) saved = { spec: preset.spec, data: { name: preset.dataset } };
      else notes.push(`There is no preset "${this.options.preset}"; the default network is shown.`);
    }
    const name = saved?.data?.name;
    if ((name === "images" || name === "csv") && !this.uploadOptions(saved.data)) { // uploads never travel in a link
      notes.push(name === "images"
        ? "This network was trained on uploaded images, which a link never carries: under “Upload images per class”, "
          + "pick images for at least two classes and press “Use these images”. The default data is loaded meanwhile."
        : "This network was trained on an uploaded CSV, which a link never carries: pick the file under “Upload a CSV”. "
          + "The default data is loaded meanwhile.");
      saved = { ...saved, data: undefined };
    }
    await this.restoreFrom(saved, shared ? "link" : "autosave", notes);
  }

  /** One request restores everything (the session checks each part and says what it ignored). */
  async restoreFrom(saved, from, notes = []) {
    const r = await this.api.call("playground.restore", { saved: saved ?? null, dataOptions: this.uploadOptions(saved?.data) });
    this.ready = true;
    await this.sendHeld();
    this.code.setRunning(null);
    if (r.ignored.length) notes.push(`Some of the ${from} could not be used and the defaults took their place: ${r.ignored.join("; ")}.`);
    this.render(r.state); // (dropped when a held request's state, newer, is on screen already)
    if (notes.length) this.message(notes.join("\n"));
    await this.viewsDrawn(); // nnplay.ready means the restored charts and pictures are on screen
    return r;
  }

  /** Send the requests held while Python started (a builder edit still debouncing too), in order,
   *  and wait for them: nnplay.ready resolves after they are applied. Resolves to how many there were. */
  async sendHeld() {
    if (!this.queue) return 0;
    if (this.editTimer) {
      clearTimeout(this.editTimer);
      this.editTimer = null;
      this.sendBuilderSpec(); // (queued at once: its first request is made before any await)
    }
    const held = this.queue;
    this.queue = null;
    const sent = held.map((send) => send());
    await Promise.allSettled(sent);
    await new Promise((r) => setTimeout(r, 0)); // the callers' own follow-ups (showCheck, render) run first
    document.body.dataset.heldRequests = String(held.length);
    return held.length;
  }

  /** A damaged autosave: keep it under "damaged" (for download) so no reload tries it again; say so. */
  async setAsideAutosave(record, reason, notes) {
    await autosave.setAside(record, reason).catch((err) => console.warn(`could not set the autosave aside: ${err.message}`));
    notes.push(`The autosave is damaged (${reason}) and was set aside: the default network is shown. `
      + "“Download the damaged autosave” (under Keep and share) keeps a copy.");
    $("#btn-damaged").hidden = false;
    return null;
  }

  /** Show a model the learner's code built (already the worker's network, with its weights). */
  async adoptModel() {
    this.render(await this.nnplay.getState());
  }

  /** End the Python worker and start a fresh one; `recover` then restores the autosave. */
  restartWorker(reason) {
    return this.nnplay.restart(reason).catch((err) => this.message(`The Python worker could not restart: ${err.message}`));
  }

  /** The worker is going (a crash, or a restart): stop everything that talks to it. */
  workerLost(reason) {
    this.ready = false;
    clearInterval(this.viewTimer);
    clearInterval(this.autosaveTimer);
    this.viewTimer = this.autosaveTimer = null;
    clearTimeout(this.saveTimer); // never autosave the fresh, empty worker over the good state
    clearTimeout(this.editTimer);
    this.state = null;
    $("#btn-play").textContent = "▶ Play";
    $("#btn-play").setAttribute("aria-label", "Play");
    $("#worker-stuck").hidden = true;
    for (const id of ["#btn-play", "#btn-step", "#btn-reset"]) $(id).disabled = true;
    this.message(`The Python worker stopped (${reason}). Restarting it…`);
    this.lostReason = reason;
    document.body.dataset.app = "restarting";
  }

  /** A fresh worker is up: put back the last autosave (network, weights, settings, data, history). */
  async recover() {
    const reason = this.lostReason ?? "it was restarted";
    let snap = (this.options.embed ? null : await autosave.load().catch(() => null)) ?? this.snapshot;
    if (snap && stateProblems(snap, "the autosave").length) snap = this.snapshot; // damaged: the copy in memory
    snap = fromOldSettings(snap);
    this.pointsFor = null;
    try {
      const r = await this.restoreFrom(snap, "autosave");
      const when = snap?.savedAt ? new Date(snap.savedAt).toLocaleTimeString("en-GB") : null;
      this.message(`The Python worker was restarted (${reason}). `
        + (r.weights ? `Your network, settings, data and the weights autosaved at ${when} are back. ` : "Your network is back with fresh weights. ")
        + "Variables from your Python code are gone: run it again if you need them.", "info");
    } catch (err) {
      this.message(`The Python worker was restarted, but restoring failed: ${err.message}`);
    }
    document.body.dataset.app = "ready";
    document.body.dataset.recovered = String(Number(document.body.dataset.recovered ?? 0) + 1);
  }

  download(bytes, name) {
    const url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
    const a = Object.assign(document.createElement("a"), { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  async loadModelFile(file, convnetjs = false) {
    try {
      await (convnetjs ? this.nnplay.importConvnetjs(await file.text()) : this.nnplay.load(new Uint8Array(await file.arrayBuffer())));
      this.message(`Loaded ${file.name}.`, "info");
    } catch (err) {
      this.message(`${file.name}: ${err.message}`);
    }
  }

  wire() {
    const nn = this.nnplay;
    nn.on("state", (s) => this.ready && this.render(s));
    nn.on("progress", (e) => {
      if (e.stage !== "train" || !this.state || e.examples === undefined) return;
      // Counters between state events: the same fields, fresher.
      this.renderCounters({ ...this.state, counters: { ...this.state.counters, ...e } });
    });
    nn.on("epoch", (e) => {
      if (!this.state) return;
      this.confusionDue = true;
      this.state = { ...this.state, last: e, counters: { ...this.state.counters, epoch: e.epoch, step: e.step } };
      this.renderCounters(this.state);
    });
    nn.on("workers", ({ event, ...w }) => {
      if (!this.state) return;
      this.state = { ...this.state, workers: w };
      this.renderWorkers(w);
    });
    nn.on("notice", ({ message, kind }) => message && this.message(message, kind === "info" ? "info" : "info"));
    nn.on("gpu", ({ phase }) => {
      $("#gpu-phase").hidden = phase !== "compiling";
    });
    $("#btn-play").addEventListener("click", () => this.play());
    $("#btn-step").addEventListener("click", () => this.step());
    $("#btn-reset").addEventListener("click", () => this.reset());
    $("#preset").addEventListener("change", (e) => this.choosePreset(e.target.value));
    $("#btn-clear").addEventListener("click", () => this.builder.setLayers([]) || this.networkEdited());
    $("#input-shape").addEventListener("change", (e) => {
      const ok = parseInputShape(e.target.value) !== null;
      $("#input-shape-msg").hidden = ok;
      $("#input-shape-msg").textContent = ok ? "" : "Input shape: a list of positive whole numbers, e.g. [28, 28, 1] or 2";
      if (ok) this.networkEdited();
    });
    $("#btn-damaged").addEventListener("click", async () => {
      const entry = await autosave.damaged().catch(() => null);
      if (entry) this.download(new TextEncoder().encode(damagedToJson(entry)), "nnplay-damaged-autosave.json");
    });
    $("#btn-save").addEventListener("click", async () => {
      const bytes = await this.request(() => nn.save());
      if (bytes) this.download(bytes, "network.nnplay");
    });
    $("#load-file").addEventListener("change", (e) => e.target.files[0] && this.loadModelFile(e.target.files[0]));
    $("#cjs-file").addEventListener("change", (e) => e.target.files[0] && this.loadModelFile(e.target.files[0], true));
    $("#btn-share").addEventListener("click", async () => {
      const url = shareURL(this.linkState());
      $("#share-url").value = url;
      $("#share-url").select();
      await navigator.clipboard?.writeText(url).catch(() => {});
      this.message("Share link copied (network and settings; no weights, no code).", "info");
    });
    $("#csv-file").addEventListener("change", async (e) => {
      const file = e.target.files[0];
      if (!file) return;
      const label = $("#csv-label").value.trim() || null;
      const text = await file.text();
      e.target.value = ""; // picking the same file again (after fixing it) loads it again
      const before = this.csv;
      this.csv = { name: file.name, text, label };
      if (!(await this.loadData("csv", { ratio: this.values.ratio }))) {
        this.csv = before;
        return;
      }
      const kept = text.length <= CSV_AUTOSAVE_MAX ? "" : " (too big for the autosave: after a reload, pick it again)";
      const d = this.state.data;
      this.message(`${file.name}: ${d.train + d.val} rows loaded${kept}.`, "info");
    });
    this.uploads = startImageUpload($("#image-classes"), $("#image-add-class"), $("#image-use"), async () => {
      await this.loadData("images", { ratio: this.values.ratio });
    }, (text) => this.message(text), () => this.saveSoon());
    nn.on("unresponsive", ({ ms }) => {
      $("#worker-stuck-text").textContent = `The Python worker has not answered for ${Math.round(ms / 1000)} s: `
        + "a long computation, or code that never ends. Wait, or stop it (your network comes back from the autosave).";
      $("#worker-stuck").hidden = false;
    });
    nn.on("responsive", () => ($("#worker-stuck").hidden = true));
    $("#worker-restart").addEventListener("click", async () => {
      $("#worker-stuck").hidden = true;
      if (this.code.call) return this.code.stop();
      await this.restartWorker("it did not answer and the restart button was pressed");
    });
    nn.on("restarting", ({ reason }) => this.workerLost(reason));
    startDrawing($("#draw"), async (pixels, size) => {
      const input = this.state?.spec?.input;
      if (!input || this.state.data?.name !== "mnist") return;
      const x = input.length === 3 ? pixels.map((row) => row.map((v) => [v])) : input.length === 2 ? pixels : pixels.flat();
      if (input.length === 3 ? input[0] !== size : input.length === 2 ? input[0] !== size : input[0] !== size * size) return;
      try {
        const r = await nn.predict(x);
        const p = r.outputs[r.classes];
        $("#draw-guess").textContent = `${r.classes} (${(100 * p).toFixed(0)}%)`;
        drawProbabilities($("#draw-probs"), r.outputs, this.state.data?.classes);
      } catch (err) {
        $("#draw-guess").textContent = err.message;
      }
    }, () => {
      const input = this.state?.spec?.input ?? [0];
      return input.length === 1 ? Math.round(Math.sqrt(input[0])) : input[0];
    });
  }
}
