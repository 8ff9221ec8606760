"""Overfitting lab: one network trained on only 200 digits, five ways (plain, dropout, L2, batch norm,
early stopping); training and validation curves side by side show memorising against generalising."""
import numpy as np

from ..model import build
from . import Demo, load_mnist_arrays, option, register

HIDDEN = 128


def net(kind):
    layers = []
    for _ in range(2):
        layers.append({"type": "dense", "units": HIDDEN, "activation": None if kind == "batchnorm" else "relu"})
        if kind == "batchnorm":
            layers += [{"type": "batchnorm", "momentum": 0.9}, {"type": "relu"}]
        if kind == "dropout":
            layers.append({"type": "dropout", "rate": 0.5})
    layers.append({"type": "dense", "units": 10})
    optimizer = {"type": "adam", "lr": 0.001}
    if kind == "l2":
        optimizer["l2"] = 0.003
    return {"input": [196], "layers": layers, "loss": "softmax_cross_entropy", "optimizer": optimizer, "seed": 3}


VARIANTS = {
    "plain": "no regularisation",
    "dropout": "dropout 0.5 after each hidden layer",
    "l2": "L2 weight penalty 0.003",
    "batchnorm": "batch normalisation before each relu",
    "early stopping": "plain, stopped when validation loss has not improved for 5 epochs (best weights kept)",
}
PATIENCE = 5


@register
class Overfit(Demo):
    name = "overfit"
    view_seconds = 0.5

    async def setup(self, train=200, val=1000, batch_size=20, max_epochs=150, **_):
        train = option({"train": train}, "train", 200, 20, 5000, int)
        val = option({"val": val}, "val", 1000, 50, 3000, int)
        self.batch_size = option({"batch_size": batch_size}, "batch_size", 20, 1, 512, int)
        self.max_epochs = option({"max_epochs": max_epochs}, "max_epochs", 150, 1, 10000, int)
        x, y = await load_mnist_arrays(train + val, seed=1, size=14)
        x = x.reshape(len(x), -1)
        self.x, self.y, self.xv, self.yv = x[:train], y[:train], x[train:], y[train:]
        self.models = {k: build(net("plain" if k == "early stopping" else k)) for k in VARIANTS}
        self.history = {k: {"loss": [], "val_loss": [], "accuracy": [], "val_accuracy": []} for k in VARIANTS}
        self.rng = np.random.default_rng(0)
        self.best = {"loss": np.inf, "epoch": 0, "state": None}
        self.stopped_at = None

    def advance(self):
        """One epoch for every variant (the same batches for each)."""
        if len(self.history["plain"]["loss"]) >= self.max_epochs:
            return False
        order = self.rng.permutation(len(self.x))
        batches = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        for key, model in self.models.items():
            if key == "early stopping" and self.stopped_at is not None:
                continue
            for idx in batches:
                model.train_step(self.x[idx], self.y[idx])
            tr = model.evaluate(self.x, self.y)
            va = model.evaluate(self.xv, self.yv)
            h = self.history[key]
            h["loss"].append(tr["loss"])
            h["accuracy"].append(tr["accuracy"])
            h["val_loss"].append(va["loss"])
            h["val_accuracy"].append(va["accuracy"])
        self.watch_early_stopping()

    def watch_early_stopping(self):
        if self.stopped_at is not None:
            return
        h, model = self.history["early stopping"], self.models["early stopping"]
        epoch = len(h["val_loss"])
        if h["val_loss"][-1] < self.best["loss"]:
            self.best = {"loss": h["val_loss"][-1], "epoch": epoch, "state": model.state_dict()}
        elif epoch - self.best["epoch"] >= PATIENCE:
            model.load_state_dict(self.best["state"])
            self.stopped_at = epoch

    def view(self):
        final = {}
        for key, h in self.history.items():
            if not h["val_loss"]:
                continue
            if key == "early stopping" and self.stopped_at is not None:
                i = self.best["epoch"] - 1  # the weights it kept
            else:
                i = -1
            final[key] = {"loss": h["loss"][i], "val_loss": h["val_loss"][i], "accuracy": h["accuracy"][i],
                          "val_accuracy": h["val_accuracy"][i], "best_val_accuracy": max(h["val_accuracy"])}
        return {"history": self.history, "final": final, "variants": VARIANTS,
                "epochs": len(self.history["plain"]["loss"]), "train": len(self.x), "val": len(self.xv),
                "early_stopped_at": self.stopped_at, "early_best_epoch": self.best["epoch"]}
