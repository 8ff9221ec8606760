"""Pretrained weights the demos start from, made with pyengine from a fixed seed.

    python3 scripts/pretrain_demos.py [dist/data/mnist.bin]

writes (pyengine's model files) web/demos/weights/transfer-0to4.nnp, the transfer-learning demo's
convnet trained on the digits 0-4 only, and web/demos/weights/pruning-mlp.nnp, the pruning demo's
dense network trained on 14x14 digits. The output is committed (a few tens of kB) so the build
needs no NumPy; build.py copies it into dist/demos/weights/ with the rest of web/. Rerun this script
whenever pyengine's model file format or the network below changes. Takes a few seconds.
"""
import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "pyengine"))

import numpy as np  # noqa: E402

import pyengine  # noqa: E402
from pyengine import data  # noqa: E402
from pyengine.demos import pruning  # noqa: E402
from pyengine.demos.transfer import PRETRAIN_DIGITS, net  # noqa: E402

OUT = ROOT / "web" / "demos" / "weights" / "transfer-0to4.nnp"
PRUNING_OUT = ROOT / "web" / "demos" / "weights" / "pruning-mlp.nnp"


def pretrain_pruning(mnist_path, examples=6000, epochs=4, seed=0):
    images, labels = data.load_mnist(mnist_path)
    order = np.random.default_rng(seed).permutation(len(images))
    x, y = data.mnist_arrays(images[order], labels[order])
    x = x.reshape(len(x), 14, 2, 14, 2).mean(axis=(2, 4)).reshape(len(x), 196)  # as the demo sees them
    model = pyengine.build(pruning.net())
    model.fit(x[:examples], y[:examples], epochs=epochs, batch_size=32)
    return model, model.evaluate(x[examples:], y[examples:])


def pretrain(mnist_path, examples=3000, epochs=2, seed=0):
    images, labels = data.load_mnist(mnist_path)
    keep = np.isin(labels, PRETRAIN_DIGITS)
    images, labels = images[keep], labels[keep]
    order = np.random.default_rng(seed).permutation(len(images))
    x, y = data.mnist_arrays(images[order], labels[order], crop=24)
    x_train, y_train, x_test, y_test = x[:examples], y[:examples], x[examples:examples + 1000], y[examples:examples + 1000]
    model = pyengine.build(net())
    model.fit(x_train, y_train, epochs=epochs, batch_size=20)
    return model, model.evaluate(x_test, y_test)


def main(argv):
    mnist = Path(argv[1]) if len(argv) > 1 else ROOT / "dist" / "data" / "mnist.bin"
    if not mnist.exists():
        print(f"{mnist} is missing: run python3 build.py first", file=sys.stderr)
        return 1
    model, score = pretrain(mnist)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(pyengine.save(model))
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size:,} bytes); digits 0-4 test accuracy "
          f"{score['accuracy']:.3f}")
    model, score = pretrain_pruning(mnist)
    PRUNING_OUT.write_bytes(pyengine.save(model))
    print(f"wrote {PRUNING_OUT.relative_to(ROOT)} ({PRUNING_OUT.stat().st_size:,} bytes); test accuracy "
          f"{score['accuracy']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
