"""Model files and ConvNetJS import.

The nnplay model file (one format, read and written here; the browser treats it as opaque bytes):

    offset 0   8 bytes   magic b"NNPMODL1"
    offset 8   uint32 LE header length H
    offset 12  H bytes   UTF-8 JSON header:
                 {"format": "nnplay-model", "version": 1, "pyengine": "<version>",
                  "spec": {...the model spec...}, "step": <optimizer steps taken>,
                  "tensors": [{"name": "conv1.weight", "shape": [5, 5, 1, 8], "offset": 0}, ...]}
    then zero padding to a multiple of 8 bytes, then the tensors' float32 little-endian data
    (C order), each at its `offset` from the start of that data block.

A file is checked whole before anything is built: magic, header JSON, the spec (validated like
any other), every tensor's name, shape, offset and the total length.
"""
import json
import struct

import numpy as np

from . import __version__
from .model import Model, build

MAGIC = b"NNPMODL1"


class ModelFileError(ValueError):
    """A model file that cannot be read; the message says what is wrong with it."""


def save(model):
    """The model's spec and float32 weights as bytes (see the module docstring for the layout)."""
    state = model.state_dict()
    tensors, chunks, offset = [], [], 0
    for name, arr in state.items():
        data = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        tensors.append({"name": name, "shape": list(arr.shape), "offset": offset})
        chunks.append(data)
        offset += len(data)
    header = json.dumps({"format": "nnplay-model", "version": 1, "pyengine": __version__,
                         "spec": model.spec, "step": model.step_count, "tensors": tensors},
                        separators=(",", ":")).encode("utf-8")
    head = MAGIC + struct.pack("<I", len(header)) + header
    head += b"\0" * (-len(head) % 8)
    return head + b"".join(chunks)


def load(data):
    """Rebuild a Model from bytes written by `save`. Raises ModelFileError naming the problem."""
    data = _as_bytes(data)
    if len(data) < 12 or data[:8] != MAGIC:
        hint = " (it looks like a ConvNetJS JSON file: use from_convnetjs)" if data[:1] in (b"{", b"[") else ""
        raise ModelFileError(f"not an nnplay model file: it does not start with {MAGIC!r}{hint}")
    (hlen,) = struct.unpack("<I", data[8:12])
    if 12 + hlen > len(data):
        raise ModelFileError(f"model file is truncated: the header says {hlen} bytes but only "
                             f"{len(data) - 12} follow")
    try:
        header = json.loads(data[12:12 + hlen].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelFileError(f"model file header is not valid JSON: {e}") from None
    if not isinstance(header, dict) or header.get("format") != "nnplay-model":
        raise ModelFileError("model file header lacks \"format\": \"nnplay-model\"")
    if header.get("version") != 1:
        raise ModelFileError(f"model file version {header.get('version')!r} is not supported (this "
                             f"pyengine {__version__} reads version 1)")
    model = build(header.get("spec"))  # a bad spec raises SpecError naming each problem
    start = 12 + hlen + (-(12 + hlen) % 8)
    blob = memoryview(data)[start:]
    expected = {p.name: p.data.shape for p in model.parameters(trainable_only=False)}
    state = {}
    entries = header.get("tensors")
    if not isinstance(entries, list):
        raise ModelFileError("model file header: \"tensors\" must be a list")
    for entry in entries:
        try:
            name, shape, off = entry["name"], tuple(entry["shape"]), int(entry["offset"])
        except (KeyError, TypeError, ValueError):
            raise ModelFileError(f"model file header: malformed tensor entry {entry!r}") from None
        if name not in expected:
            raise ModelFileError(f"model file holds a tensor {name!r} that the spec has no parameter for")
        if shape != expected[name]:
            raise ModelFileError(f"model file: tensor {name!r} has shape {shape}, the spec needs {expected[name]}")
        nbytes = 4 * int(np.prod(shape, dtype=np.int64))
        if off < 0 or off + nbytes > len(blob):
            raise ModelFileError(f"model file is truncated: tensor {name!r} needs bytes {off}..{off + nbytes} "
                                 f"of the data block, which has {len(blob)}")
        arr = np.frombuffer(blob[off:off + nbytes], dtype="<f4").reshape(shape).astype(np.float32)
        if not np.isfinite(arr).all():
            raise ModelFileError(f"model file: tensor {name!r} contains NaN/inf")
        state[name] = arr
    missing = [k for k in expected if k not in state]
    if missing:
        raise ModelFileError(f"model file lacks tensor(s) {missing}")
    model.load_state_dict(state)
    model.step_count = int(header.get("step", 0) or 0)
    return model


def _as_bytes(data):
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    if hasattr(data, "to_py"):  # a Pyodide JsProxy of a Uint8Array / ArrayBuffer
        return bytes(data.to_py())
    raise ModelFileError(f"expected the model file's bytes, got {type(data).__name__}")


# ---- ConvNetJS -----------------------------------------------------------------------------
# ConvNetJS stores every volume as a flat array indexed ((sx * y) + x) * depth + d, i.e. (H, W, C)
# row-major: the same layout as ours, so its filters reshape straight into NHWC weights.

_CJS_ACTIVATIONS = {"relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh"}
_CJS_LOSSES = {"softmax": "softmax_cross_entropy", "svm": "hinge", "regression": "mse"}


def _cjs_array(vol, what):
    """A ConvNetJS Vol's weights: JSON.stringify writes a Float64Array as {"0": .., "1": ..}."""
    w = vol.get("w") if isinstance(vol, dict) else None
    if isinstance(w, dict):
        try:
            w = [w[str(i)] for i in range(len(w))]
        except KeyError:
            raise ModelFileError(f"ConvNetJS {what}: weights are not indexed 0..{len(w) - 1}") from None
    if not isinstance(w, list):
        raise ModelFileError(f"ConvNetJS {what}: missing weight array \"w\"")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in w):
        raise ModelFileError(f"ConvNetJS {what}: weights must be numbers")
    return np.asarray(w, dtype=np.float64)


