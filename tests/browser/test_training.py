"""End to end: train a small classifier on MNIST inside the worker; the loss must fall."""
import pytest

# A two-layer NumPy MLP with softmax cross-entropy and SGD, on 2,000 MNIST digits.
# (Placeholder until the engine lands: then this becomes pyengine.build(spec).fit(...).)
TRAIN = """
import numpy as np
from pyengine import rpc

raw = open('/data/mnist.bin', 'rb').read()
count, rows, cols = int.from_bytes(raw[8:12], 'little'), raw[12], raw[14]
pixels = np.frombuffer(raw, np.uint8, count * rows * cols, 16).reshape(count, rows * cols)
labels = np.frombuffer(raw, np.uint8, count, 16 + count * rows * cols)
rng = np.random.default_rng(0)
idx = rng.permutation(count)[:2000]
x, y = pixels[idx].astype(np.float32) / 255, labels[idx].astype(np.int64)

w1 = rng.normal(0, np.sqrt(2 / 784), (784, 64)).astype(np.float32); b1 = np.zeros(64, np.float32)
w2 = rng.normal(0, np.sqrt(2 / 64), (64, 10)).astype(np.float32); b2 = np.zeros(10, np.float32)
losses = []
for epoch in range(4):
    total = 0.0
    for start in range(0, len(x), 100):
        xb, yb = x[start:start + 100], y[start:start + 100]
        h = np.maximum(xb @ w1 + b1, 0)                       # (B, 64)
        logits = h @ w2 + b2                                  # (B, 10)
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits); p /= p.sum(axis=1, keepdims=True)
        total += -np.log(p[np.arange(len(yb)), yb] + 1e-9).sum()
        g = p; g[np.arange(len(yb)), yb] -= 1; g /= len(yb)  # dloss/dlogits
        gh = (g @ w2.T) * (h > 0)
        w2 -= 0.1 * h.T @ g; b2 -= 0.1 * g.sum(0)
        w1 -= 0.1 * xb.T @ gh; b1 -= 0.1 * gh.sum(0)
    losses.append(total / len(x))
    rpc.emit('epoch', epoch=epoch, loss=losses[-1])
accuracy = float((np.argmax(np.maximum(x @ w1 + b1, 0) @ w2 + b2, axis=1) == y).mean())
{'losses': losses, 'accuracy': accuracy}
"""


@pytest.mark.timeout(300)
def test_a_small_classifier_trained_in_the_worker_reduces_its_loss(booted):
    booted.page.evaluate("nnplay.loadMnist()")
    result = booted.page.evaluate(
        """async (code) => {
            const epochs = [];
            const off = nnplay.on('epoch', e => epochs.push(e.loss));
            const result = await nnplay.runPython(code);
            off();
            return {...result, epochs};
        }""",
        TRAIN,
    )
    losses = result["losses"]
    assert result["epochs"] == losses  # streamed as they happened
    assert losses[0] < 2.3  # below chance-level cross-entropy, ln 10, already in epoch 1
    assert losses[-1] < 0.6 * losses[0]
    assert all(b < a for a, b in zip(losses, losses[1:]))
    assert result["accuracy"] > 0.85
