// The WebAssembly SIMD kernels (dist/simd/, issue 14) into a Pyodide: written to its file system and
// opened by the NumPy engine with ctypes.CDLL. Shared by the playground's worker (web/worker.js) and
// the data-parallel helper (web/peer.js).

import BUILD from "./build-info.js";

export const SIMD_PATH = "/lib/nnplay/" + BUILD.simd.path.split("/").pop();

/** Write `bytes` (the kernel file) and switch pyengine's NumPy backend to it; returns {active, reason}. */
export function installSimd(pyodide, bytes) {
  pyodide.FS.mkdirTree("/lib/nnplay");
  pyodide.FS.writeFile(SIMD_PATH, new Uint8Array(bytes));
  const reply = pyodide.pyimport("pyengine.backends.numpy_backend").use_simd(SIMD_PATH);
  const status = reply.toJs();
  reply.destroy();
  return { active: Boolean(status.get("active")), reason: status.get("reason") ?? null };
}
