"""Pong from pixels with policy gradients (REINFORCE), after Karpathy's "Pong from Pixels" (2016).

The agent (the right paddle) sees only pixels: the difference of its last two frames of the 40x40
field, each downsampled to 20x20 (`scale` 2), so a moving ball shows up as a bright pixel (where it is)
next to a dark one (where it was). A two-layer network turns those 400 numbers into the probability of
moving up; the agent samples up or down from it and keeps that move for `repeat` frames (as Atari
agents do), so each decision matters enough to be credited. A point ends with +1 (the opponent missed) or -1 (the agent missed). After a batch of points, every
move gets the discounted reward that followed it in its point, normalised over the batch (the
advantage), and each move's log-probability is pushed up in proportion: moves before won points become
likelier, moves before lost points less likely. Nobody tells it where the ball or its paddle is.

Several games run side by side (`games`, one batched forward pass for all of them), so training is far
faster than real time; game 0 is the one the page draws. `watch` plays a separate game with the current
policy, one frame a call, without learning (the page's "watch it play")."""
import numpy as np

from ..model import build
from ..tensor import Tensor, no_grad
from . import Demo, b64, fail, option, register, thin, to_u8

SIZE = 40  # the field is SIZE x SIZE pixels, as the agent sees it
PADDLE = 8  # paddle height (pixels)
BALL = 2  # the ball is BALL x BALL pixels
AGENT_X, OPPONENT_X = SIZE - 2, 0  # left column of each paddle (2 pixels wide)
PADDLE_SPEED = 2.0  # the agent's paddle moves this far every frame, up or down
SHOWN_UNITS = 12  # hidden units whose weights the page draws


