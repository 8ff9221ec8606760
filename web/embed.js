// One script tag puts nnplay playgrounds on any page, of any origin:
//
//   <script src="https://nnplay.example/embed.js"></script>
//   <nn-playground preset="mlp" panels="builder,charts,output" autoplay></nn-playground>
//
// Each <nn-playground> is an iframe of this build's embed.html (index.html in embed mode with the
// bridge module embed-widget.js): its own document, so the page's styles and ids cannot clash with
// it, and its own worker, so several widgets train independently (each pays its own Python start
// and memory; README, "Embedding on any site").
// Attributes: preset (mlp | mnist | lenet | resnet | lstm), panels (comma-separated data-panel names:
// data, builder, training, charts, output, activations, files, code, console, demos; default all),
// autoplay (start training once ready), height (CSS length, default 700px), share (a "#s=..." hash
// from the Share button: that network and those settings instead of a preset), loading ("lazy", the
// default: boot when scrolled near the viewport; "eager": boot at once).
//
// Light widgets: a widget boots only when it comes near the viewport (or is called), and one widget
// boots at a time; the widget itself pauses its training while it is off-screen (embed-widget.js).
//
// element.nnplay drives the widget from the page, across origins, through postMessage: ready,
// getSpec, setSpec, loadDataset, train, pause, reset, evaluate, predict, getMetrics (promises, as
// window.nnplay's) and on(event, handler). Messages are accepted only from the widget's own frame
// (event.source) and this script's origin (event.origin), and sent to that origin only; the widget
// runs no code the page sends (runPython, runCode and call are not bridged).

