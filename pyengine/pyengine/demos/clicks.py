"""Click to add points: a small net fits them live. 2-D classification (two colours, a decision
heatmap) or 1-D regression (a curve through the points)."""
import numpy as np

from ..model import build
from ..tensor import no_grad
from . import Demo, b64, fail, option, register, to_u8

EXTENT = 6.0  # the plane shown is [-6, 6]^2 (1-D: x in [-6, 6])
MAX_POINTS = 2000


def net(mode, hidden=16):
    out = 2 if mode == "classify" else 1
    return {"input": [2 if mode == "classify" else 1],
            "layers": [{"type": "dense", "units": hidden, "activation": "tanh"},
                       {"type": "dense", "units": hidden, "activation": "tanh"},
                       {"type": "dense", "units": out}],
            "loss": "softmax_cross_entropy" if mode == "classify" else "mse",
            "optimizer": {"type": "adam", "lr": 0.02}, "seed": 0}


def starting_points(mode, rng):
    if mode == "classify":  # two blobs to start from; clicks add more
        a = rng.normal([-2, -2], 1.0, (10, 2))
        b = rng.normal([2, 2], 1.0, (10, 2))
        return np.concatenate([a, b]), np.repeat([0, 1], 10)
    x = np.linspace(-5, 5, 9)[:, None]
    return x, 2 * np.sin(x[:, 0])


@register
class Clicks(Demo):
    name = "clicks"
    actions = ("addPoint", "clear")
    view_seconds = 0.2

    async def setup(self, mode="classify", resolution=40, **_):
        if mode not in ("classify", "regress"):
            fail(f"mode must be 'classify' or 'regress', got {mode!r}", "BadParams")
        self.mode = mode
        self.resolution = option({"resolution": resolution}, "resolution", 40, 8, 128, int)
        self.model = build(net(mode))
        self.rng = np.random.default_rng(0)
        x, y = starting_points(mode, self.rng)
        self.x, self.y = list(map(list, x)), list(y)
        self.last_loss = None

    def addPoint(self, x, y=0.0, label=0):
        """Classify: a point (x, y) of class `label` (0 or 1). Regress: the point (x, y)."""
        try:
            px, py = float(x), float(y)
        except (TypeError, ValueError):
            fail("a point needs numeric x and y", "BadParams")
        if not (abs(px) <= EXTENT and abs(py) <= EXTENT):
            fail(f"points must lie within [-{EXTENT:g}, {EXTENT:g}]", "BadParams")
        if len(self.x) >= MAX_POINTS:
            fail(f"at most {MAX_POINTS} points", "BadParams")
        if self.mode == "classify":
            if label not in (0, 1):
                fail("label must be 0 or 1", "BadParams")
            self.x.append([px, py])
            self.y.append(int(label))
        else:
            self.x.append([px])
            self.y.append(py)
        return {"points": len(self.x)}

    def clear(self):
        self.x, self.y = [], []
        return {"points": 0}

    def arrays(self):
        x = np.asarray(self.x, dtype=np.float32)
        if self.mode == "classify":
            return x, np.asarray(self.y, dtype=np.int64)
        return x, np.asarray(self.y, dtype=np.float32)[:, None]

    def advance(self):
        if not self.x:
            return False  # nothing to fit: the run ends (add points, press Play again)
        x, y = self.arrays()
        idx = self.rng.integers(0, len(x), min(16, len(x)))
        self.last_loss = self.model.train_step(x[idx], y[idx])

    def view(self):
        out = {"mode": self.mode, "points": {"x": self.x, "y": self.y}, "extent": EXTENT, "loss": None,
               "accuracy": None}
        if self.x:
            x, y = self.arrays()
            ev = self.model.evaluate(x, y)
            out.update(loss=ev["loss"], accuracy=ev["accuracy"])
        r = self.resolution
        ticks = np.linspace(-EXTENT, EXTENT, r, dtype=np.float32)
        with no_grad():
            if self.mode == "classify":
                gx, gy = np.meshgrid(ticks, -ticks)  # row 0 is the top (+y)
                p = self.model.predict(np.stack([gx.ravel(), gy.ravel()], axis=1))[:, 1]
                out.update(resolution=r, heatmap=b64(to_u8(p, 0.0, 1.0)))
            else:
                xs = np.linspace(-EXTENT, EXTENT, 200, dtype=np.float32)[:, None]
                out.update(curve={"x": xs[:, 0], "y": self.model.predict(xs)[:, 0]})
        return out
