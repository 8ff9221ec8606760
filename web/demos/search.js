// Automatic model search (pyengine/pyengine/demos/search.py): the live leaderboard and the ensemble.
import { $, el, pct, say, startDemo, setupAgain } from "./demo.js";

let upload = null; // {csv, label} or null for the bundled table

function render(view) {
  $("#source").textContent = view.source;
  $("#candidates").textContent = view.candidates;
  $("#current").textContent = view.current
    ? `#${view.current.index}, fold ${view.current.fold}/${view.folds}: ${view.current.description}` : "–";
  $("#ens-size").textContent = view.ensemble_size;
  $("#ensemble").textContent = pct(view.ensemble_test_accuracy);
  $("#best").textContent = pct(view.best_cv_test_accuracy);
  $("#median").textContent = pct(view.median_test_accuracy);
  $("#board").replaceChildren(
    el("tr", {}, ...["rank", "candidate", "network and training", "CV accuracy", "folds", "test accuracy"].map((t) => el("th", {}, t))),
    ...view.leaderboard.map((e, i) => el("tr", { className: i < view.ensemble_size ? "chosen" : "" },
      el("td", {}, String(i + 1)), el("td", {}, `#${e.index}`), el("td", { className: "text" }, e.description),
      el("td", {}, pct(e.cv_accuracy)), el("td", {}, e.cv_folds.map((f) => pct(f)).join(" ")), el("td", {}, pct(e.test_accuracy)))));
}

const demo = await startDemo({ name: "search", render, options: () => upload ?? {} });

async function restart(next) {
  const previous = upload;
  upload = next;
  await setupAgain(demo, () => (upload = previous)); // keep the table that worked
}

$("#csv").addEventListener("change", async (e) => {
  const file = e.target.files[0];
  if (!file) return;
  if (file.size > 5e6) return say(`“${file.name}” is larger than 5 MB; model search here is meant for small tables`);
  const label = $("#label").value.trim();
  await restart({ csv: await file.text(), label: label === "" ? null : label });
});
$("#bundled").addEventListener("click", () => restart(null));
