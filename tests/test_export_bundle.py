"""The export folder from the playground session (export.download), run as a learner would: its
train.py and predict.py in CPython with torch reproduce the page's run and its predictions."""
import base64
import io
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from pyengine import data, playground
from pyengine.export import safetensors
from pyengine.presets import playground_presets
from test_playground import call, ok  # the session through rpc.dispatch, as the worker calls it

torch = pytest.importorskip("torch")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def fresh_session(monkeypatch):
    import pyengine.export.methods  # noqa: F401 - registers export.*
    monkeypatch.setattr(playground, "SESSION", playground.Session())


def unpack(reply, tmp_path):
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(reply["bytes"]))) as z:
        z.extractall(tmp_path)
    return tmp_path / "nnplay-export"


def run(folder, *args):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "KERAS_BACKEND": "torch"}
    r = subprocess.run([sys.executable, *args], cwd=folder, capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


def test_spiral_run_reproduced_by_train_py_and_predict_py(tmp_path):
    spec = {"input": [2], "layers": [{"type": "dense", "units": 8, "activation": "tanh"},
                                     {"type": "dense", "units": 8, "activation": "relu"},
                                     {"type": "dense", "units": 2}],
            "loss": "softmax_cross_entropy",
            "optimizer": {"type": "adam", "lr": 0.02, "l2": 0.001,
                          "schedule": {"type": "step", "step_size": 20, "gamma": 0.5}}}
    ok("playground.setSpec", spec=spec)
    ok("playground.loadDataset", name="spiral", options={"n": 200, "noise": 0.1})
    ok("playground.train", steps=37, batchSize=8)  # more than an epoch (20 batches), a partial one after
    folder = unpack(ok("export.download", target="pytorch", batchSize=8), tmp_path)
    names = sorted(os.listdir(folder))
    assert names == sorted(["README.txt", "model.py", "weights.safetensors", "init.safetensors", "data.safetensors",
                            "train.py", "predict.py", "notebook.ipynb", "nnplay-spec.json"])
    assert "torch 2.13.0" in (folder / "README.txt").read_text()

    # predict.py: the page's predictions of the validation examples
    run(folder, "predict.py")
    got = np.load(folder / "predictions.npy")
    d = playground.SESSION.dataset
    want = np.asarray(ok("playground.predict", inputs=d["x_val"].tolist())["outputs"])
    assert np.abs(got - want).max() < 1e-5

    # train.py: the page's run again from pyengine's initial weights, with the page's shuffling
    out = run(folder, "train.py")
    assert "epoch 1:" in out
    tensors, _ = safetensors.loads((folder / "trained.safetensors").read_bytes())
    from pyengine.export import pytorch
    page = pytorch.to_torch_state(playground.SESSION.model.nspec, playground.SESSION.model.state_dict())
    for k, v in page.items():
        assert np.abs(tensors[k] - v).max() <= 1e-4 * max(1.0, np.abs(v).max()), k

    # the notebook is nbformat 4 and its code runs the same model code
    nb = json.loads((folder / "notebook.ipynb").read_text())
    assert nb["nbformat"] == 4 and [c["cell_type"] for c in nb["cells"]][0] == "markdown"
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            compile("".join(cell["source"]), "cell", "exec")


def test_keras_folder_and_onnx_file_of_a_playground_run(tmp_path):
    spec = {"input": [2], "layers": [{"type": "dense", "units": 8, "activation": "gelu"},
                                     {"type": "dense", "units": 1}],
            "loss": "binary_cross_entropy", "optimizer": {"type": "rmsprop", "lr": 0.01, "clipnorm": 1.0}}
    ok("playground.setSpec", spec=spec)
    ok("playground.loadDataset", name="circle", options={"n": 120})
    ok("playground.train", steps=15, batchSize=10)
    folder = unpack(ok("export.download", target="keras", batchSize=10), tmp_path)
    assert "keras 3.15.1" in (folder / "README.txt").read_text()
    run(folder, "predict.py")
    d = playground.SESSION.dataset
    want = np.asarray(ok("playground.predict", inputs=d["x_val"].tolist())["outputs"])
    assert np.abs(np.load(folder / "predictions.npy") - want).max() < 1e-5
    run(folder, "train.py")
    tensors, _ = safetensors.loads((folder / "trained.safetensors").read_bytes())
    from pyengine.export import keras as keras_export
    page = keras_export.to_keras_state(playground.SESSION.model.nspec, playground.SESSION.model.state_dict())
    for k, v in page.items():
        assert np.abs(tensors[k] - v).max() <= 1e-4 * max(1.0, np.abs(v).max()), k
    ort = pytest.importorskip("onnxruntime")
    reply = ok("export.download", target="onnx")
    assert reply["name"].endswith(".onnx")
    sess = ort.InferenceSession(base64.b64decode(reply["bytes"]), providers=["CPUExecutionProvider"])
    probs = sess.run(["probabilities"], {"input": d["x_val"].astype(np.float32)})[0]
    assert np.abs(probs - want).max() < 1e-5


def test_mnist_images_travel_raw_with_their_crop(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "mnist.bin"
    data.write_mnist(path, rng.integers(0, 256, (60, 28, 28)), np.repeat(np.arange(10), 6))
    spec = playground_presets()["mnist"]["spec"]  # a 24x24 input: the central crop of each digit
    ok("playground.setSpec", spec=spec)
    ok("playground.loadDataset", name="mnist", options={"path": str(path)})
    ok("playground.train", steps=3, batchSize=16)
    folder = unpack(ok("export.download", target="pytorch", batchSize=16), tmp_path / "out")
    tensors, meta = safetensors.loads((folder / "data.safetensors").read_bytes())
    assert tensors["x_train"].dtype == np.uint8 and tensors["x_train"].shape[1:] == (28, 28)
    assert json.loads(meta["prep"])["crop"] == 24
    run(folder, "predict.py")
    got = np.load(folder / "predictions.npy")
    d = playground.SESSION.dataset
    want = playground.SESSION.model.predict(playground.SESSION.features(d["x_val"]))
    assert np.abs(got - want).max() < 1e-4
    run(folder, "train.py")
    tensors, _ = safetensors.loads((folder / "trained.safetensors").read_bytes())
    from pyengine.export import pytorch
    page = pytorch.to_torch_state(playground.SESSION.model.nspec, playground.SESSION.model.state_dict())
    for k, v in page.items():
        assert np.abs(tensors[k] - v).max() <= 1e-3 * max(1.0, np.abs(v).max()), k


def test_weights_round_trip_through_the_rpc_and_bad_files_say_why(tmp_path):
    ok("playground.setSpec", spec={"input": [2], "layers": [{"type": "dense", "units": 2, "name": "out"}]})
    saved = ok("export.saveWeights")
    assert ok("export.loadWeights", bytes=saved["bytes"])["layout"] == "nnplay"
    other = {"input": [3], "layers": [{"type": "dense", "units": 2, "name": "out"}]}
    ok("playground.setSpec", spec=other)
    err = call("export.loadWeights", bytes=saved["bytes"])["error"]
    assert err["kind"] == "WeightsError" and "tensor 'out.weight' has shape [2, 2], this network needs [3, 2]" \
        in err["message"]
    err = call("export.loadWeights", bytes=base64.b64encode(b"nonsense").decode())["error"]
    assert err["kind"] == "WeightsError" and "not a safetensors file" in err["message"]
    assert call("export.download", target="tflite")["error"]["kind"] == "BadParams"
