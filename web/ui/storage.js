// Keeping and sharing: the share URL (network + settings, never weights or code) and the autosave
// in IndexedDB (network, weights, settings, data choice, uploaded images).

const DB_NAME = "nnplay";
const STORE = "autosave";
const MAX_HASH = 200_000; // characters; a hash longer than this is refused, not parsed

/** UTF-8 JSON -> URL-safe base64. */
export function encodeState(state) {
  const bytes = new TextEncoder().encode(JSON.stringify(state));
  let raw = "";
  for (const b of bytes) raw += String.fromCharCode(b);
  return btoa(raw).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** The inverse of encodeState; throws an Error with a readable message. */
export function decodeState(text) {
  if (text.length > MAX_HASH) throw new Error(`the link is too long (${text.length} characters)`);
  let raw;
  try {
    raw = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  } catch {
    throw new Error("the link's data is not valid base64");
  }
  let value;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(raw, (c) => c.charCodeAt(0))));
  } catch {
    throw new Error("the link's data is not valid JSON");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error("the link's data is not an object");
  return value;
}

/** A share URL for {spec, settings}. */
export function shareURL(state, base = location.href) {
  const url = new URL(base);
  url.hash = `s=${encodeState(state)}`;
  return url.href;
}

/** Read {spec, settings} from location.hash: null when there is none; throws on a damaged one. */
export function readHash(hash = location.hash) {
  const m = /^#s=(.*)$/s.exec(hash);
  if (!m) return null;
  return decodeState(m[1]);
}

function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function withStore(mode, work) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req?.result);
      tx.onerror = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/** Autosave {spec, settings, weights: Uint8Array, uploads: [{name, images: [base64]}], savedAt}. */
export const autosave = {
  save: (state) => withStore("readwrite", (s) => s.put({ ...state, savedAt: Date.now() }, "state")),
  load: () => withStore("readonly", (s) => s.get("state")),
  clear: () => withStore("readwrite", (s) => s.delete("state")),
};
