"""VGG's 3x3 stacks and GoogLeNet's inception module against one 5x5 conv of about the same cost, trained
side by side on the built-in MNIST digits (halved to 14x14 so the three nets train in seconds).

All three share a 3x3 stem and a pool + dense classifier; only the middle block differs:
  - two 3x3 convs (VGG): a 7x7 receptive field after the stem, like one 5x5 conv, but
    2 * 9 = 18 weights per channel pair instead of 25, and two nonlinearities instead of one;
  - one 5x5 conv with fewer filters (6), so its weights are about as many as the VGG block's;
  - an inception module: 1x1, 1x1 -> 3x3, 1x1 -> 5x5 and 3x3 max pool -> 1x1 branches side by side,
    joined by concat; the cheap 1x1 "reduce" convs pay for the wide windows.
The page shows each block's parameters, the receptive field of one of its output units (the recurrence
in dilation.receptive_field) and test accuracy as they train. The playground's "vgg" and "inception"
presets are larger versions on 28x28 digits (pyengine.presets)."""
import numpy as np

from ..model import build
from ..presets import inception_block
from . import Demo, fail, load_mnist_arrays, option, register, thin
from .dilation import receptive_field

SIDE = 14
STEM = {"type": "conv2d", "name": "stem", "filters": 8, "kernel_size": 3, "padding": "same", "activation": "relu"}
BLOCKS = {
    "two 3x3 convs (VGG)": [
        {"type": "conv2d", "name": "block_a", "filters": 8, "kernel_size": 3, "padding": "same", "activation": "relu"},
        {"type": "conv2d", "name": "block", "filters": 8, "kernel_size": 3, "padding": "same", "activation": "relu"}],
    "one 5x5 conv": [
        {"type": "conv2d", "name": "block", "filters": 6, "kernel_size": 5, "padding": "same", "activation": "relu"}],
    "inception module": inception_block("block", "stem", 6, 6, 8, 2, 6, 4)[:-1] + [
        {"type": "concat", "name": "block",
         "inputs": ["block_1x1", "block_3x3", "block_5x5", "block_pool_proj"]}],
}


def net(block, lr, seed):
    return {"input": [SIDE, SIDE, 1], "layers": [dict(STEM)] + [dict(layer) for layer in block] + [
        {"type": "maxpool2d", "name": "pool", "pool_size": 2, "inputs": ["block"]},
        {"type": "flatten", "name": "flatten"}, {"type": "dense", "name": "classifier", "units": 10}],
        "loss": "softmax_cross_entropy", "optimizer": {"type": "adam", "lr": lr}, "seed": seed}


@register
class Vgg(Demo):
    name = "vgg"
    view_seconds = 0.4
    eval_every = 20  # steps between two test-set evaluations

    async def setup(self, train=3000, test=500, batch_size=32, lr=0.003, seed=0, **unknown):
        if unknown:
            fail(f"unknown option(s) {', '.join(sorted(unknown))}: vgg takes train, test, batch_size, lr, seed",
                 "BadParams")
        opts = {"train": train, "test": test, "batch_size": batch_size, "lr": lr, "seed": seed}
        n_train = option(opts, "train", 3000, 100, 8000, int)
        n_test = option(opts, "test", 500, 50, 2000, int)
        self.batch_size = option(opts, "batch_size", 32, 1, 512, int)
        lr = option(opts, "lr", 0.003, 1e-6, 1.0)
        seed = option(opts, "seed", 0, 0, 2**31 - 1, int)
        x, y = await load_mnist_arrays(n_train + n_test, seed=seed, size=SIDE)
        self.x, self.y = x[:n_train], y[:n_train]
        self.x_test, self.y_test = x[n_train:], y[n_train:]
        self.models = {name: build(net(block, lr, seed)) for name, block in BLOCKS.items()}
        self.rng = np.random.default_rng(seed)
        self.losses = {name: [] for name in self.models}
        self.accuracy = {name: [] for name in self.models}  # test accuracy after 0, 20, 40, ... steps
        self.facts = {}
        for name, model in self.models.items():
            cfgs = model.nspec.layers
            block_names = {layer["name"] for layer in BLOCKS[name]}
            fields = receptive_field(model.spec)
            self.facts[name] = {
                "block_params": int(sum(c["param_count"] for c in cfgs if c["name"] in block_names)),
                "total_params": model.param_count(),
                "receptive_field": fields["block"][0],
                "block_layers": [{"name": c["name"], "type": c["type"], "kernel": c.get("kernel_size", [None])[0],
                                  "output": list(c["output_shape"]), "params": c["param_count"]}
                                 for c in cfgs if c["name"] in block_names]}
        self.evaluate()

    def evaluate(self):
        for name, model in self.models.items():
            self.accuracy[name].append(model.evaluate(self.x_test, self.y_test)["accuracy"])

    def advance(self):
        pick = self.rng.integers(0, len(self.x), self.batch_size)
        for name, model in self.models.items():
            self.losses[name].append(model.train_step(self.x[pick], self.y[pick]))
        if (self.steps + 1) % self.eval_every == 0:
            self.evaluate()

    def view(self):
        smooth = lambda v: np.convolve(v, np.ones(10) / 10, "valid") if len(v) >= 10 else v  # noqa: E731
        curves = {name: thin(smooth(v))[0] for name, v in self.losses.items()}
        stride = thin(smooth(next(iter(self.losses.values()))))[1]
        return {"nets": [{"name": name, **self.facts[name], "backend": model.backend,
                          "test_accuracy": self.accuracy[name][-1], "accuracy_curve": self.accuracy[name]}
                         for name, model in self.models.items()],
                "loss_curves": curves, "stride": stride, "eval_every": self.eval_every,
                "train": len(self.x), "test": len(self.x_test), "side": SIDE}
