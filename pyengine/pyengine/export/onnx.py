"""A trained pyengine network as an ONNX inference model, written without the onnx package.

ONNX files are protocol buffers; the handful of messages a model needs (ModelProto, GraphProto,
NodeProto, AttributeProto, TensorProto, ValueInfoProto) are written here field by field from
onnx.proto's field numbers. Opset 17 (IR version 8), weights as initializers, float32.

The graph stays channels-last like pyengine: a conv or pool transposes to NCHW and back around
itself. Recurrent layers are unrolled over their (fixed) sequence length, which keeps pyengine's
gate order and any activation exact. Outputs: "output" (the network's raw output, as
Model.forward) and, for classifiers, "probabilities" (as Model.predict).
"""
from __future__ import annotations

import math
import struct

import numpy as np

from .. import layertypes
from .common import ExportError

__all__ = ["to_onnx", "OPSET", "IR_VERSION"]

OPSET = 17
IR_VERSION = 8
FLOAT, INT64 = 1, 7  # TensorProto.DataType


# ---- protobuf wire format --------------------------------------------------------------------
def _varint(n):
    n &= (1 << 64) - 1  # negative int64 values are written as their two's complement
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(field, wire):
    return _varint((field << 3) | wire)


def _int(field, n):
    return _key(field, 0) + _varint(int(n))


def _bytes(field, b):
    b = b.encode("utf-8") if isinstance(b, str) else bytes(b)
    return _key(field, 2) + _varint(len(b)) + b


def _float(field, f):
    return _key(field, 5) + struct.pack("<f", f)


# ---- ONNX messages ---------------------------------------------------------------------------
def _tensor(name, arr):
    arr = np.asarray(arr)
    dtype = INT64 if arr.dtype.kind in "iu" else FLOAT
    raw = np.ascontiguousarray(arr, dtype="<i8" if dtype == INT64 else "<f4").tobytes()
    return b"".join(_int(1, d) for d in arr.shape) + _int(2, dtype) + _bytes(8, name) + _bytes(9, raw)


def _attr(name, value):
    out = _bytes(1, name)
    if isinstance(value, float):
        return out + _float(2, value) + _int(20, 1)
    if isinstance(value, int):
        return out + _int(3, value) + _int(20, 2)
    if isinstance(value, str):
        return out + _bytes(4, value) + _int(20, 3)
    if isinstance(value, (list, tuple)) and all(isinstance(v, int) for v in value):
        return out + b"".join(_int(8, v) for v in value) + _int(20, 7)
    raise TypeError(f"attribute {name}: {value!r}")


def _node(op, inputs, outputs, name, **attrs):
    return (b"".join(_bytes(1, i) for i in inputs) + b"".join(_bytes(2, o) for o in outputs) + _bytes(3, name)
            + _bytes(4, op) + b"".join(_bytes(5, _attr(k, v)) for k, v in attrs.items()))


def _value_info(name, shape):
    dims = b"".join(_bytes(1, _bytes(2, d) if isinstance(d, str) else _int(1, d)) for d in shape)
    tensor_type = _int(1, FLOAT) + _bytes(2, dims)
    return _bytes(1, name) + _bytes(2, _bytes(1, tensor_type))


# ---- the graph -------------------------------------------------------------------------------
class _Graph:
    def __init__(self):
        self.nodes, self.inits, self.count = [], [], 0

    def const(self, name, arr):
        self.inits.append(_tensor(name, arr))
        return name

    def op(self, op, inputs, hint="t", **attrs):
        self.count += 1
        out = f"{hint}_{self.count}"
        self.nodes.append(_node(op, inputs, [out], f"{op}_{self.count}", **attrs))
        return out

    def ops(self, op, inputs, n, hint="t", **attrs):
        self.count += 1
        outs = [f"{hint}_{self.count}_{i}" for i in range(n)]
        self.nodes.append(_node(op, inputs, outs, f"{op}_{self.count}", **attrs))
        return outs

    def scalar(self, value):
        self.count += 1
        return self.const(f"c_{self.count}", np.asarray(value, np.float32))

    def ints(self, values):
        self.count += 1
        return self.const(f"i_{self.count}", np.asarray(values, np.int64))

    # What a layer record's onnx hook builds with besides op / ops / const / scalar / ints
    # (pyengine/layertypes): activations, and the NHWC <-> NCHW transposes around conv and pool.
    def activation(self, name, x, alpha=None, hint="act"):
        return _activation(self, name, x, alpha, hint)

    def nchw(self, x):
        return _nchw(self, x)

    def nhwc(self, x, hint):
        return _nhwc(self, x, hint)


