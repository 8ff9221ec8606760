"""Layer implementations: spec `type` -> object with `init` and `forward`.

    init(cfg, param_shapes, rng) -> {param name: float32 array}
    forward(cfg, params, inputs, ctx) -> Tensor

`cfg` is a normalised layer dict from spec.validate (every field present, 2-tuples resolved, `pads`
as ((top, bottom), (left, right))); `params` maps the contract's param names to Parameters; `inputs`
is a list of Tensors with the batch axis first; `ctx` has `.training` and `.rng`.
Axis fields (concat, softmax) count the batch axis, as in Keras; negative axes are the usual choice.
"""
import math

import numpy as np

from . import ops
from .ops.elementwise import ACTIVATIONS, DEFAULT_ALPHA

RELU_FAMILY = ("relu", "leaky_relu", "elu", "gelu")


def apply_activation(name, x, cfg=None):
    """The `activation` field of dense/conv2d/rnn (or an activation layer) applied to x."""
    if name in (None, "linear"):
        return x
    if name == "softmax":
        return ops.softmax(x, axis=-1)
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of: {', '.join(ACTIVATIONS)}")
    alpha = (cfg or {}).get("alpha")
    if alpha is None:
        alpha = DEFAULT_ALPHA.get(name)
    return ops.Activation.apply(x, kind=name, alpha=alpha)


# ---- initialisation -------------------------------------------------------------------------
def _fans(shape):
    """(fan_in, fan_out): dense (in, out); conv (KH, KW, Cin, F) counts the receptive field."""
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


def _weight(shape, rng, activation):
    fan_in, fan_out = _fans(shape)
    if activation in RELU_FAMILY:
        limit = math.sqrt(6.0 / fan_in)  # He-uniform: keeps the variance through relu-like units
    else:
        limit = math.sqrt(6.0 / (fan_in + fan_out))  # Glorot-uniform
    return rng.uniform(-limit, limit, size=shape).astype(np.float32)


def _default_init(cfg, param_shapes, rng):
    out = {}
    activation = cfg.get("activation")
    for name, shape in param_shapes.items():
        shape = tuple(shape)
        if name.startswith("weight"):
            out[name] = _weight(shape, rng, activation)
        elif name in ("gamma", "running_var"):
            out[name] = np.ones(shape, np.float32)
        else:  # biases, beta, running_mean
            out[name] = np.zeros(shape, np.float32)
    return out


class Layer:
    """Defaults: Glorot/He weights, zero biases; subclasses override `forward` (and `init` if special)."""

    def init(self, cfg, param_shapes, rng):
        return _default_init(cfg, param_shapes, rng)

    def forward(self, cfg, params, inputs, ctx):
        raise NotImplementedError


def _bias(cfg, params):
    return params.get("bias") if cfg.get("use_bias", True) else None


class Dense(Layer):
    def forward(self, cfg, params, inputs, ctx):
        act = cfg.get("activation")
        fuse = act == "relu"  # bias + relu in the same pass over the output
        y = ops.dense(inputs[0], params["weight"], _bias(cfg, params), relu=fuse)
        return y if fuse else apply_activation(act, y, cfg)


class Conv2D(Layer):
    def forward(self, cfg, params, inputs, ctx):
        act = cfg.get("activation")
        fuse = act == "relu"
        y = ops.conv2d(inputs[0], params["weight"], _bias(cfg, params), strides=cfg["strides"],
                       pads=cfg["pads"], dilation=cfg["dilation_rate"], relu=fuse)
        return y if fuse else apply_activation(act, y, cfg)


class MaxPool2D(Layer):
    def forward(self, cfg, params, inputs, ctx):
        return ops.maxpool2d(inputs[0], cfg["pool_size"], cfg["strides"], cfg["pads"])


class AvgPool2D(Layer):
    def forward(self, cfg, params, inputs, ctx):
        return ops.avgpool2d(inputs[0], cfg["pool_size"], cfg["strides"], cfg["pads"])


class GlobalAvgPool2D(Layer):
    def forward(self, cfg, params, inputs, ctx):
        return ops.global_avgpool2d(inputs[0])


