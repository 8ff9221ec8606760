"""What a spec field accepts and how a value is shown in a message: the field kinds (a checker that
normalises a user value or raises Bad), the layer field record (Field, SameAs, REQUIRED) and the
value text that messages quote. Pure Python: spec.py's analysis and every layer record
(pyengine/layertypes) build on it.
"""
from __future__ import annotations

import math
import numbers
from collections import namedtuple
from collections.abc import Mapping

ACTIVATIONS = ("linear", "relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "softmax")


class Bad(Exception):
    """A field or shape problem found while checking one value; `field` overrides where it is reported."""

    def __init__(self, message=None, field=None, hint=None):
        super().__init__(message)
        self.message, self.field, self.hint = message, field, hint



# Showing values in messages (garbage must never make the message itself fail)


def int_text(n):
    n = int(n)
    if abs(n) < 10 ** 18:
        return str(n)
    # str() of a huge int can raise (sys.set_int_max_str_digits), and nobody reads 4000 digits
    return f"{'-' if n < 0 else ''}~1e{int(abs(n).bit_length() * 0.30103)}"


def count_text(n):
    return f"{n:,}" if n < 10 ** 18 else int_text(n)


def shape_text(s):
    return "(" + ", ".join(int_text(d) for d in s) + ("," if len(s) == 1 else "") + ")"


def show(v, depth=0):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, numbers.Integral):
        return int_text(v)
    if isinstance(v, numbers.Real):
        f = float(v)
        return "NaN" if f != f else ("Infinity" if f == math.inf else "-Infinity" if f == -math.inf else repr(f))
    if isinstance(v, str):
        return repr(v if len(v) <= 40 else v[:37] + "...")
    if isinstance(v, (list, tuple)):
        if depth >= 2:
            return "[...]"
        items = [show(x, depth + 1) for x in v[:6]] + (["..."] if len(v) > 6 else [])
        return "[" + ", ".join(items) + "]"
    if isinstance(v, Mapping):
        if depth >= 2:
            return "{...}"
        items = [f"{show(str(k))}: {show(x, depth + 1)}" for k, x in list(v.items())[:4]]
        return "{" + ", ".join(items + (["..."] if len(v) > 4 else [])) + "}"
    return f"a {type(v).__name__} object"


def got(v):
    """The value as shown after 'got', flagging the look-alikes (true is not 1, '8' is not 8)."""
    if isinstance(v, bool):
        return show(v) + " (a boolean)"
    if isinstance(v, str):
        return show(v) + " (a string)"
    return show(v)


def did_you_mean(word, choices, aliases=None):
    """'; did you mean 'x'?' for the closest choice, or '' when nothing is close."""
    if not isinstance(word, str) or not word:
        return ""
    w = word.strip().lower()[:100]  # difflib is quadratic; junk strings stay cheap
    if aliases and w in aliases:
        return "; " + aliases[w]
    lower = {c.lower(): c for c in choices}
    if w in lower:
        return f"; did you mean '{lower[w]}'?"
    import difflib  # (imported on the first misspelling: it is 50 ms of the engine's start in Pyodide)

    close = difflib.get_close_matches(w, list(lower), n=1, cutoff=0.6)
    return f"; did you mean '{lower[close[0]]}'?" if close else ""


def one_of(choices):
    return ", ".join(f"'{c}'" for c in choices)


# ---------------------------------------------------------------------------------------------
# Field kinds: a checker turns a user value into its normalised form or raises Bad


def is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def is_num(v):
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        return False
    return is_int(v) or math.isfinite(v)  # isfinite(huge int) would overflow


class Kind:
    """What a field accepts: `expected` is the text used in messages, `convert` normalises."""
    __slots__ = ("expected", "convert")

    def __init__(self, expected, convert):
        self.expected, self.convert = expected, convert

    def check(self, value):
        try:
            return self.convert(value)
        except Bad as e:
            if e.message:
                raise
            hint = f"; {e.hint}" if e.hint and not e.hint.startswith(";") else (e.hint or "")
            raise Bad(f"expected {self.expected}, got {got(value)}{hint}") from None


