"""Plain deep net against a residual net of the same depth: per-layer gradient norms and the loss
curves show why shortcuts matter. Both are `depth` dense layers of the same width; the residual net
adds each layer's input to its output (x + f(x)), so the gradient has a path that skips every layer."""
import numpy as np

from .. import data
from ..model import build
from . import Demo, option, register, thin

WIDTH = 16


def net(depth, residual, activation="sigmoid"):
    layers = [{"type": "dense", "units": WIDTH, "activation": "tanh", "name": "stem"}]
    previous = "stem"
    for i in range(depth):
        layers.append({"type": "dense", "units": WIDTH, "activation": activation, "name": f"d{i + 1}",
                       "inputs": [previous]})
        previous = f"d{i + 1}"
        if residual:
            layers.append({"type": "add", "name": f"add{i + 1}", "inputs": [layers[-2]["name"] if i == 0 else
                                                                           f"add{i}", previous]})
            previous = f"add{i + 1}"
    layers.append({"type": "dense", "units": 2, "name": "out", "inputs": [previous]})
    return {"input": [2], "layers": layers, "loss": "softmax_cross_entropy",
            "optimizer": {"type": "sgd", "lr": 0.05}, "seed": 0}


@register
class Residual(Demo):
    name = "residual"

    async def setup(self, depth=20, points=400, batch_size=32, activation="sigmoid", **_):
        self.depth = option({"depth": depth}, "depth", 20, 2, 60, int)
        self.batch_size = option({"batch_size": batch_size}, "batch_size", 32, 1, 512, int)
        self.x, self.y = data.circle(option({"points": points}, "points", 400, 20, 5000, int), seed=0)
        self.models = {"plain": build(net(self.depth, False, activation)),
                       "residual": build(net(self.depth, True, activation))}
        self.losses = {k: [] for k in self.models}
        self.grad_norms = {k: [] for k in self.models}  # per layer, latest step
        self.rng = np.random.default_rng(0)

    def advance(self):
        idx = self.rng.integers(0, len(self.x), self.batch_size)
        for key, model in self.models.items():
            self.losses[key].append(model.train_step(self.x[idx], self.y[idx]))
            norms = []
            for cfg in model.nspec.layers:
                w = model.params.get(cfg["name"], {}).get("weight")
                if w is not None and w.grad is not None:
                    norms.append(float(np.linalg.norm(w.grad)))
            self.grad_norms[key] = norms

    def view(self):
        curves, stride = {}, 1
        for key, values in self.losses.items():
            v = np.convolve(values, np.ones(10) / 10, "valid") if len(values) >= 10 else values
            curves[key], stride = thin(v)
        accuracy = {k: m.evaluate(self.x, self.y)["accuracy"] for k, m in self.models.items()}
        recent = {k: float(np.mean(v[-20:])) if v else None for k, v in self.losses.items()}
        layer_names = ["stem"] + [f"d{i + 1}" for i in range(self.depth)] + ["out"]
        return {"curves": curves, "stride": stride, "grad_norms": self.grad_norms, "layers": layer_names,
                "loss": recent, "accuracy": accuracy, "depth": self.depth}
