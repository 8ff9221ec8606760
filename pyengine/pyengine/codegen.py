"""A network as source code: pyengine Python, PyTorch and Keras (pure functions of a NormalizedSpec).

The playground's Python view shows these. The PyTorch (and Keras) code comes from pyengine.export,
which also writes the weights, data and scripts of a trained network.
"""
from __future__ import annotations

import json
import pprint

from .export.pytorch import model_code as _pytorch_code

__all__ = ["export", "to_python", "to_pytorch", "to_keras"]


def export(nspec, kind):
    makers = {"python": to_python, "pytorch": to_pytorch, "keras": to_keras}
    if kind not in makers:
        raise ValueError(f"unknown code kind {kind!r}; choose python, pytorch or keras")
    return makers[kind](nspec)


def to_python(nspec):
    spec = nspec.to_spec()
    body = pprint.pformat(json.loads(json.dumps(spec)), indent=1, width=100, sort_dicts=False)
    body = body.replace("True", "True").replace("None", "None")
    return ("import pyengine\n\n"
            f"spec = {body}\n\n"
            "model = pyengine.build(spec)\n"
            "print(model.summary())\n")


def to_pytorch(nspec):
    """The network as PyTorch code that computes what pyengine does (pyengine.export.pytorch)."""
    return _pytorch_code(nspec)


_KERAS = {"maxpool2d": "MaxPooling2D", "avgpool2d": "AveragePooling2D", "globalavgpool2d": "GlobalAveragePooling2D",
          "flatten": "Flatten", "dropout": "Dropout", "batchnorm": "BatchNormalization",
          "layernorm": "LayerNormalization", "embedding": "Embedding", "rnn": "SimpleRNN", "lstm": "LSTM",
          "gru": "GRU", "add": "Add", "concat": "Concatenate", "softmax": "Softmax", "reshape": "Reshape"}


def to_keras(nspec):
    lines = ["import keras", "from keras import layers", "",
             f"inputs = keras.Input(shape={tuple(nspec.input)})"]
    names = {"input": "inputs"}
    for cfg in nspec.layers:
        t, n = cfg["type"], cfg["name"]
        ident = "".join(c if c.isalnum() else "_" for c in n)
        ins = [names[i] for i in cfg["inputs"]]
        arg = ins[0] if len(ins) == 1 else "[" + ", ".join(ins) + "]"
        act = cfg.get("activation")
        act_s = f", activation={act!r}" if act not in (None, "linear") else ""
        if t == "dense":
            call = f"layers.Dense({cfg['units']}{act_s}, use_bias={cfg['use_bias']}"
        elif t == "conv2d":
            pad = cfg["padding"]
            if not isinstance(pad, str):
                (pt, pb), (pl, pr) = cfg["pads"]
                lines.append(f"{ident}_pad = layers.ZeroPadding2D((({pt}, {pb}), ({pl}, {pr})))({arg})")
                arg, pad = f"{ident}_pad", "valid"
            call = (f"layers.Conv2D({cfg['filters']}, {tuple(cfg['kernel_size'])}, strides={tuple(cfg['strides'])}, "
                    f"padding={pad!r}, dilation_rate={tuple(cfg['dilation_rate'])}{act_s}, use_bias={cfg['use_bias']}")
        elif t in ("maxpool2d", "avgpool2d"):
            pad = cfg["padding"] if isinstance(cfg["padding"], str) else "valid"
            call = f"layers.{_KERAS[t]}({tuple(cfg['pool_size'])}, strides={tuple(cfg['strides'])}, padding={pad!r}"
        elif t == "dropout":
            call = f"layers.Dropout({cfg['rate']}"
        elif t == "batchnorm":
            call = f"layers.BatchNormalization(momentum={cfg['momentum']}, epsilon={cfg['epsilon']}"
        elif t == "layernorm":
            call = f"layers.LayerNormalization(epsilon={cfg['epsilon']}"
        elif t == "embedding":
            call = f"layers.Embedding({cfg['input_dim']}, {cfg['output_dim']}"
        elif t in ("rnn", "lstm", "gru"):
            extra = f", activation={cfg['activation']!r}" if t == "rnn" else ""
            call = f"layers.{_KERAS[t]}({cfg['units']}, return_sequences={cfg['return_sequences']}{extra}"
        elif t == "concat":
            call = f"layers.Concatenate(axis={cfg['axis']}"
        elif t == "softmax":
            call = f"layers.Softmax(axis={cfg['axis']}"
        elif t == "reshape":
            call = f"layers.Reshape({tuple(cfg['target_shape'])}"
        elif t in ("relu", "sigmoid", "tanh", "gelu"):
            call = f"layers.Activation({t!r}"
        elif t == "leaky_relu":
            call = f"layers.LeakyReLU(negative_slope={cfg['alpha']}"
        elif t == "elu":
            call = f"layers.ELU(alpha={cfg['alpha']}"
        elif t == "maxout":
            lines.append(f"{ident} = layers.Lambda(lambda t: keras.ops.max(keras.ops.reshape(t, "
                         f"(-1, *t.shape[1:-1], t.shape[-1] // {cfg['pieces']}, {cfg['pieces']})), axis=-1), "
                         f"name={n!r})({arg})")
            names[n] = ident
            continue
        else:
            call = f"layers.{_KERAS[t]}("
        sep = "" if call.endswith("(") else ", "
        lines.append(f"{ident} = {call}{sep}name={n!r})({arg})")
        names[n] = ident
    loss = {"softmax_cross_entropy": "keras.losses.SparseCategoricalCrossentropy(from_logits=True)",
            "binary_cross_entropy": "keras.losses.BinaryCrossentropy(from_logits=True)", "mse": "'mse'",
            "huber": "keras.losses.Huber()", "hinge": "'categorical_hinge'"}[nspec.loss["type"]]
    opt = {"sgd": "SGD", "momentum": "SGD", "nesterov": "SGD", "adagrad": "Adagrad", "rmsprop": "RMSprop",
           "adadelta": "Adadelta", "adam": "Adam", "adamw": "AdamW"}[nspec.optimizer["type"]]
    extra = ""
    if nspec.optimizer["type"] in ("momentum", "nesterov"):
        extra = f", momentum={nspec.optimizer['momentum']}" + (", nesterov=True" if nspec.optimizer["type"] == "nesterov" else "")
    lines += ["", f"model = keras.Model(inputs, {names[nspec.layers[-1]['name']]})",
              f"model.compile(optimizer=keras.optimizers.{opt}(learning_rate={nspec.optimizer['lr']}{extra}), "
              f"loss={loss}, metrics=['accuracy'])", "model.summary()", ""]
    return "\n".join(lines)