def int_kind(expected, lo):
    def convert(v):
        if is_int(v) and v >= lo:
            return int(v)
        raise Bad()
    return Kind(expected, convert)


def num_kind(expected, lo=-math.inf, hi=math.inf, lo_open=False, hi_open=False, nullable=False):
    def convert(v):
        if v is None and nullable:
            return None
        if not is_num(v):
            raise Bad()
        if v < lo or v > hi or (lo_open and v == lo) or (hi_open and v == hi):
            raise Bad()
        return float(v)
    return Kind(expected, convert)


def pair(v, ok):
    if is_int(v) and ok(v):
        return (int(v), int(v))
    if isinstance(v, (list, tuple)) and len(v) == 2 and all(is_int(x) and ok(x) for x in v):
        return (int(v[0]), int(v[1]))
    raise Bad()


def _c_padding(v):
    if isinstance(v, str):
        if v in ("valid", "same"):
            return v
        raise Bad(hint=did_you_mean(v, ("valid", "same")))
    if is_int(v) and v >= 0:
        return int(v)
    return pair(v, lambda x: x >= 0)


def _c_activation(v):
    if v is None or (isinstance(v, str) and v in ACTIVATIONS):
        return v
    if isinstance(v, str):
        hint = did_you_mean(v, ACTIVATIONS) or f"; expected null or one of {one_of(ACTIVATIONS)}"
        raise Bad(f"unknown activation {show(v)}{hint}")
    raise Bad()


def _c_bool(v):
    if isinstance(v, bool):
        return v
    raise Bad()


def _c_target_shape(v):
    if not isinstance(v, (list, tuple)) or not v or not all(is_int(x) and (x > 0 or x == -1) for x in v):
        raise Bad()
    if sum(1 for x in v if x == -1) > 1:
        raise Bad(f"at most one -1 is allowed, got {show(v)}")
    return tuple(int(x) for x in v)


def _c_input_shape(v):
    if isinstance(v, (list, tuple)) and v and all(is_int(x) and x > 0 for x in v):
        return tuple(int(x) for x in v)
    raise Bad()


POS_INT = int_kind("a positive integer", 1)
NONNEG_INT = int_kind("a non-negative integer", 0)
INT = int_kind("an integer", -math.inf)
PAIR = Kind("a positive integer or a list of 2 positive integers", lambda v: pair(v, lambda x: x > 0))
PADDING = Kind("'valid', 'same', a non-negative integer or a list of 2 non-negative integers [ph, pw]", _c_padding)
ACTIVATION = Kind(f"null or one of {one_of(ACTIVATIONS)}", _c_activation)
BOOL = Kind("true or false", _c_bool)
RATE = num_kind("a number in [0, 1)", 0.0, 1.0, hi_open=True)
FRACTION = num_kind("a number in [0, 1]", 0.0, 1.0)
POS_NUM = num_kind("a positive number", 0.0, lo_open=True)
NONNEG_NUM = num_kind("a non-negative number", 0.0)
NUM = num_kind("a finite number")
POS_NUM_OR_NULL = num_kind("null or a positive number", 0.0, lo_open=True, nullable=True)
TARGET_SHAPE = Kind("a non-empty list of positive integers (at most one -1)", _c_target_shape)
INPUT_SHAPE = Kind("a non-empty list of positive integers: the shape of one example without the batch axis, "
                   "e.g. [28, 28, 1]", _c_input_shape)
SEED = NONNEG_INT


class _Required:
    def __repr__(self):
        return "REQUIRED"


REQUIRED = _Required()
# kind: what the field accepts; default: its value when not given (REQUIRED, or SameAs another field);
# start: what the builder fills in for a required field when the layer is added from the palette.
Field = namedtuple("Field", "kind default start", defaults=(None,))
SameAs = namedtuple("SameAs", "field")  # default copied from another field (pool strides = pool_size)


def prod(shape):
    n = 1
    for d in shape:
        n *= d
    return n
