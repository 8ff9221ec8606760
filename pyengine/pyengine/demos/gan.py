"""A GAN on a 2-D distribution: a generator turns 2-D noise into points, a discriminator learns to tell
them from real points on a ring, and the generator learns from the discriminator's gradient to fool
it. The two losses pull against each other; the generated points drift onto the ring."""
import numpy as np

from ..model import build
from ..tensor import Tensor, no_grad
from . import Demo, b64, option, register, thin, to_u8

EXTENT = 4.0
RADIUS = 2.0


def generator():
    return {"input": [2], "layers": [{"type": "dense", "units": 32, "activation": "relu"},
                                     {"type": "dense", "units": 32, "activation": "relu"},
                                     {"type": "dense", "units": 2}],
            "loss": "mse", "optimizer": {"type": "adam", "lr": 0.005, "beta1": 0.5}, "seed": 1}


def discriminator():
    return {"input": [2], "layers": [{"type": "dense", "units": 32, "activation": "leaky_relu"},
                                     {"type": "dense", "units": 32, "activation": "leaky_relu"},
                                     {"type": "dense", "units": 1}],
            "loss": "binary_cross_entropy", "optimizer": {"type": "adam", "lr": 0.005, "beta1": 0.5}, "seed": 2}


def real_points(n, rng):
    """The target distribution: a ring of radius 2 (noise 0.1)."""
    angle = rng.uniform(0, 2 * np.pi, n)
    r = RADIUS + rng.normal(0, 0.1, n)
    return np.stack([r * np.cos(angle), r * np.sin(angle)], 1).astype(np.float32)


def ring_distance(points):
    """Mean distance of points from the ring: 0 when they lie on it."""
    return float(np.mean(np.abs(np.linalg.norm(points, axis=1) - RADIUS)))


@register
class Gan(Demo):
    name = "gan"
    view_seconds = 0.3

    async def setup(self, batch_size=64, resolution=40, **_):
        self.batch_size = option({"batch_size": batch_size}, "batch_size", 64, 2, 1024, int)
        self.resolution = option({"resolution": resolution}, "resolution", 40, 8, 128, int)
        self.g, self.d = build(generator()), build(discriminator())
        self.rng = np.random.default_rng(0)
        self.fixed_z = self.rng.normal(size=(300, 2)).astype(np.float32)  # the same noise every view
        self.g_losses, self.d_losses = [], []
        self.snapshots = []  # generated points after 100, 200, 400, ... steps (samples over time)

    def noise(self, n):
        return self.rng.normal(size=(n, 2)).astype(np.float32)

    def advance(self):
        n = self.batch_size
        with no_grad():
            fake = self.g.forward(self.noise(n)).data
        x = np.concatenate([real_points(n, self.rng), fake])
        y = np.concatenate([np.ones((n, 1)), np.zeros((n, 1))]).astype(np.float32)
        self.d_losses.append(self.d.train_step(x, y))
        # generator step: make the discriminator call its points real; only G's weights move
        g_params = self.g.parameters()
        for p in g_params + self.d.parameters():
            p.grad = None
        out = self.g.forward(Tensor(self.noise(n)), training=True)
        loss = self.d.loss_fn(self.d.forward(out, training=True), np.ones((n, 1), np.float32))
        loss.backward()
        self.g.optimizer.step(g_params)
        self.g_losses.append(float(loss.data))
        done = self.steps + 1  # self.steps counts the steps before this one
        if done % 100 == 0 and (done // 100) & (done // 100 - 1) == 0:  # steps 100, 200, 400, 800, ...
            self.snapshots.append({"step": done, "points": self.generated()[:100]})

    def generated(self):
        with no_grad():
            return self.g.forward(self.fixed_z).data

    def view(self):
        r = self.resolution
        ticks = np.linspace(-EXTENT, EXTENT, r, dtype=np.float32)
        gx, gy = np.meshgrid(ticks, -ticks)  # row 0 is the top
        p_real = self.d.predict(np.stack([gx.ravel(), gy.ravel()], 1))[:, 0]
        fake = self.generated()
        smooth = lambda v: np.convolve(v, np.ones(20) / 20, "valid") if len(v) >= 20 else v  # noqa: E731
        g_curve, stride = thin(smooth(self.g_losses))
        d_curve, _ = thin(smooth(self.d_losses))
        return {"extent": EXTENT, "resolution": r, "discriminator": b64(to_u8(p_real, 0.0, 1.0)),
                "fake": fake, "real": real_points(300, np.random.default_rng(7)),
                "ring_distance": ring_distance(fake), "g_curve": g_curve, "d_curve": d_curve, "stride": stride,
                "snapshots": self.snapshots}