def _activation(g, name, x, alpha=None, hint="act"):
    if name in (None, "linear"):
        return x
    if alpha is None:
        alpha = {"leaky_relu": 0.01, "elu": 1.0}.get(name)
    if name == "relu":
        return g.op("Relu", [x], hint)
    if name == "sigmoid":
        return g.op("Sigmoid", [x], hint)
    if name == "tanh":
        return g.op("Tanh", [x], hint)
    if name == "leaky_relu":
        return g.op("LeakyRelu", [x], hint, alpha=float(alpha))
    if name == "elu":
        return g.op("Elu", [x], hint, alpha=float(alpha))
    if name == "softmax":
        return g.op("Softmax", [x], hint, axis=-1)
    if name == "gelu":  # tanh form, as pyengine: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        x3 = g.op("Mul", [g.op("Mul", [x, x]), x])
        inner = g.op("Add", [x, g.op("Mul", [x3, g.scalar(0.044715)])])
        t = g.op("Tanh", [g.op("Mul", [inner, g.scalar(math.sqrt(2.0 / math.pi))])])
        return g.op("Mul", [g.op("Mul", [x, g.scalar(0.5)]), g.op("Add", [t, g.scalar(1.0)])], hint)
    raise ExportError(f"activation {name!r} has no ONNX form")


def _nchw(g, x):
    return g.op("Transpose", [x], perm=[0, 3, 1, 2])


def _nhwc(g, x, hint):
    return g.op("Transpose", [x], hint, perm=[0, 2, 3, 1])


def _layer(g, cfg, ins, p):
    hook = layertypes.get(cfg["type"]).onnx
    if hook is None:
        raise ExportError(f"layer {cfg['index']} '{cfg['name']}': type {cfg['type']!r} has no ONNX translation")
    return hook(g, cfg, ins, p)


def to_onnx(model, name="nnplay"):
    """The model's inference graph as the bytes of an .onnx file (opset 17)."""
    nspec = model.nspec
    params = {layer: {k: np.asarray(v, np.float32) for k, v in ps.items()} for layer, ps in
              _by_layer(model.state_dict()).items()}
    g = _Graph()
    names = {"input": "input"}
    for cfg in nspec.layers:
        names[cfg["name"]] = _layer(g, cfg, [names[i] for i in cfg["inputs"]], params.get(cfg["name"], {}))
    last = names[nspec.layers[-1]["name"]]
    g.nodes.append(_node("Identity", [last], ["output"], "output"))
    outputs = [_value_info("output", ["batch", *nspec.output_shape])]
    loss = nspec.loss
    if loss["type"] == "softmax_cross_entropy":
        g.nodes.append(_node("Softmax", ["output"], ["probabilities"], "probabilities", axis=-1))
        outputs.append(_value_info("probabilities", ["batch", *nspec.output_shape]))
    elif loss["type"] == "binary_cross_entropy" and loss.get("from_logits", True):
        g.nodes.append(_node("Sigmoid", ["output"], ["probabilities"], "probabilities"))
        outputs.append(_value_info("probabilities", ["batch", *nspec.output_shape]))
    graph = (b"".join(_bytes(1, n) for n in g.nodes) + _bytes(2, name) + b"".join(_bytes(5, i) for i in g.inits)
             + _bytes(10, "exported from nnplay; input channels-last as in nnplay")
             + _bytes(11, _value_info("input", ["batch", *nspec.input]))
             + b"".join(_bytes(12, o) for o in outputs))
    from .. import __version__
    return (_int(1, IR_VERSION) + _bytes(2, "nnplay") + _bytes(3, __version__) + _bytes(7, graph)
            + _bytes(8, _bytes(1, "") + _int(2, OPSET)))


def _by_layer(state):
    out = {}
    for key, arr in state.items():
        layer, _, pname = key.rpartition(".")
        out.setdefault(layer, {})[pname] = arr
    return out
