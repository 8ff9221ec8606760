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

__all__ = ["to_pytorch", "to_keras", "zip_files", "initial_rng_state"]

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


_TRAIN = '''"""Reproduce the nnplay run{where}: same data and split, pyengine's initial weights, the same
shuffling, loss, optimizer (every hyper-parameter, L1/L2, clipping, schedule) and batch size.
Run: python train.py [--steps N] [--out trained.safetensors]"""
{imports}
from model import *  # noqa: E402,F403 - the network, its loss and optimizer, load_data, load_safetensors, ...

BATCH_SIZE = {batch_size}
STEPS = {steps}  # the steps the page ran
EARLY_STOPPING = {early_stopping}  # nnplay's early stopping of the run (None: off)
# NumPy's generator right after pyengine built the network: the page drew each epoch's order from it.
RNG_STATE = {rng_state}


{evaluate}

def main(steps=STEPS, out="trained.safetensors", data="data.safetensors", init="init.safetensors"):
    x, y, xv, yv = load_data(data)
{setup}
    rng = np.random.default_rng()
    rng.bit_generator.state = RNG_STATE
    n = len(x)
    batches = (n + BATCH_SIZE - 1) // BATCH_SIZE
    order, batch, epoch = {order}, 0, 0
    best, waited, best_state = None, 0, None
    for step in range(steps):
        idx = order[batch * BATCH_SIZE:(batch + 1) * BATCH_SIZE]
        loss = {step_call}
        batch += 1
        if batch < batches:
            continue
        epoch += 1  # the end of an epoch: report, maybe stop early, reshuffle
        line = f"epoch {{epoch}}: loss {{loss:.4f}}"
        if len(xv):
            val_loss, val_acc = evaluate(net, xv[:2000], yv[:2000])
            line += f", val loss {{val_loss:.4f}}" + (f", val acc {{val_acc:.3f}}" if val_acc is not None else "")
            if EARLY_STOPPING:
                value, sign = (val_acc, -1.0) if "accuracy" in EARLY_STOPPING["monitor"] else (val_loss, 1.0)
                if best is None or sign * value < sign * best - EARLY_STOPPING.get("min_delta", 0.0):
                    best, waited, best_state = value, 0, {snapshot}
                else:
                    waited += 1
                    if waited >= EARLY_STOPPING["patience"]:
                        {restore}
                        print(line + " (early stopping)")
                        break
        print(line)
        order, batch = {order}, 0
    save_safetensors({weights}, out)
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
{imports}
from model import *  # noqa: E402,F403


{predict}

def main(weights="weights.safetensors", inputs=None, out="predictions.npy"):
    net = load_model(weights)
    if inputs is None:
        _, _, x, y = load_data()
    else:
        x, y = {load_inputs}, None
    p = predict(net, x)
    np.save(out, {to_numpy})
    print(f"{{len(x)}} predictions written to {{out}}")
    if y is not None and len(y) and p.shape[-1] > 1 and accuracy(p, y) is not None:  # argmax of probabilities
        print(f"accuracy {{accuracy(p, y):.4f}}")
    return p


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--weights", default="weights.safetensors")
    ap.add_argument("--inputs", default=None)
    ap.add_argument("--out", default="predictions.npy")
    a = ap.parse_args()
    main(a.weights, a.inputs, a.out)
'''

_KERAS_IMPORTS = """import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import argparse  # noqa: E402

import numpy as np  # noqa: E402
"""

# What differs between the frameworks in the generated folder; everything else is shared.
FRAMEWORKS = {
    "pytorch": dict(
        label="PyTorch", where="", code=pytorch.model_code, state=pytorch.to_torch_state, format="pt",
        versions=f"torch {pytorch.TORCH_VERSION} (CPU), Python 3.11, NumPy 2",
        install=f"pip install torch=={pytorch.TORCH_VERSION} numpy", to_float="x.float()",
        model_what="the network (class Net), its loss, optimizer and one training step",
        imports="import argparse\n\nimport numpy as np\nimport torch\n",
        evaluate='''def evaluate(net, x, y, batch=256):
    net.eval()
    with torch.no_grad():
        out = torch.cat([net(x[i:i + batch]) for i in range(0, len(x), batch)])
    return loss_fn(out, y).item(), accuracy(out, y)
''',
        setup="    torch.manual_seed(0)\n    net = Net()\n"
              "    net.load_state_dict(load_safetensors(init))  # pyengine's initialisation (seeded He/Glorot uniform)\n"
              "    optimizer = make_optimizer(net)",
        order="torch.from_numpy(rng.permutation(n))", step_call="train_step(net, optimizer, x[idx], y[idx], step)",
        snapshot="{k: v.clone() for k, v in net.state_dict().items()}", restore="net.load_state_dict(best_state)",
        weights="net.state_dict()",
        predict='''def predict(net, x, batch=256):
    with torch.no_grad():
        return torch.cat([probabilities(net(x[i:i + batch])) for i in range(0, len(x), batch)])
''',
        load_inputs="torch.from_numpy(np.load(inputs)).float()", to_numpy="p.numpy()",
        notebook_setup=f"# !pip install torch=={pytorch.TORCH_VERSION} numpy"),
    "keras": dict(
        label="Keras", where=" in Keras (checked on its torch backend)", code=keras_export.model_code,
        state=keras_export.to_keras_state, format="keras",
        versions=f"keras {keras_export.KERAS_VERSION} on its torch backend (torch {pytorch.TORCH_VERSION} CPU), "
                 "Python 3.11, NumPy 2",
        install=f"pip install keras=={keras_export.KERAS_VERSION} torch=={pytorch.TORCH_VERSION} numpy",
        to_float="x.astype(np.float32)",
        model_what="the network (build_model), its loss and optimizer (compile) and the weight loader",
        imports=_KERAS_IMPORTS,
        evaluate='''def evaluate(net, x, y):
    loss = net.evaluate(x, y, batch_size=256, verbose=0)
    return float(loss), accuracy(net.predict(x, batch_size=256, verbose=0), y)
''',
        setup="    net = compile(build_model())\n"
              "    set_weights(net, load_safetensors(init))  # pyengine's initialisation (seeded He/Glorot uniform)",
        order="rng.permutation(n)", step_call="float(net.train_on_batch(x[idx], y[idx]))",
        snapshot="get_weights(net)", restore="set_weights(net, best_state)", weights="get_weights(net)",
        predict='''def predict(net, x):
    return probabilities(net.predict(x, batch_size=256, verbose=0))
''',
        load_inputs="np.load(inputs).astype(np.float32)", to_numpy="p",
        notebook_setup=f"# !pip install keras=={keras_export.KERAS_VERSION} torch=={pytorch.TORCH_VERSION} numpy\n"
                       "import os\nos.environ.setdefault('KERAS_BACKEND', 'torch')"),
}


