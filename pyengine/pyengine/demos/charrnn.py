"""Character-level language model: a GRU reads a public-domain text (the Gettysburg Address and two of
Shakespeare's sonnets, demos/data/public-domain.txt) one character at a time and learns to predict the
next one. Sampling from its predictions, one character after another, writes new text; the
temperature divides the scores before the softmax: low is cautious and repetitive, high is wild."""
import numpy as np

from ..model import build
from ..tensor import no_grad
from . import Demo, fail, load_asset, option, register, thin

TEXT = "demos/data/public-domain.txt"
WINDOW = 24  # characters the net reads before predicting the next one


def net(vocab, cell="gru", hidden=96):
    return {"input": [WINDOW], "layers": [
        {"type": "embedding", "input_dim": vocab, "output_dim": 24},
        {"type": cell, "units": hidden},  # its last state: a summary of the window
        {"type": "dense", "units": vocab}],  # scores for the character that comes next
        "loss": "softmax_cross_entropy", "optimizer": {"type": "adam", "lr": 0.005, "clipnorm": 5.0}, "seed": 0}


@register
class CharRnn(Demo):
    name = "charrnn"
    actions = ("sample",)
    view_seconds = 1.0

    async def setup(self, cell="gru", batch_size=64, text=None, **_):
        if cell not in ("gru", "lstm"):
            fail(f"cell must be 'gru' or 'lstm', got {cell!r}", "BadParams")
        self.batch_size = option({"batch_size": batch_size}, "batch_size", 64, 1, 512, int)
        if text is None:
            text = (await load_asset(TEXT)).decode("utf-8")
        if not isinstance(text, str) or len(text) < 4 * WINDOW:
            fail(f"the text must have at least {4 * WINDOW} characters", "BadParams")
        self.text = text
        self.chars = sorted(set(text))
        self.index = {c: i for i, c in enumerate(self.chars)}
        self.ids = np.array([self.index[c] for c in text], dtype=np.int64)
        self.cell = cell
        self.model = build(net(len(self.chars), cell))
        self.rng = np.random.default_rng(0)
        self.losses = []
        self.last_sample = ""

    def advance(self):
        starts = self.rng.integers(0, len(self.ids) - WINDOW - 1, self.batch_size)
        x = np.stack([self.ids[s:s + WINDOW] for s in starts])
        y = self.ids[starts + WINDOW]  # the character after each window
        self.losses.append(self.model.train_step(x, y))

    def sample(self, length=200, temperature=0.8, prime="The ", seed=None):
        """`length` characters sampled one by one from the model, starting after `prime`."""
        length = option({"length": length}, "length", 200, 1, 2000, int)
        t = option({"temperature": temperature}, "temperature", 0.8, 0.05, 5.0)
        dropped = "".join(sorted({c for c in str(prime) if c not in self.index}))  # not in the text: unknown
        prime = "".join(c for c in str(prime) if c in self.index) or self.text[0]
        rng = np.random.default_rng(seed)
        ids = [self.index[c] for c in prime]
        out = []
        with no_grad():
            for _ in range(length):
                context = ids[-WINDOW:]
                x = np.full((1, WINDOW), self.index.get(" ", 0), np.int64)
                x[0, WINDOW - len(context):] = context  # a short prime is padded with spaces on the left
                logits = self.model.forward(x, training=False).data[0] / t
                p = np.exp(logits - logits.max())
                k = int(rng.choice(len(p), p=p / p.sum()))
                ids.append(k)
                out.append(self.chars[k])
        self.last_sample = prime + "".join(out)
        return {"text": self.last_sample, "temperature": t, "prime": prime, "dropped": dropped}

    def view(self):
        curve, stride = thin(np.convolve(self.losses, np.ones(20) / 20, "valid") if len(self.losses) >= 20 else self.losses)
        recent = self.losses[-20:]
        return {"loss_curve": curve, "stride": stride, "loss": float(np.mean(recent)) if recent else None,
                "chance_loss": float(np.log(len(self.chars))), "vocab": len(self.chars), "chars": len(self.text),
                "cell": self.cell, "window": WINDOW}
