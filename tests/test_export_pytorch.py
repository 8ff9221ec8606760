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
from pyengine import export  # noqa: E402
from pyengine.export import pytorch as pt_export  # noqa: E402
from pyengine.export import safetensors  # noqa: E402

torch.set_num_threads(1)


def rel_err(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-6)) if a.size else 0.0


def load_module(code, tmp_path, name):
    path = tmp_path / f"{name}.py"
    path.write_text(code)
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def jitter(model, rng):
    """Non-trivial weights: biases, norm scales and running stats away from their initial values."""
    state = model.state_dict()
    for k, v in state.items():
        if k.endswith("running_var"):
            state[k] = (1.0 + rng.uniform(0, 0.5, v.shape)).astype(np.float32)
        else:
            state[k] = (v + rng.normal(0, 0.1, v.shape)).astype(np.float32)
    model.load_state_dict(state)


def torch_net(mod, model):
    net = mod.Net()
    state = {k: torch.from_numpy(v) for k, v in pt_export.to_torch_state(model.nspec, model.state_dict()).items()}
    net.load_state_dict(state)
    return net


def inputs_for(model, n, rng):
    shape = (n,) + model.input_shape
    if model.nspec.layers[0]["type"] == "embedding":
        return rng.integers(0, model.nspec.layers[0]["input_dim"], shape).astype(np.float32)
    return rng.normal(0, 1, shape).astype(np.float32)


def targets_for(model, n, rng):
    t, out = model.loss_type, model.output_shape
    if t in ("softmax_cross_entropy", "hinge"):
        return rng.integers(0, out[-1], n).astype(np.int64)
    if t == "binary_cross_entropy":
        return (rng.random((n,) + out) > 0.5).astype(np.float32)
    return rng.normal(0, 1, (n,) + out).astype(np.float32)


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


