// The export panel: "Download for PyTorch / Keras / ONNX" (a zip with code, weights, data, train.py,
// predict.py, a notebook and a README, or an .onnx file) and "Load weights (safetensors)", which takes
// nnplay's own weights file or a state_dict saved from the exported PyTorch network. The work is done
// in the worker by pyengine.export (methods export.*); this module only wires buttons and files.
import { base64ToBytes, bytesToBase64 } from "../nnplay.js";

const $ = (sel) => document.querySelector(sel);

/** Add exportModel / saveWeights / loadWeights to a window.nnplay object. */
export function installExportApi(nnplay) {
  /** {name, bytes: Uint8Array} of the export for "pytorch" | "keras" | "onnx"; batchSize and
   *  earlyStopping (patience) describe the run, so train.py can reproduce it. */
  nnplay.exportModel = async (target = "pytorch", { batchSize, earlyStopping } = {}) => {
    const r = await nnplay.call("export.download", { target, batchSize, earlyStopping });
    return { name: r.name, bytes: base64ToBytes(r.bytes) };
  };
  /** The weights as nnplay's own safetensors file (Uint8Array). */
  nnplay.saveWeights = async () => base64ToBytes((await nnplay.call("export.saveWeights")).bytes);
  /** Load safetensors weights (nnplay's own or the exported PyTorch Net's state_dict) into the
   *  current network; rejects naming the tensor that does not fit. Resolves to {layout, step}. */
  nnplay.loadWeights = (bytes) => nnplay.call("export.loadWeights", { bytes: bytesToBase64(bytes) });
}

/** Wire the panel's buttons to the app (pause, download, message, refresh). */
export function initExport(app) {
  const nn = app.nnplay;
  installExportApi(nn);
  for (const button of document.querySelectorAll("[data-export-target]")) {
    button.addEventListener("click", async () => {
      const target = button.dataset.exportTarget;
      await app.pause();
      button.disabled = true;
      try {
        const r = await nn.exportModel(target); // the session's batch size and early stopping
        app.download(r.bytes, r.name);
        app.message(`Exported ${r.name}: see its README.txt.`, "info");
      } catch (err) {
        app.message(`Export for ${button.textContent.replace(/^Download for /, "")}: ${err.message}`);
      } finally {
        button.disabled = false;
      }
    });
  }
  $("#weights-file").addEventListener("change", async (e) => {
    const file = e.target.files[0];
    e.target.value = "";
    if (!file) return;
    await app.pause();
    try {
      const r = await nn.loadWeights(new Uint8Array(await file.arrayBuffer()));
      app.message(`Loaded the weights of ${file.name} (${{ pytorch: "PyTorch state_dict", keras: "Keras weights" }[r.layout] ?? "nnplay"}).`, "info");
      await app.refreshViews(true);
      app.saveSoon();
    } catch (err) {
      app.message(`${file.name}: ${err.message}`);
    }
  });
}