def policy_net(hidden, lr, seed, scale):
    """(40 / scale)^2 pixels -> `hidden` relu units -> one logit: the log-odds of moving up."""
    return {"input": [(SIZE // scale) ** 2], "layers": [
        {"type": "dense", "units": hidden, "activation": "relu", "name": "hidden"},
        {"type": "dense", "units": 1, "name": "up_logit"}],
        "loss": "binary_cross_entropy", "optimizer": {"type": "adam", "lr": lr}, "seed": seed,
        # The update below is a custom loss (REINFORCE) through pyengine's autograd on NumPy; the
        # WebGPU trainer runs only the built-in losses, so this small net stays on NumPy.
        "backend": "numpy"}


class Games:
    """`n` Pong games stepped together (NumPy arrays of length n). Positions are in pixels."""

    def __init__(self, n, rng, opponent_speed):
        self.n, self.rng, self.opponent_speed = n, rng, opponent_speed
        self.agent = np.full(n, (SIZE - PADDLE) / 2.0)  # top edge of each paddle
        self.opponent = np.full(n, (SIZE - PADDLE) / 2.0)
        self.bx, self.by, self.vx, self.vy = (np.zeros(n) for _ in range(4))
        self.serve(np.ones(n, bool))
        self.frame = self.render()
        self.previous = self.frame.copy()

    def serve(self, which):
        """A new point in the games `which`: the ball starts mid-field, flying toward the agent."""
        k = int(which.sum())
        self.bx[which] = SIZE / 2.0
        self.by[which] = self.rng.uniform(4, SIZE - 4 - BALL, k)
        self.vx[which] = self.rng.uniform(1.0, 1.5, k)
        self.vy[which] = self.rng.uniform(-1.0, 1.0, k)

    def render(self):
        """(n, SIZE, SIZE) float32 frames: paddles and ball are 1, the rest 0."""
        frame = np.zeros((self.n, SIZE, SIZE), np.float32)
        rows = np.arange(SIZE)
        for top, x in ((self.agent, AGENT_X), (self.opponent, OPPONENT_X)):
            on = (rows[None, :] >= np.round(top)[:, None]) & (rows[None, :] < np.round(top)[:, None] + PADDLE)
            frame[:, :, x] = frame[:, :, x + 1] = on
        bx = np.clip(np.round(self.bx).astype(int), 0, SIZE - BALL)
        by = np.clip(np.round(self.by).astype(int), 0, SIZE - BALL)
        for dy in range(BALL):
            for dx in range(BALL):
                frame[np.arange(self.n), by + dy, bx + dx] = 1.0
        return frame

    def observe(self, scale=1):
        """What the agent sees: this frame minus the last, each shrunk `scale` times (2x2 max pooling for
        2), flattened to (n, (SIZE / scale)^2)."""
        diff = self.frame - self.previous
        if scale > 1:
            side = SIZE // scale
            frames = np.stack([self.frame, self.previous]).reshape(2, self.n, side, scale, side, scale)
            small = frames.max(axis=(3, 5))
            diff = small[0] - small[1]
        return diff.reshape(self.n, -1)

    def step(self, up, repeat=1):
        """Play `repeat` frames with the agent's paddles moving up (`up`: bool per game) or down, then
        take a new picture. Returns the reward per game: +1 the agent won a point, -1 it lost one,
        0 play goes on."""
        reward = np.zeros(self.n)
        for _ in range(repeat):
            reward += self.physics(up)
        over = reward != 0
        self.previous, self.frame = self.frame, self.render()
        self.previous[over] = self.frame[over]  # a new serve: the ball did not "move" across the field
        return np.sign(reward)

    def physics(self, up):
        """One frame of motion; the reward per game (a finished point is served again at once)."""
        self.agent = np.clip(self.agent + np.where(up, -PADDLE_SPEED, PADDLE_SPEED), 0, SIZE - PADDLE)
        # The opponent follows the ball, but no faster than opponent_speed: steep balls beat it.
        target = self.by + BALL / 2 - PADDLE / 2
        self.opponent = np.clip(self.opponent + np.clip(target - self.opponent, -self.opponent_speed,
                                                        self.opponent_speed), 0, SIZE - PADDLE)
        self.bx += self.vx
        self.by += self.vy
        bounce = (self.by < 0) | (self.by > SIZE - BALL)  # off the top or bottom wall
        self.by = np.where(self.by < 0, -self.by, np.where(self.by > SIZE - BALL, 2 * (SIZE - BALL) - self.by,
                                                           self.by))
        self.vy = np.where(bounce, -self.vy, self.vy)
        reward = np.zeros(self.n)
        for side, top, x_hit in ((1, self.agent, AGENT_X - BALL), (-1, self.opponent, OPPONENT_X + 2)):
            at = (self.vx * side > 0) & ((self.bx >= x_hit) if side > 0 else (self.bx <= x_hit))
            centre = self.by + BALL / 2
            hit = at & (centre >= top - 1) & (centre <= top + PADDLE + 1)
            # Where the ball meets the paddle sets its new angle: the edges send it off steeply.
            offset = (centre - (top + PADDLE / 2)) / (PADDLE / 2)
            self.vx = np.where(hit, -self.vx * 1.03, self.vx)
            self.vy = np.where(hit, np.clip(self.vy + 0.8 * offset, -1.6, 1.6), self.vy)
            self.bx = np.where(hit, x_hit, self.bx)
            missed = at & ~hit
            reward[missed] = -side  # the agent missed (side +1): -1; the opponent missed: +1
        if (reward != 0).any():
            self.serve(reward != 0)
        return reward

    def state(self, i=0):
        """Game i's positions, for the page to draw (pixels, top-left origin)."""
        return {"ball": [float(self.bx[i]), float(self.by[i])], "agent": float(self.agent[i]),
                "opponent": float(self.opponent[i])}


def point_returns(length, reward, gamma):
    """The return of each of a point's `length` moves: its final reward, discounted by gamma for every
    frame between the move and the end of the point (the last move gets the whole reward)."""
    return reward * gamma ** np.arange(length - 1, -1, -1, dtype=np.float64)


@register
class Pong(Demo):
    name = "pong"
    view_seconds = 0.2
    actions = ("watch",)

    async def setup(self, games=16, hidden=16, lr=0.01, gamma=0.97, batch_points=8, opponent_speed=0.4,
                    repeat=3, scale=2, seed=0, **unknown):
        if unknown:
            fail(f"unknown option(s) {', '.join(sorted(unknown))}: pong takes games, hidden, lr, gamma, "
                 "batch_points, opponent_speed, repeat, scale, seed", "BadParams")
        opts = {"games": games, "hidden": hidden, "lr": lr, "gamma": gamma, "batch_points": batch_points,
                "opponent_speed": opponent_speed, "repeat": repeat, "scale": scale, "seed": seed}
        self.n_games = option(opts, "games", 16, 1, 64, int)
        self.hidden = option(opts, "hidden", 16, 1, 256, int)
        self.lr = option(opts, "lr", 0.01, 1e-6, 0.1)
        self.gamma = option(opts, "gamma", 0.97, 0.0, 0.9999)
        self.batch_points = option(opts, "batch_points", 8, 1, 1000, int)
        self.opponent_speed = option(opts, "opponent_speed", 0.4, 0.0, 4.0)
        self.repeat = option(opts, "repeat", 3, 1, 8, int)
        self.scale = option(opts, "scale", 2, 1, 4, int)
        if SIZE % self.scale:
            fail(f"scale must divide the field's {SIZE} pixels (1, 2, 4), got {self.scale}", "BadParams")
        self.seed = option(opts, "seed", 0, 0, 2**31 - 1, int)
        self.model = build(policy_net(self.hidden, self.lr, self.seed, self.scale))
        self.rng = np.random.default_rng(self.seed)
        self.games = Games(self.n_games, self.rng, self.opponent_speed)
        self.watched = Games(1, np.random.default_rng(self.seed + 1), self.opponent_speed)
        self.watch_points = []
        self.moves = [([], []) for _ in range(self.n_games)]  # per game: (frames, went up) of its point so far
        self.batch = []  # finished points since the last update: (frames, went up, returns)
        self.points = []  # every finished point's reward (+1 / -1), in order
        self.updates = 0
        self.running_reward = None  # exponential mean of the reward per point (Karpathy's running_reward)
        self.last_prob = np.full(self.n_games, 0.5)

    def prob_up(self, x):
        with no_grad():
            logit = self.model.forward(x, training=False).data[:, 0]
        return 1.0 / (1.0 + np.exp(-logit))

    def advance(self):
        x = self.games.observe(self.scale)
        p = self.prob_up(x)
        up = self.rng.random(self.n_games) < p
        reward = self.games.step(up, self.repeat)
        self.last_prob = p
        for g in range(self.n_games):
            frames, ups = self.moves[g]
            frames.append(x[g])
            ups.append(up[g])
            if reward[g] != 0:  # the point is over: every move in it gets its discounted reward
                self.batch.append((frames, ups, point_returns(len(frames), reward[g], self.gamma)))
                self.moves[g] = ([], [])
                r = float(reward[g])
                self.points.append(r)
                self.running_reward = r if self.running_reward is None else 0.99 * self.running_reward + 0.01 * r
        if len(self.batch) >= self.batch_points:
            self.learn()

    def learn(self):
        """One REINFORCE update from the moves of the points finished since the last update."""
        x = np.array([f for frames, _, _ in self.batch for f in frames], np.float32)  # (moves, pixels)
        up = np.array([u for _, ups, _ in self.batch for u in ups], np.float32)  # (moves,) 1 = moved up
        advantage = np.concatenate([ret for _, _, ret in self.batch])
        advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)  # normalised over the batch
        self.batch = []
        params = self.model.parameters()
        for p in params:
            p.grad = None
        logit = self.model.forward(Tensor(x), training=True)  # (moves, 1)
        # REINFORCE: minimise -mean(A * log pi(move)). For a Bernoulli policy with logit z, the gradient of
        # -log pi(move) with respect to z is sigmoid(z) - up, so the surrogate sum(z * A * (sigmoid(z) - up))
        # / moves has exactly the policy gradient; pyengine's autograd carries it back through the network.
        prob = 1.0 / (1.0 + np.exp(-logit.data[:, 0]))
        weight = (advantage * (prob - up) / len(x)).astype(np.float32)[:, None]
        (logit * Tensor(weight)).sum().backward()
        self.model.optimizer.step(params)
        self.updates += 1

    def watch(self, frames=1):
        """Play the watched game `frames` frames with the current policy (sampled, no learning)."""
        frames = option({"frames": frames}, "frames", 1, 1, 1000, int)
        if self.running:
            fail("the demo is training: pause it first, then watch it play", "Busy")
        for _ in range(frames):
            x = self.watched.observe(self.scale)
            p = self.prob_up(x)
            r = self.watched.step(self.watched.rng.random(1) < p, self.repeat)
            if r[0] != 0:
                self.watch_points.append(float(r[0]))
        return {"demo": self.name, "game": self.watched.state(), "prob_up": float(p[0]),
                "frame": b64(to_u8(self.watched.observe(self.scale)[0], -1.0, 1.0)),
                "won": self.watch_points.count(1.0), "lost": self.watch_points.count(-1.0)}

    def view(self):
        w = self.model.params["hidden"]["weight"].data  # (pixels, hidden)
        shown = [b64(to_u8(w[:, j], -np.abs(w[:, j]).max(), np.abs(w[:, j]).max()))
                 for j in range(min(SHOWN_UNITS, self.hidden))]
        per = 50  # the curve: mean reward of each run of 50 points
        means = [float(np.mean(self.points[i:i + per])) for i in range(0, len(self.points) - per + 1, per)]
        curve, stride = thin(means)
        return {"size": SIZE, "view_size": SIZE // self.scale, "paddle": PADDLE, "ball_size": BALL, "games": self.n_games,
                "game": self.games.state(), "prob_up": float(self.last_prob[0]),
                "frame": b64(to_u8(self.games.observe(self.scale)[0], -1.0, 1.0)),
                "points": len(self.points), "won": int(sum(1 for r in self.points if r > 0)),
                "updates": self.updates, "running_reward": self.running_reward,
                "first_reward": float(np.mean(self.points[:200])) if self.points else None,
                "recent_reward": float(np.mean(self.points[-200:])) if self.points else None,
                "reward_curve": curve, "curve_every": per * stride, "hidden_weights": shown}
