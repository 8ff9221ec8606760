// The playground page: wires the settings table, the builder, training, the live views, data,
// autosave and the share URL to window.nnplay. Every failure becomes a message in #message and
// leaves the previous state in place.

import { SETTINGS, DEFAULTS, sanitize, renderControls } from "./settings.js";
import { Builder } from "./builder.js";
import { Charts, drawHeatmap, drawNeurons, drawLayerViews, drawConfusion } from "./views.js";
import { autosave, damagedToJson, readHash, shareURL } from "./storage.js";
import { startDrawing } from "./draw.js";
import { startImageUpload, IMAGE_SIZE } from "./images.js";
import { CodePanel } from "./code.js";
import { own, stateProblems } from "./validate.js";

const $ = (s) => document.querySelector(s);
const VIEW_INTERVAL_MS = 700; // live views refresh at most this often while training
const LAYER_VIEWS_MS = 5000; // the layer pictures and the confusion matrix at most this often
const CONFUSION_MS = 3000;
const AUTOSAVE_TRAINING_MS = 15000; // while training, the autosave (weights included) is this fresh
const CSV_AUTOSAVE_MAX = 8_000_000; // characters: a bigger uploaded CSV is used but not autosaved

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

export async function startApp(nnplay, options = pageOptions()) {
  if (options.embed) {
    document.body.dataset.embed = "true";
    if (options.panels.length) {
      for (const section of document.querySelectorAll("section[data-panel]")) {
        section.hidden = !options.panels.includes(section.dataset.panel) && section.dataset.panel !== "boot";
      }
    }
  }
  try {
    await nnplay.ready;
  } catch {
    return; // the boot section already shows why
  }
  const app = new App(nnplay, await nnplay.call("playground.catalogue"), options);
  window.nnplayApp = app;
  await app.restore();
  document.body.dataset.app = "ready";
  if (options.autoplay && !$("#btn-play").disabled) app.play();
}

/** The iframe that embeds this network and settings on another page of this origin. */
function embedSnippet(state) {
  const src = new URL("index.html?embed=1", location.href);
  src.hash = new URL(shareURL(state), location.href).hash;
  return `<iframe src="${src.href}" width="900" height="700" title="nnplay playground"></iframe>`;
}