ACTS = ["linear", "relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "softmax"]


@pytest.mark.parametrize("act", ACTS)
def test_dense_with_each_activation(act, tmp_path):
    check({"input": [5], "layers": [{"type": "dense", "units": 6, "activation": act}, {"type": "dense", "units": 3}],
           "optimizer": {"type": "sgd", "lr": 0.1}}, tmp_path)


IMG = [7, 7, 2]
HEAD = [{"type": "flatten"}, {"type": "dense", "units": 3}]
LAYER_CASES = {
    "conv_valid": [{"type": "conv2d", "filters": 3, "kernel_size": 3}],
    "conv_same_stride2": [{"type": "conv2d", "filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}],
    "conv_int_pad_no_bias": [{"type": "conv2d", "filters": 3, "kernel_size": [3, 2], "padding": [1, 2],
                              "use_bias": False, "activation": "relu"}],
    "conv_dilated": [{"type": "conv2d", "filters": 2, "kernel_size": 2, "dilation_rate": 2, "activation": "elu"}],
    "conv_softmax_over_channels": [{"type": "conv2d", "filters": 4, "kernel_size": 3, "activation": "softmax"}],
    "maxpool_valid": [{"type": "maxpool2d", "pool_size": 2}],
    "maxpool_same": [{"type": "maxpool2d", "pool_size": 3, "strides": 2, "padding": "same"}],
    "maxpool_int_pad": [{"type": "maxpool2d", "pool_size": 3, "strides": 2, "padding": 1}],
    "avgpool_valid": [{"type": "avgpool2d", "pool_size": [2, 3], "strides": 1}],
    "avgpool_same_excludes_padding": [{"type": "avgpool2d", "pool_size": 3, "strides": 2, "padding": "same"}],
    "avgpool_int_pad": [{"type": "avgpool2d", "pool_size": 3, "strides": 2, "padding": [1, 0]}],
    "batchnorm_image": [{"type": "batchnorm", "momentum": 0.9, "epsilon": 0.01}],
    "layernorm_image": [{"type": "layernorm", "epsilon": 1e-5}],
    "maxout_before_conv": [{"type": "maxout", "pieces": 2}, {"type": "conv2d", "filters": 2, "kernel_size": 2}],
    "softmax_layer_axis_width": [{"type": "softmax", "axis": -2}],
    "activation_layers": [{"type": "relu"}, {"type": "leaky_relu", "alpha": 0.2}, {"type": "elu", "alpha": 0.5},
                          {"type": "gelu"}, {"type": "sigmoid"}, {"type": "tanh"}],
    "reshape_image": [{"type": "reshape", "target_shape": [7, 14, 1]},
                      {"type": "conv2d", "filters": 2, "kernel_size": 3}],
}


@pytest.mark.parametrize("case", sorted(LAYER_CASES))
def test_image_layers(case, tmp_path):
    check({"input": IMG, "layers": LAYER_CASES[case] + HEAD, "optimizer": {"type": "sgd", "lr": 0.05}}, tmp_path)


def test_global_avgpool_and_dropout(tmp_path):
    spec = {"input": IMG, "layers": [{"type": "conv2d", "filters": 4, "kernel_size": 3}, {"type": "globalavgpool2d"},
                                     {"type": "dropout", "rate": 0.0}, {"type": "dense", "units": 3}]}
    check(spec, tmp_path)
    spec["layers"][2]["rate"] = 0.5  # dropout's masks come from another generator: forward (eval) only
    check(spec, tmp_path, forward_only=True, name="net_dropout")


def test_image_shaped_output_stays_channels_last(tmp_path):
    check({"input": IMG, "layers": [{"type": "conv2d", "filters": 3, "kernel_size": 3, "padding": "same"}],
           "loss": "mse"}, tmp_path)


JOINS = {
    "add": {"type": "add", "inputs": ["a", "b"]},
    "concat_channels": {"type": "concat", "inputs": ["a", "b"]},
    "concat_width": {"type": "concat", "axis": -2, "inputs": ["a", "b"]},
    "concat_height": {"type": "concat", "axis": 1, "inputs": ["a", "b"]},
}


@pytest.mark.parametrize("join", sorted(JOINS))
def test_joins_of_images(join, tmp_path):
    layers = [{"type": "conv2d", "name": "a", "filters": 3, "kernel_size": 3, "padding": "same", "inputs": ["input"]},
              {"type": "conv2d", "name": "b", "filters": 3, "kernel_size": 1, "inputs": ["input"]},
              JOINS[join]] + HEAD
    check({"input": IMG, "layers": layers}, tmp_path)


SEQ_CASES = {
    **{f"rnn_{a}": [{"type": "rnn", "units": 4, "activation": a, "return_sequences": True},
                    {"type": "rnn", "units": 3}] for a in ["tanh", "relu", "sigmoid", "gelu", "leaky_relu", "linear"]},
    "lstm": [{"type": "lstm", "units": 4, "return_sequences": True}, {"type": "lstm", "units": 3}],
    "gru": [{"type": "gru", "units": 4, "return_sequences": True}, {"type": "gru", "units": 3}],
    "batchnorm_sequence": [{"type": "batchnorm"}, {"type": "gru", "units": 3}],
    "layernorm_sequence_maxout": [{"type": "layernorm"}, {"type": "maxout", "pieces": 2}, {"type": "lstm", "units": 3}],
    "concat_time": [{"type": "lstm", "units": 2, "return_sequences": True, "name": "s"},
                    {"type": "concat", "axis": -2, "inputs": ["input", "s"]}, {"type": "rnn", "units": 3}],
}


@pytest.mark.parametrize("case", sorted(SEQ_CASES))
def test_sequence_layers(case, tmp_path):
    layers = SEQ_CASES[case] + [{"type": "dense", "units": 2}]
    check({"input": [5, 2] if case != "concat_time" else [5, 2], "layers": layers,
           "optimizer": {"type": "sgd", "lr": 0.1}}, tmp_path)


def test_embedding_lstm(tmp_path):
    check({"input": [6], "layers": [{"type": "embedding", "input_dim": 9, "output_dim": 4},
                                    {"type": "lstm", "units": 5}, {"type": "dense", "units": 3}]}, tmp_path)


def test_vector_layers(tmp_path):
    check({"input": [6], "layers": [{"type": "batchnorm", "momentum": 0.8}, {"type": "dense", "units": 8},
                                    {"type": "layernorm"}, {"type": "maxout", "pieces": 4},
                                    {"type": "reshape", "target_shape": [2, 1]}, {"type": "flatten"},
                                    {"type": "dense", "units": 2}]}, tmp_path)


LOSSES = {
    "softmax_cross_entropy": ({"type": "softmax_cross_entropy"}, None),
    "bce_logits": ({"type": "binary_cross_entropy"}, None),
    "bce_probabilities": ({"type": "binary_cross_entropy", "from_logits": False}, "sigmoid"),
    "mse": ({"type": "mse"}, None),
    "huber_delta": ({"type": "huber", "delta": 0.3}, None),
    "hinge_margin": ({"type": "hinge", "margin": 2.0}, None),
}


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_losses(loss, tmp_path):
    cfg, act = LOSSES[loss]
    units = 1 if cfg["type"] == "binary_cross_entropy" else 3
    check({"input": [4], "layers": [{"type": "dense", "units": 5, "activation": "tanh"},
                                    {"type": "dense", "units": units, "activation": act}],
           "loss": cfg, "optimizer": {"type": "sgd", "lr": 0.5}}, tmp_path, steps=3)


OPTIMIZERS = {
    "sgd": {"type": "sgd", "lr": 0.1},
    "momentum": {"type": "momentum", "lr": 0.05, "momentum": 0.8},
    "nesterov": {"type": "nesterov", "lr": 0.05, "momentum": 0.7},
    "adagrad_eps": {"type": "adagrad", "lr": 0.1, "eps": 0.01},
    "rmsprop": {"type": "rmsprop", "lr": 0.01, "rho": 0.8, "eps": 0.001},
    "adadelta": {"type": "adadelta", "lr": 1.0, "rho": 0.9, "eps": 1e-4},
    "adam_eps": {"type": "adam", "lr": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 0.01},
    "adamw_no_bias_decay": {"type": "adamw", "lr": 0.01, "weight_decay": 0.5},
    "l1_l2": {"type": "adam", "lr": 0.01, "l1": 0.01, "l2": 0.05},
    "clipvalue": {"type": "sgd", "lr": 0.1, "clipvalue": 0.01},
    "clipnorm": {"type": "momentum", "lr": 0.1, "clipnorm": 0.05},
    "step_schedule": {"type": "adam", "lr": 0.05, "schedule": {"type": "step", "step_size": 1, "gamma": 0.5}},
    "cosine_schedule": {"type": "rmsprop", "lr": 0.05, "schedule": {"type": "cosine", "total_steps": 3,
                                                                     "min_lr": 0.001}},
    "momentum_schedule": {"type": "momentum", "lr": 0.1, "schedule": {"type": "step", "step_size": 1, "gamma": 0.3}},
    "nesterov_schedule": {"type": "nesterov", "lr": 0.1, "schedule": {"type": "cosine", "total_steps": 2}},
}


@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
def test_optimizers(opt, tmp_path):
    check({"input": [4], "layers": [{"type": "dense", "units": 5, "activation": "relu"},
                                    {"type": "layernorm"}, {"type": "dense", "units": 3}],
           "optimizer": OPTIMIZERS[opt]}, tmp_path, steps=4)


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
