"""End to end: train a small classifier on MNIST inside the worker; the loss must fall."""
import pytest

# A small pyengine MLP on 2,000 MNIST digits, streaming its epochs to the page as it trains.
TRAIN = """
import numpy as np, pyengine
from pyengine import data, rpc

images, labels = data.load_mnist('/data/mnist.bin')
x, y = data.mnist_arrays(images, labels, flatten=True)
idx = np.random.default_rng(0).permutation(len(x))[:2000]   # the file is grouped by digit
x, y = x[idx], y[idx]
model = pyengine.build({"input": [784],
                        "layers": [{"type": "dense", "units": 64, "activation": "relu"},
                                   {"type": "dense", "units": 10}],
                        "loss": "softmax_cross_entropy", "optimizer": {"type": "sgd", "lr": 0.1}, "seed": 0})
history = model.fit(x, y, epochs=4, batch_size=100,
                    callbacks=[lambda e: e["event"] == "epoch" and rpc.emit("epoch", epoch=e["epoch"], loss=e["loss"])])
{'losses': history['loss'], 'accuracy': model.evaluate(x, y)['accuracy']}
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
