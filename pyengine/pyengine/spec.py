"""Model spec: validation, defaults, shape and parameter inference (docs/engine.md is the contract).

`validate(spec)` turns the JSON spec shared by the UI, URLs, saved files and the Python API into a
`NormalizedSpec`: every field filled, names and inputs resolved, shapes and parameter shapes known.
It is pure Python on purpose (no NumPy, no arrays): a bad spec costs nothing, and every problem is
collected and reported at once as a `SpecError`, so the UI can mark all of them inline.

`infer_shapes(spec)` runs the very same analysis without raising, for the UI's live per-layer shapes.
"""
from __future__ import annotations

import difflib
import importlib
import math
import numbers
from collections import namedtuple
from collections.abc import Mapping
from dataclasses import dataclass, field as dc_field

__all__ = [
    "validate", "infer_shapes", "NormalizedSpec", "SpecError", "Problem", "LayerInfo",
    "LAYER_TYPES", "ACTIVATIONS", "BACKENDS", "DEFAULT_BUDGET", "REQUIRED", "describe_fields",
]

DEFAULT_BUDGET = {"max_params": 20_000_000, "max_activation_bytes": 1 << 30, "batch_size": 32}
ACTIVATIONS = ("linear", "relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "softmax")
BACKENDS = ("auto", "numpy", "webgpu")
TOP_FIELDS = ("input", "layers", "loss", "optimizer", "seed", "backend")
COMMON_LAYER_FIELDS = ("type", "name", "inputs")
DEFAULT_LOSS = "softmax_cross_entropy"
DEFAULT_OPTIMIZER = "sgd"
CLASS_LOSSES = ("softmax_cross_entropy", "hinge")  # need a 1-D output of K >= 2 class scores

_MISSING = object()


# ---------------------------------------------------------------------------------------------
# Problems


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec. index/name are None for top-level problems."""
    index: int | None
    name: str | None
    field: str | None
    message: str

    def __str__(self):
        if self.index is None:
            where = "spec"
        else:
            where = f"layer {self.index}" + (f" '{self.name}'" if self.name is not None else "")
        what = f"field '{self.field}': " if self.field is not None else ""
        return f"{where}: {what}{self.message}"

    def to_json(self):
        return {"index": self.index, "name": self.name, "field": self.field, "message": self.message}


class SpecError(ValueError):
    """Every problem found in a spec; str() is one line per problem."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self):
        return "\n".join(str(p) for p in self.problems)

    def __reduce__(self):  # args holds the text; rebuild from the problems instead
        return (SpecError, (self.problems,))

    def to_json(self):
        return [p.to_json() for p in self.problems]


class _Bad(Exception):
    """A field or shape problem found while checking one value; `field` overrides where it is reported."""

    def __init__(self, message=None, field=None, hint=None):
        super().__init__(message)
        self.message, self.field, self.hint = message, field, hint


# ---------------------------------------------------------------------------------------------
# Showing values in messages (garbage must never make the message itself fail)


def _int_text(n):
    n = int(n)
    if abs(n) < 10 ** 18:
        return str(n)
    # str() of a huge int can raise (sys.set_int_max_str_digits), and nobody reads 4000 digits
    return f"{'-' if n < 0 else ''}~1e{int(abs(n).bit_length() * 0.30103)}"


def _count(n):
    return f"{n:,}" if n < 10 ** 18 else _int_text(n)


def _shape(s):
    return "(" + ", ".join(_int_text(d) for d in s) + ("," if len(s) == 1 else "") + ")"


def _show(v, depth=0):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, numbers.Integral):
        return _int_text(v)
    if isinstance(v, numbers.Real):
        f = float(v)
        return "NaN" if f != f else ("Infinity" if f == math.inf else "-Infinity" if f == -math.inf else repr(f))
    if isinstance(v, str):
        return repr(v if len(v) <= 40 else v[:37] + "...")
    if isinstance(v, (list, tuple)):
        if depth >= 2:
            return "[...]"
        items = [_show(x, depth + 1) for x in v[:6]] + (["..."] if len(v) > 6 else [])
        return "[" + ", ".join(items) + "]"
    if isinstance(v, Mapping):
        if depth >= 2:
            return "{...}"
        items = [f"{_show(str(k))}: {_show(x, depth + 1)}" for k, x in list(v.items())[:4]]
        return "{" + ", ".join(items + (["..."] if len(v) > 4 else [])) + "}"
    return f"a {type(v).__name__} object"


def _got(v):
    """The value as shown after 'got', flagging the look-alikes (true is not 1, '8' is not 8)."""
    if isinstance(v, bool):
        return _show(v) + " (a boolean)"
    if isinstance(v, str):
        return _show(v) + " (a string)"
    return _show(v)


def _did_you_mean(word, choices, aliases=None):
    """'; did you mean 'x'?' for the closest choice, or '' when nothing is close."""
    if not isinstance(word, str) or not word:
        return ""
    w = word.strip().lower()[:100]  # difflib is quadratic; junk strings stay cheap
    if aliases and w in aliases:
        return "; " + aliases[w]
    lower = {c.lower(): c for c in choices}
    if w in lower:
        return f"; did you mean '{lower[w]}'?"
    close = difflib.get_close_matches(w, list(lower), n=1, cutoff=0.6)
    return f"; did you mean '{lower[close[0]]}'?" if close else ""


def _one_of(choices):
    return ", ".join(f"'{c}'" for c in choices)


# ---------------------------------------------------------------------------------------------
# Field kinds: a checker turns a user value into its normalised form or raises _Bad


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_num(v):
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        return False
    return _is_int(v) or math.isfinite(v)  # isfinite(huge int) would overflow


class Kind:
    """What a field accepts: `expected` is the text used in messages, `convert` normalises."""
    __slots__ = ("expected", "convert")

    def __init__(self, expected, convert):
        self.expected, self.convert = expected, convert

    def check(self, value):
        try:
            return self.convert(value)
        except _Bad as e:
            if e.message:
                raise
            hint = f"; {e.hint}" if e.hint and not e.hint.startswith(";") else (e.hint or "")
            raise _Bad(f"expected {self.expected}, got {_got(value)}{hint}") from None


def _int_kind(expected, lo):
    def convert(v):
        if _is_int(v) and v >= lo:
            return int(v)
        raise _Bad()
    return Kind(expected, convert)


