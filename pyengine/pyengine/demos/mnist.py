"""MNIST convnet (ConvNetJS's MNIST demo): the same network, trained live; its first-layer filters,
the activations of one test digit layer by layer, test digits with the top-3 guesses and accuracy."""
import numpy as np

from ..model import build
from ..presets import convnetjs_mnist
from ..tensor import no_grad
from ..train import Trainer
from . import Demo, b64, load_mnist_arrays, option, register, thin, to_u8


@register
class Mnist(Demo):
    name = "mnist"
    view_seconds = 0.75

    async def setup(self, train=4000, test=500, batch_size=20, **_):
        train = option({"train": train}, "train", 4000, 100, 9000, int)
        test = option({"test": test}, "test", 500, 20, 1000, int)
        self.batch_size = option({"batch_size": batch_size}, "batch_size", 20, 1, 256, int)
        x, y = await load_mnist_arrays(train + test, seed=0, size=24)
        self.x, self.y = x[:train], y[:train]
        self.xt, self.yt = x[train:], y[train:]
        self.model = build(convnetjs_mnist())
        self.trainer = Trainer(self.model, self.x, self.y, batch_size=self.batch_size)  # the engine's one loop
        self.losses, self.correct = self.trainer.step_loss, self.trainer.step_accuracy
        self.example = 0

    def advance(self):
        self.trainer.step()

    def view(self):
        model = self.model
        probs = model.predict(self.xt)
        test_accuracy = float((probs.argmax(-1) == self.yt).mean())
        self.example = (self.example + 1) % len(self.xt)
        shown = range(self.example, self.example + 16)
        digits = []
        for i in shown:
            i %= len(self.xt)
            top = np.argsort(-probs[i])[:3]
            digits.append({"pixels": b64(to_u8(self.xt[i, :, :, 0], 0.0, 1.0)), "label": int(self.yt[i]),
                           "top": [[int(k), float(probs[i, k])] for k in top]})
        with no_grad():
            model.forward(self.xt[self.example:self.example + 1], training=False)
            outs = {k: v.data[0] for k, v in model.last_outputs.items()}
        layers = []
        for cfg in model.nspec.layers:
            if cfg["type"] == "flatten":  # the same numbers as the pooled maps above it
                continue
            a = outs[cfg["name"]]
            if a.ndim == 3:
                layers.append({"name": cfg["name"], "h": a.shape[0], "w": a.shape[1],
                               "images": [b64(to_u8(a[:, :, c])) for c in range(a.shape[2])]})
            else:
                layers.append({"name": cfg["name"], "h": 1, "w": int(a.size), "images": [b64(to_u8(a))]})
        w = model.params["conv1"]["weight"].data  # (5, 5, 1, 8)
        filters = [b64(to_u8(w[:, :, 0, k])) for k in range(w.shape[3])]
        curve, stride = thin(np.convolve(self.losses, np.ones(20) / 20, "valid") if len(self.losses) >= 20 else self.losses)
        recent = [c for c in self.correct[-100:] if c is not None]
        return {"loss_curve": curve, "stride": stride, "test_accuracy": test_accuracy,
                "train_accuracy": float(np.mean(recent)) if recent else None,
                "examples": self.steps * self.batch_size, "digits": digits, "size": 24,
                "filters": filters, "layers": layers, "input": b64(to_u8(self.xt[self.example, :, :, 0], 0.0, 1.0))}
