"""The export folder: model code, weights, data, train.py, predict.py, a notebook and a README, as a zip.

    files = pyengine.export.to_pytorch(model, data=..., training=...)   # {name: bytes}
    blob = pyengine.export.zip_files(files)                             # one .zip to download

`data` (optional) is what the run trained on, already as the model sees it except for MNIST, which
travels as its uint8 images with the preprocessing written out in train.py:
    {"x_train", "y_train", "x_val", "y_val", "prep": None | {"crop": int | None, "layout": "image" | "rows" | "flat"},
     "name": "spiral", "classes": [...]}
`training` (optional): {"batch_size", "steps", "epochs", "early_stopping"} of the playground run.
"""
from __future__ import annotations

import io
import json
import zipfile

import numpy as np

from . import keras as keras_export
from . import pytorch, safetensors
from .common import ExportError

__all__ = ["to_pytorch", "to_keras", "zip_files", "initial_rng_state"]

README_VERSIONS = {"pytorch": f"torch {pytorch.TORCH_VERSION} (CPU), Python 3.11, NumPy 2",
                   "keras": f"keras {keras_export.KERAS_VERSION} on its torch backend (torch {pytorch.TORCH_VERSION} CPU), "
                            "Python 3.11, NumPy 2"}
INSTALL = {"pytorch": f"pip install torch=={pytorch.TORCH_VERSION} numpy",
           "keras": f"pip install keras=={keras_export.KERAS_VERSION} torch=={pytorch.TORCH_VERSION} numpy"}


def initial_rng_state(model):
    """NumPy's generator state right after pyengine built this spec: the playground's first epoch
    order (and every later one) comes from it, so train.py shuffles exactly as the page did."""
    from ..model import build
    return build(model.spec).rng.bit_generator.state


def _data_file(data):
    if data is None:
        return None
    tensors = {k: np.ascontiguousarray(data[k]) for k in ("x_train", "y_train", "x_val", "y_val")}
    for k, v in tensors.items():
        if v.dtype == np.float64:
            tensors[k] = v.astype(np.float32)
    meta = {"prep": json.dumps(data.get("prep")), "name": str(data.get("name", "")),
            "classes": json.dumps(list(data.get("classes") or []))}
    return safetensors.dumps(tensors, meta)


_DATA_CODE = '''
def load_data(path="data.safetensors"):
    """The run's data with its train/validation split, as the network sees it."""
    t = load_safetensors(path)
    return prepare(t["x_train"]), t["y_train"], prepare(t["x_val"]), t["y_val"]


def prepare(x):
    """nnplay's preprocessing of the stored inputs."""
{prep}
'''


def _prep_code(prep, to_float="x.float()"):
    if not prep:
        return f"    return {to_float}  # stored as the network sees them"
    crop, layout = prep.get("crop"), prep.get("layout", "image")
    lines = ["    # MNIST: uint8 grey levels 0..255 -> floats 0..1"]
    if crop:
        lines += [f"    top, left = (x.shape[1] - {crop}) // 2, (x.shape[2] - {crop}) // 2  # central {crop}x{crop} crop",
                  f"    x = x[:, top:top + {crop}, left:left + {crop}]"]
    lines.append(f"    x = {to_float} / 255.0")
    lines.append({"image": "    return x.reshape(x.shape[0], x.shape[1], x.shape[2], 1)  # (N, H, W, 1), channels-last",
                  "rows": "    return x  # (N, rows, columns): the rows as a sequence",
                  "flat": "    return x.reshape(x.shape[0], -1)  # (N, H*W)"}[layout])
    return "\n".join(lines)


