// Deep Q-learning (pyengine/pyengine/demos/dqn.py): the grid, Q values, greedy policy, reward curve.
import { $, fmt, lineChart, say, startDemo } from "./demo.js";

const ARROWS = ["↑", "→", "↓", "←"];
let chart = null;

function drawGrid(view) {
  const canvas = $("#grid");
  const ctx = canvas.getContext("2d");
  const n = view.size, cell = canvas.width / n;
  const values = view.value.flat();
  const [lo, hi] = [Math.min(...values), Math.max(...values)];
  const isPit = (r, c) => view.pits.some(([pr, pc]) => pr === r && pc === c);
  ctx.font = `${cell * 0.4}px system-ui`;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      const t = hi > lo ? (view.value[r][c] - lo) / (hi - lo) : 0.5;
      ctx.fillStyle = isPit(r, c) ? "#d92d20" : r === view.goal[0] && c === view.goal[1] ? "#12b76a"
        : `rgb(${Math.round(255 - 60 * t)}, ${Math.round(255 - 20 * t)}, ${Math.round(255 - 60 * t)})`;
      ctx.fillRect(c * cell, r * cell, cell - 1, cell - 1);
      if (!isPit(r, c) && !(r === view.goal[0] && c === view.goal[1])) {
        ctx.fillStyle = "#475467";
        ctx.fillText(ARROWS[view.policy[r][c]], (c + 0.5) * cell, (r + 0.5) * cell);
      }
    }
  }
  const [ar, ac] = view.agent;
  ctx.fillStyle = "#2f6fed";
  ctx.beginPath();
  ctx.arc((ac + 0.5) * cell, (ar + 0.5) * cell, cell * 0.22, 0, 2 * Math.PI);
  ctx.fill();
}

function render(view) {
  drawGrid(view);
  $("#episodes").textContent = view.episodes;
  $("#epsilon").textContent = fmt(view.epsilon, 2);
  $("#return").textContent = fmt(view.recent_return);
  $("#greedy").textContent = view.greedy.reached_goal ? "yes" : "not yet";
  chart ??= lineChart($("#chart"), { title: "return per episode (mean of 10)", labels: ["return"], range: [-1.5, 1],
    width: 440, height: 260 });
  chart.update(view.return_curve.map((_, i) => (i + 1) * view.stride + 9), [view.return_curve]);
}

const demo = await startDemo({ name: "dqn", render });

// "Watch": one move at a time, slow enough to follow; any other control stops it.
let watching = null;
const stopWatching = () => {
  clearInterval(watching);
  watching = null;
  $("#watch").textContent = "Watch";
};
$("#watch").addEventListener("click", () => {
  if (watching) return stopWatching();
  if (demo.state.running) return say("Pause the training first, then watch it play.", "info");
  $("#watch").textContent = "Stop watching";
  let busy = false;
  watching = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      demo.show(await demo.call("step", { count: 1 }));
    } catch (err) {
      say(err.message);
      stopWatching();
    } finally {
      busy = false;
    }
  }, 150);
});
for (const id of ["#play", "#reset"]) $(id).addEventListener("click", stopWatching);