def _num_kind(expected, lo=-math.inf, hi=math.inf, lo_open=False, hi_open=False, nullable=False):
    def convert(v):
        if v is None and nullable:
            return None
        if not _is_num(v):
            raise _Bad()
        if v < lo or v > hi or (lo_open and v == lo) or (hi_open and v == hi):
            raise _Bad()
        return float(v)
    return Kind(expected, convert)


def _pair(v, ok):
    if _is_int(v) and ok(v):
        return (int(v), int(v))
    if isinstance(v, (list, tuple)) and len(v) == 2 and all(_is_int(x) and ok(x) for x in v):
        return (int(v[0]), int(v[1]))
    raise _Bad()


def _c_padding(v):
    if isinstance(v, str):
        if v in ("valid", "same"):
            return v
        raise _Bad(hint=_did_you_mean(v, ("valid", "same")))
    if _is_int(v) and v >= 0:
        return int(v)
    return _pair(v, lambda x: x >= 0)


def _c_activation(v):
    if v is None or (isinstance(v, str) and v in ACTIVATIONS):
        return v
    if isinstance(v, str):
        hint = _did_you_mean(v, ACTIVATIONS) or f"; expected null or one of {_one_of(ACTIVATIONS)}"
        raise _Bad(f"unknown activation {_show(v)}{hint}")
    raise _Bad()


def _c_bool(v):
    if isinstance(v, bool):
        return v
    raise _Bad()


def _c_target_shape(v):
    if not isinstance(v, (list, tuple)) or not v or not all(_is_int(x) and (x > 0 or x == -1) for x in v):
        raise _Bad()
    if sum(1 for x in v if x == -1) > 1:
        raise _Bad(f"at most one -1 is allowed, got {_show(v)}")
    return tuple(int(x) for x in v)


def _c_input_shape(v):
    if isinstance(v, (list, tuple)) and v and all(_is_int(x) and x > 0 for x in v):
        return tuple(int(x) for x in v)
    raise _Bad()


POS_INT = _int_kind("a positive integer", 1)
NONNEG_INT = _int_kind("a non-negative integer", 0)
INT = _int_kind("an integer", -math.inf)
PAIR = Kind("a positive integer or a list of 2 positive integers", lambda v: _pair(v, lambda x: x > 0))
PADDING = Kind("'valid', 'same', a non-negative integer or a list of 2 non-negative integers [ph, pw]", _c_padding)
ACTIVATION = Kind(f"null or one of {_one_of(ACTIVATIONS)}", _c_activation)
BOOL = Kind("true or false", _c_bool)
RATE = _num_kind("a number in [0, 1)", 0.0, 1.0, hi_open=True)
FRACTION = _num_kind("a number in [0, 1]", 0.0, 1.0)
POS_NUM = _num_kind("a positive number", 0.0, lo_open=True)
NONNEG_NUM = _num_kind("a non-negative number", 0.0)
NUM = _num_kind("a finite number")
POS_NUM_OR_NULL = _num_kind("null or a positive number", 0.0, lo_open=True, nullable=True)
TARGET_SHAPE = Kind("a non-empty list of positive integers (at most one -1)", _c_target_shape)
INPUT_SHAPE = Kind("a non-empty list of positive integers: the shape of one example without the batch axis, "
                   "e.g. [28, 28, 1]", _c_input_shape)
SEED = NONNEG_INT


def _c_backend(v):
    if isinstance(v, str) and v in BACKENDS:
        return v
    raise _Bad(hint=_did_you_mean(v, BACKENDS))


BACKEND = Kind(f"one of {_one_of(BACKENDS)}", _c_backend)


def _generic_kind(default):
    """Kind for a loss/optimizer field we only know from another module's defaults table."""
    if isinstance(default, bool):
        return BOOL
    if isinstance(default, numbers.Real):
        return NUM
    return Kind("a JSON value", lambda v: v)


# ---------------------------------------------------------------------------------------------
# Layer field tables


class _Required:
    def __repr__(self):
        return "REQUIRED"


REQUIRED = _Required()
Field = namedtuple("Field", "kind default")
SameAs = namedtuple("SameAs", "field")  # default copied from another field (pool strides = pool_size)
LayerType = namedtuple("LayerType", "fields infer min_inputs max_inputs")

_POOL_FIELDS = {
    "pool_size": Field(PAIR, 2),
    "strides": Field(PAIR, SameAs("pool_size")),
    "padding": Field(PADDING, "valid"),
}
_RECURRENT_FIELDS = {"units": Field(POS_INT, REQUIRED), "return_sequences": Field(BOOL, False)}

# type -> field -> Field(kind, default); order is the contract's and the normalised dict's.
LAYER_FIELDS = {
    "dense": {"units": Field(POS_INT, REQUIRED), "activation": Field(ACTIVATION, None),
              "use_bias": Field(BOOL, True)},
    "conv2d": {"filters": Field(POS_INT, REQUIRED), "kernel_size": Field(PAIR, REQUIRED),
               "strides": Field(PAIR, 1), "padding": Field(PADDING, "valid"),
               "dilation_rate": Field(PAIR, 1), "activation": Field(ACTIVATION, None),
               "use_bias": Field(BOOL, True)},
    "maxpool2d": _POOL_FIELDS,
    "avgpool2d": _POOL_FIELDS,
    "globalavgpool2d": {},
    "flatten": {},
    "reshape": {"target_shape": Field(TARGET_SHAPE, REQUIRED)},
    "dropout": {"rate": Field(RATE, 0.5)},
    "batchnorm": {"momentum": Field(FRACTION, 0.99), "epsilon": Field(POS_NUM, 0.001)},
    "layernorm": {"epsilon": Field(POS_NUM, 0.001)},
    "embedding": {"input_dim": Field(POS_INT, REQUIRED), "output_dim": Field(POS_INT, REQUIRED)},
    "rnn": {"units": Field(POS_INT, REQUIRED), "activation": Field(ACTIVATION, "tanh"),
            "return_sequences": Field(BOOL, False)},
    "lstm": _RECURRENT_FIELDS,
    "gru": _RECURRENT_FIELDS,
    "add": {},
    "concat": {"axis": Field(INT, -1)},
    "relu": {}, "sigmoid": {}, "tanh": {}, "gelu": {},
    "leaky_relu": {"alpha": Field(NUM, 0.01)},
    "elu": {"alpha": Field(NUM, 1.0)},
    "softmax": {"axis": Field(INT, -1)},
    "maxout": {"pieces": Field(POS_INT, 2)},
}