def _train_code(model, training, rng_state):
    t = dict(training or {})
    bs = int(t.get("batch_size") or 16)
    steps = t.get("steps")
    if steps is None:
        steps = model.step_count
    es = t.get("early_stopping")
    return f'''"""Reproduce the nnplay run: same data and split, pyengine's initial weights, the same shuffling,
loss, optimizer (every hyper-parameter, L1/L2, clipping, schedule) and batch size.
Run: python train.py [--steps N] [--out trained.safetensors]"""
import argparse

import numpy as np
import torch

from model import *  # noqa: F403 - Net, loss_fn, make_optimizer, train_step, load_safetensors, ...

BATCH_SIZE = {bs}
STEPS = {int(steps)}  # the steps the page ran
EARLY_STOPPING = {es!r}  # nnplay's early stopping of the run (None: off)
# NumPy's generator right after pyengine built the network: the page drew each epoch's order from it.
RNG_STATE = {json.dumps(rng_state)}


def evaluate(net, x, y, batch=256):
    net.eval()
    with torch.no_grad():
        out = torch.cat([net(x[i:i + batch]) for i in range(0, len(x), batch)])
    return loss_fn(out, y).item(), accuracy(out, y)


def main(steps=STEPS, out="trained.safetensors", data="data.safetensors", init="init.safetensors"):
    torch.manual_seed(0)
    x, y, xv, yv = load_data(data)
    net = Net()
    net.load_state_dict(load_safetensors(init))  # pyengine's initialisation (seeded, He/Glorot uniform)
    optimizer = make_optimizer(net)
    rng = np.random.default_rng()
    rng.bit_generator.state = RNG_STATE
    n = len(x)
    batches = (n + BATCH_SIZE - 1) // BATCH_SIZE
    order, batch, epoch = torch.from_numpy(rng.permutation(n)), 0, 0
    best, waited, best_state = None, 0, None
    for step in range(steps):
        idx = order[batch * BATCH_SIZE:(batch + 1) * BATCH_SIZE]
        loss = train_step(net, optimizer, x[idx], y[idx], step)
        batch += 1
        if batch == batches:  # end of an epoch: report, maybe stop early, reshuffle
            epoch += 1
            line = f"epoch {{epoch}}: loss {{loss:.4f}}"
            if len(xv):
                val_loss, val_acc = evaluate(net, xv[:2000], yv[:2000])
                line += f", val loss {{val_loss:.4f}}" + (f", val acc {{val_acc:.3f}}" if val_acc is not None else "")
                if EARLY_STOPPING:
                    value = val_acc if "accuracy" in EARLY_STOPPING["monitor"] else val_loss
                    sign = -1.0 if "accuracy" in EARLY_STOPPING["monitor"] else 1.0
                    if best is None or sign * value < sign * best - EARLY_STOPPING.get("min_delta", 0.0):
                        best, waited = value, 0
                        best_state = {{k: v.clone() for k, v in net.state_dict().items()}}
                    else:
                        waited += 1
                        if waited >= EARLY_STOPPING["patience"]:
                            net.load_state_dict(best_state)
                            print(line + " (early stopping)")
                            break
            print(line)
            order, batch = torch.from_numpy(rng.permutation(n)), 0
    save_safetensors(net.state_dict(), out)
    if len(xv):
        val_loss, val_acc = evaluate(net, xv, yv)
        print(f"after {{steps}} steps: val loss {{val_loss:.4f}}" + (f", val acc {{val_acc:.4f}}" if val_acc is not None else ""))
    print(f"weights written to {{out}}")
    return net


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--out", default="trained.safetensors")
    a = ap.parse_args()
    main(a.steps, a.out)
'''