(() => {
  const base = new URL(".", document.currentScript?.src ?? location.href);
  const WIDGET_ORIGIN = base.origin;
  const BOOT_MARGIN = "300px"; // start booting a little before the widget scrolls into view
  const BOOT_SLOT_MS = 120_000; // a widget that never reports ready frees the boot slot after this
  const BRIDGED = ["getSpec", "setSpec", "loadDataset", "train", "pause", "reset", "evaluate", "predict", "getMetrics"];

  // --- one boot at a time ----------------------------------------------------------------------
  // Booting Pyodide is CPU-bound: three widgets booting together on two cores each take three times
  // as long. In turn, the first one on screen is usable after one boot's time.
  const queue = [];
  let booting = null;

  let scheduled = null;
  /** Boot the next widget soon: widgets that came into view together go in page order. */
  function scheduleBoot() {
    scheduled ??= setTimeout(() => {
      scheduled = null;
      startNextBoot();
    }, 30);
  }

  function startNextBoot() {
    if (booting || !queue.length) return;
    queue.sort((a, b) => (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1));
    booting = queue.shift();
    const widget = booting;
    const done = () => {
      clearTimeout(timer);
      if (booting === widget) booting = null;
      startNextBoot();
    };
    const timer = setTimeout(done, BOOT_SLOT_MS);
    widget.bridge.settled.then(done, done);
    widget.load();
  }

  // --- the page's side of the bridge -----------------------------------------------------------
  class Bridge {
    constructor(element) {
      this.element = element;
      this.nextId = 1;
      /** @type {Map<number, {resolve: Function, reject: Function}>} */
      this.pending = new Map();
      /** @type {Map<string, Set<Function>>} */
      this.listeners = new Map();
      this.outbox = []; // messages waiting for the widget's "hello"
      this.connected = false;
      this.settled = new Promise((resolve, reject) => Object.assign(this, { resolveReady: resolve, rejectReady: reject }));
      this.settled.catch(() => {}); // a failed boot is reported to whoever awaits ready
      const api = { ready: this.settled, on: (event, handler) => this.on(event, handler) };
      for (const method of BRIDGED) api[method] = (...args) => this.call(method, args);
      this.api = Object.freeze(api);
    }

    post(message) {
      const target = this.element.frame?.contentWindow;
      if (this.connected && target) target.postMessage({ nnplay: 1, ...message }, WIDGET_ORIGIN);
      else this.outbox.push(message);
    }

    call(method, args) {
      this.element.boot(); // calling a widget that has not booted yet boots it
      const id = this.nextId++;
      return new Promise((resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        this.post({ id, method, args });
      });
    }

    on(event, handler) {
      if (typeof handler !== "function") throw new TypeError("nnplay.on(event, handler): handler must be a function");
      if (!this.listeners.has(event)) {
        this.listeners.set(event, new Set());
        this.post({ type: "on", event });
      }
      this.listeners.get(event).add(handler);
      return () => {
        const set = this.listeners.get(event);
        if (!set?.delete(handler) || set.size) return;
        this.listeners.delete(event);
        this.post({ type: "off", event });
      };
    }

    /** A message that passed the origin and source checks. */
    receive(data) {
      if (data.type === "hello") {
        // A widget that reloaded lost its calls and subscriptions: fail the first, renew the second.
        if (this.connected) this.failAll("the widget reloaded");
        this.connected = true;
        const waiting = this.outbox.filter((m) => m.type !== "on" && m.type !== "off");
        this.outbox = [];
        for (const event of this.listeners.keys()) this.post({ type: "on", event });
        for (const message of waiting) this.post(message);
      } else if (data.type === "ready") {
        this.element.timings.ready = performance.now();
        if (data.error) this.rejectReady(toError(data.error));
        else this.resolveReady(data.result);
      } else if (data.type === "event") {
        for (const handler of this.listeners.get(data.event) ?? []) {
          try {
            handler(data.data);
          } catch (err) {
            console.error(`nnplay widget: a "${data.event}" listener failed:`, err);
          }
        }
      } else if (this.pending.has(data.id)) {
        const { resolve, reject } = this.pending.get(data.id);
        this.pending.delete(data.id);
        if (data.error) reject(toError(data.error));
        else resolve(data.result);
      }
    }

    failAll(reason) {
      for (const { reject } of this.pending.values()) reject(Object.assign(new Error(reason), { kind: "WidgetReloaded" }));
      this.pending.clear();
    }
  }

  function toError({ message, kind }) {
    return Object.assign(new Error(String(message)), { kind });
  }

  /** @type {WeakMap<Window, Bridge>} the bridge of each widget frame's window */
  const bridges = new WeakMap();
  window.addEventListener("message", (event) => {
    if (event.origin !== WIDGET_ORIGIN || !event.source) return; // only this build's origin ...
    const bridge = bridges.get(event.source); // ... and only from one of our widget frames
    if (bridge && event.data?.nnplay === 1) bridge.receive(event.data);
  });

  // --- the element -----------------------------------------------------------------------------
  class NnPlayground extends HTMLElement {
    static observedAttributes = ["preset", "panels", "autoplay", "height", "share"];

    constructor() {
      super();
      this.bridge = new Bridge(this);
      /** performance.now() when the widget was queued to boot, started loading, and reported ready. */
      this.timings = { queued: null, started: null, ready: null };
    }

    connectedCallback() {
      this.style.display = "block";
      this.style.height = this.getAttribute("height") || "700px";
      if (!this.placeholder && !this.frame) {
        this.placeholder = document.createElement("div");
        this.placeholder.textContent = "nnplay playground (starts when scrolled into view)";
        this.placeholder.style.cssText = "height:100%;display:flex;align-items:center;justify-content:center;"
          + "border:1px dashed #999;color:#666;font:14px system-ui,sans-serif";
        this.append(this.placeholder);
      }
      if (this.getAttribute("loading") === "eager" || this.bootWhenConnected) return this.boot();
      this.observer ??= new IntersectionObserver((entries) => {
        if (entries.some((e) => e.isIntersecting)) this.boot();
      }, { rootMargin: BOOT_MARGIN });
      this.observer.observe(this);
    }

    disconnectedCallback() {
      this.observer?.disconnect();
    }

    attributeChangedCallback(name) {
      if (name === "height") this.style.height = this.getAttribute("height") || "700px";
      if (this.frame && this.frame.src !== this.src) this.frame.src = this.src;
    }

    /** Queue this widget to boot (once). */
    boot() {
      if (this.timings.queued !== null) return;
      if (!this.isConnected) {
        this.bootWhenConnected = true; // called before it is on a page: boot once it is
        return;
      }
      this.timings.queued = performance.now();
      this.observer?.disconnect();
      queue.push(this);
      scheduleBoot();
    }

    /** Create the iframe: its page boots Python (called in turn by the boot queue). */
    load() {
      this.timings.started = performance.now();
      this.frame = document.createElement("iframe");
      this.frame.title = this.getAttribute("title") || "nnplay playground";
      this.frame.setAttribute("data-testid", "nn-playground-frame");
      this.frame.allow = "cross-origin-isolated"; // an isolated host page may share its isolation
      this.frame.style.cssText = "border:0;width:100%;height:100%;display:block";
      this.frame.src = this.src;
      this.placeholder?.replaceWith(this.frame);
      this.placeholder = null;
      bridges.set(this.frame.contentWindow, this.bridge);
    }

    /** The iframe's address for the current attributes. */
    get src() {
      const url = new URL("embed.html", base);
      url.searchParams.set("embed", "1");
      // Which origin the widget answers (it also checks location.ancestorOrigins where there is one).
      url.searchParams.set("host", location.origin);
      for (const name of ["preset", "panels"]) {
        const value = this.getAttribute(name);
        if (value) url.searchParams.set(name, value);
      }
      if (this.hasAttribute("autoplay")) url.searchParams.set("autoplay", "1");
      const share = this.getAttribute("share");
      if (share && share.startsWith("#s=")) url.hash = share;
      return url.href;
    }

    /** The widget's API (see the top of this file); works before boot (calls boot it). */
    get nnplay() {
      return this.bridge.api;
    }

    /** Milliseconds from the start of loading to ready, or null. */
    get bootMs() {
      const { started, ready } = this.timings;
      return started !== null && ready !== null ? Math.round(ready - started) : null;
    }
  }

  if (!customElements.get("nn-playground")) customElements.define("nn-playground", NnPlayground);
})();