class App {
  constructor(nnplay, catalogue, options = {}) {
    this.nnplay = nnplay;
    this.options = options;
    this.catalogue = catalogue;
    this.settings = { ...DEFAULTS };
    this.input = [2];
    this.loss = "softmax_cross_entropy";
    this.goodSpec = null; // the last spec the engine accepted
    this.data = null;
    this.training = null; // the running train() promise
    this.builder = new Builder({ palette: $("#palette"), list: $("#layers"), catalogue,
      onChange: () => this.networkChanged() });
    this.charts = new Charts($("#loss-chart"), $("#acc-chart"));
    this.refreshData = renderControls($("#data-settings"), "data", this.settings, (k, v) => this.settingChanged(k, v));
    this.refreshTrain = renderControls($("#train-settings"), "train", this.settings, (k, v) => this.settingChanged(k, v));
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
          if (!this.training) this.refreshViews();
        }
      }
    });
    for (const id of ["#layers-view", "#output"]) observer.observe($(id));
    this.ready = true; // the worker answers (false while it restarts)
    this.snapshot = null; // the last autosaved state, kept in memory too (embeds have no autosave)
    this.code = new CodePanel(this);
    this.wire();
  }

  // --- messages ----------------------------------------------------------------------------
  message(text, kind = "error") {
    const box = $("#message");
    box.textContent = text;
    box.dataset.kind = kind;
    box.hidden = !text;
    clearTimeout(this.messageTimer);
    if (kind !== "error") this.messageTimer = setTimeout(() => (box.hidden = true), 4000);
  }

  // --- network ------------------------------------------------------------------------------
  spec() {
    const s = this.settings;
    const optimizer = { type: s.optimizer, lr: s.lr, l1: s.l1, l2: s.l2 };
    if (s.optimizer === "momentum" || s.optimizer === "nesterov") optimizer.momentum = s.momentum;
    return { input: this.input, layers: this.builder.layers.map((l) => ({ ...l })), loss: this.loss, optimizer, seed: 0 };
  }

  networkChanged() {
    clearTimeout(this.checkTimer);
    this.checkTimer = setTimeout(() => this.applyNetwork(), 150);
  }

  /** Check the builder's spec; show shapes and messages; build it when valid. */
  async applyNetwork() {
    const spec = this.spec();
    const info = await this.nnplay.checkSpec(spec);
    this.builder.showInfo(info);
    $("#totals").textContent = info.ok
      ? `${this.builder.layers.length} layers, ${info.param_count.toLocaleString("en")} parameters, output [${info.output_shape.join(", ")}]`
      : `${info.param_count.toLocaleString("en")} parameters so far; fix the marked problems to train`;
    $("#spec-problems").replaceChildren(...info.problems.filter((p) => p.index == null)
      .map((p) => Object.assign(document.createElement("li"), { textContent: p.message })));
    if (!info.ok) {
      this.setTrainable(false);
      return false;
    }
    this.setTrainable(true);
    // A control that loses focus fires "change" again with the same value (e.g. clicking Play right
    // after typing a learning rate): an unchanged spec must not pause training or rebuild the net.
    if (JSON.stringify(spec) === JSON.stringify(this.goodSpec)) return true;
    const wasTraining = Boolean(this.training);
    await this.pause();
    try {
      await this.nnplay.setSpec(spec);
      this.goodSpec = spec;
      this.saveSoon();
      this.refreshViews(true);
      this.code.networkChanged();
      if (wasTraining) this.play(); // a change made while playing keeps playing
      return true;
    } catch (err) {
      this.message(err.message);
      return false;
    }
  }

  setTrainable(ok) {
    for (const id of ["#btn-play", "#btn-step", "#btn-reset"]) $(id).disabled = !ok;
  }

  /** Put a whole spec into the builder (preset, file, URL, autosave, Python view). */
  async showSpec(spec) {
    this.input = spec.input;
    this.loss = spec.loss ?? "softmax_cross_entropy";
    $("#input-shape").value = JSON.stringify(spec.input);
    const opt = spec.optimizer ?? {};
    for (const key of ["lr", "l1", "l2", "momentum"]) if (typeof opt[key] === "number") this.settings[key] = opt[key];
    if (SETTINGS[5].options.includes(opt.type)) this.settings.optimizer = opt.type;
    this.refreshTrain(this.settings);
    this.builder.setLayers(spec.layers ?? []);
    return this.applyNetwork();
  }

  async choosePreset(key) {
    const preset = own(this.catalogue.presets, key);
    if (!preset) return;
    await this.showSpec(preset.spec);
    if (this.settings.dataset !== preset.dataset) await this.settingChanged("dataset", preset.dataset);
  }

  // --- settings and data ----------------------------------------------------------------------
  async settingChanged(key, value) {
    if (this.settings[key] === value) return; // "change" on blur with the value already applied
    const before = this.settings[key];
    this.settings[key] = value;
    this.refreshData(this.settings);
    this.refreshTrain(this.settings);
    if (["dataset", "noise", "points", "ratio", "mnistCount"].includes(key)) {
      if (!(await this.loadData()) && key === "dataset") { // e.g. "images" before any upload: keep the data shown
        this.settings.dataset = before;
        this.refreshData(this.settings);
      }
    } else if (key === "backend") await this.setBackend(value);
    else if (key !== "batchSize" && key !== "patience") await this.applyNetwork();
    this.saveSoon();
  }

  dataOptions() {
    const s = this.settings;
    if (s.dataset === "images") return { classes: this.uploads.usable(), size: IMAGE_SIZE, ratio: s.ratio };
    if (s.dataset === "csv") return { text: this.csv?.text ?? null, label: this.csv?.label ?? null, ratio: s.ratio };
    return s.dataset === "mnist" ? { count: s.mnistCount, ratio: s.ratio } : { n: s.points, noise: s.noise, ratio: s.ratio };
  }

  async loadData(name = this.settings.dataset, options = this.dataOptions()) {
    await this.pause();
    if (name === "images" && !(options.classes?.length >= 2)) return this.noUpload();
    if (name === "csv" && typeof options.text !== "string") {
      return this.noUpload("No CSV file is loaded: pick one under “Upload a CSV”.");
    }
    const shown = $("#data-info").textContent;
    try {
      if (name === "mnist") $("#data-info").textContent = "Loading MNIST…";
      this.data = await this.nnplay.loadDataset(name, options);
      const d = this.data;
      this.clearTrainingCounters(); // the last validation accuracy was measured on other data
      $("#data-info").textContent = `${d.name}: ${d.train} training and ${d.val} validation examples, `
        + `input [${d.input_shape.join(", ")}]${d.classes.length ? `, classes ${d.classes.join(" ")}` : ""}`;
      $("#draw-wrap").hidden = d.name !== "mnist";
      this.points = d.kind === "2d" || d.kind === "1d" ? await this.nnplay.call("playground.points") : null;
      if (d.kind === "2d" && this.input.join() !== "2") this.message("These 2-D points need a network with input [2].", "info");
      this.refreshViews(true);
      return true;
    } catch (err) {
      $("#data-info").textContent = shown; // the previous dataset is still loaded
      this.message(err.message);
      return false;
    }
  }

  /** The data choice is an upload that is not here: "images" without two classes of pictures, or "csv"
   *  without a file (e.g. a link, which never carries uploads). Says `text`; keeps or loads other data. */
  async noUpload(text = "Uploaded images need at least two classes with pictures: under “Upload images per class”, "
      + "pick images for each class and press “Use these images”.") {
    if (this.data) {
      this.message(text); // the data already loaded stays
      return false;
    }
    const box = $("#message"); // an earlier error (e.g. why the autosaved uploads are gone) stays in view
    const earlier = !box.hidden && box.dataset.kind === "error" ? `${box.textContent}\n` : "";
    this.settings.dataset = DEFAULTS.dataset; // nothing loaded yet (a reload or a link): start on the default data
    this.refreshData(this.settings);
    await this.loadData();
    this.message(`${earlier}${text} The ${DEFAULTS.dataset} data is loaded meanwhile.`);
    return false;
  }

  async setBackend(name) {
    if (typeof this.nnplay.setBackend !== "function") {
      this.message("Switching backends is not available in this build; the NumPy backend is used.", "info");
      return;
    }
    try {
      await this.nnplay.setBackend(name);
    } catch (err) {
      this.message(err.message);
    }
    this.showBackend();
  }

  showBackend() {
    const b = this.nnplay.backend;
    if (b) $("#backend-status").dataset.active = typeof b === "string" ? b : b.name ?? "";
  }

  // --- training -----------------------------------------------------------------------------
  async play() {
    if (this.training) return this.pause();
    const s = this.settings;
    $("#btn-play").textContent = "Pause"; // style.css draws its pause bars (many fonts lack "⏸")
    $("#btn-play").setAttribute("aria-label", "Pause");
    this.training = this.nnplay.train({ batchSize: s.batchSize, earlyStopping: s.patience > 0 ? s.patience : undefined });
    this.viewTimer = setInterval(() => this.refreshViews(), VIEW_INTERVAL_MS);
    this.autosaveTimer = setInterval(() => this.saveSoon(0), AUTOSAVE_TRAINING_MS);
    try {
      const r = await this.training;
      if (r.stopped === "early_stopping") this.message(`Early stopping after epoch ${r.epoch}.`, "info");
    } catch (err) {
      this.message(err.message);
    } finally {
      this.training = null;
      clearInterval(this.viewTimer);
      clearInterval(this.autosaveTimer);
      $("#btn-play").textContent = "▶ Play";
      $("#btn-play").setAttribute("aria-label", "Play");
      await this.refreshViews(true);
      this.saveSoon(0);
    }
  }

  async pause() {
    if (!this.training) return;
    await this.nnplay.pause();
    await this.training.catch(() => {});
  }

  async step() {
    if (this.training) return;
    try {
      await this.nnplay.train({ steps: 1, batchSize: this.settings.batchSize });
    } catch (err) {
      this.message(err.message);
    }
    await this.refreshViews(true);
    this.saveSoon();
  }

  async reset() {
    await this.pause();
    await this.nnplay.reset();
    $("#epoch-progress").value = 0;
    await this.refreshViews(true);
    this.saveSoon();
  }

  onProgress(e) {
    // Only the playground's own training reports counters; user code may emit "progress" too.
    if (e.stage !== "train" || e.examples === undefined) return;
    $("#epoch-count").textContent = String(e.epoch);
    $("#example-count").textContent = e.examples.toLocaleString("en");
    $("#rate").textContent = e.examples_per_s ? Math.round(e.examples_per_s).toLocaleString("en") : "–";
    $("#epoch-progress").value = e.batch / e.batches;
  }

  onEpoch(e) {
    if (e.val_accuracy != null) $("#val-accuracy").textContent = `${(100 * e.val_accuracy).toFixed(1)}%`;
    $("#val-accuracy").dataset.value = String(e.val_accuracy ?? "");
    this.confusionDue = true;
  }

  /** Clear what describes past training: validation accuracy, examples/s, the epoch's progress. */
  clearTrainingCounters() {
    $("#val-accuracy").textContent = "–";
    $("#val-accuracy").dataset.value = "";
    $("#rate").textContent = "–";
    $("#epoch-progress").value = 0;
  }

  /** Charts, heatmap, layer pictures, confusion matrix; `all` also redraws the slower ones. */
  async refreshViews(all = false) {
    if (!this.goodSpec || !this.data) return;
    if (this.refreshing) { // one refresh at a time; a request made meanwhile runs right after it
      this.refreshAgain = this.refreshAgain || (all ? "all" : "some");
      return;
    }
    this.refreshing = true;
    try {
      const m = await this.nnplay.getMetrics();
      this.charts.update(m);
      $("#epoch-count").textContent = String(m.epoch);
      $("#example-count").textContent = m.examples.toLocaleString("en");
      if (m.examples === 0) this.clearTrainingCounters(); // a new network, a reset or a loaded model
      const twoD = this.data.kind === "2d" && this.input.length === 1 && this.input[0] === 2;
      $("#heatmap").hidden = !twoD;
      if (twoD) {
        const heat = await this.nnplay.call("playground.heatmap", { resolution: 48 });
        drawHeatmap($("#heatmap"), heat, this.points);
        drawNeurons($("#neurons"), heat);
      } else $("#neurons").replaceChildren();
      const now = performance.now();
      if (all || (this.onScreen.has("layers-view") && now - (this.lastSlow ?? 0) > LAYER_VIEWS_MS)) {
        this.lastSlow = now;
        drawLayerViews($("#activations"), await this.nnplay.call("playground.layerViews", {}));
      }
      const confusionOk = this.onScreen.has("output") && now - (this.lastConfusion ?? 0) > CONFUSION_MS;
      if ((all || (this.confusionDue && confusionOk)) && this.data.classes.length) {
        this.confusionDue = false;
        this.lastConfusion = now;
        drawConfusion($("#confusion"), await this.nnplay.call("playground.confusion", { limit: 500 }));
      }
    } catch (err) {
      if (!/no network|no dataset|needs|input/.test(err.message)) this.message(err.message);
    } finally {
      this.refreshing = false;
      const again = this.refreshAgain;
      this.refreshAgain = null;
      if (again) this.refreshViews(again === "all");
    }
  }

  // --- keep and share -------------------------------------------------------------------------
  state() {
    return { spec: this.goodSpec ?? this.spec(), settings: this.settings };
  }

  /** Put the autosave's uploaded CSV back (before the data is loaded). */
  restoreCsv(saved) {
    const csv = saved?.csv;
    if (csv == null) return;
    if (typeof csv.text !== "string" || typeof csv.name !== "string" || !(csv.label === null || typeof csv.label === "string")) {
      this.message("The autosaved CSV upload is damaged; upload the file again.");
      return;
    }
    this.csv = { name: csv.name, text: csv.text, label: csv.label };
    $("#csv-label").value = csv.label ?? "";
  }

  /** Put the autosave's image uploads back into the upload panel (before the data is loaded). */
  restoreUploads(saved) {
    if (saved?.uploads == null) return;
    try {
      this.uploads.set(saved.uploads);
    } catch (err) {
      this.message(`The autosaved image uploads could not be restored (${err.message}); upload them again.`);
    }
  }

  saveSoon(delay = 1500) {
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(async () => {
      history.replaceState(null, "", shareURL(this.state()));
      $("#share-url").value = location.href;
      $("#embed-snippet").value = embedSnippet(this.state());
      if (!this.ready) return; // a restarting worker has nothing worth keeping
      try {
        const weights = this.goodSpec ? await this.nnplay.save() : null;
        this.snapshot = { ...this.state(), weights, savedAt: Date.now() };
        if (this.options.embed) return; // an embedded widget keeps no autosave (see pageOptions)
        // uploads and code drafts are never in the share link
        const csv = this.csv && this.csv.text.length <= CSV_AUTOSAVE_MAX ? this.csv : null;
        await autosave.save({ ...this.state(), weights, uploads: this.uploads.get(), csv, code: this.code.drafts() });
        document.body.dataset.autosaved = String(Date.now());
      } catch (err) {
        console.warn(`autosave failed: ${err.message}`);
        if (!this.autosaveFailed) this.message(`The autosave failed (${err.message}); use “Save model file” to keep your work.`, "info");
        this.autosaveFailed = true; // said once, not every save
      }
    }, delay);
  }

  /** Start from the share URL, else the autosave, else the MLP preset on the spiral. */
  async restore() {
    let shared = null;
    try {
      shared = readHash();
    } catch (err) {
      this.message(`The shared link could not be read (${err.message}); the default network is shown instead.`);
    }
    let stored = this.options.embed ? null : await autosave.load().catch(() => null);
    const damage = stored ? stateProblems(stored, "the autosave") : [];
    if (damage.length) {
      stored = await this.setAsideAutosave(stored, damage.join("; "));
    }
    this.restoreUploads(stored);
    this.restoreCsv(stored);
    this.code.restoreDrafts(stored?.code);
    // The autosave's weights also apply under a link to the very same network (a plain reload).
    const saved = !shared || JSON.stringify(shared.spec) === JSON.stringify(stored?.spec) ? stored : null;
    const source = shared ?? saved;
    let applied = false;
    if (source) {
      try {
        await this.applySaved(source, saved?.weights, shared ? "link" : "autosave");
        applied = true;
      } catch (err) { // whatever it held: start on the default network, and never retry a bad autosave
        if (source === saved) await this.setAsideAutosave(saved, err.message);
        else this.message(`The shared link could not be applied (${err.message}); the default network is shown instead.`);
      }
    }
    const preset = own(this.catalogue.presets, this.options.preset); // never Object.prototype's "constructor"
    if (applied) {
      // (the link or the autosave is back)
    } else if (preset) {
      this.settings.dataset = preset.dataset;
      this.refreshData(this.settings);
      await this.showSpec(preset.spec);
      await this.loadData();
    } else {
      if (this.options.preset) this.message(`There is no preset "${this.options.preset}"; the MLP is shown.`);
      await this.showSpec(this.catalogue.presets.mlp.spec);
      await this.loadData();
    }
    await this.refreshViews(true);
    this.saveSoon(0);
  }

  /** A damaged autosave: keep it under "damaged" (for download) so no reload tries it again; say so. */
  async setAsideAutosave(record, reason) {
    await autosave.setAside(record, reason).catch((err) => console.warn(`could not set the autosave aside: ${err.message}`));
    this.message(`The autosave is damaged (${reason}) and was set aside: the default network is shown. `
      + "“Download the damaged autosave” (under Files) keeps a copy.");
    $("#btn-damaged").hidden = false;
    return null;
  }

  /**
   * Apply a saved {settings, spec} (from the link or the autosave: `from` names it in messages), load
   * the data, then put `weights` back when the spec was built. Ignored settings, a broken spec (the
   * MLP is shown instead) and unreadable weights each give a message. Resolves to: weights restored?
   */
  async applySaved(source, weights, from) {
    const notes = []; // every problem stays in view (a later one does not replace an earlier one)
    const note = (text) => this.message(notes.push(text) && notes.join("\n"));
    const [settings, problems] = sanitize(source.settings ?? {});
    if (problems.length) note(`Some settings in the ${from} were ignored: ${problems.join("; ")}`);
    Object.assign(this.settings, settings);
    this.refreshData(this.settings);
    this.refreshTrain(this.settings);
    const spec = source.spec;
    const specOk = spec && typeof spec === "object" && Array.isArray(spec.layers) && Array.isArray(spec.input);
    if (!specOk) note("The saved network is not a valid spec; the default network is shown instead.");
    const built = specOk && (await this.showSpec(spec));
    if (specOk && !built) note(`The ${from}'s network has problems (marked below); fix them or pick a preset.`);
    if (!specOk) await this.showSpec(this.catalogue.presets.mlp.spec);
    await this.loadData();
    if (!weights || !built) return false;
    try {
      await this.nnplay.load(weights);
      await this.showSpec(spec);
      return true;
    } catch (err) {
      this.message(err.message);
      return false;
    }
  }

  /** Show a model the learner's code built (already the worker's network), keeping its weights. */
  async adoptModel(spec) {
    const weights = await this.nnplay.save();
    await this.showSpec(spec);
    await this.nnplay.load(weights); // showSpec may have rebuilt the net: put the code's weights back
    await this.refreshViews(true);
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
    clearTimeout(this.saveTimer); // never autosave the fresh, empty worker over the good state
    clearTimeout(this.checkTimer);
    this.training = null;
    $("#btn-play").textContent = "▶ Play";
    $("#btn-play").setAttribute("aria-label", "Play");
    $("#worker-stuck").hidden = true;
    this.setTrainable(false);
    this.message(`The Python worker stopped (${reason}). Restarting it…`);
    document.body.dataset.app = "restarting";
  }

  /** A fresh worker is up: put back the last autosave (network, weights, settings, data). */
  async recover(reason) {
    let snap = (this.options.embed ? null : await autosave.load().catch(() => null)) ?? this.snapshot;
    if (snap && stateProblems(snap, "the autosave").length) snap = this.snapshot; // damaged: the copy in memory
    this.goodSpec = null; // the new worker has no network: the next applyNetwork must build it
    this.data = null;
    this.points = null;
    this.ready = true;
    this.code.setRunning(null);
    try {
      let weightsBack = false;
      if (snap?.spec) weightsBack = await this.applySaved(snap, snap.weights, "autosave");
      else {
        await this.applyNetwork();
        await this.loadData();
      }
      if (this.settings.backend === "webgpu") await this.setBackend("webgpu");
      await this.refreshViews(true);
      const when = snap?.savedAt ? new Date(snap.savedAt).toLocaleTimeString("en-GB") : null;
      this.message(`The Python worker was restarted (${reason}). `
        + (weightsBack ? `Your network, settings, data and the weights autosaved at ${when} are back. ` : "Your network is back with fresh weights. ")
        + "Variables from your Python code are gone: run it again if you need them.", "info");
    } catch (err) {
      this.message(`The Python worker was restarted, but restoring failed: ${err.message}`);
    }
    document.body.dataset.app = "ready";
    document.body.dataset.recovered = String(Number(document.body.dataset.recovered ?? 0) + 1);
    this.saveSoon();
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
    await this.pause();
    try {
      const r = convnetjs ? await this.nnplay.importConvnetjs(await file.text())
        : await this.nnplay.load(new Uint8Array(await file.arrayBuffer()));
      const weights = await this.nnplay.save();
      await this.showSpec(r.spec);
      await this.nnplay.load(weights); // showSpec rebuilt the net: put the file's weights back
      this.message(`Loaded ${file.name}.`, "info");
      await this.refreshViews(true);
    } catch (err) {
      this.message(`${file.name}: ${err.message}`);
    }
  }

  wire() {
    const nn = this.nnplay;
    $("#btn-play").addEventListener("click", () => this.play());
    $("#btn-step").addEventListener("click", () => this.step());
    $("#btn-reset").addEventListener("click", () => this.reset());
    $("#preset").addEventListener("change", (e) => this.choosePreset(e.target.value));
    $("#btn-clear").addEventListener("click", () => this.builder.setLayers([]) || this.networkChanged());
    $("#input-shape").addEventListener("change", (e) => {
      let v;
      try {
        v = JSON.parse(e.target.value);
      } catch {
        v = e.target.value.split(/[ ,x×]+/).filter(Boolean).map(Number);
      }
      const ok = Array.isArray(v) && v.length > 0 && v.every((n) => Number.isInteger(n) && n > 0);
      $("#input-shape-msg").hidden = ok;
      $("#input-shape-msg").textContent = ok ? "" : "Input shape: a list of positive whole numbers, e.g. [28, 28, 1] or 2";
      if (ok) {
        this.input = v;
        this.networkChanged();
      }
    });
    nn.on("progress", (e) => this.onProgress(e));
    nn.on("epoch", (e) => this.onEpoch(e));
    $("#btn-damaged").addEventListener("click", async () => {
      const entry = await autosave.damaged().catch(() => null);
      if (entry) this.download(new TextEncoder().encode(damagedToJson(entry)), "nnplay-damaged-autosave.json");
    });
    $("#btn-save").addEventListener("click", async () => {
      try {
        this.download(await nn.save(), "network.nnplay");
      } catch (err) {
        this.message(err.message);
      }
    });
    $("#load-file").addEventListener("change", (e) => e.target.files[0] && this.loadModelFile(e.target.files[0]));
    $("#cjs-file").addEventListener("change", (e) => e.target.files[0] && this.loadModelFile(e.target.files[0], true));
    $("#btn-share").addEventListener("click", async () => {
      const url = shareURL(this.state());
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
      const ok = await this.loadData("csv", { text, label, ratio: this.settings.ratio });
      e.target.value = ""; // picking the same file again (after fixing it) loads it again
      if (!ok) return;
      this.csv = { name: file.name, text, label };
      this.settings.dataset = "csv"; // a reload, and a change of the train ratio, load it again
      this.refreshData(this.settings);
      this.saveSoon();
      const kept = text.length <= CSV_AUTOSAVE_MAX ? "" : " (too big for the autosave: after a reload, pick it again)";
      this.message(`${file.name}: ${this.data.train + this.data.val} rows loaded${kept}; set the input to [${this.data.input_shape}].`, "info");
    });
    this.uploads = startImageUpload($("#image-classes"), $("#image-add-class"), $("#image-use"), async (classes, size) => {
      const ok = await this.loadData("images", { classes, size, ratio: this.settings.ratio });
      if (ok) {
        this.settings.dataset = "images"; // a reload, and a change of the train ratio, load them again
        this.refreshData(this.settings);
        this.saveSoon();
      }
      const want = `${size},${size},1`;
      if (ok && this.input.join() !== want) this.message(`Images loaded; set the input shape to [${size}, ${size}, 1] to train on them.`, "info");
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
    nn.on("restarted", ({ reason }) => this.recover(reason));
    startDrawing($("#draw"), async (pixels, size) => {
      if (!this.goodSpec || this.settings.dataset !== "mnist") return;
      const input = this.input;
      const x = input.length === 3 ? pixels.map((row) => row.map((v) => [v])) : input.length === 2 ? pixels : pixels.flat();
      if (input.length === 3 ? input[0] !== size : input.length === 2 ? input[0] !== size : input[0] !== size * size) return;
      try {
        const r = await nn.predict(x);
        const p = r.outputs[r.classes];
        $("#draw-guess").textContent = `${r.classes} (${(100 * p).toFixed(0)}%)`;
      } catch (err) {
        $("#draw-guess").textContent = err.message;
      }
    }, () => (this.input.length === 1 ? Math.round(Math.sqrt(this.input[0])) : this.input[0]));
  }
}
