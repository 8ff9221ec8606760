"""Export from the page, as a learner does: train by clicks, "Download for PyTorch", then run the
folder's predict.py and train.py in CPython with real torch and get the page's predictions and
weights; fine-tune in torch and "Load weights (safetensors)" back into the page; ONNX and Keras
downloads; a foreign weights file is refused with a message naming the tensor."""
import io
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import harness
from harness import wait_until
from conftest import ARTIFACTS

torch = pytest.importorskip("torch")

from pyengine.export import pytorch as pt_export, safetensors  # noqa: E402

pytestmark = pytest.mark.browser


def open_app(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.goto(server.url)
    harness.wait_ready(page)
    page.wait_for_selector("body[data-app=ready]", state="attached", timeout=60_000)
    return context, page


@pytest.fixture(scope="module")
def app(browser, server):
    context, page = open_app(browser, server)
    yield page
    context.close()


@pytest.fixture(scope="module")
def gpu_app(webgpu_browser, server):
    context, page = open_app(webgpu_browser, server)
    yield page
    context.close()


def download(page, testid, tmp_path):
    with page.expect_download(timeout=120_000) as info:
        page.click(f"[data-testid={testid}]")
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    return path


def run(folder, *args):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "KERAS_BACKEND": "torch"}
    r = subprocess.run([sys.executable, *args], cwd=folder, capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


def page_weights(page):
    return bytes(page.evaluate("async () => Array.from(await nnplay.saveWeights())"))


@pytest.mark.timeout(900)
def test_a_model_trained_on_the_page_runs_in_torch_with_the_pages_predictions(app, tmp_path):
    assert app.evaluate("nnplay.backend") == "numpy"
    train_export_and_check(app, tmp_path)


@pytest.mark.timeout(900)
def test_a_model_trained_on_webgpu_exports_the_same_way(gpu_app, tmp_path):
    wait_until(gpu_app, "nnplay.backend", 60)
    assert gpu_app.evaluate("nnplay.backend") == "numpy"  # auto never trains on SwiftShader ...
    gpu_app.select_option("[data-testid=setting-backend]", "webgpu")  # ... the Backend menu asks for it by name
    wait_until(gpu_app, "nnplay.backend === 'webgpu'", 60)
    assert gpu_app.evaluate("nnplay.backend") == "webgpu", gpu_app.evaluate("nnplay.backendNotice")
    train_export_and_check(gpu_app, tmp_path, full_epoch=False)


def train_export_and_check(app, tmp_path, full_epoch=True):
    if full_epoch:  # train by clicks: Play until the first epoch is done (a reshuffle too), then Pause
        app.click("[data-testid=play]")
        wait_until(app, "Number(document.querySelector('#epoch-count').textContent) >= 1", 180)
        app.click("[data-testid=play]")
        wait_until(app, "document.querySelector('#btn-play').textContent.includes('Play')", 60)
    else:  # a few Step clicks (SwiftShader's WebGPU is slow)
        for i in range(1, 6):
            app.click("[data-testid=step]")
            wait_until(app, f"nnplay.getMetrics().then(m => m.step >= {i})", 60)
    spec = app.evaluate("nnplay.getSpec()")
    steps = app.evaluate("nnplay.getMetrics()")["step"]
    assert steps >= 1

    path = download(app, "export-pytorch", tmp_path)
    assert path.name == "nnplay-pytorch.zip"
    with zipfile.ZipFile(path) as z:
        z.extractall(tmp_path)
    folder = tmp_path / "nnplay-export"
    assert {"model.py", "weights.safetensors", "train.py", "predict.py", "notebook.ipynb", "README.txt",
            "data.safetensors"} <= set(os.listdir(folder))
    ARTIFACTS.mkdir(exist_ok=True)
    app.screenshot(path=str(ARTIFACTS / "export-downloaded.png"), full_page=True)

    # predict.py in CPython with torch gives the page's predictions of the validation data
    run(folder, "predict.py")
    data, _ = safetensors.loads((folder / "data.safetensors").read_bytes())
    x_val = data["x_val"]
    page_pred = np.asarray(app.evaluate("x => nnplay.predict(x)", x_val.tolist())["outputs"])
    assert np.abs(np.load(folder / "predictions.npy") - page_pred).max() < 1e-4

    # train.py reproduces the page's run: from pyengine's initial weights to the page's weights
    out = run(folder, "train.py")
    assert f"after {steps} steps" in out
    trained, _ = safetensors.loads((folder / "trained.safetensors").read_bytes())
    import pyengine
    model = pyengine.build(spec)
    mine, _ = safetensors.loads(page_weights(app))
    want = pt_export.to_torch_state(model.nspec, mine)
    for k, v in want.items():
        assert np.abs(trained[k] - v).max() <= 1e-3 * max(1.0, np.abs(v).max()), k

    if not full_epoch:
        return
    # fine-tune in torch (here: nudge every weight), save the state_dict, load it back by the page's button
    code = ("from model import *\nimport torch\nnet = load_model()\nwith torch.no_grad():\n"
            "    for p in net.parameters(): p.add_(0.05)\n"
            "save_safetensors(net.state_dict(), 'tuned.safetensors')\n"
            "_, _, x, _ = load_data()\nimport numpy as np\nnp.save('tuned.npy', probabilities(net(x)).detach().numpy())\n")
    run(folder, "-c", code)
    app.set_input_files("[data-testid=load-weights]", str(folder / "tuned.safetensors"))
    wait_until(app, "document.querySelector('#message').textContent.includes('Loaded the weights')")
    assert "PyTorch state_dict" in app.inner_text("#message")
    back = np.asarray(app.evaluate("x => nnplay.predict(x)", x_val.tolist())["outputs"])
    assert np.abs(back - np.load(folder / "tuned.npy")).max() < 1e-4


def test_onnx_and_keras_downloads_and_a_foreign_weights_file(app, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    onnx_path = download(app, "export-onnx", tmp_path)
    assert onnx_path.suffix == ".onnx"
    x = np.random.default_rng(0).normal(size=(8, 2)).astype(np.float32)
    sess = ort.InferenceSession(onnx_path.read_bytes(), providers=["CPUExecutionProvider"])
    got = sess.run(["probabilities"], {"input": x})[0]
    want = np.asarray(app.evaluate("x => nnplay.predict(x)", x.tolist())["outputs"])
    assert np.abs(got - want).max() < 1e-4

    keras_zip = download(app, "export-keras", tmp_path)
    with zipfile.ZipFile(io.BytesIO(keras_zip.read_bytes())) as z:
        assert "nnplay-export/model.py" in z.namelist()
        assert "import keras" in z.read("nnplay-export/model.py").decode()

    # a state_dict of another network: the message names the tensor and the shapes
    import pyengine
    name = pyengine.validate(app.evaluate("nnplay.getSpec()")).layers[0]["name"]
    foreign = safetensors.dumps({f"{name}.weight": np.zeros((3, 7), np.float32)})
    bad = tmp_path / "other.safetensors"
    bad.write_bytes(foreign)
    before = page_weights(app)
    app.set_input_files("[data-testid=load-weights]", str(bad))
    msg = wait_until(app, "(t => t.includes('other.safetensors') && t)(document.querySelector('#message').textContent)")
    assert f"tensor '{name}.weight' has shape [3, 7]" in msg
    assert page_weights(app) == before  # the network keeps its weights
    app.screenshot(path=str(ARTIFACTS / "export-bad-weights.png"))