_PREDICT = '''"""Predict with the trained network: python predict.py [--weights weights.safetensors] [--inputs x.npy]
Without --inputs it predicts the validation examples of data.safetensors and writes predictions.npy:
what nnplay's model.predict gives (probabilities for classifiers, raw outputs for regression)."""
import argparse

import numpy as np
import torch

from model import *  # noqa: F403


def predict(net, x, batch=256):
    with torch.no_grad():
        return torch.cat([probabilities(net(x[i:i + batch])) for i in range(0, len(x), batch)])


def main(weights="weights.safetensors", inputs=None, out="predictions.npy"):
    net = load_model(weights)
    if inputs is None:
        _, _, x, y = load_data()
    else:
        x, y = torch.from_numpy(np.load(inputs)).float(), None
    p = predict(net, x)
    np.save(out, p.numpy())
    print(f"{len(x)} predictions written to {out}")
    if y is not None and len(y):
        acc = accuracy(p, y) if not torch.is_floating_point(y) or p.shape == y.shape else None
        if acc is not None:
            print(f"accuracy {acc:.4f}")
    return p


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--weights", default="weights.safetensors")
    ap.add_argument("--inputs", default=None)
    ap.add_argument("--out", default="predictions.npy")
    a = ap.parse_args()
    main(a.weights, a.inputs, a.out)
'''


def _notebook(cells):
    nb = {"nbformat": 4, "nbformat_minor": 5,
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                       "language_info": {"name": "python"}},
          "cells": []}
    for i, (kind, text) in enumerate(cells):
        cell = {"cell_type": kind, "id": f"cell-{i}", "metadata": {}, "source": text.splitlines(keepends=True)}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        nb["cells"].append(cell)
    return json.dumps(nb, indent=1)


def _readme(title, files, versions, notes, install):
    lines = [f"{title}, exported from nnplay", "=" * (len(title) + 22), "",
             "Files:"]
    lines += [f"  {name:<20} {what}" for name, what in files]
    lines += ["", f"Checked with: {versions}.", "", "Quick start:", "  " + install,
              "  python predict.py            # the trained network's predictions on the validation data",
              "  python train.py              # the playground's run again, from pyengine's initial weights", ""]
    lines += notes
    return "\n".join(lines) + "\n"


def to_pytorch(model, data=None, training=None, title="nnplay network"):
    """The PyTorch export as {file name: bytes}; see the module docstring for data and training."""
    nspec = model.nspec
    code = pytorch.model_code(nspec, title)
    trained = pytorch.to_torch_state(nspec, model.state_dict())
    from ..model import build
    initial = pytorch.to_torch_state(nspec, build(model.spec).state_dict())
    meta = {"format": "pt", "exported_by": "nnplay"}
    files = {"model.py": code.encode(),
             "weights.safetensors": safetensors.dumps(trained, meta),
             "init.safetensors": safetensors.dumps(initial, meta),
             "nnplay-spec.json": json.dumps(model.spec, indent=1).encode()}
    described = [("model.py", "the network (class Net), its loss, optimizer and one training step"),
                 ("weights.safetensors", "the trained weights (load_model() in model.py loads them)"),
                 ("init.safetensors", "pyengine's initial weights of the run (train.py starts there)"),
                 ("nnplay-spec.json", "the network as nnplay describes it (open it in nnplay)")]
    notes = []
    blob = _data_file(data)
    if blob is not None:
        data_code = _DATA_CODE.format(prep=_prep_code(data.get("prep")))
        files["model.py"] = (code.rstrip("\n") + "\n\n" + data_code.rstrip("\n") + "\n").encode()
        files["data.safetensors"] = blob
        train = _train_code(model, training, initial_rng_state(model))
        files["train.py"] = train.encode()
        files["predict.py"] = _PREDICT.encode()
        nb_cells = [("markdown", f"# {title}\nExported from nnplay. Put the files of this folder next to the "
                                 "notebook (in Colab: the Files panel), then run the cells in order."),
                    ("code", f"# !pip install torch=={pytorch.TORCH_VERSION} numpy"),
                    ("code", files["model.py"].decode()),
                    ("code", train.split("from model import *", 1)[1].split("\n", 1)[1].split('if __name__')[0]
                     + "net = main()"),
                    ("code", _PREDICT.split("from model import *", 1)[1].split("\n", 1)[1].split('if __name__')[0]
                     + "predictions = main()")]
        files["notebook.ipynb"] = _notebook(nb_cells).encode()
        described += [("data.safetensors", f"the data of the run ({data.get('name') or 'data'}), split as on the page"),
                      ("train.py", "trains again as the page did and writes trained.safetensors"),
                      ("predict.py", "predicts with weights.safetensors and writes predictions.npy"),
                      ("notebook.ipynb", "model, training and prediction as a Jupyter notebook (nbformat 4)")]
        if any(c["type"] == "dropout" and c["rate"] > 0 for c in nspec.layers):
            notes.append("Dropout draws its masks from torch's generator, not NumPy's, so a retrained run "
                         "differs in detail from the page's.")
    else:
        notes.append("No data came with this export, so there is no train.py or predict.py: see model.py.")
    files["README.txt"] = _readme(title, described + [("README.txt", "this file")],
                                  README_VERSIONS["pytorch"], notes, INSTALL["pytorch"]).encode()
    return files


