"""Model spec: validation, defaults, shape and parameter inference (docs/engine.md is the contract).

`validate(spec)` turns the JSON spec shared by the UI, URLs, saved files and the Python API into a
`NormalizedSpec`: every field filled, names and inputs resolved, shapes and parameter shapes known.
It is pure Python on purpose (no NumPy, no arrays): a bad spec costs nothing, and every problem is
collected and reported at once as a `SpecError`, so the UI can mark all of them inline.

`infer_shapes(spec)` runs the very same analysis without raising, for the UI's live per-layer shapes.
"""
from __future__ import annotations

import importlib
import numbers
from collections import namedtuple
from collections.abc import Mapping
from dataclasses import dataclass, field as dc_field

from . import layertypes
from .fields import (  # the field kinds and message text, shared with the layer records
    ACTIVATIONS, BOOL, INPUT_SHAPE, NONNEG_NUM, NUM, POS_INT, POS_NUM, POS_NUM_OR_NULL, RATE, REQUIRED, SEED,
    Kind, SameAs, Bad as _Bad, count_text as _count, did_you_mean as _did_you_mean, got as _got,
    int_text as _int_text, one_of as _one_of, prod as _prod, shape_text as _shape, show as _show,
)

__all__ = [
    "validate", "infer_shapes", "NormalizedSpec", "SpecError", "Problem", "LayerInfo",
    "LAYER_TYPES", "ACTIVATIONS", "BACKENDS", "DEFAULT_BUDGET", "REQUIRED", "describe_fields",
]

DEFAULT_BUDGET = {"max_params": 20_000_000, "max_activation_bytes": 1 << 30, "batch_size": 32}
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
# Layer types: one record each in pyengine/layertypes (fields, inference, init, forward, hooks); the
# analysis below is generic and reads them from there.

LAYER_TYPES = layertypes.TYPES  # type -> LayerType record (live: a type registered later is known)
describe_fields = layertypes.describe_fields


class _FieldTables(Mapping):
    """type -> {field: Field(kind, default)} read live from the records; order is the contract's and
    the normalised dict's."""

    def __getitem__(self, layer_type):
        return LAYER_TYPES[layer_type].fields

    def __iter__(self):
        return iter(LAYER_TYPES)

    def __len__(self):
        return len(LAYER_TYPES)


LAYER_FIELDS = _FieldTables()

# Names people bring from Keras / ConvNetJS / PyTorch that are not layers here; a record's own
# `aliases` (fc -> dense, ...) are added by _type_aliases.
_NOT_LAYERS = {
    "input": "the model input is not a layer; set the top-level 'input' field",
    "svm": "a loss is not a layer; set the top-level \"loss\": \"hinge\"",
    "regression": "a loss is not a layer; set the top-level \"loss\": \"mse\"",
}


def _type_aliases():
    out = {alias: f"did you mean '{t}'?" for t, lt in LAYER_TYPES.items() for alias in lt.aliases}
    return {**out, **_NOT_LAYERS}


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
            hint = _did_you_mean(t, LAYER_TYPES, _type_aliases()) or \
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
