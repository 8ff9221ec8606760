"""Dilated convolutions: how far one output unit sees, for a stack of plain 3x3 convs against a stack of
dilated 3x3 convs (rates 1, 2, 4, ... by default, or the learner's own), with the same weights per layer.

A 3x3 conv with dilation rate d spreads its nine taps d pixels apart, so it spans 2d + 1 pixels for
the same nine weights. Stacked, L plain 3x3 convs see 2L + 1 pixels; with rates 1, 2, 4, ..., 2^(L-1)
they see 2^(L+1) - 1: exponential instead of linear growth, at the same parameter count.

The pictures are measured, not drawn from the formula: each stack is built as a pyengine model (one
channel, every weight 1, no bias or activation) and pyengine's autograd takes the gradient of the
centre output unit with respect to the input. A pixel is in the receptive field when that gradient is
nonzero, and its value counts the paths from that pixel to the unit (rates like 2, 2, 2 leave holes:
"gridding"). `receptive_field(spec)` is the textbook recurrence, which the tests compare with it.

Step adds the next layer; Play adds the rest."""
import numpy as np

from ..model import build
from ..spec import validate
from ..tensor import Tensor
from . import Demo, b64, fail, option, register, to_u8

MAX_DEPTH = 8
MAX_RATE = 64
MAX_FIELD = 513  # largest receptive field drawn (pixels on a side)


def receptive_field(spec):
    """{layer name: (receptive field on a side, jump)} for every layer of a spec with square windows.

    The textbook recurrence (e.g. Araujo et al., Distill 2019): a window of k taps at dilation d and
    stride s adds (k - 1) * d * jump pixels to the field and multiplies the jump (the input distance
    between neighbouring output units) by s. Joins (concat, add) take the largest field of their
    inputs; dense and global pooling see the whole input (None)."""
    nspec = validate(spec)
    fields = {"input": (1, 1)}
    for cfg in nspec.layers:
        ins = [fields[name] for name in cfg["inputs"]]
        if any(f[0] is None for f in ins) or cfg["type"] in ("dense", "globalavgpool2d", "flatten", "lstm", "gru",
                                                               "rnn"):
            fields[cfg["name"]] = (None, None)
            continue
        r, jump = max(f[0] for f in ins), max(f[1] for f in ins)
        if cfg["type"] == "conv2d":
            k, s, d = cfg["kernel_size"][0], cfg["strides"][0], cfg["dilation_rate"][0]
        elif cfg["type"] in ("maxpool2d", "avgpool2d"):
            k, s, d = cfg["pool_size"][0], cfg["strides"][0], 1
        else:
            k, s, d = 1, 1, 1
        fields[cfg["name"]] = (r + (k - 1) * d * jump, jump * s)
    return fields


def stack_spec(rates, size):
    """One-channel 3x3 convs with the given dilation rates ('same' padding), on a size x size input."""
    return {"input": [size, size, 1], "layers": [
        {"type": "conv2d", "name": f"conv{i + 1}", "filters": 1, "kernel_size": 3, "dilation_rate": int(d),
         "padding": "same", "use_bias": False} for i, d in enumerate(rates)],
        "loss": "mse", "optimizer": {"type": "sgd"}, "seed": 0, "backend": "numpy"}


def measured_field(rates, size):
    """(paths from each input pixel to the centre output unit as a size x size array, field width):
    the gradient of that unit with respect to the input, all weights 1, from pyengine's autograd."""
    model = build(stack_spec(rates, size))
    for layer in model.params.values():
        layer["weight"].data[...] = 1.0
    x = Tensor(np.zeros((1, size, size, 1), np.float32), requires_grad=True)
    out = model.forward(x)
    pick = np.zeros(out.data.shape, np.float32)
    pick[0, size // 2, size // 2, 0] = 1.0
    out.backward(pick)
    paths = x.grad[0, :, :, 0]
    cols = np.flatnonzero(paths.any(axis=0))
    return paths, int(cols[-1] - cols[0] + 1)


def parse_rates(rates, depth):
    """The dilation rates: a list or a comma-separated string of whole numbers, one per layer; None gives
    the doubling rates 1, 2, 4, ... Clear messages for anything else."""
    if rates is None or rates == "":
        return [2 ** i for i in range(depth)]
    if isinstance(rates, str):
        parts = [p.strip() for p in rates.replace(";", ",").split(",") if p.strip()]
    elif isinstance(rates, (list, tuple)):
        parts = list(rates)
    else:
        fail(f"rates must be a list of whole numbers or a text like '1, 2, 4', got {rates!r}", "BadParams")
    out = []
    for i, p in enumerate(parts):
        try:
            value = float(p)
        except (TypeError, ValueError):
            fail(f"rate {i + 1} must be a whole number, got {p!r}", "BadParams")
        if value != int(value) or not 1 <= value <= MAX_RATE:
            fail(f"rate {i + 1} must be a whole number from 1 to {MAX_RATE}, got {p}", "BadParams")
        out.append(int(value))
    if len(out) != depth:
        fail(f"rates lists {len(out)} rate{'s' if len(out) != 1 else ''} for a depth of {depth}: give one "
             "rate per layer", "BadParams")
    return out


@register
class Dilation(Demo):
    name = "dilation"

    async def setup(self, depth=4, rates=None, channels=16, **unknown):
        if unknown:
            fail(f"unknown option(s) {', '.join(sorted(unknown))}: dilation takes depth, rates, channels",
                 "BadParams")
        self.depth = option({"depth": depth}, "depth", 4, 1, MAX_DEPTH, int)
        self.rates = parse_rates(rates, self.depth)
        self.channels = option({"channels": channels}, "channels", 16, 1, 512, int)
        widest = 1 + 2 * sum(self.rates)
        if widest > MAX_FIELD:
            fail(f"those rates give a receptive field of {widest} pixels; the demo draws at most {MAX_FIELD}: "
                 "use fewer layers or smaller rates", "BadParams")
        self.shown = 1  # layers shown so far (Step adds one)

    def advance(self):
        if self.shown >= self.depth:
            return False  # every layer is shown: Play stops
        self.shown += 1

    def view(self):
        rates = self.rates[:self.shown]
        plain = [1] * self.shown
        size = 1 + 2 * max(sum(rates), len(plain)) + 8  # the widest field (odd) and a margin of 4
        c = self.channels
        per_layer = 9 * c * c + c  # a 3x3 conv from c channels to c, with biases
        stacks = {}
        for key, stack in (("plain", plain), ("dilated", rates)):
            paths, measured = measured_field(stack, size)
            fields = receptive_field(stack_spec(stack, size))
            stacks[key] = {"rates": stack, "paths": b64(to_u8(paths, 0.0, float(paths.max()))),
                           "max_paths": float(paths.max()), "measured": measured,
                           "covered": int((paths > 0).sum()),
                           "fields": [fields[f"conv{i + 1}"][0] for i in range(len(stack))],
                           "params": per_layer * len(stack)}
        dilated = stacks["dilated"]["measured"]
        return {"depth": self.depth, "shown": self.shown, "rates": self.rates, "channels": c, "size": size,
                "per_layer_params": per_layer, "plain": stacks["plain"], "dilated": stacks["dilated"],
                # plain 3x3 layers (and their weights) it takes to see as far as the dilated stack
                "plain_layers_for_same_field": (dilated - 1) // 2,
                "plain_params_for_same_field": per_layer * ((dilated - 1) // 2)}