_KERAS_TRAIN_HEAD = '''"""Reproduce the nnplay run in Keras (torch backend): same data and split, pyengine's initial
weights, the same shuffling, loss, optimizer (every hyper-parameter, L1/L2, clipping, schedule) and
batch size. Run: python train.py [--steps N] [--out trained.safetensors]"""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import argparse  # noqa: E402

import numpy as np  # noqa: E402

from model import *  # noqa: E402,F403 - build_model, compile, load_safetensors, ...
'''


def _keras_train_code(model, training, rng_state):
    t = dict(training or {})
    bs, steps = int(t.get("batch_size") or 16), t.get("steps")
    steps = model.step_count if steps is None else steps
    return _KERAS_TRAIN_HEAD + f'''
BATCH_SIZE = {bs}
STEPS = {int(steps)}  # the steps the page ran
RNG_STATE = {json.dumps(rng_state)}


def evaluate(net, x, y):
    loss = net.evaluate(x, y, batch_size=256, verbose=0)
    return float(loss), accuracy(net.predict(x, batch_size=256, verbose=0), y)


def main(steps=STEPS, out="trained.safetensors", data="data.safetensors", init="init.safetensors"):
    x, y, xv, yv = load_data(data)
    net = compile(build_model())
    set_weights(net, load_safetensors(init))  # pyengine's initialisation (seeded, He/Glorot uniform)
    rng = np.random.default_rng()
    rng.bit_generator.state = RNG_STATE
    n = len(x)
    batches = (n + BATCH_SIZE - 1) // BATCH_SIZE
    order, batch, epoch = rng.permutation(n), 0, 0
    for step in range(steps):
        idx = order[batch * BATCH_SIZE:(batch + 1) * BATCH_SIZE]
        loss = float(net.train_on_batch(x[idx], y[idx]))
        batch += 1
        if batch == batches:
            epoch += 1
            print(f"epoch {{epoch}}: loss {{loss:.4f}}")
            order, batch = rng.permutation(n), 0
    save_safetensors(get_weights(net), out)
    if len(xv):
        val_loss, val_acc = evaluate(net, xv, yv)
        print(f"after {{steps}} steps: val loss {{val_loss:.4f}}" + (f", val acc {{val_acc:.4f}}" if val_acc is not None else ""))
    print(f"weights written to {{out}}")
    return net


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--out", default="trained.safetensors")
    a = ap.parse_args()
    main(a.steps, a.out)
'''


_KERAS_PREDICT = '''"""Predict with the trained network: python predict.py [--weights weights.safetensors] [--inputs x.npy]
Without --inputs it predicts the validation examples of data.safetensors and writes predictions.npy:
what nnplay's model.predict gives (probabilities for classifiers, raw outputs for regression)."""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import argparse  # noqa: E402

import numpy as np  # noqa: E402

from model import *  # noqa: E402,F403


def main(weights="weights.safetensors", inputs=None, out="predictions.npy"):
    net = load_model(weights)
    if inputs is None:
        _, _, x, y = load_data()
    else:
        x, y = np.load(inputs).astype(np.float32), None
    p = probabilities(net.predict(x, batch_size=256, verbose=0))
    np.save(out, p)
    print(f"{len(x)} predictions written to {out}")
    if y is not None and len(y) and accuracy(p, y) is not None:
        print(f"accuracy {accuracy(p, y):.4f}")
    return p


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--weights", default="weights.safetensors")
    ap.add_argument("--inputs", default=None)
    ap.add_argument("--out", default="predictions.npy")
    a = ap.parse_args()
    main(a.weights, a.inputs, a.out)
'''


