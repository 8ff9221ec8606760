"""A pyengine network as Keras 3 code that computes the same thing, and its weights for that model.

Keras is channels-last like pyengine, so most layers map one to one. Where Keras has no exact
equivalent the code carries its own: explicit zero padding before a conv (integer pads), pools
that pad with -inf (max) or leave padding out of the mean (average), activations with pyengine's
parameters (leaky_relu 0.01 where Keras says 0.2, gelu's tanh form where Keras is exact), maxout,
the losses (hinge is the multiclass SVM, not categorical_hinge; huber keeps its delta) and one
optimizer class with pyengine's update rules (Keras' Adam, RMSprop and Adagrad put eps elsewhere;
its AdamW would decay biases) plus L1/L2 on weights, value and global-norm clipping and schedules.
Only text and arrays are made here: pyengine never imports keras.
"""
from __future__ import annotations

import numpy as np

from .. import layertypes
from .common import ExportError, attr_names, py

__all__ = ["model_code", "to_keras_state", "from_keras_state", "KERAS_VERSION"]

KERAS_VERSION = "3.15.1"


def _act_fn(name, alpha=None):
    """A Keras activation argument (a string or the name of a function defined in the file)."""
    if name in (None, "linear"):
        return None
    if alpha is None:
        alpha = {"leaky_relu": 0.01, "elu": 1.0}.get(name)
    if name in ("relu", "sigmoid", "tanh", "softmax"):
        return repr(name)
    if name == "gelu":
        return "gelu_tanh"
    fn = "leaky_relu" if name == "leaky_relu" else "elu"
    return f"{fn}_{str(alpha).replace('.', '_').replace('-', 'm')}"


def _act_defs(used):
    out = []
    for fn in sorted(used):
        if fn == "gelu_tanh":
            out.append("def gelu_tanh(x):\n    \"\"\"pyengine's gelu: the tanh form (Keras' 'gelu' is the exact one).\"\"\"\n"
                       "    return keras.activations.gelu(x, approximate=True)\n")
        elif fn.startswith(("leaky_relu_", "elu_")):
            kind, alpha = ("leaky_relu", fn[len("leaky_relu_"):]) if fn.startswith("leaky") else ("elu", fn[4:])
            value = alpha.replace("m", "-").replace("_", ".")
            arg = f"negative_slope={value}" if kind == "leaky_relu" else f"alpha={value}"
            out.append(f"@keras.saving.register_keras_serializable()\ndef {fn}(x):\n"
                       f"    return keras.activations.{kind}(x, {arg})\n")
    return out


_OPTIMIZER = '''
DECAYED = ("kernel", "recurrent_kernel", "embeddings")  # pyengine's "weight*": never biases or norm scales


class Schedule(keras.optimizers.schedules.LearningRateSchedule):
    """pyengine's learning rate after `step` completed steps."""

    def __call__(self, step):
        return lr_at(step)


@keras.saving.register_keras_serializable()
class Nnplay(keras.optimizers.Optimizer):
    """pyengine's update rules, hyper-parameters and order of work: gradient + L2 w + L1 sign(w) on
    weights, clip each value, clip the global norm, then the update with the scheduled lr."""

    def __init__(self, **kw):
        super().__init__(learning_rate=Schedule(), name="nnplay", **kw)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.slots = {s: self.add_optimizer_variables(variables, s) for s in SLOTS}

    def apply(self, grads, trainable_variables=None):
        variables = trainable_variables if trainable_variables is not None else self._trainable_variables
        grads = list(grads)
        for i, v in enumerate(variables):
            if v.path.split("/")[-1] in DECAYED and (L1 or L2):
                grads[i] = grads[i] + L2 * v + L1 * ops.sign(v)
        if CLIPVALUE is not None:
            grads = [ops.clip(g, -CLIPVALUE, CLIPVALUE) for g in grads]
        if CLIPNORM is not None:
            total = ops.sqrt(sum(ops.sum(ops.square(g)) for g in grads))
            scale = ops.where(total > CLIPNORM, CLIPNORM / total, 1.0)
            grads = [g * scale for g in grads]
        return super().apply(grads, trainable_variables)

    def update_step(self, g, w, lr):
        lr = ops.cast(lr, w.dtype)
        s = {k: v[self._get_variable_index(w)] for k, v in self.slots.items()}
        t = ops.cast(self.iterations + 1, w.dtype)
        decayed = w.path.split("/")[-1] in DECAYED
{update}
'''