def _cjs_field(layer, i, kind, field, lo=1, default=None, what=""):
    """A whole-number field of ConvNetJS layer i, e.g. out_depth; the message names layer and field."""
    value = layer.get(field, default)
    if value is None:
        raise ModelFileError(f"ConvNetJS layer {i} ({kind}): missing field '{field}'{what}")
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not float(value).is_integer() or value < lo:
        raise ModelFileError(f"ConvNetJS layer {i} ({kind}): {field} must be a whole number >= {lo}{what}, "
                             f"got {value!r}")
    return int(value)


def _cjs_list(layer, i, kind, field):
    value = layer.get(field)
    if value is None:
        raise ModelFileError(f"ConvNetJS layer {i} ({kind}): missing field '{field}'")
    if not isinstance(value, list) or not value:
        raise ModelFileError(f"ConvNetJS layer {i} ({kind}): {field} must be a non-empty list of volumes")
    return value


def from_convnetjs(source, optimizer=None):
    """Import a ConvNetJS `net.toJSON()` (a dict or JSON text) as a Model with the same weights.

    Layer types: input, conv, fc, pool, relu, sigmoid, tanh, maxout, dropout, and the loss layers
    softmax (→ softmax_cross_entropy; predict gives the same probabilities ConvNetJS computes),
    svm (→ hinge) and regression (→ mse).

    ConvNetJS's dropout does not scale while training and multiplies by `drop_prob` at test time.
    pyengine's dropout is inverted (identity at test time), so that factor is folded into the
    weights of the next conv/fc layer: the imported model predicts what ConvNetJS predicts.

    Every problem is a ModelFileError naming the layer (its index in the file, 0 = input) and field.
    """
    if isinstance(source, (str, bytes, bytearray)):
        try:
            source = json.loads(source)
        except json.JSONDecodeError as e:
            raise ModelFileError(f"ConvNetJS file is not valid JSON: {e}") from None
        except RecursionError:
            raise ModelFileError("ConvNetJS file is nested too deeply to be a net.toJSON()") from None
    layers = source.get("layers") if isinstance(source, dict) else None
    if not isinstance(layers, list) or not layers:
        raise ModelFileError("ConvNetJS JSON must be an object with a non-empty \"layers\" list (net.toJSON())")
    first = layers[0]
    if not isinstance(first, dict) or first.get("layer_type") != "input":
        raise ModelFileError("ConvNetJS JSON: the first layer must be of layer_type \"input\"")
    size = " (the input size)"
    sy, sx, depth = (_cjs_field(first, 0, "input", f, what=size) for f in ("out_sy", "out_sx", "out_depth"))
    # A 1x1xD ConvNetJS input is a plain feature vector (its 2-D demos use 1x1x2): import it flat.
    flat = sx == 1 and sy == 1
    input_shape = [depth] if flat else [sy, sx, depth]
    spec_layers, raw, loss = [], {}, None
    pending_scale = 1.0  # ConvNetJS's test-time dropout factor, owed to the next weighted layer
    for i, layer in enumerate(layers[1:], start=1):
        kind = layer.get("layer_type") if isinstance(layer, dict) else None
        if not isinstance(layer, dict):
            raise ModelFileError(f"ConvNetJS layer {i}: must be an object with a layer_type, got {type(layer).__name__}")
        try:
            loss = _import_cjs_layer(i, kind, layer, loss, spec_layers, raw, flat)
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, ModelFileError):
                raise
            raise ModelFileError(f"ConvNetJS layer {i} ({kind}): malformed or missing field: {e!r}") from None
        if spec_layers and spec_layers[-1]["type"] in ("flatten", "dense"):
            flat = True
        if kind == "dropout":
            pending_scale *= spec_layers[-1]["rate"]
        elif kind in ("conv", "fc") and pending_scale != 1.0:
            raw[spec_layers[-1]["name"]]["scale"] = pending_scale
            pending_scale = 1.0
    spec = {"input": input_shape, "layers": spec_layers, "loss": loss or "mse",
            "optimizer": optimizer or {"type": "adadelta", "lr": 1.0, "rho": 0.95, "eps": 1e-6}, "seed": 0}
    model = build(spec)
    expected = {p.name: p.data.shape for p in model.parameters(trainable_only=False)}
    model.load_state_dict(_cjs_weights(raw, expected))
    return model


