"""The PyTorch export against real torch: every layer type, join, activation, loss and optimizer option.

For each small network: the exported Net with the exported weights gives pyengine's forward within
1e-4 relative, a few training steps (the exported train_step) give pyengine's weights within 1e-3
relative, and a state_dict saved as safetensors from torch loads back into nnplay.
"""
import importlib.util
import os
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import pyengine  # noqa: E402
from export_cases import (ACTS, EMBEDDING, GLOBAL_POOL, HEAD, IMAGE_OUTPUT, IMG, JOIN_BRANCHES, JOINS,  # noqa: E402
                          LAYER_CASES, LOSSES, OPTIMIZERS, SEQ_CASES, VECTORS, inputs_for, jitter, loss_spec,
                          optimizer_spec, rel_err, targets_for)
from pyengine import export  # noqa: E402
from pyengine.export import pytorch as pt_export  # noqa: E402
from pyengine.export import safetensors  # noqa: E402

torch.set_num_threads(1)


def load_module(code, tmp_path, name):
    path = tmp_path / f"{name}.py"
    path.write_text(code)
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def torch_net(mod, model):
    net = mod.Net()
    state = {k: torch.from_numpy(v) for k, v in pt_export.to_torch_state(model.nspec, model.state_dict()).items()}
    net.load_state_dict(state)
    return net


def check(spec, tmp_path, steps=2, n=6, forward_only=False, name="net"):
    rng = np.random.default_rng(1)
    model = pyengine.build(spec)
    jitter(model, rng)
    mod = load_module(pt_export.model_code(model.nspec), tmp_path, name)
    net = torch_net(mod, model)
    x = inputs_for(model, n, rng)
    # forward, evaluation mode
    net.eval()
    with torch.no_grad():
        got = net(torch.from_numpy(x)).numpy()
    want = model.forward(x, training=False).data
    assert got.shape == want.shape
    assert rel_err(got, want) < 1e-4, rel_err(got, want)
    if forward_only:
        return model, net, mod
    # training steps
    y = targets_for(model, n, rng)
    optimizer = mod.make_optimizer(net)
    yt = torch.from_numpy(y)
    for step in range(steps):
        loss_t = mod.train_step(net, optimizer, torch.from_numpy(x), yt, step)
        loss_p = model.train_step(x, y)
        assert abs(loss_t - loss_p) <= 1e-4 * max(1.0, abs(loss_p)), (step, loss_t, loss_p)
    back = pt_export.from_torch_state(model.nspec, {k: v.detach().numpy() for k, v in net.state_dict().items()})
    mine = model.state_dict()
    for k, v in mine.items():
        assert rel_err(back[k], v) < 1e-3, (k, rel_err(back[k], v))
    return model, net, mod


@pytest.mark.parametrize("act", ACTS)
def test_dense_with_each_activation(act, tmp_path):
    check({"input": [5], "layers": [{"type": "dense", "units": 6, "activation": act}, {"type": "dense", "units": 3}],
           "optimizer": {"type": "sgd", "lr": 0.1}}, tmp_path)


@pytest.mark.parametrize("case", sorted(LAYER_CASES))
def test_image_layers(case, tmp_path):
    check({"input": IMG, "layers": LAYER_CASES[case] + HEAD, "optimizer": {"type": "sgd", "lr": 0.05}}, tmp_path)


def test_global_avgpool_and_dropout(tmp_path):
    import copy
    spec = copy.deepcopy(GLOBAL_POOL)
    spec["layers"][2]["rate"] = 0.0
    check(spec, tmp_path)
    spec["layers"][2]["rate"] = 0.5  # dropout's masks come from another generator: forward (eval) only
    check(spec, tmp_path, forward_only=True, name="net_dropout")


def test_image_shaped_output_stays_channels_last(tmp_path):
    check(IMAGE_OUTPUT, tmp_path)


@pytest.mark.parametrize("join", sorted(JOINS))
def test_joins_of_images(join, tmp_path):
    layers = JOIN_BRANCHES + [JOINS[join]] + HEAD
    check({"input": IMG, "layers": layers}, tmp_path)


@pytest.mark.parametrize("case", sorted(SEQ_CASES))
def test_sequence_layers(case, tmp_path):
    layers = SEQ_CASES[case] + [{"type": "dense", "units": 2}]
    check({"input": [5, 2] if case != "concat_time" else [5, 2], "layers": layers,
           "optimizer": {"type": "sgd", "lr": 0.1}}, tmp_path)


def test_embedding_lstm(tmp_path):
    check(EMBEDDING, tmp_path)


def test_vector_layers(tmp_path):
    check(VECTORS, tmp_path)


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_losses(loss, tmp_path):
    check(loss_spec(loss), tmp_path, steps=3)


@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
def test_optimizers(opt, tmp_path):
    check(optimizer_spec(opt), tmp_path, steps=4)


def test_state_dict_from_torch_loads_back_into_nnplay(tmp_path):
    model, net, mod = check({"input": [5, 2], "layers": [{"type": "lstm", "units": 3}, {"type": "batchnorm"},
                                                         {"type": "dense", "units": 2}]}, tmp_path)
    # fine-tune in torch a little more, save with the exported code's writer, load into a fresh nnplay model
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.01)
    path = tmp_path / "tuned.safetensors"
    mod.save_safetensors(net.state_dict(), str(path))
    fresh = pyengine.build(model.spec)
    assert export.load_weights(fresh, path.read_bytes()) == "pytorch"
    x = np.random.default_rng(3).normal(size=(4, 5, 2)).astype(np.float32)
    net.eval()
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    assert rel_err(fresh.forward(x).data, want) < 1e-4


def test_foreign_safetensors_say_which_tensor_does_not_fit(tmp_path):
    model = pyengine.build({"input": [4], "layers": [{"type": "dense", "units": 3, "name": "fc"}]})
    good = pt_export.to_torch_state(model.nspec, model.state_dict())
    bad = dict(good, **{"fc.weight": np.zeros((4, 3), np.float32)})  # nnplay's layout, not torch's
    with pytest.raises(export.ExportError, match=r"tensor 'fc.weight' has shape \[4, 3\], but layer 'fc' needs \[3, 4\]"):
        export.load_weights(model, safetensors.dumps(bad))
    extra = dict(good, **{"head.weight": np.zeros(2, np.float32)})
    extra.pop("fc.bias")
    with pytest.raises(export.ExportError) as e:
        export.load_weights(model, safetensors.dumps(extra))
    assert "tensor 'head.weight' is not a weight of this network" in str(e.value)
    assert "tensor 'fc.bias' is missing" in str(e.value)
    with pytest.raises(export.SafetensorsError, match="not a safetensors file"):
        export.load_weights(model, b"PK\x03\x04 a zip, not weights")


def test_every_preset_exports_and_runs_in_torch(tmp_path):
    from pyengine.presets import playground_presets
    for i, (name, preset) in enumerate(sorted(playground_presets().items())):
        model = pyengine.build(preset["spec"])
        mod = load_module(pt_export.model_code(model.nspec), tmp_path, f"preset_{i}")
        net = torch_net(mod, model).eval()
        x = inputs_for(model, 2, np.random.default_rng(0))
        with torch.no_grad():
            got = net(torch.from_numpy(x)).numpy()
        assert rel_err(got, model.forward(x).data) < 1e-4, name