_UPDATES = {
    "sgd": "        self.assign_sub(w, lr * g)",
    "momentum": ("        self.assign(s['velocity'], MOMENTUM * s['velocity'] - lr * g)\n"
                 "        self.assign_add(w, s['velocity'])"),
    "nesterov": ("        self.assign(s['velocity'], MOMENTUM * s['velocity'] - lr * g)\n"
                 "        self.assign_add(w, MOMENTUM * s['velocity'] - lr * g)"),
    "adagrad": ("        self.assign_add(s['accum'], ops.square(g))\n"
                "        self.assign_sub(w, lr * g / (ops.sqrt(s['accum']) + EPS))"),
    "rmsprop": ("        self.assign(s['mean_square'], RHO * s['mean_square'] + (1 - RHO) * ops.square(g))\n"
                "        self.assign_sub(w, lr * g / (ops.sqrt(s['mean_square']) + EPS))"),
    "adadelta": ("        self.assign(s['mean_square_grad'], RHO * s['mean_square_grad'] + (1 - RHO) * ops.square(g))\n"
                 "        dx = ops.sqrt(s['mean_square_delta'] + EPS) / ops.sqrt(s['mean_square_grad'] + EPS) * g\n"
                 "        self.assign(s['mean_square_delta'], RHO * s['mean_square_delta'] + (1 - RHO) * ops.square(dx))\n"
                 "        self.assign_sub(w, lr * dx)"),
    "adam": ("        self.assign(s['m'], BETA1 * s['m'] + (1 - BETA1) * g)\n"
             "        self.assign(s['v'], BETA2 * s['v'] + (1 - BETA2) * ops.square(g))\n"
             "        m_hat = s['m'] / (1 - ops.power(BETA1, t))\n"
             "        v_hat = s['v'] / (1 - ops.power(BETA2, t))\n"
             "        self.assign_sub(w, lr * m_hat / (ops.sqrt(v_hat) + EPS))"),
}
_UPDATES["adamw"] = ("        if decayed and WEIGHT_DECAY:  # decoupled decay of the weights only\n"
                     "            self.assign_sub(w, lr * WEIGHT_DECAY * w)\n" + _UPDATES["adam"])
_SLOTS = {"sgd": (), "momentum": ("velocity",), "nesterov": ("velocity",), "adagrad": ("accum",),
          "rmsprop": ("mean_square",), "adadelta": ("mean_square_grad", "mean_square_delta"),
          "adam": ("m", "v"), "adamw": ("m", "v")}


class _Plan:
    def __init__(self, nspec):
        self.nspec = nspec
        self.names = attr_names([c["name"] for c in nspec.layers])
        self.lines, self.acts, self.params = [], set(), []  # params: (key, layer, pname, to_k, from_k)
        self.helpers = {}  # name -> code (a layer class the file needs), in order of first use
        var = {"input": "inputs"}
        for cfg in nspec.layers:
            var[cfg["name"]] = self._layer(cfg, [var[i] for i in cfg["inputs"]])
        self.output = var[nspec.layers[-1]["name"]]

    def act(self, name, alpha=None):
        fn = _act_fn(name, alpha)
        if fn and not fn.startswith("'"):
            self.acts.add(fn)
        return fn

    # What a layer record's keras hook builds with (pyengine/layertypes): lines, param(), act(),
    # helper() and py().
    py = staticmethod(py)

    def helper(self, name, code):
        self.helpers.setdefault(name, code)

    def param(self, key, layer, pname, to_k=None, from_k=None):
        self.params.append((key, layer, pname, to_k or (lambda a: a), from_k or (lambda a: a)))

    def _layer(self, cfg, ins):
        hook = layertypes.get(cfg["type"]).keras
        if hook is None:
            raise ExportError(f"layer {cfg['index']} '{cfg['name']}': type {cfg['type']!r} has no Keras translation")
        k = self.names[cfg["name"]]
        hook(self, cfg, ins, k)
        return k


