// Keeping and sharing: the share URL (network + settings, never weights or code) and the autosave
// in IndexedDB (network, weights, settings, data choice, uploaded images). A damaged autosave is set
// aside (kept under "damaged" for download, never retried on the next reload); a database left at
// another version, or without its store, is upgraded to one that has it.

import { checkJson } from "./validate.js";

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
  checkJson(value, { what: "the link's data" }); // a depth and size limit before anything walks it
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

/** One IndexedDB request as a promise. */
function request(req, onupgradeneeded = null) {
  return new Promise((resolve, reject) => {
    if (onupgradeneeded) req.onupgradeneeded = () => onupgradeneeded(req.result);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error("the autosave database is held open by another tab of this page at an older version; close that tab"));
  });
}

/** The database with its store: whatever version is there (a new one is made at version 1); a database
 *  without the store (left by another build, or half made) is reopened one version up, creating it. */
async function openDb() {
  const create = (db) => db.objectStoreNames.contains(STORE) || db.createObjectStore(STORE);
  let db = await request(indexedDB.open(DB_NAME), create);
  if (!db.objectStoreNames.contains(STORE)) {
    const version = db.version + 1;
    db.close();
    db = await request(indexedDB.open(DB_NAME, version), create);
  }
  db.onversionchange = () => db.close(); // never block another tab's upgrade
  return db;
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
  /** Move a damaged record out of the way: kept as {record, reason, at} under "damaged" (the latest one)
   *  for download, and "state" emptied so the next reload starts clean. */
  setAside: (record, reason) => withStore("readwrite", (s) => {
    try {
      s.put({ record, reason, at: Date.now() }, "damaged");
    } catch (err) { // a record IndexedDB cannot even store again (too deep): keep why, at least
      s.put({ record: null, reason, at: Date.now(), lost: String(err?.message ?? err) }, "damaged");
    }
    return s.delete("state");
  }),
  /** The set-aside record {record, reason, at}, or undefined. */
  damaged: () => withStore("readonly", (s) => s.get("damaged")),
};

/** A set-aside record as a downloadable JSON file (bytes as lists of numbers, so nothing is lost). */
export function damagedToJson(entry) {
  const bytes = (key, value) => (ArrayBuffer.isView(value) ? Array.from(value) : value);
  try {
    return JSON.stringify(entry, bytes, 1);
  } catch (err) { // e.g. nested too deeply for JSON.stringify
    return JSON.stringify({ reason: entry?.reason, at: entry?.at, lost: `the record could not be written (${err.message})` });
  }
}
