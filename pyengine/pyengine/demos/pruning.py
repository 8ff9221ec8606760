"""Pruning: the weights of a trained MNIST network with the smallest magnitudes are set to zero, in
steps, up to 99% of them; after each step the accuracy is measured, then the survivors are fine-tuned
briefly (the pruned weights stay zero) and the accuracy is measured again. Most weights turn out to
be unnecessary. The trained network is shipped (scripts/pretrain_demos.py: demos/weights/pruning-mlp.nnp)."""
import numpy as np

from .. import io as model_io
from . import Demo, fail, load_asset, load_mnist_arrays, option, register

WEIGHTS = "demos/weights/pruning-mlp.nnp"
SPARSITIES = [0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99]


def net():
    return {"input": [196], "layers": [
        {"type": "dense", "units": 128, "activation": "relu"},
        {"type": "dense", "units": 64, "activation": "relu"},
        {"type": "dense", "units": 10}],
        "loss": "softmax_cross_entropy", "optimizer": {"type": "adam", "lr": 0.001}, "seed": 0}


def magnitude_masks(weights, sparsity):
    """Keep-masks that zero the `sparsity` fraction of all weights with the smallest |w| (global)."""
    if sparsity <= 0:
        return [np.ones(w.shape, bool) for w in weights]
    everything = np.concatenate([np.abs(w).ravel() for w in weights])
    threshold = np.partition(everything, int(sparsity * len(everything)) - 1)[int(sparsity * len(everything)) - 1]
    return [np.abs(w) > threshold for w in weights]


@register
class Pruning(Demo):
    name = "pruning"
    view_seconds = 0.2

    async def setup(self, finetune_steps=50, train=3000, test=1000, **_):
        self.finetune_steps = option({"finetune_steps": finetune_steps}, "finetune_steps", 50, 0, 5000, int)
        train = option({"train": train}, "train", 3000, 100, 8000, int)
        test = option({"test": test}, "test", 1000, 100, 2000, int)
        try:
            self.model = model_io.load(await load_asset(WEIGHTS))
        except Exception as e:  # noqa: BLE001
            fail(f"the trained network could not be read ({e}); rebuild with python3 build.py", "DataError")
        x, y = await load_mnist_arrays(train + test, seed=5, size=14)
        x = x.reshape(len(x), -1)
        self.x, self.y, self.xt, self.yt = x[:train], y[:train], x[train:], y[train:]
        self.weights = [p for p in self.model.parameters() if p.name.endswith(".weight")]
        self.total = int(sum(p.data.size for p in self.weights))
        self.rng = np.random.default_rng(0)
        self.stage = 0
        self.curve = []  # {sparsity, pruned, finetuned}

    def accuracy(self):
        return self.model.evaluate(self.xt, self.yt)["accuracy"]

    def advance(self):
        """One stage: prune to the next sparsity, measure, fine-tune with the mask, measure again."""
        if self.stage >= len(SPARSITIES):
            return False
        sparsity = SPARSITIES[self.stage]
        masks = magnitude_masks([p.data for p in self.weights], sparsity)
        for p, m in zip(self.weights, masks):
            p.data *= m
        pruned = self.accuracy()
        for _ in range(self.finetune_steps if sparsity > 0 else 0):
            idx = self.rng.integers(0, len(self.x), 32)
            self.model.train_step(self.x[idx], self.y[idx])
            for p, m in zip(self.weights, masks):
                p.data *= m  # pruned weights stay pruned
        zeros = int(sum((p.data == 0).sum() for p in self.weights))
        self.curve.append({"sparsity": sparsity, "actual_sparsity": zeros / self.total, "pruned": pruned,
                           "finetuned": self.accuracy() if sparsity > 0 else pruned})
        self.stage += 1

    def view(self):
        w = self.weights[0].data  # (196, 128): how many of each hidden unit's input weights survive
        return {"curve": self.curve, "weights": self.total, "stages": len(SPARSITIES),
                "done": self.stage >= len(SPARSITIES),
                "first_layer_kept": (w != 0).mean(axis=1).reshape(14, 14)}
