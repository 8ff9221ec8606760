"""The layer record and what several layer types share (initialisation, activations, windows).

A `LayerType` is everything pyengine knows about one spec `type`:

    fields    field name -> Field(kind, default): what spec.validate checks and fills in, and what
              the builder's form shows (spec order = the normalised dict's order)
    infer     (cfg, input_shapes, input_names) -> (output_shape, {param: shape}); raises Bad (naming
              the field when one is to blame). Pure Python: spec analysis allocates no arrays.
    init      (cfg, param_shapes, rng) -> {param: float32 array}
    forward   (cfg, params, inputs, ctx) -> Tensor (ctx has .training and .rng)
    pytorch   (plan, cfg, ins, out): module/forward lines of export.pytorch's plan, or None
    keras     (plan, cfg, ins, k): Keras functional-API lines of export.keras's plan, or None
    onnx      (graph, cfg, ins, params) -> output name, in export.onnx's graph, or None
    gpu       (trainer, cfg, ins, y_shape, masks) -> (y buffer, forward ops, backward) for
              backends/webgpu/plan.py, or None (the model then trains on NumPy and says why)

`cfg` is a normalised layer dict (every field present, pairs resolved, `pads` as
((top, bottom), (left, right)), plus input_shapes / output_shape / param_shapes). A hook gets the
exporter's or trainer's own builder object and uses only that: a layer file imports nothing from
the exporters or backends, so they can read the registry without an import cycle.
"""
from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field as dc_field
from typing import Callable, Optional

from ..fields import Bad, int_text, prod, shape_text

_ROOT = __package__.rpartition(".")[0]  # "pyengine"


class _OnFirstUse:
    """A module imported when first used: spec analysis reads the records (fields, infer) in pure
    Python, and NumPy and the ops load only once a model is built or exported."""

    def __init__(self, name):
        self._name = name

    def __getattr__(self, attr):
        return getattr(importlib.import_module(self._name), attr)


np = _OnFirstUse("numpy")
ops = _OnFirstUse(_ROOT + ".ops")

RELU_FAMILY = ("relu", "leaky_relu", "elu", "gelu")


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


def default_init(cfg, param_shapes, rng):
    """Glorot/He weights (by the layer's activation), zero biases, batchnorm's gamma and variance 1."""
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


def apply_activation(name, x, cfg=None):
    """The `activation` field of dense/conv2d/rnn (or an activation layer) applied to x."""
    if name in (None, "linear"):
        return x
    if name == "softmax":
        return ops.softmax(x, axis=-1)
    if name not in ops.ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of: {', '.join(ops.ACTIVATIONS)}")
    alpha = (cfg or {}).get("alpha")
    if alpha is None:
        alpha = ops.elementwise.DEFAULT_ALPHA.get(name)
    return ops.Activation.apply(x, kind=name, alpha=alpha)


def bias(cfg, params):
    return params.get("bias") if cfg.get("use_bias", True) else None


# ---- the record -----------------------------------------------------------------------------
@dataclass(frozen=True)
class LayerType:
    name: str
    fields: dict
    infer: Callable
    forward: Callable
    init: Callable = default_init
    min_inputs: int = 1
    max_inputs: Optional[int] = 1  # None: any number (add, concat)
    aliases: tuple = ()  # names people bring from Keras / PyTorch / ConvNetJS that mean this type
    pytorch: Optional[Callable] = None
    keras: Optional[Callable] = None
    onnx: Optional[Callable] = None
    gpu: Optional[Callable] = dc_field(default=None)


def infer_same(cfg, shapes, names):
    """Output shaped as the (first) input, no parameters."""
    return shapes[0], {}


def gpu_alias(gt, cfg, ins, y_shape, masks):
    """A layer whose output is its input's bytes with a new shape (flatten, reshape)."""
    return ins[0][0], [], lambda dy, needs: ([], [dy])


# ---- what the image layers share: (H, W, C) inputs and sliding windows ----------------------
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
        return f"; reshape to (H, W, C) first, e.g. target_shape [{int_text(s[0])}, {int_text(s[1])}, 1]"
    return ""


def _pads_text(pads):
    return "(" + ", ".join(f"({int_text(a)}, {int_text(b)})" for a, b in pads) + ")"


def need_image(s):
    if len(s) != 3:
        raise Bad(f"expects an image input (H, W, C), got {shape_text(s)}{_image_hint(s)}")
    return s


def window(cfg, hw, kernel, field, what):
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
        dil = (f" with dilation {int_text(dilation[0])}x{int_text(dilation[1])} spans "
               f"{int_text(span[0])}x{int_text(span[1])}" if tuple(dilation) != (1, 1) else "")
        raise Bad(f"{what} {int_text(kernel[0])}x{int_text(kernel[1])}{dil} is larger than its padded input "
                  f"{int_text(padded[0])}x{int_text(padded[1])} (input {int_text(hw[0])}x{int_text(hw[1])}, "
                  f"pads {_pads_text(pads)}), so the output size would be <= 0; use a smaller {what}, more padding "
                  f"(e.g. 'same') or less downsampling before this layer", field=field)
    cfg["pads"] = tuple(pads)
    return tuple(out)


# ---- axes (concat, softmax) -----------------------------------------------------------------
def axis(cfg, shape):
    """Check `axis` and store it negative. Axes count the batch axis, as in Keras (and layers.py):
    1..rank or -rank..-1 for per-example shapes of rank `rank`; negative means the same either way."""
    a, rank = cfg["axis"], len(shape)
    if a == 0 or a == -rank - 1:
        raise Bad(f"axis {int_text(a)} is the batch axis; use -1 (the last axis) or another axis in "
                  f"1..{rank} / -{rank}..-1", field="axis")
    if not -rank <= a <= rank:
        raise Bad(f"axis {int_text(a)} is out of range for inputs {shape_text(shape)}; axes count the batch axis "
                  f"(as in Keras), so use 1..{rank} or -{rank}..-1", field="axis")
    cfg["axis"] = a - rank - 1 if a > 0 else a
    return cfg["axis"] + rank  # index into the per-example shape


def axis_split(shape, axis):
    """(outer, length, inner) of a full (batch-first) shape around `axis` (negative, as spec.py stores it)."""
    a = len(shape) + axis if axis < 0 else axis
    return int(prod(shape[:a])), int(shape[a]), int(prod(shape[a + 1:]))


def listing(shapes, names):
    return ", ".join(f"'{n}' {shape_text(s)}" for n, s in zip(names, shapes))