def _loss_code(loss):
    t = loss["type"]
    head = f"def loss_fn(target, out):\n    \"\"\"pyengine's {t} loss (mean over the batch).\"\"\"\n"
    if t == "softmax_cross_entropy":
        body = ("    logp = ops.log_softmax(out, axis=-1)\n"
                "    if len(target.shape) == len(out.shape) - 1 or target.shape[-1] != out.shape[-1]:  # class labels\n"
                "        target = ops.one_hot(ops.cast(ops.reshape(target, out.shape[:-1]), 'int32'), out.shape[-1])\n"
                "    return -ops.sum(ops.cast(target, out.dtype) * logp) / (ops.size(out) // out.shape[-1])\n")
    elif t == "binary_cross_entropy" and loss["from_logits"]:
        body = ("    t = ops.cast(ops.reshape(target, ops.shape(out)), out.dtype)\n"
                "    return ops.mean(ops.relu(out) - out * t + ops.log1p(ops.exp(-ops.abs(out))))\n")
    elif t == "binary_cross_entropy":
        body = ("    eps = 1.1920929e-07  # float32 eps, as pyengine (Keras clips at 1e-7)\n"
                "    p = ops.clip(out, eps, 1 - eps)\n"
                "    t = ops.cast(ops.reshape(target, ops.shape(out)), out.dtype)\n"
                "    return -ops.mean(t * ops.log(p) + (1 - t) * ops.log1p(-p))\n")
    elif t == "mse":
        body = "    return ops.mean(ops.square(out - ops.cast(ops.reshape(target, ops.shape(out)), out.dtype)))\n"
    elif t == "huber":
        d = py(loss["delta"])
        body = ("    diff = out - ops.cast(ops.reshape(target, ops.shape(out)), out.dtype)\n"
                "    a = ops.abs(diff)\n"
                f"    return ops.mean(ops.where(a <= {d}, 0.5 * diff * diff, {d} * (a - 0.5 * {d})))\n")
    elif t == "hinge":
        body = ("    # multiclass SVM: sum over wrong classes of max(0, s_j - s_y + margin); Keras' categorical_hinge differs\n"
                "    k = out.shape[-1]\n"
                "    if len(target.shape) == len(out.shape) and target.shape[-1] == k:\n"
                "        target = ops.argmax(target, axis=-1)\n"
                "    y = ops.one_hot(ops.cast(ops.reshape(target, out.shape[:-1]), 'int32'), k)\n"
                "    correct = ops.sum(out * y, axis=-1, keepdims=True)\n"
                f"    margins = ops.relu(out - correct + {py(loss['margin'])}) * (1 - y)\n"
                "    return ops.sum(margins) / (ops.size(out) // k)\n")
    else:
        raise ExportError(f"loss {t!r} has no Keras translation")
    return head + body


def _optimizer_code(opt):
    t = opt["type"]
    consts = [f"L1 = {py(opt['l1'])}", f"L2 = {py(opt['l2'])}", f"CLIPVALUE = {py(opt['clipvalue'])}",
              f"CLIPNORM = {py(opt['clipnorm'])}", f"SLOTS = {_SLOTS[t]!r}"]
    for key, const in (("momentum", "MOMENTUM"), ("eps", "EPS"), ("rho", "RHO"), ("beta1", "BETA1"),
                       ("beta2", "BETA2"), ("weight_decay", "WEIGHT_DECAY")):
        if key in opt:
            consts.append(f"{const} = {py(opt[key])}")
    lr, sched = py(opt["lr"]), opt.get("schedule")
    lines = ["", "", "def lr_at(step):", "    \"\"\"pyengine's learning rate after `step` completed steps.\"\"\""]
    if not sched:
        lines.append(f"    return {lr}")
    elif sched["type"] == "step":
        lines.append(f"    return {lr} * ops.power({py(sched['gamma'])}, ops.cast(step // {sched['step_size']}, 'float32'))")
    else:
        lines += [f"    progress = ops.minimum(ops.cast(step, 'float32'), {sched['total_steps']}) / {sched['total_steps']}",
                  f"    return {py(sched['min_lr'])} + ({lr} - {py(sched['min_lr'])}) * 0.5 * "
                  "(1.0 + ops.cos(math.pi * progress))"]
    return (f"# pyengine's {t} and its options\n" + "\n".join(consts) + "\n".join(lines) + "\n"
            + _OPTIMIZER.replace("{update}", _UPDATES[t]))


