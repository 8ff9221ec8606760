"""Small networks covering every layer type, join, activation, loss and optimizer option of the
engine (spec.py), shared by the export fidelity tests (PyTorch, Keras, ONNX)."""
import numpy as np


def rel_err(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-6)) if a.size else 0.0


def jitter(model, rng):
    """Non-trivial weights: biases, norm scales and running stats away from their initial values."""
    state = model.state_dict()
    for k, v in state.items():
        if k.endswith("running_var"):
            state[k] = (1.0 + rng.uniform(0, 0.5, v.shape)).astype(np.float32)
        else:
            state[k] = (v + rng.normal(0, 0.1, v.shape)).astype(np.float32)
    model.load_state_dict(state)


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


ACTS = ["linear", "relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "softmax"]


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


JOINS = {
    "add": {"type": "add", "inputs": ["a", "b"]},
    "concat_channels": {"type": "concat", "inputs": ["a", "b"]},
    "concat_width": {"type": "concat", "axis": -2, "inputs": ["a", "b"]},
    "concat_height": {"type": "concat", "axis": 1, "inputs": ["a", "b"]},
}


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


LOSSES = {
    "softmax_cross_entropy": ({"type": "softmax_cross_entropy"}, None),
    "bce_logits": ({"type": "binary_cross_entropy"}, None),
    "bce_probabilities": ({"type": "binary_cross_entropy", "from_logits": False}, "sigmoid"),
    "mse": ({"type": "mse"}, None),
    "huber_delta": ({"type": "huber", "delta": 0.3}, None),
    "hinge_margin": ({"type": "hinge", "margin": 2.0}, None),
}


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



JOIN_BRANCHES = [
    {"type": "conv2d", "name": "a", "filters": 3, "kernel_size": 3, "padding": "same", "inputs": ["input"]},
    {"type": "conv2d", "name": "b", "filters": 3, "kernel_size": 1, "inputs": ["input"]}]
GLOBAL_POOL = {"input": IMG, "layers": [{"type": "conv2d", "filters": 4, "kernel_size": 3}, {"type": "globalavgpool2d"},
                                        {"type": "dropout", "rate": 0.5}, {"type": "dense", "units": 3}]}
IMAGE_OUTPUT = {"input": IMG, "layers": [{"type": "conv2d", "filters": 3, "kernel_size": 3, "padding": "same"}],
                "loss": "mse"}
EMBEDDING = {"input": [6], "layers": [{"type": "embedding", "input_dim": 9, "output_dim": 4},
                                      {"type": "lstm", "units": 5}, {"type": "dense", "units": 3}]}
VECTORS = {"input": [6], "layers": [{"type": "batchnorm", "momentum": 0.8}, {"type": "dense", "units": 8},
                                    {"type": "layernorm"}, {"type": "maxout", "pieces": 4},
                                    {"type": "reshape", "target_shape": [2, 1]}, {"type": "flatten"},
                                    {"type": "dense", "units": 2}]}


def loss_spec(name):
    """A small classifier or regressor trained with the loss LOSSES[name]."""
    cfg, act = LOSSES[name]
    units = 1 if cfg["type"] == "binary_cross_entropy" else 3
    return {"input": [4], "layers": [{"type": "dense", "units": 5, "activation": "tanh"},
                                     {"type": "dense", "units": units, "activation": act}],
            "loss": cfg, "optimizer": {"type": "sgd", "lr": 0.5}}


def optimizer_spec(name):
    """A small network (weights, biases and a layernorm scale) trained with OPTIMIZERS[name]."""
    return {"input": [4], "layers": [{"type": "dense", "units": 5, "activation": "relu"},
                                     {"type": "layernorm"}, {"type": "dense", "units": 3}],
            "optimizer": OPTIMIZERS[name]}


def all_forward_specs():
    """(id, spec) for every network above, for exporters checked on inference only (ONNX)."""
    out = [(f"dense_{a}", {"input": [5], "layers": [{"type": "dense", "units": 6, "activation": a},
                                                   {"type": "dense", "units": 3}]}) for a in ACTS]
    out += [(c, {"input": IMG, "layers": LAYER_CASES[c] + HEAD}) for c in sorted(LAYER_CASES)]
    out += [(f"join_{j}", {"input": IMG, "layers": JOIN_BRANCHES + [JOINS[j]] + HEAD}) for j in sorted(JOINS)]
    out += [(c, {"input": [5, 2], "layers": SEQ_CASES[c] + [{"type": "dense", "units": 2}]}) for c in sorted(SEQ_CASES)]
    out += [("globalavgpool_dropout", GLOBAL_POOL), ("image_output", IMAGE_OUTPUT), ("embedding_lstm", EMBEDDING),
            ("vector_layers", VECTORS)]
    return out
