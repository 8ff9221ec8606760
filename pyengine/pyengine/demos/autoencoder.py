"""Denoising autoencoder on MNIST with a 2-D bottleneck: the net must squeeze each noisy 14x14 digit
through two numbers and rebuild the clean digit from them; those two numbers, plotted for test
digits and coloured by label, show digits that look alike landing near each other (no labels used)."""
import numpy as np

from ..model import build
from ..tensor import no_grad
from . import Demo, b64, load_mnist_arrays, option, register, thin, to_u8


def net():
    return {"input": [196], "layers": [
        {"type": "dense", "units": 96, "activation": "relu", "name": "enc1"},
        {"type": "dense", "units": 32, "activation": "relu", "name": "enc2"},
        {"type": "dense", "units": 2, "name": "code"},
        {"type": "dense", "units": 32, "activation": "relu", "name": "dec1"},
        {"type": "dense", "units": 96, "activation": "relu", "name": "dec2"},
        {"type": "dense", "units": 196, "activation": "sigmoid", "name": "pixels"}],
        "loss": "mse", "optimizer": {"type": "adam", "lr": 0.002}, "seed": 0}


def knn_accuracy(codes, labels, k=5):
    """How often a test digit's k nearest neighbours in code space share its label (leave-one-out)."""
    d = ((codes[:, None, :] - codes[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    near = np.argsort(d, axis=1)[:, :k]
    labels = labels.astype(np.intp)  # bincount wants the platform index type (int32 in wasm32)
    votes = np.array([np.bincount(labels[row], minlength=10).argmax() for row in near])
    return float((votes == labels).mean())


@register
class Autoencoder(Demo):
    name = "autoencoder"
    view_seconds = 0.5

    async def setup(self, train=5000, test=500, noise=0.3, batch_size=32, **_):
        train = option({"train": train}, "train", 5000, 100, 9000, int)
        test = option({"test": test}, "test", 500, 20, 1000, int)
        self.noise = option({"noise": noise}, "noise", 0.3, 0.0, 1.0)
        self.batch_size = option({"batch_size": batch_size}, "batch_size", 32, 1, 512, int)
        x, y = await load_mnist_arrays(train + test, seed=2, size=14)
        x = x.reshape(len(x), -1)
        self.x, self.xt, self.yt = x[:train], x[train:], y[train:]
        self.model = build(net())
        self.rng = np.random.default_rng(0)
        self.losses = []

    def corrupt(self, x):
        return np.clip(x + self.rng.normal(0, self.noise, x.shape).astype(np.float32), 0, 1)

    def advance(self):
        clean = self.x[self.rng.integers(0, len(self.x), self.batch_size)]
        self.losses.append(self.model.train_step(self.corrupt(clean), clean))

    def view(self):
        model = self.model
        noisy = self.corrupt(self.xt)
        with no_grad():
            out = model.forward(noisy, training=False).data
            codes = model.last_outputs["code"].data
        shown = range(8)
        curve, stride = thin(np.convolve(self.losses, np.ones(20) / 20, "valid") if len(self.losses) >= 20 else self.losses)
        return {"codes": codes, "labels": self.yt, "loss_curve": curve, "stride": stride,
                "test_loss": float(np.mean((out - self.xt) ** 2)), "knn_accuracy": knn_accuracy(codes, self.yt),
                "examples": [{"noisy": b64(to_u8(noisy[i], 0.0, 1.0)), "clean": b64(to_u8(self.xt[i], 0.0, 1.0)),
                              "rebuilt": b64(to_u8(out[i], 0.0, 1.0))} for i in shown], "size": 14}