# Names people bring from Keras / ConvNetJS / PyTorch, with where they live here.
_TYPE_ALIASES = {
    "fc": "did you mean 'dense'?", "linear": "did you mean 'dense'?",
    "conv": "did you mean 'conv2d'?", "convolution2d": "did you mean 'conv2d'?",
    "pool": "did you mean 'maxpool2d'?", "max_pooling2d": "did you mean 'maxpool2d'?",
    "maxpool": "did you mean 'maxpool2d'?", "avgpool": "did you mean 'avgpool2d'?",
    "average_pooling2d": "did you mean 'avgpool2d'?", "globalaveragepooling2d": "did you mean 'globalavgpool2d'?",
    "batchnormalization": "did you mean 'batchnorm'?", "batch_normalization": "did you mean 'batchnorm'?",
    "layer_normalization": "did you mean 'layernorm'?", "concatenate": "did you mean 'concat'?",
    "simplernn": "did you mean 'rnn'?", "input": "the model input is not a layer; set the top-level 'input' field",
    "svm": "a loss is not a layer; set the top-level \"loss\": \"hinge\"",
    "regression": "a loss is not a layer; set the top-level \"loss\": \"mse\"",
}
_LOSS_ALIASES = {
    "cross_entropy": "did you mean 'softmax_cross_entropy'?",
    "categorical_crossentropy": "did you mean 'softmax_cross_entropy'?",
    "sparse_categorical_crossentropy": "did you mean 'softmax_cross_entropy'?",
    "softmax": "did you mean 'softmax_cross_entropy'?",
    "binary_crossentropy": "did you mean 'binary_cross_entropy'?", "bce": "did you mean 'binary_cross_entropy'?",
    "mean_squared_error": "did you mean 'mse'?", "l2": "did you mean 'mse'?", "regression": "did you mean 'mse'?",
    "svm": "did you mean 'hinge'?",
}


# ---------------------------------------------------------------------------------------------
# Shape and parameter inference: infer(cfg, input_shapes, input_names) -> (output_shape, param_shapes).
# cfg is the normalised layer dict; resolved extras (pads) are written into it.