def _cjs_weights(raw, expected):
    """The filters and biases read from the file, checked against the built layers' shapes."""
    weights = {}
    for name, r in raw.items():
        i, kind, filters = r["index"], r["kind"], r["filters"]
        shape = expected[f"{name}.weight"]  # conv (KH, KW, Cin, Cout), dense (in, out)
        need = int(np.prod(shape[:-1]))
        how = f"{shape[0]}×{shape[1]}×{shape[2]}" if kind == "conv" else "one per input"
        for j, f in enumerate(filters):
            if f.size != need:
                raise ModelFileError(f"ConvNetJS layer {i} ({kind}): each filter needs {need} weights ({how}), "
                                     f"filter {j} has {f.size}")
        w = np.stack(filters, axis=-1).reshape(shape) * r.get("scale", 1.0)  # (KH*KW*Cin | in, out) -> shape
        weights[f"{name}.weight"], weights[f"{name}.bias"] = w, r["biases"]
    return weights


def _import_cjs_layer(i, kind, layer, loss, spec_layers, raw, flat):
    """Append layer i's spec (and its raw weights) to the lists; returns the loss type once the loss layer is met."""
    if loss is not None:
        raise ModelFileError(f"ConvNetJS layer {i} ({kind}): layers after the loss layer are not supported")
    name = f"{kind}_{i}"
    field = lambda f, **kw: _cjs_field(layer, i, kind, f, **kw)  # noqa: E731
    if kind in ("conv", "fc"):
        out_depth = field("out_depth")
        if kind == "conv":
            spec_layers.append({"type": "conv2d", "name": name, "filters": out_depth,
                                "kernel_size": [field("sy"), field("sx")], "strides": field("stride", default=1),
                                "padding": field("pad", lo=0, default=0)})
        else:
            if not flat:
                spec_layers.append({"type": "flatten", "name": f"flatten_{i}"})
            spec_layers.append({"type": "dense", "name": name, "units": out_depth})
        filters = [_cjs_array(f, f"layer {i} ({kind}) filter {j}").reshape(-1)
                   for j, f in enumerate(_cjs_list(layer, i, kind, "filters"))]
        for j, f in enumerate(filters[1:], start=1):
            if f.size != filters[0].size:
                raise ModelFileError(f"ConvNetJS layer {i} ({kind}): filter {j} has {f.size} weights, filter 0 has "
                                     f"{filters[0].size}: every filter needs the same number")
        if len(filters) != out_depth:
            raise ModelFileError(f"ConvNetJS layer {i} ({kind}): out_depth is {out_depth} but there are "
                                 f"{len(filters)} filters")
        if "biases" not in layer:
            raise ModelFileError(f"ConvNetJS layer {i} ({kind}): missing field 'biases'")
        biases = _cjs_array(layer["biases"], f"layer {i} ({kind}) biases").reshape(-1)
        if biases.size != out_depth:
            raise ModelFileError(f"ConvNetJS layer {i} ({kind}): biases has {biases.size} values, the layer has "
                                 f"{out_depth} outputs")
        raw[name] = {"index": i, "kind": kind, "filters": filters, "biases": biases}
    elif kind == "pool":
        spec_layers.append({"type": "maxpool2d", "name": name, "pool_size": [field("sy"), field("sx")],
                            "strides": field("stride", default=2), "padding": field("pad", lo=0, default=0)})
    elif kind in _CJS_ACTIVATIONS:
        spec_layers.append({"type": _CJS_ACTIVATIONS[kind], "name": name})
    elif kind == "maxout":
        spec_layers.append({"type": "maxout", "name": name, "pieces": field("group_size", default=2)})
    elif kind == "dropout":
        rate = layer.get("drop_prob", 0.5)
        if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 <= rate < 1:
            raise ModelFileError(f"ConvNetJS layer {i} (dropout): drop_prob must be a number from 0 to below 1, "
                                 f"got {rate!r}")
        spec_layers.append({"type": "dropout", "name": name, "rate": float(rate)})
    elif kind in _CJS_LOSSES:
        return _CJS_LOSSES[kind]
    else:
        raise ModelFileError(f"ConvNetJS layer {i}: layer_type {kind!r} is not supported (supported: input, "
                             "conv, fc, pool, relu, sigmoid, tanh, maxout, dropout, softmax, svm, regression)")
    return None
