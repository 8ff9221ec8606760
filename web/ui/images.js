// Image upload per class: the learner names each class and picks its pictures; each picture becomes
// grey IMAGE_SIZE×IMAGE_SIZE pixels (fitted into the square on black) and the set goes to the worker as
// loadDataset("images", {classes: [{name, images: [base64]}], size}).

import { bytesToBase64 } from "../nnplay.js";

export const IMAGE_SIZE = 28;

/** One image file -> grey pixels (Uint8Array, size*size); rejects with the file's name when unreadable. */
export async function imageToGrey(file, size = IMAGE_SIZE) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new Error(`${file.name}: not an image this browser can read`);
  }
  const canvas = new OffscreenCanvas(size, size);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, size, size);
  const scale = Math.min(size / bitmap.width, size / bitmap.height);
  const w = bitmap.width * scale, h = bitmap.height * scale;
  ctx.drawImage(bitmap, (size - w) / 2, (size - h) / 2, w, h);
  bitmap.close();
  const rgba = ctx.getImageData(0, 0, size, size).data;
  const grey = new Uint8Array(size * size);
  for (let i = 0; i < grey.length; i++) grey[i] = Math.round(0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2]);
  return grey;
}

/** The classes that can become a data set: those with images, each named (an empty name: "class k"). */
function usable(list) {
  return list.filter((c) => c.images.length).map((c, k) => ({ name: c.name.trim() || `class ${k}`, images: c.images }));
}

/** Check an autosaved class list: [{name: text, images: [base64 of size*size grey pixels]}]; throws a readable Error. */
function checkSaved(list, size) {
  if (!Array.isArray(list)) throw new Error("the saved classes are not a list");
  return list.map((c, k) => {
    if (c === null || typeof c !== "object" || typeof c.name !== "string" || !Array.isArray(c.images)) {
      throw new Error(`saved class ${k + 1} is not a name with a list of images`);
    }
    c.images.forEach((img, j) => {
      let n = -1;
      try {
        n = typeof img === "string" ? atob(img).length : -1;
      } catch { /* not base64: n stays -1 */ }
      if (n !== size * size) throw new Error(`class '${c.name}', image ${j + 1} is not ${size}×${size} grey pixels`);
    });
    return { name: c.name, images: [...c.images] };
  });
}

/**
 * The class list in `box`: a name and a file picker per class. `onUse(classes, size)` receives
 * [{name, images: [base64]}] when the learner presses the use button; `onError(text)` reports bad files;
 * `onChange()` follows every name or picture change (the autosave).
 * Returns {get(), set(list), usable()}: `get` gives every row as {name, images: [base64]} (what the
 * autosave keeps), `set` puts such a list back (throws a readable Error, changing nothing, when it is
 * damaged), `usable` gives the classes that have images, as `onUse` gets them.
 */
export function startImageUpload(box, addButton, useButton, onUse, onError, onChange = () => {}) {
  const classes = []; // {name: input, images: base64[], count: output}
  const showCount = (entry) => {
    const n = entry.images.length;
    entry.count.textContent = `${n} image${n === 1 ? "" : "s"}`;
  };
  const addClass = (saved = null) => {
    const k = classes.length;
    const row = document.createElement("div");
    row.className = "image-class";
    const name = Object.assign(document.createElement("input"), { type: "text", value: saved ? saved.name : `class ${k}`,
      placeholder: `class ${k}` });
    name.setAttribute("aria-label", `Name of class ${k + 1}`);
    name.dataset.testid = `image-class-${k}-name`;
    name.addEventListener("change", () => onChange());
    const label = Object.assign(document.createElement("label"), { className: "file-button", textContent: "Images " });
    const files = Object.assign(document.createElement("input"), { type: "file", multiple: true, accept: "image/*" });
    files.dataset.testid = `image-class-${k}-files`;
    label.append(files);
    const count = document.createElement("output");
    count.dataset.testid = `image-class-${k}-count`;
    const entry = { name, images: saved ? saved.images : [], count };
    showCount(entry);
    files.addEventListener("change", async () => {
      const read = [];
      for (const file of files.files) {
        try {
          read.push(bytesToBase64(await imageToGrey(file)));
        } catch (err) {
          onError(err.message);
          files.value = ""; // none of this pick is taken: the class keeps its previous images
          return;
        }
      }
      entry.images = read;
      showCount(entry);
      onChange();
    });
    row.append(name, label, count);
    box.append(row);
    classes.push(entry);
  };
  const rows = () => classes.map((c) => ({ name: c.name.value, images: c.images }));
  addClass();
  addClass();
  addButton.addEventListener("click", () => addClass());
  useButton.addEventListener("click", () => onUse(usable(rows()), IMAGE_SIZE));
  return {
    get: rows,
    usable: () => usable(rows()),
    set(list) {
      const checked = checkSaved(list, IMAGE_SIZE);
      box.replaceChildren();
      classes.length = 0;
      for (const c of checked) addClass(c);
      while (classes.length < 2) addClass();
    },
  };
}
