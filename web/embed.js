// One script tag puts nnplay playgrounds on a page of the same origin:
//
//   <script src="/nnplay/embed.js"></script>
//   <nn-playground preset="mnist" panels="builder,charts,output" autoplay></nn-playground>
//
// Each <nn-playground> is an iframe of this build's index.html in embed mode (see pageOptions in
// ui/app.js): its own document, so the page's styles and ids cannot clash with it, and its own worker,
// so several widgets train independently (each pays its own Python start and memory).
// Attributes: preset (mlp | mnist | lenet | resnet | lstm), panels (comma-separated data-panel names:
// data, builder, training, charts, output, activations, files, code, console, demos; default all),
// autoplay (start training once ready), height (CSS length, default 700px), share (a "#s=..." hash
// from the Share button: that network and those settings instead of a preset).
// The build's Content-Security-Policy allows framing by pages of its own origin only
// (frame-ancestors 'self'): a page on another origin cannot embed it unless the server says otherwise.

(() => {
  const base = new URL(".", document.currentScript?.src ?? location.href);

  class NnPlayground extends HTMLElement {
    static observedAttributes = ["preset", "panels", "autoplay", "height", "share"];

    connectedCallback() {
      if (!this.frame) {
        this.frame = document.createElement("iframe");
        this.frame.title = this.getAttribute("title") || "nnplay playground";
        this.frame.setAttribute("data-testid", "nn-playground-frame");
        this.frame.style.border = "0";
        this.frame.style.width = "100%";
        this.style.display = "block";
        this.append(this.frame);
      }
      this.update();
    }

    attributeChangedCallback() {
      if (this.frame) this.update();
    }

    /** The iframe's address for the current attributes. */
    get src() {
      const url = new URL("index.html", base);
      url.searchParams.set("embed", "1");
      for (const name of ["preset", "panels"]) {
        const value = this.getAttribute(name);
        if (value) url.searchParams.set(name, value);
      }
      if (this.hasAttribute("autoplay")) url.searchParams.set("autoplay", "1");
      const share = this.getAttribute("share");
      if (share && share.startsWith("#s=")) url.hash = share;
      return url.href;
    }

    update() {
      this.frame.style.height = this.getAttribute("height") || "700px";
      const src = this.src;
      if (this.frame.src !== src) this.frame.src = src;
    }

    /** The widget's window.nnplay (same origin only), once its page has loaded. */
    get nnplay() {
      return this.frame?.contentWindow?.nnplay ?? null;
    }
  }

  if (!customElements.get("nn-playground")) customElements.define("nn-playground", NnPlayground);
})();
