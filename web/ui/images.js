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

/**
 * The class list in `box`: a name and a file picker per class. `onUse(classes, size)` receives
 * [{name, images: [base64]}] when the learner presses the use button; `onError(text)` reports bad files.
 */
export function startImageUpload(box, addButton, useButton, onUse, onError) {
  const classes = []; // {name: input, images: base64[], count: output}
  const addClass = () => {
    const k = classes.length;
    const row = document.createElement("div");
    row.className = "image-class";
    const name = Object.assign(document.createElement("input"), { type: "text", value: `class ${k}` });
    name.setAttribute("aria-label", `Name of class ${k + 1}`);
    name.dataset.testid = `image-class-${k}-name`;
    const label = Object.assign(document.createElement("label"), { className: "file-button", textContent: "Images " });
    const files = Object.assign(document.createElement("input"), { type: "file", multiple: true, accept: "image/*" });
    files.dataset.testid = `image-class-${k}-files`;
    label.append(files);
    const count = Object.assign(document.createElement("output"), { textContent: "0 images" });
    count.dataset.testid = `image-class-${k}-count`;
    const entry = { name, images: [], count };
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
      count.textContent = `${read.length} image${read.length === 1 ? "" : "s"}`;
    });
    row.append(name, label, count);
    box.append(row);
    classes.push(entry);
  };
  addClass();
  addClass();
  addButton.addEventListener("click", addClass);
  useButton.addEventListener("click", () => onUse(
    classes.filter((c) => c.images.length).map((c) => ({ name: c.name.value.trim() || c.name.placeholder, images: c.images })),
    IMAGE_SIZE));
}
