"""Optimizer race: the same network, the same initial weights and the same batches, one optimizer
each; their loss curves overlaid show how the update rule alone changes training."""
import numpy as np

from .. import data
from ..model import build
from . import Demo, option, register, thin

OPTIMIZERS = {  # each at a learning rate that suits it on this problem
    "sgd": {"type": "sgd", "lr": 0.1},
    "momentum": {"type": "momentum", "lr": 0.05, "momentum": 0.9},
    "nesterov": {"type": "nesterov", "lr": 0.05, "momentum": 0.9},
    "adagrad": {"type": "adagrad", "lr": 0.1},
    "rmsprop": {"type": "rmsprop", "lr": 0.005},
    "adadelta": {"type": "adadelta", "lr": 1.0},
    "adam": {"type": "adam", "lr": 0.01},
}


def net(optimizer, hidden=24):
    return {"input": [2], "layers": [{"type": "dense", "units": hidden, "activation": "tanh"},
                                     {"type": "dense", "units": hidden, "activation": "tanh"},
                                     {"type": "dense", "units": 2}],
            "loss": "softmax_cross_entropy", "optimizer": optimizer, "seed": 1}


@register
class Race(Demo):
    name = "race"

    async def setup(self, points=300, batch_size=16, noise=0.1, lr_scale=1.0, **_):
        points = option({"points": points}, "points", 300, 20, 5000, int)
        self.batch_size = option({"batch_size": batch_size}, "batch_size", 16, 1, 512, int)
        scale = option({"lr_scale": lr_scale}, "lr_scale", 1.0, 0.01, 100.0)
        self.x, self.y = data.spiral(points, noise=float(noise), seed=0)
        self.models = {}
        for key, cfg in OPTIMIZERS.items():
            self.models[key] = build(net({**cfg, "lr": cfg["lr"] * scale}))
        self.losses = {key: [] for key in OPTIMIZERS}
        self.rng = np.random.default_rng(0)

    def advance(self):
        idx = self.rng.integers(0, len(self.x), self.batch_size)  # the same batch for every optimizer
        for key, model in self.models.items():
            self.losses[key].append(model.train_step(self.x[idx], self.y[idx]))

    def smoothed(self, key, window=20):
        values = self.losses[key]
        if not values:
            return None
        return float(np.mean(values[-window:]))

    def view(self):
        curves, stride = {}, 1
        for key in self.models:
            # a running mean over 10 steps: the batch noise would hide the curves' shapes
            v = np.asarray(self.losses[key], dtype=np.float64)
            if len(v) >= 10:
                v = np.convolve(v, np.ones(10) / 10, mode="valid")
            curves[key], stride = thin(v)
        accuracy = {key: model.evaluate(self.x, self.y)["accuracy"] for key, model in self.models.items()}
        return {"curves": curves, "stride": stride, "loss": {k: self.smoothed(k) for k in self.models},
                "accuracy": accuracy, "optimizers": OPTIMIZERS}
