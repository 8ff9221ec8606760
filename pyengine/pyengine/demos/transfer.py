"""Transfer learning: a convnet pretrained on the digits 0-4 (scripts/pretrain_demos.py, shipped as
demos/weights/transfer-0to4.nnp) keeps its convolution layers frozen and learns a new output layer
for the digits 5-9 from a handful of labelled examples; the same network trained from scratch on
the same few examples is the baseline."""
import numpy as np

from .. import io as model_io
from ..model import build
from . import Demo, fail, load_asset, load_mnist_arrays, option, register

PRETRAIN_DIGITS = [0, 1, 2, 3, 4]
FINETUNE_DIGITS = [5, 6, 7, 8, 9]
WEIGHTS = "demos/weights/transfer-0to4.nnp"
FROZEN = ["conv1", "conv2"]


def net(optimizer=None):
    return {"input": [24, 24, 1], "layers": [
        {"type": "conv2d", "filters": 8, "kernel_size": 5, "padding": 2, "activation": "relu", "name": "conv1"},
        {"type": "maxpool2d", "pool_size": 2},
        {"type": "conv2d", "filters": 16, "kernel_size": 5, "padding": 2, "activation": "relu", "name": "conv2"},
        {"type": "maxpool2d", "pool_size": 3},
        {"type": "flatten"},
        {"type": "dense", "units": 10, "name": "head"}],
        "loss": "softmax_cross_entropy",
        "optimizer": optimizer or {"type": "adadelta", "lr": 1.0, "rho": 0.95, "eps": 1e-6}, "seed": 0}


@register
class Transfer(Demo):
    name = "transfer"
    view_seconds = 0.5

    async def setup(self, per_class=2, test=300, batch_size=10, **_):
        per_class = option({"per_class": per_class}, "per_class", 2, 1, 200, int)
        test = option({"test": test}, "test", 300, 50, 2000, int)
        self.batch_size = option({"batch_size": batch_size}, "batch_size", 10, 1, 256, int)
        raw = await load_asset(WEIGHTS)
        try:
            pretrained = model_io.load(raw)
        except Exception as e:  # noqa: BLE001 - a damaged file is reported as such
            fail(f"the pretrained weights could not be read ({e}); rebuild with python3 build.py", "DataError")
        x, y = await load_mnist_arrays(per_class * 5 * 4 + test, seed=4, size=24, digits=FINETUNE_DIGITS)
        few = np.concatenate([np.flatnonzero(y[:-test] == d)[:per_class] for d in FINETUNE_DIGITS])
        self.x, self.y = x[few], y[few]
        self.xt, self.yt = x[-test:], y[-test:]
        optimizer = {"type": "adam", "lr": 0.003}
        self.models = {"pretrained + frozen convs": build(net(optimizer)), "from scratch": build(net(optimizer))}
        transfer = self.models["pretrained + frozen convs"]
        state = pretrained.state_dict()
        transfer.load_state_dict({k: v for k, v in state.items() if not k.startswith("head.")}, strict=False)
        transfer.freeze(FROZEN)
        self.rng = np.random.default_rng(0)
        self.history = {k: [] for k in self.models}
        self.history_steps = []
        self.record()

    def record(self):
        self.history_steps.append(self.steps)
        for key, model in self.models.items():
            self.history[key].append(model.evaluate(self.xt, self.yt)["accuracy"])

    def advance(self):
        idx = self.rng.integers(0, len(self.x), self.batch_size)
        for model in self.models.values():
            model.train_step(self.x[idx], self.y[idx])
        if (self.steps + 1) % 10 == 0:
            self.steps += 1  # record() labels the point with the step just taken
            self.record()
            self.steps -= 1

    def view(self):
        return {"history": self.history, "history_steps": self.history_steps, "labelled": len(self.x),
                "test": len(self.xt), "accuracy": {k: v[-1] for k, v in self.history.items()},
                "frozen": FROZEN}
