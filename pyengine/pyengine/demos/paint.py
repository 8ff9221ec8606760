"""Image "painting" (ConvNetJS's image regression demo): a network learns the function
(x, y) -> (r, g, b) of one picture from random pixels, and its guess for every pixel is drawn as it
learns. The bundled picture is generated here (`sample_image`); the page can upload another."""
import base64
import binascii

import numpy as np

from ..model import build
from . import Demo, b64, fail, option, register, thin

MAX_SIDE = 96


def sample_image(size=48):
    """A small procedural picture (sky, sun, hills, stripes): uint8 (size, size, 3)."""
    t = np.linspace(0.0, 1.0, size, dtype=np.float32)
    y, x = np.meshgrid(t, t, indexing="ij")
    img = np.empty((size, size, 3), np.float32)
    img[..., 0] = 0.35 + 0.6 * y  # sky: blue at the top, warm at the horizon
    img[..., 1] = 0.55 + 0.25 * y
    img[..., 2] = 0.95 - 0.35 * y
    sun = (x - 0.7) ** 2 + (y - 0.35) ** 2 < 0.12 ** 2
    img[sun] = [1.0, 0.85, 0.2]
    hill = y > 0.62 + 0.12 * np.sin(6.0 * x)
    img[hill] = np.stack([0.15 + 0.0 * x, 0.45 + 0.2 * (y - 0.6), 0.2 + 0.0 * x], -1)[hill]
    stripes = hill & (np.sin(40 * (x + y)) > 0.6)
    img[stripes] = [0.55, 0.35, 0.15]
    return (np.clip(img, 0, 1) * 255).round().astype(np.uint8)


def net(depth=7, width=20):
    layers = [{"type": "dense", "units": width, "activation": "relu"} for _ in range(depth)]
    return {"input": [2], "layers": layers + [{"type": "dense", "units": 3}], "loss": "mse",
            "optimizer": {"type": "adam", "lr": 0.003}, "seed": 0}


@register
class Paint(Demo):
    name = "paint"
    view_seconds = 0.3

    async def setup(self, image=None, width=None, height=None, batch_size=64, **_):
        if image is None:
            pixels = sample_image()
        else:
            w = option({"width": width}, "width", 0, 4, MAX_SIDE, int)
            h = option({"height": height}, "height", 0, 4, MAX_SIDE, int)
            try:
                raw = base64.b64decode(image, validate=True)
            except (binascii.Error, ValueError, TypeError):
                fail("the image data is not valid base64", "BadImage")
            if len(raw) != w * h * 3:
                fail(f"the image should have {w}x{h} RGB pixels ({w * h * 3} bytes), got {len(raw)} bytes", "BadImage")
            pixels = np.frombuffer(raw, np.uint8).reshape(h, w, 3)
        self.batch_size = option({"batch_size": batch_size}, "batch_size", 64, 1, 1024, int)
        self.h, self.w = pixels.shape[:2]
        self.image = pixels
        ys, xs = np.meshgrid(np.linspace(-1, 1, self.h), np.linspace(-1, 1, self.w), indexing="ij")
        self.coords = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float32)  # (h*w, 2)
        self.colours = (pixels.reshape(-1, 3) / 255.0).astype(np.float32)
        self.model = build(net())
        self.rng = np.random.default_rng(0)
        self.losses = []

    def advance(self):
        idx = self.rng.integers(0, len(self.coords), self.batch_size)
        self.losses.append(self.model.train_step(self.coords[idx], self.colours[idx]))

    def view(self):
        guess = np.clip(self.model.predict(self.coords, batch_size=4096), 0, 1)
        mse = float(np.mean((guess - self.colours) ** 2))
        psnr = float(10 * np.log10(1.0 / max(mse, 1e-10)))
        curve, stride = thin(np.convolve(self.losses, np.ones(20) / 20, "valid") if len(self.losses) >= 20 else self.losses)
        return {"width": self.w, "height": self.h, "guess": b64((guess * 255).round().astype(np.uint8)),
                "image": b64(self.image), "mse": mse, "psnr": psnr, "loss_curve": curve, "stride": stride}