def _train_code(fw, model, training, rng_state):
    t = dict(training or {})
    steps = t.get("steps")
    return _TRAIN.format(where=fw["where"], imports=fw["imports"], batch_size=int(t.get("batch_size") or 16),
                         steps=int(model.step_count if steps is None else steps),
                         early_stopping=repr(t.get("early_stopping")), rng_state=json.dumps(rng_state),
                         evaluate=fw["evaluate"], setup=fw["setup"], order=fw["order"], step_call=fw["step_call"],
                         snapshot=fw["snapshot"], restore=fw["restore"], weights=fw["weights"])


def _predict_code(fw):
    return _PREDICT.format(imports=fw["imports"], predict=fw["predict"], load_inputs=fw["load_inputs"],
                           to_numpy=fw["to_numpy"])


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
    lines = [f"{title}, exported from nnplay", "=" * (len(title) + 22), "", "Files:"]
    lines += [f"  {name:<20} {what}" for name, what in files]
    lines += ["", f"Checked with: {versions}.", "", "Quick start:", "  " + install,
              "  python predict.py            # the trained network's predictions on the validation data",
              "  python train.py              # the playground's run again, from pyengine's initial weights", ""]
    lines += notes
    return "\n".join(lines) + "\n"


def to_pytorch(model, data=None, training=None, title="nnplay network"):
    """The PyTorch export as {file name: bytes}; see the module docstring for data and training."""
    return _bundle("pytorch", model, data, training, title)


def to_keras(model, data=None, training=None, title="nnplay network"):
    """The Keras export as {file name: bytes}; see the module docstring for data and training."""
    return _bundle("keras", model, data, training, title)


def _script_body(text):
    """A script without its imports and its command line: what a notebook cell runs."""
    return text.split("from model import *", 1)[1].split("\n", 1)[1].split("if __name__")[0]


def _bundle(target, model, data, training, title):
    from ..model import build
    fw, nspec = FRAMEWORKS[target], model.nspec
    code = fw["code"](nspec, title)
    meta = {"format": fw["format"], "exported_by": "nnplay"}
    files = {"model.py": code.encode(),
             "weights.safetensors": safetensors.dumps(fw["state"](nspec, model.state_dict()), meta),
             "init.safetensors": safetensors.dumps(fw["state"](nspec, build(model.spec).state_dict()), meta),
             "nnplay-spec.json": json.dumps(model.spec, indent=1).encode()}
    described = [("model.py", fw["model_what"]),
                 ("weights.safetensors", "the trained weights (load_model() in model.py loads them)"),
                 ("init.safetensors", "pyengine's initial weights of the run (train.py starts there)"),
                 ("nnplay-spec.json", "the network as nnplay describes it (open it in nnplay)")]
    notes = []
    if target == "keras":
        notes.append("Keras runs these files on any backend; they were checked on the torch backend "
                     "(KERAS_BACKEND=torch, which train.py and predict.py set).")
    blob = _data_file(data)
    if blob is None:
        notes.append("No data came with this export, so there is no train.py or predict.py: see model.py.")
    else:
        data_code = _DATA_CODE.format(prep=_prep_code(data.get("prep"), fw["to_float"]))
        files["model.py"] = (code.rstrip("\n") + "\n\n" + data_code.rstrip("\n") + "\n").encode()
        files["data.safetensors"] = blob
        train, predict = _train_code(fw, model, training, initial_rng_state(model)), _predict_code(fw)
        files["train.py"], files["predict.py"] = train.encode(), predict.encode()
        files["notebook.ipynb"] = _notebook([
            ("markdown", f"# {title}\nExported from nnplay for {fw['label']}. Put the files of this folder next "
                         "to the notebook (in Colab: the Files panel), then run the cells in order."),
            ("code", fw["notebook_setup"]),
            ("code", files["model.py"].decode()),
            ("code", _script_body(train) + "net = main()"),
            ("code", _script_body(predict) + "predictions = main()")]).encode()
        described += [("data.safetensors", f"the data of the run ({data.get('name') or 'data'}), split as on the page"),
                      ("train.py", "trains again as the page did and writes trained.safetensors"),
                      ("predict.py", "predicts with weights.safetensors and writes predictions.npy"),
                      ("notebook.ipynb", "model, training and prediction as a Jupyter notebook (nbformat 4)")]
        if any(c["type"] == "dropout" and c["rate"] > 0 for c in nspec.layers):
            notes.append(f"Dropout draws its masks from {fw['label']}'s generator, not NumPy's, so a retrained "
                         "run differs in detail from the page's.")
    files["README.txt"] = _readme(title, described + [("README.txt", "this file")], fw["versions"], notes,
                                  fw["install"]).encode()
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