def to_keras(model, data=None, training=None, title="nnplay network"):
    """The Keras export as {file name: bytes}; see the module docstring for data and training."""
    from ..model import build
    nspec = model.nspec
    code = keras_export.model_code(nspec, title)
    meta = {"format": "keras", "exported_by": "nnplay"}
    files = {"model.py": code.encode(),
             "weights.safetensors": safetensors.dumps(keras_export.to_keras_state(nspec, model.state_dict()), meta),
             "init.safetensors": safetensors.dumps(keras_export.to_keras_state(nspec, build(model.spec).state_dict()),
                                                   meta),
             "nnplay-spec.json": json.dumps(model.spec, indent=1).encode()}
    described = [("model.py", "the network (build_model), its loss, optimizer (compile) and weight loader"),
                 ("weights.safetensors", "the trained weights (load_model() in model.py loads them)"),
                 ("init.safetensors", "pyengine's initial weights of the run (train.py starts there)"),
                 ("nnplay-spec.json", "the network as nnplay describes it (open it in nnplay)")]
    notes = ["Keras runs these files on any backend; they were checked on the torch backend "
             "(KERAS_BACKEND=torch, which train.py and predict.py set)."]
    blob = _data_file(data)
    if blob is not None:
        data_code = _DATA_CODE.format(prep=_prep_code(data.get("prep"), "x.astype(np.float32)"))
        files["model.py"] = (code.rstrip("\n") + "\n\n" + data_code.rstrip("\n") + "\n").encode()
        files["data.safetensors"] = blob
        train = _keras_train_code(model, training, initial_rng_state(model))
        files["train.py"] = train.encode()
        files["predict.py"] = _KERAS_PREDICT.encode()
        body = lambda text: text.split("from model import *", 1)[1].split("\n", 1)[1].split("if __name__")[0]  # noqa: E731
        files["notebook.ipynb"] = _notebook([
            ("markdown", f"# {title}\nExported from nnplay for Keras. Put the files of this folder next to the "
                         "notebook (in Colab: the Files panel), then run the cells in order."),
            ("code", f"# !{INSTALL['keras']}\nimport os\nos.environ.setdefault('KERAS_BACKEND', 'torch')"),
            ("code", files["model.py"].decode()),
            ("code", body(train) + "net = main()"),
            ("code", body(_KERAS_PREDICT) + "predictions = main()")]).encode()
        described += [("data.safetensors", f"the data of the run ({data.get('name') or 'data'}), split as on the page"),
                      ("train.py", "trains again as the page did and writes trained.safetensors"),
                      ("predict.py", "predicts with weights.safetensors and writes predictions.npy"),
                      ("notebook.ipynb", "model, training and prediction as a Jupyter notebook (nbformat 4)")]
        if any(c["type"] == "dropout" and c["rate"] > 0 for c in nspec.layers):
            notes.append("Dropout draws its masks from Keras' generator, not NumPy's, so a retrained run "
                         "differs in detail from the page's.")
    files["README.txt"] = _readme(title, described + [("README.txt", "this file")], README_VERSIONS["keras"], notes,
                                  INSTALL["keras"]).encode()
    return files


def zip_files(files):
    """{name: bytes} -> the bytes of a zip with every file in one folder."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, blob in files.items():
            info = zipfile.ZipInfo(f"nnplay-export/{name}", date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, blob)
    return buf.getvalue()