LOADER = '''
def load_safetensors(path):
    """{name: numpy array} from a .safetensors file, read with the standard library and NumPy."""
    dtypes = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8", "I32": "<i4", "U8": "u1", "BOOL": "?"}
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + begin:8 + n + end], dtype=dtypes[info["dtype"]]).reshape(info["shape"]).copy()
    return out


def save_safetensors(tensors, path):
    """Write {name: array} as .safetensors."""
    names = {"float32": "F32", "float64": "F64", "int64": "I64", "int32": "I32", "uint8": "U8"}
    header, chunks, offset = {"__metadata__": {"format": "keras"}}, [], 0
    for name, a in tensors.items():
        raw = np.ascontiguousarray(a).tobytes()
        header[name] = {"dtype": names[str(a.dtype)], "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def get_weights(model):
    """{"<layer>.<weight>": array} of the model (what set_weights takes)."""
    return {f"{layer.name}.{w.path.split('/')[-1]}": np.asarray(keras.ops.convert_to_numpy(w.value))
            for layer in model.layers for w in layer.weights}


def set_weights(model, tensors):
    """Put {"<layer>.<weight>": array} into the model's layers (the names of its weights)."""
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([tensors[f"{layer.name}.{w.path.split('/')[-1]}"] for w in layer.weights])


def load_model(path="weights.safetensors"):
    """The network with the trained weights from `path`."""
    model = build_model()
    set_weights(model, load_safetensors(path))
    return model
'''


def _extras(loss):
    t = loss["type"]
    if t == "softmax_cross_entropy":
        prob = "    e = np.exp(out - out.max(-1, keepdims=True))\n    return e / e.sum(-1, keepdims=True)\n"
    elif t == "binary_cross_entropy" and loss["from_logits"]:
        prob = "    return 1.0 / (1.0 + np.exp(-out))\n"
    else:
        prob = "    return out\n"
    if t in ("softmax_cross_entropy", "hinge"):
        acc = ("    labels = target.argmax(-1) if target.ndim == out.ndim else target\n"
               "    return float((out.argmax(-1) == labels).mean())\n")
    elif t == "binary_cross_entropy":
        acc = f"    return float(((out > {'0.0' if loss['from_logits'] else '0.5'}) == (target.reshape(out.shape) >= 0.5)).mean())\n"
    else:
        acc = "    return None\n"
    return ("def probabilities(out):\n    \"\"\"What nnplay's model.predict returns for these outputs.\"\"\"\n" + prob
            + "\n\ndef accuracy(out, target):\n    \"\"\"nnplay's accuracy (None for regression losses).\"\"\"\n" + acc)


def model_code(nspec, title="nnplay network"):
    plan = _Plan(nspec)
    opt = _optimizer_code(nspec.optimizer)
    lines = [f'"""{title}, exported from nnplay for Keras {KERAS_VERSION} (checked on its torch backend).',
             "", f"Input: (N, {', '.join(map(str, nspec.input))}), channels-last as in nnplay. build_model() makes the "
             "network; load_model() adds the trained weights; compile(model) sets pyengine's loss and optimizer.",
             '"""', "import json", "import math", "import struct", "", "import keras", "import numpy as np",
             "from keras import layers, ops", "", f"INPUT_SHAPE = {tuple(nspec.input)!r}", ""]
    lines += ["", *_act_defs(plan.acts)]
    if plan.helpers:
        lines.append("\n\n\n".join(code.strip("\n") for code in plan.helpers.values()) + "\n")
    lines += ["", "def build_model():", f"    inputs = keras.Input(shape={tuple(nspec.input)!r})"]
    lines += [f"    {s}" for s in plan.lines]
    lines += [f"    return keras.Model(inputs, {plan.output}, name='nnplay')", "", "",
              _loss_code(nspec.loss), "", _extras(nspec.loss), "", opt, "",
              "def compile(model):", "    \"\"\"pyengine's loss and optimizer (every hyper-parameter of the run).\"\"\"",
              "    model.compile(optimizer=Nnplay(), loss=loss_fn)", "    return model", "", LOADER.strip("\n"), ""]
    return "\n".join(lines)


def to_keras_state(nspec, state):
    out = {}
    for key, layer, pname, to_k, _ in _Plan(nspec).params:
        if isinstance(pname, tuple):
            out[key] = np.ascontiguousarray(to_k(tuple(state[f"{layer}.{p}"] for p in pname)), np.float32)
        else:
            out[key] = np.ascontiguousarray(to_k(state[f"{layer}.{pname}"]), np.float32)
    return out


def from_keras_state(nspec, tensors):
    out = {}
    for key, layer, pname, _, from_k in _Plan(nspec).params:
        if key not in tensors:
            raise ExportError(f"tensor '{key}' is missing (layer '{layer}')")
        value = from_k(np.asarray(tensors[key], np.float32))
        if isinstance(pname, tuple):
            for p, v in zip(pname, value):
                out[f"{layer}.{p}"] = np.ascontiguousarray(v)
        else:
            out[f"{layer}.{pname}"] = np.ascontiguousarray(value)
    return out
