"""Every layer type, one record each (base.LayerType), by spec `type`.

A record holds all pyengine knows about a type: its fields, shape inference, initialisation,
forward, and its PyTorch / Keras / ONNX export and WebGPU plan hooks. The generic code reads them
from here: spec.py (fields, inference), model.py (init, forward), export/ (the hooks), the GPU plan
and the playground's catalogue. A new layer type is one module with its record, registered here
(or with `register` from anywhere, e.g. a test), plus its test.

Pure Python to import (NumPy loads when a forward or init first runs), so spec analysis stays cheap.
"""
from __future__ import annotations

from . import activations, batchnorm, conv2d, dense, dropout, embedding, joins, layernorm, maxout, pooling
from . import recurrent, shape, softmax
from ..fields import REQUIRED, SameAs
from .base import LayerType

__all__ = ["LayerType", "TYPES", "register", "unregister", "get", "catalogue"]

TYPES: dict[str, LayerType] = {}  # spec type -> record, in the palette's order


def register(record, replace=False):
    """Add a layer type (or, with replace=True, swap an existing one); returns the record."""
    if not isinstance(record, LayerType):
        raise TypeError(f"expected a LayerType, got {type(record).__name__}")
    if record.name in TYPES and not replace:
        raise ValueError(f"layer type {record.name!r} is already registered")
    TYPES[record.name] = record
    return record


def unregister(name):
    TYPES.pop(name, None)


def get(name):
    """The record of layer type `name` (KeyError for an unknown type)."""
    return TYPES[name]


def describe_fields(layer_type):
    """JSON-friendly field table for one layer type (for UI forms)."""
    out = []
    for name, f in TYPES[layer_type].fields.items():
        required = f.default is REQUIRED
        default = None if required else ({"same_as": f.default.field} if isinstance(f.default, SameAs) else f.default)
        out.append({"name": name, "expected": f.kind.expected, "required": required, "default": default})
    return out


def catalogue():
    """What the builder shows, as JSON: {"layers": {type: [field rows]}, "joins": [types taking several
    inputs]}; a required field's row also says what a layer added from the palette starts with."""
    layers = {}
    for t, record in TYPES.items():
        rows = describe_fields(t)
        for row, f in zip(rows, record.fields.values()):
            if f.start is not None:
                row["start"] = f.start
        layers[t] = rows
    return {"layers": layers, "joins": [t for t, lt in TYPES.items() if lt.min_inputs > 1]}


for _record in (dense.LAYER, conv2d.LAYER, pooling.MAXPOOL2D, pooling.AVGPOOL2D, pooling.GLOBALAVGPOOL2D,
                shape.FLATTEN, shape.RESHAPE, dropout.LAYER, batchnorm.LAYER, layernorm.LAYER, embedding.LAYER,
                recurrent.RNN, recurrent.LSTM, recurrent.GRU, joins.ADD, joins.CONCAT, *activations.LAYERS,
                softmax.LAYER, maxout.LAYER):
    register(_record)
del _record
