// Pong from pixels (pyengine/pyengine/demos/pong.py): the court, the agent's view, reward curve, hidden units.
import { $, base64ToBytes, drawGrey, drawRgb, el, fmt, lineChart, pct, say, setupAgain, startDemo, twoClassRgb }
  from "./demo.js";

let chart = null;

/** The court from the game's positions (field pixels), `scale` canvas pixels per field pixel. */
function drawCourt(view, game) {
  const canvas = $("#court");
  const ctx = canvas.getContext("2d");
  const s = canvas.width / view.size;
  ctx.fillStyle = "#101828";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = "#344054";
  for (let y = 0; y < canvas.height; y += 2 * s) ctx.fillRect(canvas.width / 2 - s / 4, y, s / 2, s);
  ctx.fillStyle = "#98a2b3";
  ctx.fillRect(0, game.opponent * s, 2 * s, view.paddle * s);
  ctx.fillStyle = "#f79009";
  ctx.fillRect(canvas.width - 2 * s, game.agent * s, 2 * s, view.paddle * s);
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(game.ball[0] * s, game.ball[1] * s, view.ball_size * s, view.ball_size * s);
}

function drawView(frame, side) {
  drawGrey($("#view"), frame, side, side, 6);
}

function render(view) {
  drawCourt(view, view.game);
  drawView(view.frame, view.view_size);
  $("#prob").textContent = fmt(view.prob_up, 2);
  $("#points").textContent = view.points;
  $("#won").textContent = view.points ? pct(view.won / view.points) : "–";
  $("#first").textContent = fmt(view.first_reward, 2);
  $("#recent").textContent = fmt(view.recent_reward, 2);
  $("#updates").textContent = view.updates;
  const box = $("#chart");
  chart ??= lineChart(box, { title: "mean reward of 50 points", labels: ["reward"], range: [-1, 1],
    width: Math.min(520, box.clientWidth || 520), height: 220 });
  chart.update(view.reward_curve.map((_, i) => (i + 1) * view.curve_every), [view.reward_curve]);
  const side = view.view_size;
  $("#units").replaceChildren(...view.hidden_weights.map((w, i) => {
    const c = el("canvas", { className: "pixels", title: `hidden unit ${i + 1}` });
    drawRgb(c, twoClassRgb(base64ToBytes(w)), side, side, 1);
    c.style.width = c.style.height = "48px";
    return c;
  }));
}

const options = () => ({ games: Number($("#games").value), opponent_speed: Number($("#opponent").value) });
const demo = await startDemo({ name: "pong", render, options });

// "Watch it play": one decision (3 frames) every 50 ms, i.e. 60 frames a second; no learning.
let watching = null;
const stopWatching = () => {
  clearInterval(watching);
  watching = null;
  $("#watch").textContent = "Watch it play";
  $("#court-caption").textContent = "Game 1 of the training games. Right: the agent; left: a simple opponent "
    + "that follows the ball at a limited speed.";
};
$("#watch").addEventListener("click", () => {
  if (watching) return stopWatching();
  if (demo.state.running) return say("Pause the training first, then watch it play.", "info");
  if (!demo.state.ready) return;
  $("#watch").textContent = "Stop watching";
  let busy = false;
  watching = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const w = await demo.call("watch", { frames: 1 });
      if (!watching) return;  // stopped while this frame was on its way
      drawCourt(demo.state.view, w.game);
      drawView(w.frame, demo.state.view.view_size);
      $("#prob").textContent = fmt(w.prob_up, 2);
      $("#court-caption").textContent = `Watching (real speed, no learning): the agent won ${w.won} and lost ${w.lost} points.`;
      document.body.dataset.watched = w.won + w.lost;
    } catch (err) {
      say(err.message);
      stopWatching();
    } finally {
      busy = false;
    }
  }, 50);
});
for (const id of ["#play", "#reset", "#step"]) $(id).addEventListener("click", stopWatching);
for (const id of ["#games", "#opponent"]) {
  $(id).addEventListener("change", () => {
    stopWatching();
    setupAgain(demo, () => {});
  });
}