class Flatten(Layer):
    def forward(self, cfg, params, inputs, ctx):
        return ops.flatten(inputs[0])


class Reshape(Layer):
    def forward(self, cfg, params, inputs, ctx):
        x = inputs[0]
        return ops.reshape(x, (x.shape[0],) + tuple(cfg["target_shape"]))


class Dropout(Layer):
    def forward(self, cfg, params, inputs, ctx):
        return ops.dropout(inputs[0], cfg["rate"], ctx.training, ctx.rng)


class BatchNorm(Layer):
    def forward(self, cfg, params, inputs, ctx):
        return ops.batchnorm(inputs[0], params["gamma"], params["beta"], params["running_mean"].data,
                             params["running_var"].data, momentum=cfg["momentum"], eps=cfg["epsilon"],
                             training=ctx.training)


class LayerNorm(Layer):
    def forward(self, cfg, params, inputs, ctx):
        return ops.layernorm(inputs[0], params["gamma"], params["beta"], eps=cfg["epsilon"])


class Embedding(Layer):
    def init(self, cfg, param_shapes, rng):
        return {"weight": rng.normal(0.0, 0.05, size=tuple(param_shapes["weight"])).astype(np.float32)}

    def forward(self, cfg, params, inputs, ctx):
        return ops.embedding(inputs[0].data, params["weight"])


class SimpleRNN(Layer):
    def forward(self, cfg, params, inputs, ctx):
        y = ops.rnn(inputs[0], params["weight_ih"], params["weight_hh"], params["bias"],
                    activation=cfg.get("activation") or "linear",
                    return_sequences=cfg["return_sequences"])
        return y


class LSTM(Layer):
    def init(self, cfg, param_shapes, rng):
        out = _default_init(cfg, param_shapes, rng)
        u = param_shapes["weight_hh"][0]
        out["bias"][u:2 * u] = 1.0  # forget gate starts open so early gradients flow through time
        return out

    def forward(self, cfg, params, inputs, ctx):
        return ops.lstm(inputs[0], params["weight_ih"], params["weight_hh"], params["bias"],
                        return_sequences=cfg["return_sequences"])


class GRU(Layer):
    def forward(self, cfg, params, inputs, ctx):
        return ops.gru(inputs[0], params["weight_ih"], params["weight_hh"], params["bias_ih"],
                       params["bias_hh"], return_sequences=cfg["return_sequences"])


class Add(Layer):
    def forward(self, cfg, params, inputs, ctx):
        return ops.add(*inputs)


class Concat(Layer):
    def forward(self, cfg, params, inputs, ctx):
        return ops.concat(inputs, axis=cfg.get("axis", -1))


class Activation(Layer):
    """relu, sigmoid, tanh, gelu, leaky_relu (alpha), elu (alpha) as standalone layers."""

    def __init__(self, kind):
        self.kind = kind

    def forward(self, cfg, params, inputs, ctx):
        return apply_activation(self.kind, inputs[0], cfg)


class Softmax(Layer):
    def forward(self, cfg, params, inputs, ctx):
        return ops.softmax(inputs[0], axis=cfg.get("axis", -1))


class Maxout(Layer):
    def forward(self, cfg, params, inputs, ctx):
        return ops.maxout(inputs[0], cfg.get("pieces", 2))


LAYERS = {
    "dense": Dense(),
    "conv2d": Conv2D(),
    "maxpool2d": MaxPool2D(),
    "avgpool2d": AvgPool2D(),
    "globalavgpool2d": GlobalAvgPool2D(),
    "flatten": Flatten(),
    "reshape": Reshape(),
    "dropout": Dropout(),
    "batchnorm": BatchNorm(),
    "layernorm": LayerNorm(),
    "embedding": Embedding(),
    "rnn": SimpleRNN(),
    "lstm": LSTM(),
    "gru": GRU(),
    "add": Add(),
    "concat": Concat(),
    "relu": Activation("relu"),
    "sigmoid": Activation("sigmoid"),
    "tanh": Activation("tanh"),
    "gelu": Activation("gelu"),
    "leaky_relu": Activation("leaky_relu"),
    "elu": Activation("elu"),
    "softmax": Softmax(),
    "maxout": Maxout(),
}
