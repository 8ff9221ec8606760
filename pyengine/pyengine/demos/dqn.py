"""Deep Q-learning in a small grid world: the agent (start: top left) must reach the goal (bottom right)
and avoid the pits. A network learns Q(state, action), the return it expects from each move; it acts
mostly greedily on Q, sometimes at random (epsilon, decaying), and learns from a replay buffer of past
moves against a slowly updated copy of itself (the target network), as in DQN (Mnih et al., 2015)."""
import numpy as np

from ..model import build
from ..tensor import no_grad
from . import Demo, option, register, thin

SIZE = 5
START, GOAL = (0, 0), (SIZE - 1, SIZE - 1)
PITS = {(1, 1), (1, 3), (3, 2)}
MOVES = [(-1, 0), (0, 1), (1, 0), (0, -1)]  # up, right, down, left (row, column)
MAX_STEPS = 40


def net():
    return {"input": [SIZE * SIZE], "layers": [{"type": "dense", "units": 48, "activation": "relu"},
                                               {"type": "dense", "units": 4}],
            "loss": "mse", "optimizer": {"type": "adam", "lr": 0.003}, "seed": 0}


def encode(cell):
    x = np.zeros(SIZE * SIZE, np.float32)
    x[cell[0] * SIZE + cell[1]] = 1.0
    return x


def move(cell, action):
    """(next cell, reward, episode over)"""
    r = min(max(cell[0] + MOVES[action][0], 0), SIZE - 1)
    c = min(max(cell[1] + MOVES[action][1], 0), SIZE - 1)
    nxt = (r, c)
    if nxt == cell:  # walked into the wall
        return nxt, -0.05, False
    if nxt == GOAL:
        return nxt, 1.0, True
    if nxt in PITS:
        return nxt, -1.0, True
    return nxt, -0.01, False


ALL_STATES = np.stack([encode((r, c)) for r in range(SIZE) for c in range(SIZE)])


@register
class Dqn(Demo):
    name = "dqn"
    view_seconds = 0.15

    async def setup(self, gamma=0.95, batch_size=32, target_every=50, **_):
        self.gamma = option({"gamma": gamma}, "gamma", 0.95, 0.0, 0.999)
        self.batch_size = option({"batch_size": batch_size}, "batch_size", 32, 1, 256, int)
        self.target_every = option({"target_every": target_every}, "target_every", 50, 1, 10000, int)
        self.q, self.target = build(net()), build(net())
        self.target.load_state_dict(self.q.state_dict())
        self.rng = np.random.default_rng(0)
        self.buffer = []  # (state, action, reward, next state, done)
        self.cell, self.episode_return, self.episode_steps = START, 0.0, 0
        self.returns = []
        self.losses = []

    @property
    def epsilon(self):
        return max(0.05, 1.0 - self.steps / 1000)

    def q_values(self, model, states):
        with no_grad():
            return model.forward(states, training=False).data

    def advance(self):
        state = encode(self.cell)
        if self.rng.random() < self.epsilon:
            action = int(self.rng.integers(4))
        else:
            action = int(self.q_values(self.q, state[None])[0].argmax())
        nxt, reward, done = move(self.cell, action)
        self.episode_steps += 1
        if self.episode_steps >= MAX_STEPS:
            done = True
        self.buffer.append((state, action, reward, encode(nxt), done))
        self.buffer = self.buffer[-5000:]
        self.episode_return += reward
        self.cell = nxt
        if done:
            self.returns.append(self.episode_return)
            self.cell, self.episode_return, self.episode_steps = START, 0.0, 0
        if len(self.buffer) >= self.batch_size:
            self.learn()
        if (self.steps + 1) % self.target_every == 0:
            self.target.load_state_dict(self.q.state_dict())

    def learn(self):
        picks = self.rng.integers(0, len(self.buffer), self.batch_size)
        s, a, r, s2, d = (np.array(v) for v in zip(*(self.buffer[i] for i in picks)))
        future = self.q_values(self.target, s2.astype(np.float32)).max(axis=1)
        y = self.q_values(self.q, s.astype(np.float32)).copy()  # only the taken action's value moves
        y[np.arange(len(a)), a] = r + self.gamma * future * (1.0 - d)
        self.losses.append(self.q.train_step(s.astype(np.float32), y.astype(np.float32)))

    def greedy_path(self):
        """The agent's route when it always takes its best move (at most MAX_STEPS moves)."""
        cell, path, total = START, [list(START)], 0.0
        for _ in range(MAX_STEPS):
            cell, reward, done = move(cell, int(self.q_values(self.q, encode(cell)[None])[0].argmax()))
            path.append(list(cell))
            total += reward
            if done:
                break
        return path, total, cell == GOAL

    def view(self):
        q = self.q_values(self.q, ALL_STATES)
        path, total, reached = self.greedy_path()
        avg = np.convolve(self.returns, np.ones(10) / 10, "valid") if len(self.returns) >= 10 else self.returns
        curve, stride = thin(avg)
        recent = self.returns[-20:]
        return {"size": SIZE, "start": START, "goal": GOAL, "pits": sorted(PITS), "agent": list(self.cell),
                "policy": q.argmax(axis=1).reshape(SIZE, SIZE), "value": q.max(axis=1).reshape(SIZE, SIZE),
                "episodes": len(self.returns), "epsilon": self.epsilon, "return_curve": curve, "stride": stride,
                "recent_return": float(np.mean(recent)) if recent else None,
                "first_returns": float(np.mean(self.returns[:20])) if self.returns else None,
                "greedy": {"path": path, "return": total, "reached_goal": reached}}