def _prod(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def _image_hint(s):
    """Suggest a reshape that turns a flat or 2-D input into (H, W, C)."""
    if len(s) == 1:
        for c in (1, 3):
            if s[0] % c == 0:
                r = math.isqrt(s[0] // c)
                if r > 1 and r * r == s[0] // c:
                    return (f"; reshape to (H, W, C) first, e.g. add "
                            f"{{'type': 'reshape', 'target_shape': [{r}, {r}, {c}]}} before it")
        return "; reshape to (H, W, C) first"
    if len(s) == 2:
        return f"; reshape to (H, W, C) first, e.g. target_shape [{_int_text(s[0])}, {_int_text(s[1])}, 1]"
    return ""


def _pads_text(pads):
    return "(" + ", ".join(f"({_int_text(a)}, {_int_text(b)})" for a, b in pads) + ")"


def _need_image(s):
    if len(s) != 3:
        raise _Bad(f"expects an image input (H, W, C), got {_shape(s)}{_image_hint(s)}")
    return s


def _window(cfg, hw, kernel, field, what):
    """Resolve padding into pads ((top, bottom), (left, right)) and the output (H, W) of a sliding window."""
    strides, padding = cfg["strides"], cfg["padding"]
    dilation = cfg.get("dilation_rate", (1, 1))
    pads, out, span, padded = [], [], [], []
    for axis in (0, 1):
        n, k, s, d = hw[axis], kernel[axis], strides[axis], dilation[axis]
        ek = (k - 1) * d + 1
        if padding == "same":  # TensorFlow: output ceil(n / s); the odd pixel goes to the bottom/right
            total = max((-(-n // s) - 1) * s + ek - n, 0)
            p = (total // 2, total - total // 2)
        elif padding == "valid":
            p = (0, 0)
        elif isinstance(padding, int):
            p = (padding, padding)
        else:
            p = (padding[axis], padding[axis])
        pads.append(p)
        span.append(ek)
        padded.append(n + p[0] + p[1])
        out.append((padded[-1] - ek) // s + 1 if ek <= padded[-1] else 0)
    if min(out) <= 0:
        dil = (f" with dilation {_int_text(dilation[0])}x{_int_text(dilation[1])} spans "
               f"{_int_text(span[0])}x{_int_text(span[1])}" if tuple(dilation) != (1, 1) else "")
        raise _Bad(f"{what} {_int_text(kernel[0])}x{_int_text(kernel[1])}{dil} is larger than its padded input "
                   f"{_int_text(padded[0])}x{_int_text(padded[1])} (input {_int_text(hw[0])}x{_int_text(hw[1])}, "
                   f"pads {_pads_text(pads)}), so the output size would be <= 0; use a smaller {what}, more padding "
                   f"(e.g. 'same') or less downsampling before this layer", field=field)
    cfg["pads"] = tuple(pads)
    return tuple(out)


def _infer_dense(cfg, shapes, names):
    s = shapes[0]
    if len(s) != 1:
        raise _Bad(f"expects a flat input, got {_shape(s)}; add a flatten layer")
    units = cfg["units"]
    params = {"weight": (s[0], units)}
    if cfg["use_bias"]:
        params["bias"] = (units,)
    return (units,), params


def _infer_conv2d(cfg, shapes, names):
    h, w, c = _need_image(shapes[0])
    oh, ow = _window(cfg, (h, w), cfg["kernel_size"], "kernel_size", "kernel")
    kh, kw = cfg["kernel_size"]
    params = {"weight": (kh, kw, c, cfg["filters"])}
    if cfg["use_bias"]:
        params["bias"] = (cfg["filters"],)
    return (oh, ow, cfg["filters"]), params


def _infer_pool(cfg, shapes, names):
    h, w, c = _need_image(shapes[0])
    pad = cfg["padding"]
    if not isinstance(pad, str):
        # A window lying wholly in padding has nothing to pool (max of nothing); PyTorch's rule.
        ph, pw = (pad, pad) if isinstance(pad, int) else pad
        for p, k in ((ph, cfg["pool_size"][0]), (pw, cfg["pool_size"][1])):
            if 2 * p > k:
                raise _Bad(f"padding {_int_text(p)} is more than half the pool size {_int_text(k)}; "
                           f"some windows would hold only padding", field="padding")
    oh, ow = _window(cfg, (h, w), cfg["pool_size"], "pool_size", "pool")
    return (oh, ow, c), {}


def _infer_global_pool(cfg, shapes, names):
    return (_need_image(shapes[0])[2],), {}


def _infer_flatten(cfg, shapes, names):
    return (_prod(shapes[0]),), {}


def _infer_reshape(cfg, shapes, names):
    s, target = shapes[0], cfg["target_shape"]
    total, known = _prod(s), _prod(d for d in target if d != -1)
    if -1 in target:
        if total % known:
            raise _Bad(f"cannot reshape {_shape(s)} ({_count(total)} elements) to {_shape(target)}: "
                       f"{_count(total)} is not divisible by {_count(known)}", field="target_shape")
        return tuple(total // known if d == -1 else d for d in target), {}
    if known != total:
        raise _Bad(f"cannot reshape {_shape(s)} ({_count(total)} elements) to {_shape(target)} "
                   f"({_count(known)} elements); the element counts must match (use -1 for one inferred axis)",
                   field="target_shape")
    return target, {}


def _infer_same(cfg, shapes, names):
    return shapes[0], {}


def _infer_batchnorm(cfg, shapes, names):
    c = shapes[0][-1]
    return shapes[0], {"gamma": (c,), "beta": (c,), "running_mean": (c,), "running_var": (c,)}


def _infer_layernorm(cfg, shapes, names):
    c = shapes[0][-1]
    return shapes[0], {"gamma": (c,), "beta": (c,)}


def _infer_embedding(cfg, shapes, names):
    s = shapes[0]
    if len(s) != 1:
        raise _Bad(f"expects a sequence of integer ids (T,), got {_shape(s)}")
    return (s[0], cfg["output_dim"]), {"weight": (cfg["input_dim"], cfg["output_dim"])}


def _recurrent(gates, split_bias):
    def infer(cfg, shapes, names):
        s = shapes[0]
        if len(s) != 2:
            hint = "; add a reshape layer to (T, F)" if len(s) != 1 else \
                "; add a reshape layer to (T, F), or an embedding layer for integer ids"
            raise _Bad(f"expects a sequence input (T, F), got {_shape(s)}{hint}")
        (t, f), u = s, cfg["units"]
        params = {"weight_ih": (f, gates * u), "weight_hh": (u, gates * u)}
        if split_bias:  # gru keeps b_hn apart: it sits inside r * (h W_hn + b_hn)
            params.update(bias_ih=(gates * u,), bias_hh=(gates * u,))
        else:
            params["bias"] = (gates * u,)
        return ((t, u) if cfg["return_sequences"] else (u,)), params
    return infer


def _listing(shapes, names):
    return ", ".join(f"'{n}' {_shape(s)}" for n, s in zip(names, shapes))


def _infer_add(cfg, shapes, names):
    if any(s != shapes[0] for s in shapes):
        raise _Bad(f"add needs inputs of the same shape, got {_listing(shapes, names)}")
    return shapes[0], {}


def _axis(cfg, shape):
    """Check `axis` and store it negative. Axes count the batch axis, as in Keras (and layers.py):
    1..rank or -rank..-1 for per-example shapes of rank `rank`; negative means the same either way."""
    a, rank = cfg["axis"], len(shape)
    if a == 0 or a == -rank - 1:
        raise _Bad(f"axis {_int_text(a)} is the batch axis; use -1 (the last axis) or another axis in "
                   f"1..{rank} / -{rank}..-1", field="axis")
    if not -rank <= a <= rank:
        raise _Bad(f"axis {_int_text(a)} is out of range for inputs {_shape(shape)}; axes count the batch axis "
                   f"(as in Keras), so use 1..{rank} or -{rank}..-1", field="axis")
    cfg["axis"] = a - rank - 1 if a > 0 else a
    return cfg["axis"] + rank  # index into the per-example shape


def _infer_concat(cfg, shapes, names):
    rank = len(shapes[0])
    if any(len(s) != rank for s in shapes):
        raise _Bad(f"concat needs inputs of the same rank, got {_listing(shapes, names)}")
    ax = _axis(cfg, shapes[0])
    if any(s[:ax] + s[ax + 1:] != shapes[0][:ax] + shapes[0][ax + 1:] for s in shapes):
        raise _Bad(f"concat along axis {cfg['axis']} needs the other axes to match, got {_listing(shapes, names)}")
    return shapes[0][:ax] + (sum(s[ax] for s in shapes),) + shapes[0][ax + 1:], {}


def _infer_softmax(cfg, shapes, names):
    _axis(cfg, shapes[0])
    return shapes[0], {}


def _infer_maxout(cfg, shapes, names):
    s, k = shapes[0], cfg["pieces"]
    if s[-1] % k:
        raise _Bad(f"maxout with pieces {_int_text(k)} needs the last axis ({_int_text(s[-1])}) to be divisible "
                   f"by {_int_text(k)}; input is {_shape(s)}", field="pieces")
    return s[:-1] + (s[-1] // k,), {}


_INFER = {
    "dense": _infer_dense, "conv2d": _infer_conv2d, "maxpool2d": _infer_pool, "avgpool2d": _infer_pool,
    "globalavgpool2d": _infer_global_pool, "flatten": _infer_flatten, "reshape": _infer_reshape,
    "dropout": _infer_same, "batchnorm": _infer_batchnorm, "layernorm": _infer_layernorm,
    "embedding": _infer_embedding, "rnn": _recurrent(1, False), "lstm": _recurrent(4, False),
    "gru": _recurrent(3, True), "add": _infer_add, "concat": _infer_concat,
    "relu": _infer_same, "sigmoid": _infer_same, "tanh": _infer_same, "gelu": _infer_same,
    "leaky_relu": _infer_same, "elu": _infer_same, "softmax": _infer_softmax, "maxout": _infer_maxout,
}
_JOINS = ("add", "concat")

LAYER_TYPES = {
    t: LayerType(fields, _INFER[t], 2 if t in _JOINS else 1, None if t in _JOINS else 1)
    for t, fields in LAYER_FIELDS.items()
}


def describe_fields(layer_type):
    """JSON-friendly field table for one layer type (for UI forms)."""
    out = []
    for name, f in LAYER_FIELDS[layer_type].items():
        required = f.default is REQUIRED
        default = None if required else ({"same_as": f.default.field} if isinstance(f.default, SameAs) else f.default)
        out.append({"name": name, "expected": f.kind.expected, "required": required, "default": default})
    return out


# ---------------------------------------------------------------------------------------------
# Loss and optimizer tables: the owners' modules are the source of truth; the copies below are the
# contract's defaults, used only while those modules cannot be imported.

_FALLBACK_LOSSES = {
    "softmax_cross_entropy": {}, "binary_cross_entropy": {"from_logits": True}, "mse": {},
    "huber": {"delta": 1.0}, "hinge": {"margin": 1.0},
}
_FALLBACK_OPTIMIZERS = {
    "sgd": {"lr": 0.01}, "momentum": {"lr": 0.01, "momentum": 0.9}, "nesterov": {"lr": 0.01, "momentum": 0.9},
    "adagrad": {"lr": 0.01, "eps": 1e-8}, "rmsprop": {"lr": 0.001, "rho": 0.9, "eps": 1e-8},
    "adadelta": {"lr": 1.0, "rho": 0.95, "eps": 1e-6},
    "adam": {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
    "adamw": {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.01},
}
_FALLBACK_COMMON = {"l1": 0.0, "l2": 0.0, "clipnorm": None, "clipvalue": None, "schedule": None}
_FALLBACK_SCHEDULES = {"step": {"step_size": None, "gamma": 0.1}, "cosine": {"total_steps": None, "min_lr": 0.0}}
_SCHEDULE_REQUIRED = {"step": ("step_size",), "cosine": ("total_steps",)}

# Ranges for the fields we know, matching optim.py's (lr 0 is allowed: it freezes training);
# a field only another module's table knows gets _generic_kind.
_CONFIG_KINDS = {
    "from_logits": BOOL, "delta": POS_NUM, "margin": NONNEG_NUM,
    "lr": NONNEG_NUM, "momentum": RATE, "rho": RATE, "beta1": RATE, "beta2": RATE, "eps": POS_NUM,
    "weight_decay": NONNEG_NUM, "l1": NONNEG_NUM, "l2": NONNEG_NUM,
    "clipnorm": POS_NUM_OR_NULL, "clipvalue": POS_NUM_OR_NULL,
    "step_size": POS_INT, "gamma": POS_NUM, "total_steps": POS_INT, "min_lr": NONNEG_NUM,
}


def _is_jsonish(v):
    return v is None or isinstance(v, (bool, int, float, str)) or (
        isinstance(v, (list, tuple)) and all(_is_jsonish(x) for x in v)) or (
        isinstance(v, Mapping) and all(isinstance(k, str) and _is_jsonish(x) for k, x in v.items()))


def _defaults_table(table, fallback):
    """name -> defaults dict from another module's table, whatever its entries are (a defaults dict,
    an object with .defaults, or a tuple holding a dict); non-JSON entries (functions) are dropped."""
    out = {}
    for name, entry in table.items():
        d = entry if isinstance(entry, Mapping) else getattr(entry, "defaults", None)
        if d is None and isinstance(entry, (tuple, list)):
            d = next((x for x in entry if isinstance(x, Mapping)), None)
        if not isinstance(d, Mapping):
            d = fallback.get(name, {})
        out[name] = {k: v for k, v in d.items() if isinstance(k, str) and k != "type" and _is_jsonish(v)}
    return out


def _tables():
    """(losses, optimizers, common, schedules), imported lazily: the owners' modules import NumPy and
    may import this one, and a module written later must still win over the fallback copies."""
    pkg = __package__ or "pyengine"
    try:
        losses = _defaults_table(importlib.import_module(pkg + ".losses").LOSSES, _FALLBACK_LOSSES)
    except (ImportError, AttributeError):
        losses = _FALLBACK_LOSSES
    try:
        optim = importlib.import_module(pkg + ".optim")
        optimizers = _defaults_table(optim.OPTIMIZERS, _FALLBACK_OPTIMIZERS)
        common = dict(optim.COMMON_DEFAULTS)
        schedules = _defaults_table(optim.SCHEDULES, _FALLBACK_SCHEDULES)
    except (ImportError, AttributeError):
        optimizers, common, schedules = _FALLBACK_OPTIMIZERS, _FALLBACK_COMMON, _FALLBACK_SCHEDULES
    return losses, optimizers, common, schedules


# ---------------------------------------------------------------------------------------------
# The analysis: one pass shared by validate() and infer_shapes()


class _LayerRecord:
    __slots__ = ("index", "name", "type", "cfg", "given", "output_shape", "param_count", "problems")

    def __init__(self, index, name):
        self.index, self.name = index, name
        self.type = self.cfg = self.given = self.output_shape = self.param_count = None
        self.problems = []


def _plain(v):
    """A JSON-plain deep copy: tuples become lists, NumPy-like scalars become int/float."""
    if isinstance(v, Mapping):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        return float(v)
    return v


class _Analysis:
    def __init__(self, spec, budget=None, check_budget=False):
        self.head, self.tail = [], []  # top-level problems before / after the layers
        self.records = []
        self.input = None
        self.loss = self.optimizer = None
        self.loss_defaulted = False
        self.seed, self.backend = 0, "auto"
        self.given = {}
        self._run(spec)
        if check_budget:
            self._budget(budget)

    @property
    def problems(self):
        return self.head + [p for r in self.records for p in r.problems] + self.tail

    # -- top level --

    def _run(self, spec):
        if isinstance(spec, (str, bytes)):
            self.head.append(Problem(None, None, None, f"expected the spec to be an object (dict), got a "
                                     f"{type(spec).__name__}; parse the JSON first (json.loads)"))
            return
        if not isinstance(spec, Mapping):
            self.head.append(Problem(None, None, None, "expected the spec to be an object like "
                                     f"{{'input': [...], 'layers': [...]}}, got {_got(spec)}"))
            return
        for key in spec:
            if key not in TOP_FIELDS:
                hint = _did_you_mean(key, TOP_FIELDS) or f"; the spec takes {_one_of(TOP_FIELDS)}"
                self.head.append(Problem(None, None, str(key), f"unknown field{hint}"))
        self.given = {k: _plain(v) for k, v in spec.items() if k in TOP_FIELDS}
        if "input" not in spec:
            self.head.append(Problem(None, None, "input", f"missing; expected {INPUT_SHAPE.expected}"))
        else:
            self.input = self._top_field("input", INPUT_SHAPE, spec["input"])
        layers = spec.get("layers", _MISSING)
        if layers is _MISSING:
            self.head.append(Problem(None, None, "layers", "missing; expected a list of layer objects, "
                                     "e.g. [{'type': 'dense', 'units': 10}]"))
        elif not isinstance(layers, (list, tuple)):
            self.head.append(Problem(None, None, "layers", f"expected a list of layer objects, got {_got(layers)}"))
        elif not layers:
            self.head.append(Problem(None, None, "layers", "expected at least one layer, got []"))
        else:
            self._layers(layers)
        self._loss(spec.get("loss", _MISSING))
        self._optimizer(spec.get("optimizer", _MISSING))
        if "seed" in spec:
            self.seed = self._top_field("seed", SEED, spec["seed"])
        if "backend" in spec:
            self.backend = self._top_field("backend", BACKEND, spec["backend"])
        self._loss_vs_output()

    def _top_field(self, name, kind, value):
        try:
            return kind.check(value)
        except _Bad as e:
            (self.head if name in ("input", "layers") else self.tail).append(Problem(None, None, name, e.message))
            return None

    # -- layers --

    def _layers(self, layers):
        # Pass 1: every layer's name, so inputs can tell "later layer" from "no such layer".
        names, first = [], {}
        for i, layer in enumerate(layers):
            t = layer.get("type") if isinstance(layer, Mapping) else None
            default = f"{t}_{i}" if isinstance(t, str) and t.isidentifier() and len(t) <= 40 else f"layer_{i}"
            n = layer.get("name") if isinstance(layer, Mapping) else None
            name = n if isinstance(n, str) and n and n != "input" else default
            names.append(name)
            first.setdefault(name, i)
        for i, layer in enumerate(layers):
            rec = _LayerRecord(i, names[i] if isinstance(layer, Mapping) else None)
            self.records.append(rec)
            self._layer(rec, layer, names, first)

    def _layer(self, rec, layer, names, first):
        i = rec.index

        def problem(field, message):
            rec.problems.append(Problem(i, rec.name, field, message))

        if not isinstance(layer, Mapping):
            problem(None, f"expected a layer object like {{'type': 'dense', 'units': 10}}, got {_got(layer)}")
            return
        rec.given = _plain(layer)
        t = layer.get("type", _MISSING)
        lt = None
        if t is _MISSING:
            problem("type", f"missing; expected a layer type, one of {', '.join(sorted(LAYER_TYPES))}")
        elif not isinstance(t, str):
            problem("type", f"expected a layer type name (a string such as 'dense'), got {_got(t)}")
        elif t not in LAYER_TYPES:
            hint = _did_you_mean(t, LAYER_TYPES, _TYPE_ALIASES) or \
                f"; known types: {', '.join(sorted(LAYER_TYPES))}"
            problem("type", f"unknown layer type {_show(t)}{hint}")
        else:
            lt = LAYER_TYPES[t]
            rec.type = t

        # name
        if "name" in layer:
            n = layer["name"]
            if not isinstance(n, str) or not n:
                problem("name", f"expected a non-empty string, got {_got(n)}")
            elif n == "input":
                problem("name", "'input' is reserved for the model input; choose another name")
        if first[rec.name] != i:
            j = first[rec.name]
            what = f"'{rec.name}'" if "name" in layer else f"its default name '{rec.name}'"
            problem("name", f"{what} is already the name of layer {j}; layer names must be unique")

        # inputs: resolved against earlier layers only, so the graph is acyclic by construction
        refs = self._inputs(layer, names, first, i, problem)
        if refs is not None and lt is not None:
            n = len(refs)
            if n < lt.min_inputs:
                by_default = " (the previous layer, by default)" if "inputs" not in layer else ""
                eg = ", ".join(f"'{x}'" for x in (names[i - 2] if i >= 2 else "input", names[i - 1] if i else "x"))
                problem("inputs", f"{t} needs at least {lt.min_inputs} inputs, got {n}{by_default}; "
                                  f"list them in 'inputs', e.g. [{eg}]")
                refs = None
            elif lt.max_inputs is not None and n > lt.max_inputs:
                problem("inputs", f"only add and concat take several inputs; {t} got {n} "
                                  f"({', '.join(repr(r) for r in refs)})")
                refs = None

        if lt is None:
            return
        cfg = {"type": t, "name": rec.name, "index": i, "inputs": refs}
        ok = refs is not None
        for fname, f in lt.fields.items():
            if fname in layer:
                try:
                    cfg[fname] = f.kind.check(layer[fname])
                except _Bad as e:
                    problem(fname, e.message)
                    ok = False
            elif f.default is REQUIRED:
                problem(fname, f"missing; expected {f.kind.expected}")
                ok = False
            elif isinstance(f.default, SameAs):
                cfg[fname] = cfg.get(f.default.field)
            else:
                cfg[fname] = f.kind.check(f.default)
        for key in layer:
            if key not in lt.fields and key not in COMMON_LAYER_FIELDS:
                known = list(lt.fields) + list(COMMON_LAYER_FIELDS)
                hint = _did_you_mean(str(key), known) or (
                    f"; {t} takes {_one_of(lt.fields)}" if lt.fields else f"; {t} takes no fields besides "
                                                                          f"type, name and inputs")
                problem(str(key), f"unknown field for {t}{hint}")
                ok = False
        rec.cfg = cfg
        if not ok:
            return
        shapes = [self.input if r == "input" else self.records[first[r]].output_shape for r in refs]
        if any(s is None for s in shapes):
            return  # an upstream problem is already reported; don't cascade
        try:
            out, params = lt.infer(cfg, shapes, refs)
        except _Bad as e:
            problem(e.field, e.message)
            return
        cfg["input_shapes"] = [tuple(s) for s in shapes]
        cfg["output_shape"] = tuple(out)
        cfg["param_shapes"] = params
        cfg["param_count"] = sum(_prod(s) for s in params.values())
        rec.output_shape, rec.param_count = cfg["output_shape"], cfg["param_count"]

    def _inputs(self, layer, names, first, i, problem):
        raw = layer.get("inputs", _MISSING)
        if raw is _MISSING:
            return [names[i - 1] if i else "input"]
        if isinstance(raw, str):  # a single name is accepted as shorthand for [name]
            raw = [raw]
        if not isinstance(raw, (list, tuple)) or not all(isinstance(r, str) for r in raw):
            problem("inputs", f"expected a list of layer names (or 'input'), got {_got(raw)}")
            return None
        if not raw:
            problem("inputs", "expected at least one input name, got []")
            return None
        ok = True
        for r in raw:
            if r == "input":
                continue
            j = first.get(r)
            if j is None:
                hint = _did_you_mean(r, ["input"] + names[:i])
                if not hint and i <= 12:  # a short list of what can be named helps; a long one is noise
                    hint = f"; earlier layers are {', '.join(repr(n) for n in ['input'] + names[:i])}"
                problem("inputs", f"no layer is named {_show(r)}{hint}")
                ok = False
            elif j == i:
                problem("inputs", f"{_show(r)} is this layer; a layer cannot take its own output as input")
                ok = False
            elif j > i:
                problem("inputs", f"{_show(r)} is layer {j}, which comes after this one; "
                                  "inputs must name earlier layers (or 'input')")
                ok = False
        return list(raw) if ok else None

    # -- loss, optimizer --

    def _config_fields(self, where, type_name, given, defaults, required=()):
        """Check a loss/optimizer/schedule config's fields against its defaults; returns the filled dict."""
        out, ok = {"type": type_name}, True
        for key, value in given.items():
            if key == "type":
                continue
            if key not in defaults:
                hint = _did_you_mean(str(key), list(defaults)) or (
                    f"; {type_name} takes {_one_of(defaults)}" if defaults else f"; {type_name} takes no fields")
                self.tail.append(Problem(None, None, f"{where}.{key}", f"unknown field for {type_name}{hint}"))
                ok = False
        for key, default in defaults.items():
            if key in required and given.get(key) is None:
                kind = _CONFIG_KINDS.get(key, POS_INT)
                self.tail.append(Problem(None, None, f"{where}.{key}",
                                         f"missing; {type_name} needs {kind.expected}"))
                ok = False
                continue
            if key not in given:
                out[key] = default
                continue
            kind = _CONFIG_KINDS.get(key) or _generic_kind(default)
            try:
                out[key] = kind.check(given[key])
            except _Bad as e:
                self.tail.append(Problem(None, None, f"{where}.{key}", e.message))
                ok = False
        return out if ok else None

    def _config_type(self, where, raw, table, noun, example, aliases=None, type_field=None):
        if not isinstance(raw, Mapping):
            return None
        t = raw.get("type", _MISSING)
        if t is _MISSING:
            self.tail.append(Problem(None, None, where, f"missing 'type'; expected one of {_one_of(table)}, "
                                                        f"e.g. {example}"))
            return None
        if not isinstance(t, str) or t not in table:
            hint = _did_you_mean(t, table, aliases) or f"; expected one of {_one_of(table)}"
            shown = _show(t) if isinstance(t, str) else _got(t)
            self.tail.append(Problem(None, None, type_field or f"{where}.type", f"unknown {noun} {shown}{hint}"))
            return None
        return t

    def _loss(self, raw):
        losses = _tables()[0]
        if raw is _MISSING:
            raw, self.loss_defaulted = {"type": DEFAULT_LOSS}, True
        type_field = None
        if isinstance(raw, str):
            raw, type_field = {"type": raw}, "loss"  # the string is the whole field
        elif not isinstance(raw, Mapping):
            self.tail.append(Problem(None, None, "loss", "expected a loss name such as 'softmax_cross_entropy' or "
                                     f"an object like {{'type': 'huber', 'delta': 1.0}}, got {_got(raw)}"))
            return
        t = self._config_type("loss", raw, losses, "loss type", "'mse'", _LOSS_ALIASES, type_field)
        if t is not None:
            self.loss = self._config_fields("loss", t, raw, losses[t])

    def _optimizer(self, raw):
        _, optimizers, common, schedules = _tables()
        if raw is _MISSING:
            raw = {"type": DEFAULT_OPTIMIZER}
        elif not isinstance(raw, Mapping):
            hint = f"; write {{'type': {_show(raw)}}}" if isinstance(raw, str) else ""
            self.tail.append(Problem(None, None, "optimizer", "expected an object with a 'type', e.g. "
                                     f"{{'type': 'adam', 'lr': 0.001}}, got {_got(raw)}{hint}"))
            return
        t = self._config_type("optimizer", raw, optimizers, "optimizer type", "{'type': 'adam'}")
        if t is None:
            return
        sched_raw = raw.get("schedule")
        out = self._config_fields("optimizer", t, {k: v for k, v in raw.items() if k != "schedule"},
                                  {**optimizers[t], **common})
        sched = None
        if sched_raw is not None:
            if not isinstance(sched_raw, Mapping):
                self.tail.append(Problem(None, None, "optimizer.schedule", "expected null or an object like "
                                         f"{{'type': 'step', 'step_size': 1000}}, got {_got(sched_raw)}"))
                return
            st = self._config_type("optimizer.schedule", sched_raw, schedules, "schedule type",
                                   "{'type': 'cosine', 'total_steps': 10000}")
            if st is None:
                return
            sched = self._config_fields("optimizer.schedule", st, sched_raw, schedules[st],
                                        _SCHEDULE_REQUIRED.get(st, ()))
            if sched is None:
                return
            lr = out.get("lr") if out else None
            if st == "cosine" and isinstance(lr, float) and sched.get("min_lr", 0.0) > lr:
                self.tail.append(Problem(None, None, "optimizer.schedule.min_lr",
                                         f"min_lr {sched['min_lr']!r} is above the optimizer's lr {lr!r}"))
                return
        if out is not None:
            out["schedule"] = sched
            self.optimizer = out

    def _loss_vs_output(self):
        if not self.records or self.loss is None or self.loss["type"] not in CLASS_LOSSES:
            return
        last = self.records[-1]
        out = last.output_shape
        if out is None or (len(out) == 1 and out[0] >= 2):
            return
        t = self.loss["type"]
        if len(out) > 1:
            fix = "add flatten and dense layers (units = number of classes) at the end"
        else:
            fix = "give the last layer one unit per class (at least 2)"
            if t == "softmax_cross_entropy":
                fix += ", or use binary_cross_entropy for a single output"
        if self.loss_defaulted:
            msg = (f"no 'loss' given, so the default {t} is used, which needs a 1-D output (K,) with K >= 2 "
                   f"classes; the last layer '{last.name}' gives {_shape(out)}; set 'loss' (e.g. 'mse' for "
                   f"regression) or {fix}")
        else:
            msg = (f"{t} needs a 1-D output (K,) with K >= 2 classes, but the last layer '{last.name}' gives "
                   f"{_shape(out)}; {fix}")
        self.tail.append(Problem(None, None, "loss", msg))

    # -- budget --

    def param_count(self):
        return sum(r.param_count for r in self.records if r.param_count is not None)

    def activation_bytes_per_example(self):
        # float32 outputs of every layer, twice: the forward value and its gradient
        return 8 * sum(_prod(r.output_shape) for r in self.records if r.output_shape is not None)

    def _budget(self, budget):
        b = dict(DEFAULT_BUDGET)
        if budget is not None:
            unknown = set(budget) - set(DEFAULT_BUDGET)
            if unknown:
                raise ValueError(f"unknown budget keys {sorted(unknown)}; expected {sorted(DEFAULT_BUDGET)}")
            b.update(budget)
        # Known figures are lower bounds when some layers are invalid, so going over is certain.
        params, limit = self.param_count(), b["max_params"]
        if limit is not None and params > limit:
            big = max(self.records, key=lambda r: r.param_count or 0)
            self.tail.append(Problem(None, None, None,
                                     f"the network has {_count(params)} parameters; the limit is {_count(limit)} "
                                     f"(the largest layer is '{big.name}' with {_count(big.param_count or 0)})"))
        batch, limit = b["batch_size"] or 1, b["max_activation_bytes"]
        act = self.activation_bytes_per_example() * batch
        if limit is not None and act > limit:
            big = max(self.records, key=lambda r: _prod(r.output_shape or (0,)))
            gib = f"{act / 2 ** 30:.2f} GiB" if act < 10 ** 18 else "far too much"
            self.tail.append(Problem(None, None, None,
                                     f"activation memory for a batch of {_int_text(batch)} is {_count(act)} bytes "
                                     f"({gib}, outputs and their gradients as float32); the limit is "
                                     f"{_count(limit)} bytes; the largest output is '{big.name}' "
                                     f"{_shape(big.output_shape or ())}; use a smaller batch, fewer filters or "
                                     "more downsampling"))


# ---------------------------------------------------------------------------------------------
# Public API


@dataclass
class NormalizedSpec:
    """A validated spec: every field filled, shapes and parameter shapes resolved, no arrays."""
    input: tuple
    layers: list
    loss: dict
    optimizer: dict
    seed: int
    backend: str
    output_shape: tuple
    param_count: int
    activation_bytes_per_example: int  # float32 outputs of every layer + their gradients, one example
    _given: dict = dc_field(default_factory=dict, repr=False, compare=False)

    def layer(self, name):
        for cfg in self.layers:
            if cfg["name"] == name:
                return cfg
        raise KeyError(name)

    def summary_rows(self):
        return [(c["name"], c["type"], c["output_shape"], c["param_count"]) for c in self.layers]

    def to_spec(self, full=False):
        """The spec as a plain JSON dict. By default exactly the fields the user gave (padding 2 stays 2);
        full=True also writes every default, name and input explicitly (same meaning)."""
        given = _plain(self._given)
        if not full:
            return given
        layers = []
        for cfg, g in zip(self.layers, given["layers"]):
            d = {"type": cfg["type"], "name": cfg["name"], "inputs": list(cfg["inputs"])}
            for fname, f in LAYER_FIELDS[cfg["type"]].items():
                if fname in g:
                    d[fname] = g[fname]
                elif isinstance(f.default, SameAs):
                    d[fname] = d[f.default.field]
                else:
                    d[fname] = f.default
            layers.append(d)
        loss = {**self.loss, **(given["loss"] if isinstance(given.get("loss"), dict) else {})}
        opt = {**self.optimizer, **{k: v for k, v in given.get("optimizer", {}).items() if k != "schedule"}}
        return _plain({"input": given["input"], "layers": layers, "loss": loss, "optimizer": opt,
                       "seed": self.seed, "backend": self.backend})

    def to_json(self):
        """Everything as plain JSON (tuples become lists), e.g. to hand to the UI."""
        return _plain({"input": self.input, "layers": self.layers, "loss": self.loss, "optimizer": self.optimizer,
                       "seed": self.seed, "backend": self.backend, "output_shape": self.output_shape,
                       "param_count": self.param_count,
                       "activation_bytes_per_example": self.activation_bytes_per_example})


def validate(spec, budget=None):
    """Check `spec` and return its NormalizedSpec, or raise SpecError listing every problem.
    `budget` overrides keys of DEFAULT_BUDGET (a None limit switches that check off)."""
    a = _Analysis(spec, budget, check_budget=True)
    problems = a.problems
    if problems:
        raise SpecError(problems)
    return _normalized(a)


def analyze(spec, budget=None):
    """One pass over `spec` for an editor: (NormalizedSpec or None, per-layer LayerInfo list, problems).

    `problems` is the SpecError's list (empty when the spec is valid); the per-layer infos are those of
    infer_shapes, so a builder can show shapes and inline messages and build the model from one analysis."""
    try:
        a = _Analysis(spec, budget, check_budget=True)
    except (TypeError, ValueError) as e:  # not even a dict
        return None, [], [Problem(None, None, None, str(e))]
    problems = a.problems
    return (None if problems else _normalized(a)), _layer_infos(a), problems


def _normalized(a):
    return NormalizedSpec(
        input=a.input, layers=[r.cfg for r in a.records], loss=a.loss, optimizer=a.optimizer,
        seed=a.seed, backend=a.backend, output_shape=a.records[-1].output_shape,
        param_count=a.param_count(), activation_bytes_per_example=a.activation_bytes_per_example(),
        _given=a.given)


LayerInfo = namedtuple("LayerInfo", "output_shape param_count messages")


def infer_shapes(spec):
    """Per layer: LayerInfo(output_shape or None, param_count or None, [messages]); never raises on bad
    input. Layers downstream of an invalid one get None without a message of their own."""
    return _layer_infos(_Analysis(spec))


def _layer_infos(a):
    return [LayerInfo(r.output_shape, r.param_count,
                      [(f"field '{p.field}': " if p.field is not None else "") + p.message for p in r.problems])
            for r in a.records]
