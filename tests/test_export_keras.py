"""The Keras export against real Keras 3 (torch backend): every layer type, join, activation, loss
and optimizer option. The exported model with the exported weights gives pyengine's forward within
1e-4 relative; a few train_on_batch steps give pyengine's weights within 1e-3 relative."""
import importlib.util
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

keras = pytest.importorskip("keras")

import pyengine  # noqa: E402
from export_cases import (ACTS, EMBEDDING, GLOBAL_POOL, HEAD, IMAGE_OUTPUT, IMG, JOIN_BRANCHES, JOINS,  # noqa: E402
                          LAYER_CASES, LOSSES, OPTIMIZERS, SEQ_CASES, VECTORS, inputs_for, jitter, loss_spec,
                          optimizer_spec, rel_err, targets_for)
from pyengine.export import keras as keras_export  # noqa: E402

pytestmark = pytest.mark.skipif(keras.backend.backend() != "torch", reason="checked on Keras' torch backend")


def load_module(code, tmp_path, name):
    path = tmp_path / f"{name}.py"
    path.write_text(code)
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def check(spec, tmp_path, steps=2, n=6, forward_only=False, name="knet"):
    rng = np.random.default_rng(1)
    model = pyengine.build(spec)
    jitter(model, rng)
    mod = load_module(keras_export.model_code(model.nspec), tmp_path, name)
    net = mod.build_model()
    mod.set_weights(net, keras_export.to_keras_state(model.nspec, model.state_dict()))
    x = inputs_for(model, n, rng)
    got = keras.ops.convert_to_numpy(net(x, training=False))
    want = model.forward(x, training=False).data
    assert got.shape == want.shape
    assert rel_err(got, want) < 1e-4, rel_err(got, want)
    if forward_only:
        return
    y = targets_for(model, n, rng)
    mod.compile(net)
    for step in range(steps):
        loss_k = float(net.train_on_batch(x, y))
        loss_p = model.train_step(x, y)
        assert abs(loss_k - loss_p) <= 1e-4 * max(1.0, abs(loss_p)), (step, loss_k, loss_p)
    weights = {f"{layer.name}.{w.path.split('/')[-1]}": keras.ops.convert_to_numpy(w.value)
               for layer in net.layers for w in layer.weights}
    back = keras_export.from_keras_state(model.nspec, weights)
    for k, v in model.state_dict().items():
        assert rel_err(back[k], v) < 1e-3, (k, rel_err(back[k], v))


@pytest.mark.parametrize("act", ACTS)
def test_dense_with_each_activation(act, tmp_path):
    check({"input": [5], "layers": [{"type": "dense", "units": 6, "activation": act}, {"type": "dense", "units": 3}],
           "optimizer": {"type": "sgd", "lr": 0.1}}, tmp_path)


@pytest.mark.parametrize("case", sorted(LAYER_CASES))
def test_image_layers(case, tmp_path):
    check({"input": IMG, "layers": LAYER_CASES[case] + HEAD, "optimizer": {"type": "sgd", "lr": 0.05}}, tmp_path)


@pytest.mark.parametrize("join", sorted(JOINS))
def test_joins_of_images(join, tmp_path):
    check({"input": IMG, "layers": JOIN_BRANCHES + [JOINS[join]] + HEAD}, tmp_path)


@pytest.mark.parametrize("case", sorted(SEQ_CASES))
def test_sequence_layers(case, tmp_path):
    check({"input": [5, 2], "layers": SEQ_CASES[case] + [{"type": "dense", "units": 2}],
           "optimizer": {"type": "sgd", "lr": 0.1}}, tmp_path)


@pytest.mark.parametrize("spec", [GLOBAL_POOL, IMAGE_OUTPUT, EMBEDDING, VECTORS],
                         ids=["globalavgpool_dropout", "image_output", "embedding_lstm", "vectors"])
def test_other_networks(spec, tmp_path):
    check(spec, tmp_path, forward_only=any(c["type"] == "dropout" for c in spec["layers"]))


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_losses(loss, tmp_path):
    check(loss_spec(loss), tmp_path, steps=3)


@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
def test_optimizers(opt, tmp_path):
    check(optimizer_spec(opt), tmp_path, steps=4)


def test_keras_weights_saved_by_the_export_load_back_into_nnplay(tmp_path):
    from pyengine import export
    spec = {"input": [5, 2], "layers": [{"type": "gru", "units": 3}, {"type": "dense", "units": 2}]}
    model = pyengine.build(spec)
    mod = load_module(keras_export.model_code(model.nspec), tmp_path, "kback")
    net = mod.build_model()
    mod.set_weights(net, keras_export.to_keras_state(model.nspec, model.state_dict()))
    for w in net.weights:  # "fine-tune" in Keras
        w.assign(w.value + 0.01)
    mod.save_safetensors(mod.get_weights(net), str(tmp_path / "k.safetensors"))
    fresh = pyengine.build(spec)
    assert export.load_weights(fresh, (tmp_path / "k.safetensors").read_bytes()) == "keras"
    x = np.random.default_rng(0).normal(size=(3, 5, 2)).astype(np.float32)
    assert rel_err(fresh.forward(x).data, keras.ops.convert_to_numpy(net(x))) < 1e-4
