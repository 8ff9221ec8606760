"""The playground session: the RPC methods the page (web/ui/*, window.nnplay) calls in the worker.

One session per worker: the current spec and model, the dataset, the training position and the
history. Every method is registered as ``playground.<name>`` with ``@rpc.method``; every failure
is an ``rpc.RpcError`` whose message names the problem, and a failed call leaves the session as it
was (a bad spec, CSV or model file never replaces the working one).

Training runs in chunks (pyengine.train.run_sliced over one resumable Trainer): after each time
slice ``train`` awaits ``asyncio.sleep(0)``, which hands control back to the worker's event loop so
that ``playground.pause`` or a change of settings can arrive and be served between two steps.

Pixels (heatmaps, activations, filters, digits) and model files cross as base64 strings of bytes
inside the JSON reply: the worker protocol carries JSON text, and base64 is 3x smaller than a list.
"""
from __future__ import annotations

import asyncio
import base64
import csv
import io as _io
import math
import time
from collections.abc import Mapping

import numpy as np

from . import data as _data
from . import io as _model_io
from . import layertypes as _layertypes
from . import losses as _losses
from . import presets as _presets
from . import rpc
from . import spec as _spec
from . import checks as _checks
from . import parallel as _parallel
from . import train as _train
from .errors import DataError, NumericalError
from .losses import CLASS_LOSSES, CLASSIFIER_LOSSES
from .model import Model, build

__all__ = ["SESSION", "Session", "parse_csv", "CsvError"]

_MISSING_ARG = object()  # "not given" (None means "switch off", e.g. earlyStopping)

TOY_DATASETS = {"spiral": _data.spiral, "circle": _data.circle, "xor": _data.xor, "gauss": _data.gauss}
DATASETS = (*TOY_DATASETS, "regression1d", "mnist", "csv", "images")
MNIST_PATH = "/data/mnist.bin"
CHUNK_SECONDS = 0.05  # longest stretch of training between two yields to the event loop
PROGRESS_SECONDS = 0.1  # at most ~10 "progress" events a second
MAX_VAL_FOR_EPOCH = 2000  # validation examples scored at each epoch's end (all of them by evaluate())


def b64(array_or_bytes) -> str:
    raw = array_or_bytes.tobytes() if hasattr(array_or_bytes, "tobytes") else bytes(array_or_bytes)
    return base64.b64encode(raw).decode("ascii")


def to_u8(values, lo=None, hi=None):
    """Scale an array to 0..255 (uint8) over [lo, hi] (default: its own min..max)."""
    v = np.asarray(values, dtype=np.float32)
    lo = float(v.min()) if lo is None and v.size else (lo or 0.0)
    hi = float(v.max()) if hi is None and v.size else (hi if hi is not None else 1.0)
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    return np.clip((v - lo) * scale, 0, 255).astype(np.uint8)


def _fail(message, kind):
    raise rpc.RpcError(message, kind)


# --- CSV ----------------------------------------------------------------------------------------


class CsvError(ValueError):
    """A CSV problem; the message names the row (1-based, as a spreadsheet shows it) and the column."""


def parse_csv(text, label=None):
    """CSV text with a header row -> (x float32 (n, features), y, info).

    `label` names the label column (header name or 0-based index; default: the last column). A label
    column of whole numbers or of words becomes class ids (classification); any other numbers make a
    regression target. Every other cell must be a number.
    """
    if not isinstance(text, str) or not text.strip():
        raise CsvError("the CSV file is empty")
    rows = [r for r in csv.reader(_io.StringIO(text.strip("\ufeff"))) if r and any(c.strip() for c in r)]
    if len(rows) < 2:
        raise CsvError("the CSV needs a header row and at least one data row")
    header = [h.strip() for h in rows[0]]
    if label is None or label == "":
        col = len(header) - 1
    elif isinstance(label, int) and not isinstance(label, bool):
        if not 0 <= label < len(header):
            raise CsvError(f"label column {label} does not exist; the header has {len(header)} columns")
        col = label
    elif label in header:
        col = header.index(label)
    else:
        raise CsvError(f"there is no column named {label!r}; the header has: {', '.join(header)}")
    if len(header) < 2:
        raise CsvError("the CSV needs at least one feature column besides the label column")
    features, labels = [], []
    for r, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise CsvError(f"row {r}: has {len(row)} cells, but the header has {len(header)} columns")
        values = []
        for c, cell in enumerate(row):
            if c == col:
                continue
            try:
                v = float(cell)
            except ValueError:
                raise CsvError(f"row {r}, column '{header[c]}': {cell.strip()!r} is not a number") from None
            if not math.isfinite(v):
                raise CsvError(f"row {r}, column '{header[c]}': {cell.strip()!r} is not a finite number")
            values.append(v)
        features.append(values)
        labels.append(row[col].strip())
    try:
        numeric = [float(v) for v in labels]
    except ValueError:
        numeric = None
    if numeric is not None and all(v.is_integer() and 0 <= v < 1000 for v in numeric):
        y = np.asarray(numeric, dtype=np.int64)
        classes = [str(i) for i in range(int(y.max()) + 1)]
        task = "classification"
    elif numeric is not None:
        y = np.asarray(numeric, dtype=np.float32).reshape(-1, 1)
        classes, task = [], "regression"
    else:
        names = sorted(set(labels))
        if len(names) > 100:
            raise CsvError(f"column '{header[col]}' has {len(names)} different words; a label column may have at most 100")
        y = np.asarray([names.index(v) for v in labels], dtype=np.int64)
        classes, task = names, "classification"
    x = np.asarray(features, dtype=np.float32)
    info = {"columns": header, "label": header[col], "features": [h for i, h in enumerate(header) if i != col],
            "classes": classes, "task": task, "rows": len(x)}
    return x, y, info


# --- the session --------------------------------------------------------------------------------


# --- the session --------------------------------------------------------------------------------

DEFAULT_PRESET = "mlp"
TRAIN_DEFAULTS = {"batchSize": 16, "earlyStopping": None, "workers": "auto"}
REGRESSION_LOSSES = ("mse", "huber")


class Session:
    """Everything one playground page holds in the worker: the one state the page renders.

    State (``state()``, streamed as the "state" event after every change):
      spec      the network, with its loss, full optimizer and the backend choice
      data      the data choice (name, options) and what it holds (sizes, classes, kind)
      train     the training settings (batchSize, earlyStopping, workers: "auto" | 1 | 2, see parallel.py)
      counters  step, completed epochs, position in the epoch, examples, examples/s
      history   (getMetrics) the per-step loss curve and per-epoch metrics
      fit       whether the network can train on the data, and if not, why and what would fix it
      training  whether a train() is running; backend: what runs and why; workers: on how many
                workers steps run and why (parallel.Parallel.status)

    Changes while training: settings that keep the network (loss, optimizer, backend, batch size,
    early stopping) apply between two steps and training goes on; a new network, new data, reset,
    a loaded model or restore end the running train() first (it resolves with stopped: "changed").
    A second train() while one runs is refused with kind "Busy".
    """

    def __init__(self):
        self.spec = None
        self.model = None
        self.dataset = None  # dict: name, options, kind, x_train, y_train, x_val, y_val, classes, ...
        self.train_settings = dict(TRAIN_DEFAULTS)
        self.spec_is_default = False  # the network is the untouched default (data may replace it)
        self.revision = 0
        self.training = False
        self.run_token = 0  # bumped to end a running train() ("changed")
        self.pause_requested = False
        self.parallel = _parallel.Parallel(_peer_bridge())
        self.reset_counters()

    # -- state --

    def reset_counters(self):
        self.history = _train.History()
        self.trainer = None
        self.trainer_key = None

    @property
    def examples(self):
        return self.history.examples

    def counters(self):
        t, h, m = self.trainer, self.history, self.model
        return {"step": m.step_count if m else 0, "epoch": h.epoch, "batch": t.batch if t else 0,
                "batches": t.batches if t else None, "examples": h.examples, "examples_per_s": h.examples_per_s}

    def backend_state(self):
        m = self.model
        requested = (self.spec or {}).get("backend", "auto")
        if m is None:
            return {"requested": requested, "backend": None, "notice": None}
        status = {"requested": m.requested_backend, "backend": m.backend, "notice": m.backend_notice}
        extra = getattr(m, "backend_status", None)
        if callable(extra):
            extra = extra()
        if isinstance(extra, dict):
            status.update({k: v for k, v in extra.items() if k not in status or v is not None})
        return status

    def state(self):
        return {"revision": self.revision, "spec": self.spec, "data": self.dataset_info(),
                "train": dict(self.train_settings), "counters": self.counters(), "training": self.training,
                "backend": self.backend_state(), "workers": self.parallel.status(), "fit": self.fit_check(), "default": self.spec_is_default,
                "last": self.history.epochs[-1] if self.history.epochs else None}

    def changed(self, *what):
        """Announce a change: the page re-renders from the "state" event."""
        self.revision += 1
        rpc.emit("state", change=list(what), **self.state())

    def end_run(self):
        """End a running train() at its next step boundary (it resolves with stopped: "changed")."""
        if self.training:
            self.run_token += 1

    # -- spec --

    def analyze(self, spec):
        """(NormalizedSpec or None, the check info the builder shows, problems): one analysis."""
        normalized, layers, problems = _spec.analyze(spec)
        info = {
            "ok": normalized is not None,
            "layers": [{"output_shape": i.output_shape, "param_count": i.param_count, "messages": i.messages}
                       for i in layers],
            "problems": [p.to_json() for p in problems],
            "output_shape": normalized.output_shape if normalized else None,
            "param_count": normalized.param_count if normalized else sum(i.param_count or 0 for i in layers),
            "names": [c["name"] for c in normalized.layers] if normalized else None,
        }
        return normalized, info, problems

    def check_spec(self, spec):
        return self.analyze(spec)[1]

    def is_same_net(self, spec, keep_weights=True):
        """Whether set_spec(spec, keep_weights) keeps the network built now, weights and counters:
        the same input, layers and seed (what shapes the weights); loss, optimizer and backend may
        differ. A running train() goes on through such a change; any other spec ends it first."""
        return bool(keep_weights and self.model is not None and isinstance(spec, Mapping)
                    and _net_part(self.model.spec) == _net_part(spec))

    def set_spec(self, spec, keep_weights=True):
        """Build `spec`; keep the trained weights (and counters) when only training settings changed.

        A spec without a "backend" keeps the session's current backend choice. A bad spec raises
        SpecError (kind "SpecError", details = the check info) and changes nothing."""
        if isinstance(spec, dict) and "backend" not in spec:
            spec = {**spec, "backend": (self.spec or {}).get("backend", "auto")}
        normalized, info, problems = self.analyze(spec)
        if normalized is None:
            err = rpc.RpcError(str(_spec.SpecError(problems)), "SpecError")
            err.details = info  # the builder marks each layer's problem from this
            raise err
        same_net = self.is_same_net(spec, keep_weights)
        if not same_net:
            self.end_run()
        model = Model(normalized)
        if same_net:
            model.load_state_dict(self.model.state_dict())
            model.step_count = self.model.step_count
        else:
            self.reset_counters()
        self.spec, self.model = model.spec, model
        self.spec_is_default = False
        self.changed("spec")
        return {"spec": self.spec, "kept_weights": same_net, **info}

    def set_backend(self, name):
        if name not in _spec.BACKENDS:
            _fail(f"backend must be one of {', '.join(_spec.BACKENDS)}, got {name!r}", "BadParams")
        if self.spec is None:
            _fail("no network yet: call setSpec(spec) first", "NoModel")
        was_default = self.spec_is_default
        self.set_spec({**self.spec, "backend": name})
        self.spec_is_default = was_default
        return self.backend_state()

    def require_model(self):
        if self.model is None:
            _fail("no network yet: call setSpec(spec) first", "NoModel")
        return self.model

    # -- data --

    async def load_dataset(self, name, options=None):
        opts = _checks.validate_dataset_params(name, options)  # names the field, the value, what is allowed
        self.end_run()  # new data ends a running train() now, not after the load
        ratio, seed = opts["ratio"], opts["seed"]
        extra = {}
        used = {"ratio": ratio, "seed": seed}  # the options as applied (defaults filled in): the state shows these
        if name in TOY_DATASETS:
            x, y = TOY_DATASETS[name](opts["n"], noise=opts["noise"], seed=seed)
            kind, classes = "2d", ["0", "1"]
            used.update(n=opts["n"], noise=opts["noise"], features=opts["features"])
            extra = {"features": opts["features"]}  # x stays the 2-D points; features() expands them
        elif name == "regression1d":
            x, y = _data.regression_1d(opts["n"], noise=opts["noise"], seed=seed)
            kind, classes = "1d", []
            used.update(n=opts["n"], noise=opts["noise"])
        elif name == "mnist":
            try:
                from nnplay_worker import loadMnist  # the worker's JS function (only in the browser)
                await loadMnist()
            except ImportError:
                pass
            try:
                images, labels = _data.load_mnist(opts.get("path", MNIST_PATH))
            except OSError as e:
                _fail(f"MNIST is not available: {e}", "DataError")
            count = _checks.validate_dataset_params(name, options, len(images))["count"]
            order = np.random.default_rng(seed).permutation(len(images))[:count]  # the file is grouped by digit
            x, y = np.ascontiguousarray(images[order]), labels[order].astype(np.int64)
            kind, classes = "images", [str(i) for i in range(10)]
            used["count"] = count
        elif name == "csv":
            try:
                x, y, info = parse_csv(opts["text"], opts["label"])
            except CsvError as e:
                _fail(str(e), "CsvError")
            kind = "table"
            classes = info["classes"]
            extra = {"csv": info}
            used["label"] = opts["label"]
        else:  # images uploaded per class: checked classes [(name, [bytes of size*size grey pixels])]
            x, y, classes = _uploaded_images(opts)
            kind = "images"
            used["size"] = opts["size"]
        n_train = max(1, int(round(len(x) * ratio)))
        order = np.random.default_rng(seed + 1).permutation(len(x))
        tr, va = order[:n_train], order[n_train:]
        self.end_run()
        self.dataset = {
            "name": name, "options": used,
            "kind": kind, "x_train": x[tr], "y_train": y[tr], "x_val": x[va], "y_val": y[va], "classes": classes,
            **extra,
        }
        applied = self._fit_default_network() or self._follow_features()
        self.changed("data", *(["spec"] if applied else []))
        info = self.dataset_info()
        if applied:
            info["applied_preset"] = applied
        return info

    def _fit_default_network(self):
        """The untouched default network cannot take the new data: switch to the data's preset."""
        if not self.spec_is_default or self.fit_check()["ok"]:
            return None
        key = _preset_for(self.dataset["name"])
        if key is None:
            return None
        preset = _presets.playground_presets()[key]
        self.set_spec(preset["spec"], keep_weights=False)
        self.spec_is_default = True
        rpc.emit("notice", message=f"The {self.dataset['name']} data needs another network: the "
                                   f"“{preset['title']}” preset is loaded.", kind="info")
        return key

    def _follow_features(self):
        """2-D data with another set of feature inputs: a flat-input network's input follows it (the
        learner ticked a feature box; making them also edit the input shape would only get in the way)."""
        d, m = self.dataset, self.model
        if "features" not in d or m is None or len(m.input_shape) != 1 or self.fit_check()["ok"]:
            return None
        spec = {**self.spec, "input": [len(d["features"])]}
        if _spec.analyze(spec)[0] is None:
            return None
        default = self.spec_is_default
        self.set_spec(spec, keep_weights=False)
        self.spec_is_default = default
        rpc.emit("notice", message=f"The network's input is now [{len(d['features'])}]: one per feature "
                                   f"({', '.join(d['features'])}).", kind="info")
        return "input"

    def dataset_info(self):
        d = self.dataset
        if d is None:
            return None
        info = {"name": d["name"], "options": d["options"], "kind": d["kind"], "train": len(d["x_train"]),
                "val": len(d["x_val"]), "classes": d["classes"], "task": "classification" if d["classes"] else
                "regression", "input_shape": _suggested_input(d) if "features" in d else list(d["x_train"].shape[1:]),
                "suggested_input": _suggested_input(d)}
        if "csv" in d:
            info["csv"] = d["csv"]
        return info

    def require_data(self):
        if self.dataset is None:
            _fail("no dataset yet: call loadDataset(name) first", "NoData")
        return self.dataset

    def features(self, x):
        """Dataset arrays -> what the model's input expects (MNIST adapts: crop, flatten, scale)."""
        model = self.require_model()
        shape = tuple(model.input_shape)
        if self.dataset["kind"] == "images" and x.dtype == np.uint8:
            h = x.shape[1]
            if len(shape) == 3 and shape[2] == 1 and shape[0] == shape[1] and shape[0] <= h:
                return _data.mnist_arrays(x, np.zeros(len(x)), crop=shape[0] if shape[0] < h else None)[0]
            if len(shape) == 2 and shape[0] == shape[1] and shape[0] <= h:  # rows as a sequence (LSTM)
                return _data.mnist_arrays(x, np.zeros(len(x)), crop=shape[0] if shape[0] < h else None)[0][..., 0]
            if len(shape) == 1 and round(math.sqrt(shape[0])) ** 2 == shape[0] and math.isqrt(shape[0]) <= h:
                size = math.isqrt(shape[0])
                return _data.mnist_arrays(x, np.zeros(len(x)), crop=size if size < h else None, flatten=True)[0]
            want = f"an input of [{h}, {h}, 1], [{h}, {h}] or [{h * h}] (or a smaller square crop)"
        else:
            if "features" in self.dataset and x.ndim == 2 and x.shape[1] == 2:  # 2-D points -> feature inputs
                x = _data.playground_features(x, self.dataset["features"])
            if tuple(x.shape[1:]) == shape:
                return x
            want = f"an input of {list(x.shape[1:])}"
        _fail(f"the network's input is {list(shape)} but the {self.dataset['name']} data needs {want}; "
              "change the input shape", "DataError")

    def targets(self, y):
        model = self.model
        if model.loss_type == "binary_cross_entropy" and y.ndim == 1:
            out = model.output_shape
            return y.astype(np.float32).reshape((-1,) + tuple(out))
        if model.loss_type in REGRESSION_LOSSES and y.ndim == 1:
            if self.dataset["classes"] and tuple(model.output_shape) == (len(self.dataset["classes"]),):
                return np.eye(len(self.dataset["classes"]), dtype=np.float32)[y]  # one-hot regression target
            return y.astype(np.float32).reshape(-1, 1)
        return y

    def fit_check(self):
        """Can the network train on the data? {ok, reason, fixes: [{label, spec | preset}]}."""
        m, d = self.model, self.dataset
        if m is None:
            return {"ok": False, "reason": "There is no network yet.", "fixes": []}
        if d is None:
            return {"ok": False, "reason": "No data is loaded yet.", "fixes": []}
        fixes = []
        key = _preset_for(d["name"])
        if key is not None:
            fixes.append({"label": f"Use the “{_presets.playground_presets()[key]['title']}” preset", "preset": key})
        reason = None
        try:
            self.features(d["x_train"][:1])
        except rpc.RpcError as e:
            reason = str(e)
            shape = _suggested_input(d)
            candidates = [shape] + ([[int(np.prod(shape))]] if d["kind"] == "images" else [])
            k = len(d["classes"])
            for shape in candidates:  # e.g. an MLP takes the digits flattened
                spec = {**self.spec, "input": shape}
                normalized = _spec.analyze(spec)[0]
                label = f"Set the input to {shape}"
                if (normalized is not None and k and m.loss_type in CLASS_LOSSES
                        and tuple(normalized.output_shape) != (k,)):  # and as many outputs as classes
                    spec, label = _with_outputs(spec, k), f"Set the input to {shape} and {k} outputs"
                    normalized = _spec.analyze(spec)[0] if spec else None
                if normalized is not None:
                    fixes.insert(0, {"label": label, "spec": spec})
                    break
        if reason is None:
            reason = self._loss_problem(fixes)
        if reason is None:
            return {"ok": True, "reason": None, "fixes": []}
        return {"ok": False, "reason": reason, "fixes": fixes}

    def _loss_problem(self, fixes):
        m, d = self.model, self.dataset
        out = tuple(m.output_shape)
        if not d["classes"]:  # regression targets
            if m.loss_type not in REGRESSION_LOSSES:
                layers = [dict(l) for l in self.spec["layers"]]
                if layers and layers[-1].get("type") == "dense":
                    layers[-1] = {**layers[-1], "units": int(np.prod(d["y_train"].shape[1:]) or 1)}
                spec = {**self.spec, "layers": layers, "loss": "mse"}
                if _spec.analyze(spec)[0] is not None:
                    fixes.insert(0, {"label": "Use the mse loss (one output per target)", "spec": spec})
                return (f"the {d['name']} data has numeric targets (regression), but the loss is {m.loss_type}, "
                        "a classification loss: choose mse or huber")
            want = tuple(d["y_train"].shape[1:]) or (1,)
            if out != want and not (out == (1,) and d["y_train"].ndim == 1):
                return f"the network's output is {list(out)} but the {d['name']} targets are {list(want)}"
            return None
        k = len(d["classes"])
        if m.loss_type in CLASS_LOSSES:
            if len(out) != 1 or out[0] < k:
                return (f"the {d['name']} data has {k} classes but the network's output is {list(out)}: "
                        f"the last layer needs {k} units for {m.loss_type}")
        elif m.loss_type == "binary_cross_entropy":
            if k != 2 or out != (1,):
                return (f"binary_cross_entropy needs 2 classes and 1 output; the data has {k} classes and the "
                        f"output is {list(out)}")
        elif out != (k,):  # regression losses on one-hot class targets
            return (f"the {d['name']} data has {k} classes: with {m.loss_type} the output must be [{k}] "
                    f"(one-hot targets), not {list(out)}; or choose softmax_cross_entropy")
        return None

    # -- training --

    def set_train_settings(self, batchSize=None, earlyStopping=_MISSING_ARG, workers=None):
        """Change the training settings (they apply between two steps, also while training runs)."""
        new = dict(self.train_settings)
        if batchSize is not None:
            if isinstance(batchSize, bool) or not isinstance(batchSize, int) or not 1 <= batchSize <= 4096:
                _fail(f"batchSize must be a whole number from 1 to 4096, got {batchSize!r}", "BadParams")
            new["batchSize"] = batchSize
        if earlyStopping is not _MISSING_ARG:
            try:
                _train.early_stopping_settings(earlyStopping, True)
            except ValueError as e:
                _fail(f"earlyStopping: {e}", "BadParams")
            new["earlyStopping"] = earlyStopping or None
        if workers is not None:
            try:
                self.parallel.set_setting(workers)
            except ValueError as e:
                _fail(str(e), "BadParams")
            new["workers"] = workers
        if new != self.train_settings:
            self.train_settings = new
            self.changed("train")
        return dict(self.train_settings)

    def ensure_trainer(self):
        """The Trainer for the current network, data and settings (made anew when one changed;
        counters and curves carry on in the session's History)."""
        m, d = self.require_model(), self.require_data()
        s = self.train_settings
        key = (id(m), id(d), m.loss_type, s["batchSize"], repr(s["earlyStopping"]))
        if self.trainer is not None and self.trainer_key == key:
            return self.trainer
        fit = self.fit_check()
        if not fit["ok"]:
            _fail(f"this network cannot train on this data: {fit['reason']}", "DataError")
        has_val = len(d["x_val"]) > 0
        validation = ((self.features(d["x_val"][:MAX_VAL_FOR_EPOCH]), self.targets(d["y_val"][:MAX_VAL_FOR_EPOCH]))
                      if has_val else None)
        try:
            trainer = _train.Trainer(m, self.features(d["x_train"]), self.targets(d["y_train"]),
                                     batch_size=s["batchSize"], validation=validation,
                                     early_stopping=s["earlyStopping"], history=self.history,
                                     position_from=self.trainer if self.trainer_key and
                                     self.trainer_key[1] == id(d) else None,
                                     callbacks=[self._on_event],
                                     step_fn=lambda xb, yb: self.parallel.train_step(m, xb, yb, s["batchSize"]))
        except (DataError, ValueError) as e:
            _fail(str(e), "DataError")
        self.trainer, self.trainer_key = trainer, key
        return trainer

    def _on_event(self, event):
        if event["event"] == "epoch":
            rpc.emit("epoch", **{k: v for k, v in event.items() if k != "event"})

    async def train(self, steps=None, epochs=None, batch_size=None, early_stopping=_MISSING_ARG, max_seconds=None):
        if self.training:
            _fail("training is already running: pause() it first, or wait for it to end", "Busy")
        p = _checks.validate_train_params(steps, epochs, self.train_settings["batchSize"] if batch_size is None
                                          else batch_size, None if early_stopping is _MISSING_ARG else early_stopping,
                                          max_seconds)
        steps, epochs, max_seconds = p["steps"], p["epochs"], p["max_seconds"]
        if steps is not None and epochs is not None:
            _fail("train: give steps or epochs, not both", "BadParams")
        self.set_train_settings(batch_size, early_stopping)
        trainer = self.ensure_trainer()
        if trainer.stopped == "early_stopping":  # a new run starts a new patience count
            trainer.stopped, trainer.best, trainer.waited = None, None, 0
        remaining = trainer.steps_for(steps, epochs)
        limit = "steps" if steps is not None else "epochs"
        token = self.run_token
        start_step, start_epoch = self.model.step_count, self.history.epoch
        losses_here = []
        self.training, self.pause_requested = True, False
        self.changed("training")

        def should_stop():
            if self.run_token != token:
                return "changed"
            if self.pause_requested:
                return "paused"
            t = self.ensure_trainer()  # settings changed between steps: a new trainer goes on
            if t.stopped:
                return t.stopped
            if remaining is not None and len(losses_here) >= remaining:
                return limit
            return None

        def step():
            losses_here.append(self.trainer.step()["loss"])

        def progress():
            self.parallel.announce()
            c = self.counters()
            rpc.emit("progress", stage="train", loss=losses_here[-1] if losses_here else None,
                     accuracy=self.history.step_accuracy[-1] if self.history.step_accuracy else None, **c)

        try:
            reason, _ = await _train.run_sliced(step, max_seconds=max_seconds, should_stop=should_stop,
                                                on_progress=progress, slice_seconds=CHUNK_SECONDS,
                                                progress_seconds=PROGRESS_SECONDS)
        except NumericalError as e:
            _fail(str(e), "NumericalError")
        except rpc.RpcError:
            raise
        finally:
            self.training = False
            self.changed("training", "counters")
        if reason == "steps" and steps is None:
            reason = "epochs" if epochs is not None else reason
        result = {"steps": len(losses_here), "history": losses_here, "stopped": reason,
                  "epoch": self.history.epoch, "epochs_done": self.history.epoch - start_epoch,
                  "step": self.model.step_count if self.model else start_step, "examples": self.history.examples}
        tail = losses_here[-10:] or self.history.step_loss[-10:]
        result["loss"] = float(np.mean(tail)) if tail else None
        if reason == "changed":
            return result  # the network or data is not the one trained: no evaluation
        d = self.dataset
        if len(d["x_val"]):
            val = self.model.evaluate(*self.trainer.validation)
            result.update(accuracy=val["accuracy"], val_loss=val["loss"], val_accuracy=val["accuracy"])
        else:
            accs = [a for a in self.history.step_accuracy[-10:] if a is not None]
            result["accuracy"] = float(np.mean(accs)) if accs else None
        return result

    async def pause(self):
        """Stop a running train() after its current step; resolves once the session is idle."""
        was = self.training
        self.pause_requested = was
        await self.wait_idle()
        return {"paused": was}

    def reset(self):
        self.end_run()
        if self.spec is not None:
            self.model = build(self.spec)
        self.reset_counters()
        self.changed("spec", "counters")
        return self.metrics()

    def evaluate(self, split="val"):
        model = self.require_model()
        d = self.require_data()
        if split not in ("val", "train"):
            _fail(f"split must be 'val' or 'train', got {split!r}", "BadParams")
        key = "val" if split == "val" and len(d["x_val"]) else "train"
        out = model.evaluate(self.features(d[f"x_{key}"]), self.targets(d[f"y_{key}"]))
        return {**out, "split": key, "examples": len(d[f"x_{key}"])}

    def predict(self, inputs):
        model = self.require_model()
        try:
            x = np.asarray(inputs, dtype=np.float32)
        except (TypeError, ValueError):
            _fail("inputs must be a (nested) list of numbers", "BadParams")
        single = x.shape == tuple(model.input_shape)
        if single:
            x = x[None]
        if tuple(x.shape[1:]) != tuple(model.input_shape):
            _fail(f"inputs must have shape {list(model.input_shape)} (one example) or [n, "
                  f"{', '.join(map(str, model.input_shape))}], got {list(x.shape)}", "BadParams")
        if not np.isfinite(x).all():
            _fail("inputs contain NaN or infinite values", "BadParams")
        out = model.predict(x)
        result = {"outputs": out[0] if single else out}
        if model.loss_type in CLASS_LOSSES:
            cls = out.argmax(axis=-1)
            result["classes"] = int(cls[0]) if single else cls
        return result

    def metrics(self):
        h = self.history.to_json()
        return {**self.counters(), "training": self.training, "step_loss": h["step_loss"],
                "step_stride": h["step_stride"], "epochs": h["epochs"], "last": h["epochs"][-1] if h["epochs"] else None,
                "backend": self.model.backend if self.model else None}
    # -- views --

    def heatmap(self, resolution=48, neurons=64, extent=6.0, limit=1000):
        """Decision surface of a 2-D classifier on a grid over [-extent, extent]^2, as uint8 bytes:
        P(class 1) (or the regression output) for the whole net and, per dense-like layer, its units'
        outputs (TensorFlow Playground's per-neuron thumbnails; up to `neurons` a layer, `total` says
        how many it has), each feature input over the grid, the dense layers' weights (the edges of the
        network picture) and which of the first `limit` points (as `points` gives them) are misclassified."""
        model = self.require_model()
        d = self.dataset
        two_d = d is not None and d["kind"] == "2d"
        if not (two_d or tuple(model.input_shape) == (2,)):
            _fail("the heatmap needs 2-D data (spiral, circle, xor, gauss) or a network with input [2]", "BadParams")
        r = int(resolution)
        ticks = np.linspace(-extent, extent, r, dtype=np.float32)
        gx, gy = np.meshgrid(ticks, -ticks)  # row 0 is the top (+y)
        grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
        x = self.features(grid) if two_d else grid
        from .tensor import no_grad
        with no_grad():
            out = model.forward(x, training=False)
            outputs = {k: v.data for k, v in (model.last_outputs or {}).items()}
        probs = model.output_probabilities(out.data)
        value = probs[:, 1] if probs.shape[1:] == (2,) else probs[:, 0] if probs.ndim == 2 else probs.ravel()
        classifier = model.loss_type in CLASSIFIER_LOSSES
        main = to_u8(value, 0.0, 1.0) if classifier else to_u8(value)

        def centred(col):
            m = float(np.abs(col).max()) or 1.0
            return b64(to_u8(col, -m, m))  # 128 is zero

        names = d["features"] if two_d and "features" in d else ["x1", "x2"]
        inputs = [{"name": n, "pixels": centred(x[:, k])} for k, n in enumerate(names)] if x.shape[1] == len(names) else []
        thumbs = []
        for cfg in model.nspec.layers:
            o = outputs.get(cfg["name"])
            last = cfg is model.nspec.layers[-1]
            if o is None or o.ndim != 2:
                continue
            entry = {"layer": cfg["name"], "type": cfg["type"], "inputs": list(cfg["inputs"]), "total": int(o.shape[1]),
                     "output": last, "units": [centred(o[:, u]) for u in range(min(neurons, o.shape[1]))]}
            w = model.params.get(cfg["name"], {}).get("weight")
            if cfg["type"] == "dense" and w is not None and w.data.size <= 64 * 64:
                entry["weight"] = w.data  # (in, out): edge colour is the sign, thickness the size
            thumbs.append(entry)
        wrong = {}
        if two_d and classifier:
            for split in ("train", "val"):
                xs, ys = d[f"x_{split}"][:limit], d[f"y_{split}"][:limit]
                if len(xs):
                    p = model.predict(self.features(xs))
                    pred = p.argmax(axis=-1) if p.shape[-1] > 1 else (p[:, 0] > 0.5).astype(np.int64)
                    wrong[split] = np.flatnonzero(pred != ys)
        return {"resolution": r, "extent": extent, "classifier": classifier, "pixels": b64(main),
                "range": [float(value.min()), float(value.max())], "inputs": inputs, "neurons": thumbs,
                "wrong": wrong}

    def points(self, limit=1000):
        """The dataset's points (2-D or 1-D) and labels for plotting."""
        d = self.require_data()
        if d["kind"] not in ("2d", "1d"):
            return {"kind": d["kind"]}
        take = lambda a: np.asarray(a[:limit], dtype=np.float32)  # noqa: E731
        return {"kind": d["kind"], "train_x": take(d["x_train"]), "train_y": take(d["y_train"]),
                "val_x": take(d["x_val"]), "val_y": take(d["y_val"])}

    def layer_views(self, example=0, channels=16, filters=32):
        """ConvNetJS-style per-layer pictures for one validation example: activations (each channel
        an image, or a row of units), parameter gradients of the last step and conv filters."""
        model = self.require_model()
        d = self.require_data()
        src = d["x_val"] if len(d["x_val"]) else d["x_train"]
        i = int(example) % len(src)
        x = self.features(src[i:i + 1])
        from .tensor import no_grad
        with no_grad():
            model.forward(x, training=False)
            outputs = {k: v.data[0] for k, v in (model.last_outputs or {}).items()}
        views = [{"name": "input", "type": "input", **_picture(outputs["input"], channels)}]
        for cfg in model.nspec.layers:
            view = {"name": cfg["name"], "type": cfg["type"], **_picture(outputs[cfg["name"]], channels)}
            params = model.params.get(cfg["name"], {})
            w = params.get("weight")
            if cfg["type"] == "conv2d" and w is not None:
                kh, kw, cin, cout = w.data.shape
                f = w.data[:, :, 0, :filters] if cin == 1 else w.data[..., :filters].mean(axis=2)  # (kh, kw, k)
                view["filters"] = {"h": kh, "w": kw, "images": [b64(to_u8(f[:, :, k])) for k in range(f.shape[2])]}
            if w is not None and w.grad is not None:
                g = w.grad.reshape(-1, w.grad.shape[-1])[:, :64]
                m = float(np.abs(g).max()) or 1.0
                view["gradient"] = {"h": g.shape[0], "w": g.shape[1], "pixels": b64(to_u8(g, -m, m)),
                                    "max_abs": m}
            views.append(view)
        label = d["y_val"][i] if len(d["x_val"]) else d["y_train"][i]
        out = {"example": i, "examples": len(src), "split": "val" if len(d["x_val"]) else "train",
               "label": label.tolist() if hasattr(label, "tolist") else label, "classes": d["classes"], "layers": views}
        if model.loss_type in CLASSIFIER_LOSSES:  # the probability bars under the example
            out["probabilities"] = model.output_probabilities(outputs[model.nspec.layers[-1]["name"]][None])[0]
        if d["kind"] == "images" and src.dtype == np.uint8:
            out["image"] = {"h": int(src.shape[1]), "w": int(src.shape[2]), "pixels": b64(src[i])}
        return out

    def conv_detail(self, layer, channel=0, example=0, row=None, col=None, channels=4):
        """How one output value of a conv2d layer is computed, for one example (CNN Explainer's
        close-up): the input window under the kernel and the kernel's weights (per input channel, up
        to `channels` of them, with their share of the sum), the bias, the sum before the activation
        and the value after it. `row`/`col` default to the output's strongest position."""
        model = self.require_model()
        d = self.require_data()
        cfg = next((c for c in model.nspec.layers if c["name"] == layer), None)
        if cfg is None or cfg["type"] != "conv2d":
            convs = [c["name"] for c in model.nspec.layers if c["type"] == "conv2d"]
            _fail(f"convDetail: {layer!r} is not a conv2d layer of this network (its conv2d layers: "
                  f"{', '.join(convs) or 'none'})", "BadParams")
        src = d["x_val"] if len(d["x_val"]) else d["x_train"]
        i = int(example) % len(src)
        from .tensor import no_grad
        with no_grad():
            model.forward(self.features(src[i:i + 1]), training=False)
            outputs = {k: v.data[0] for k, v in (model.last_outputs or {}).items()}
        x, y = outputs[cfg["inputs"][0]], outputs[cfg["name"]]  # (H, W, Cin), (OH, OW, Cout)
        oh, ow, cout = y.shape
        k = int(channel)
        if not 0 <= k < cout:
            _fail(f"convDetail: channel must be 0..{cout - 1} for {layer}, got {channel}", "BadParams")
        if row is None or col is None:
            row, col = (int(v) for v in np.unravel_index(int(np.argmax(y[:, :, k])), (oh, ow)))
        row, col = int(row), int(col)
        if not (0 <= row < oh and 0 <= col < ow):
            _fail(f"convDetail: row/col must be inside the {oh}x{ow} output, got ({row}, {col})", "BadParams")
        w = model.params[cfg["name"]]["weight"].data  # (kh, kw, cin, cout)
        b = model.params[cfg["name"]].get("bias")
        kh, kw, cin, _ = w.shape
        (pt, _pb), (pl, _pr) = cfg["pads"]
        (sh, sw), (dh, dw) = cfg["strides"], cfg["dilation_rate"]
        rows = [row * sh - pt + a * dh for a in range(kh)]  # input rows under the kernel (may be padding)
        cols = [col * sw - pl + a * dw for a in range(kw)]
        inside = lambda r, c: 0 <= r < x.shape[0] and 0 <= c < x.shape[1]  # noqa: E731
        window = np.array([[[x[r, c, j] if inside(r, c) else 0.0 for j in range(cin)] for c in cols] for r in rows],
                          dtype=np.float32)  # (kh, kw, cin)
        parts = (window * w[:, :, :, k]).sum(axis=(0, 1))  # each input channel's share of the sum
        bias = float(b.data[k]) if b is not None else 0.0
        z = float(parts.sum() + bias)
        shown_ch = np.argsort(-np.abs(parts))[:int(channels)]  # the channels that matter most
        m = float(np.abs(x).max()) or 1.0
        return {"layer": cfg["name"], "channel": k, "example": i, "row": row, "col": col, "kernel": [kh, kw],
                "strides": [sh, sw], "dilation": [dh, dw], "pads": [pt, pl], "in_channels": cin,
                "input_shape": list(x.shape), "output_shape": [oh, ow, cout], "rows": rows, "cols": cols,
                "terms": [{"channel": int(j), "window": window[:, :, j], "weights": w[:, :, j, k], "sum": float(parts[j]),
                           "picture": b64(to_u8(x[:, :, j], -m, m) if x.min() < 0 else to_u8(x[:, :, j], 0, m))}
                          for j in shown_ch],
                "others": float(parts.sum() - parts[shown_ch].sum()), "bias": bias, "z": z,
                "activation": cfg.get("activation") or "linear", "value": float(y[row, col, k]),
                "output": b64(to_u8(y[:, :, k]))}

    def confusion(self, limit=2000, show=16):
        """Confusion matrix on the validation data (rows: true class) and misclassified examples."""
        model = self.require_model()
        d = self.require_data()
        if model.loss_type not in CLASSIFIER_LOSSES:
            _fail("a confusion matrix needs a classifier (a classification loss)", "BadParams")
        key = "val" if len(d["x_val"]) else "train"
        xs, ys = d[f"x_{key}"][:limit], d[f"y_{key}"][:limit]
        probs = model.predict(self.features(xs))
        pred = probs.argmax(axis=-1) if probs.shape[-1] > 1 else (probs[:, 0] > 0.5).astype(np.int64)
        k = max(int(pred.max()) + 1, int(ys.max()) + 1, len(d["classes"]), 2)
        matrix = np.zeros((k, k), np.int64)
        np.add.at(matrix, (ys.astype(np.int64), pred), 1)
        wrong = np.flatnonzero(pred != ys)[:show]
        examples = []
        for j in wrong:
            e = {"index": int(j), "label": int(ys[j]), "predicted": int(pred[j]),
                 "confidence": float(probs[j].max() if probs.shape[-1] > 1 else probs[j, 0])}
            if d["kind"] == "images":
                e.update(h=int(xs.shape[1]), w=int(xs.shape[2]), pixels=b64(xs[j]))
            else:
                e["x"] = xs[j]
            examples.append(e)
        return {"split": key, "classes": d["classes"] or [str(c) for c in range(k)], "matrix": matrix,
                "examples": examples, "total": len(ys), "wrong": int((pred != ys).sum())}

    def curve(self, points=200):
        """A 1-D regression network's fitted curve over the data's x range: {x, y} lists."""
        model = self.require_model()
        d = self.require_data()
        if tuple(model.input_shape) != (1,) or d["kind"] != "1d":
            _fail("the fitted curve needs 1-D data and a network with input [1]", "BadParams")
        xs = np.concatenate([d["x_train"], d["x_val"]]) if len(d["x_val"]) else d["x_train"]
        lo, hi = float(xs.min()), float(xs.max())
        grid = np.linspace(lo, hi, int(points), dtype=np.float32).reshape(-1, 1)
        out = model.predict(grid)
        return {"x": grid[:, 0], "y": out.reshape(len(grid), -1)[:, 0]}

    # -- files --

    def save(self):
        return {"bytes": b64(_model_io.save(self.require_model()))}

    def _adopt_model(self, model, what):
        """Make `model` the session's network (a loaded file, an import, the learner's code). The
        session's backend choice stays."""
        self.end_run()
        backend = (self.spec or {}).get("backend", "auto")
        if model.requested_backend != backend:
            model.set_backend(backend)
        self.model, self.spec = model, {**model.spec, "backend": backend}
        self.spec_is_default = False
        self.reset_counters()
        self.changed("spec", "counters")
        return {"spec": self.spec, "step": model.step_count}

    def load(self, data):
        if not isinstance(data, str):
            _fail(f"the model file could not be read (bad base64: expected text, got {type(data).__name__})", "ModelFileError")
        raw = _decode_b64(data, "the model file")
        model = _read_model_file(raw)
        return self._adopt_model(model, "model file")

    def import_convnetjs(self, json_text):
        try:
            model = _model_io.from_convnetjs(json_text)
        except Exception as e:  # noqa: BLE001 - every problem of the file becomes its message
            _fail(f"the ConvNetJS file could not be imported: {e}", "ImportError")
        return {"spec": self._adopt_model(model, "ConvNetJS file")["spec"]}

    def adopt(self, variable="model"):
        """Take a Model the learner built in the Python view (a variable of runPython's namespace)."""
        value = rpc.USER_NAMESPACE.get(variable)
        if not isinstance(value, Model):
            _fail(f"the Python code did not leave a pyengine Model in the variable '{variable}'", "NoModel")
        return {"spec": self._adopt_model(value, "code")["spec"]}

    # -- start-up and autosave --

    def snapshot(self):
        """What an autosave keeps: {spec, data: {name, options}, train, weights (base64), history}."""
        d = self.dataset
        return {"spec": self.spec, "data": {"name": d["name"], "options": d["options"]} if d else None,
                "train": dict(self.train_settings),
                "weights": b64(_model_io.save(self.model)) if self.model is not None else None,
                "history": self.history.to_json() if self.model is not None else None}

    async def restore(self, saved=None, data_options=None):
        """Start (or start again) from saved state: {spec?, data?: {name, options}, train?, weights?, history?}
        as snapshot() writes it (an autosave, a share link without weights, nothing at all).

        Each part is checked on its own; a part that cannot be used is ignored, said in `ignored`
        (field and why), and the default takes its place: the default network (the MLP preset) and
        its data. Weights load only into the network they were saved with. `data_options` holds
        what a link never carries (an uploaded CSV's text, uploaded images), merged into the data
        options. Returns {ignored: [messages], weights: bool, history: bool, state}."""
        await self.stop_run()
        ignored = []
        saved = saved if isinstance(saved, dict) else ({} if saved is None else None)
        if saved is None:
            ignored.append("the saved state is not an object")
            saved = {}
        presets = _presets.playground_presets()
        spec = saved.get("spec")
        built = False
        if spec is not None:
            try:
                self.set_spec(spec, keep_weights=False)
                built = True
            except rpc.RpcError as e:
                ignored.append(f"the network ({_first_line(str(e))})")
        if not built:
            self.set_spec(presets[DEFAULT_PRESET]["spec"], keep_weights=False)
            self.spec_is_default = True
        train = saved.get("train")
        if train is not None:
            if not isinstance(train, dict):
                ignored.append(f"the training settings (not an object: {type(train).__name__})")
            else:
                for key in TRAIN_DEFAULTS:
                    if key in train:
                        try:
                            self.set_train_settings(**{key: train[key]})
                        except rpc.RpcError as e:
                            ignored.append(f"train.{key} ({e})")
                unknown = sorted(set(train) - set(TRAIN_DEFAULTS))
                if unknown:
                    ignored.append(f"unknown training setting(s) {', '.join(map(str, unknown))}")
        data = saved.get("data")
        loaded = False
        if data is not None:
            if not isinstance(data, dict) or not isinstance(data.get("name"), str):
                ignored.append("the data choice (it needs a dataset name)")
            else:
                options = data.get("options") or {}
                if not isinstance(options, dict):
                    ignored.append("the data options (not an object)")
                    options = {}
                if isinstance(data_options, dict):
                    options = {**options, **data_options}
                try:
                    await self.load_dataset(data["name"], options)
                    loaded = True
                except rpc.RpcError as e:
                    ignored.append(f"the data {data['name']!r} ({e})")
        if not loaded:
            name = presets[DEFAULT_PRESET]["dataset"] if not built else _dataset_for_spec(self.spec)
            await self.load_dataset(name, {})
        weights_back = False
        if saved.get("weights") is not None and built:
            try:
                model = _read_model_file(_decode_b64(saved["weights"], "the saved weights"))
                if _net_part(model.spec) != _net_part(self.spec):
                    raise rpc.RpcError("they belong to another network than the saved one", "ModelFileError")
                self.model.load_state_dict(model.state_dict())
                self.model.step_count = model.step_count
                weights_back = True
            except (rpc.RpcError, ValueError) as e:
                ignored.append(f"the saved weights ({e})")
        history_back = False
        if saved.get("history") is not None and weights_back:
            try:
                self.history = _train.History.from_json(saved["history"])
                self.trainer, self.trainer_key = None, None
                history_back = True
            except ValueError as e:
                ignored.append(f"the training history ({e})")
        self.changed("spec", "data", "train", "counters")
        return {"ignored": ignored, "weights": weights_back, "history": history_back, "state": self.state()}

    async def stop_run(self):
        """End a running train() (it resolves with stopped: "changed") and wait until it has."""
        if self.training:
            self.run_token += 1
            await self.wait_idle()

    async def wait_idle(self):
        """Until the running train() has ended (it ends at its next step boundary)."""
        while self.training:
            await asyncio.sleep(0)


def _peer_bridge():
    """The worker's nnplay_peer module (web/worker.js: starts the data-parallel helper), or None."""
    try:
        import nnplay_peer  # registered by web/worker.js
    except ImportError:
        return None
    return nnplay_peer


def _first_line(text):
    return text.split("\n", 1)[0] + (" …" if "\n" in text else "")


def _decode_b64(data, what):
    try:
        return base64.b64decode(data, validate=True)
    except (ValueError, TypeError):
        _fail(f"{what} could not be read (bad base64)", "ModelFileError")


def _read_model_file(raw):
    try:
        return _model_io.load(raw)
    except _model_io.ModelFileError as e:
        _fail(str(e), "ModelFileError")
    except _spec.SpecError as e:
        _fail(f"the model file holds an invalid network: {e}", "ModelFileError")
    except Exception as e:  # noqa: BLE001 - any corruption is the file's problem, reported as such
        _fail(f"the model file is corrupt ({type(e).__name__}: {e})", "ModelFileError")


def _net_part(spec):
    """The parts of a spec that shape the weights (everything but loss, optimizer and backend)."""
    return {"input": spec.get("input"), "layers": spec.get("layers"), "seed": spec.get("seed", 0)}


def _with_outputs(spec, units):
    """`spec` with its last dense layer giving `units` outputs (None when it does not end in dense)."""
    layers = [dict(layer) for layer in spec.get("layers", [])]
    if not layers or layers[-1].get("type") != "dense":
        return None
    layers[-1]["units"] = units
    return {**spec, "layers": layers}


def _preset_for(dataset):
    """The first playground preset made for `dataset`, or None."""
    for key, p in _presets.playground_presets().items():
        if p["dataset"] == dataset:
            return key
    return None


def _dataset_for_spec(spec):
    """The data a network most likely wants (a preset's data when it is one, else by input shape)."""
    for p in _presets.playground_presets().values():
        if _net_part(p["spec"]) == _net_part(spec):
            return p["dataset"]
    shape = list(spec.get("input") or [])
    if shape == [1]:
        return "regression1d"
    if len(shape) >= 2 or (len(shape) == 1 and shape[0] in (576, 784)):
        return "mnist"
    return "spiral"

def _suggested_input(d):
    if d["kind"] == "images":
        return [int(d["x_train"].shape[1]), int(d["x_train"].shape[2]), 1]
    if "features" in d:
        return [len(d["features"])]
    return list(d["x_train"].shape[1:])


def _picture(a, channels):
    """One activation (no batch axis) as images: (H, W, C) -> up to `channels` HxW images; else a row."""
    a = np.asarray(a, dtype=np.float32)
    if a.ndim == 3:
        h, w, c = a.shape
        return {"shape": [h, w, c], "h": h, "w": w,
                "images": [b64(to_u8(a[:, :, k])) for k in range(min(c, channels))],
                "range": [float(a.min()), float(a.max())]}
    flat = a.reshape(-1)[:1024]
    return {"shape": list(a.shape), "h": 1, "w": int(flat.size), "images": [b64(to_u8(flat))],
            "range": [float(flat.min()), float(flat.max())] if flat.size else [0.0, 0.0]}


def _uploaded_images(opts):
    """Checked uploads (checks.validate_image_classes) -> (x uint8 (n, size, size), y, class names)."""
    size = opts["size"]
    xs, ys, names = [], [], []
    for k, (name, images) in enumerate(opts["classes"]):
        names.append(name)
        xs.extend(np.frombuffer(raw, np.uint8).reshape(size, size) for raw in images)
        ys.extend([k] * len(images))
    return np.stack(xs), np.asarray(ys, dtype=np.int64), names


SESSION = Session()


# --- RPC methods --------------------------------------------------------------------------------
# Every page request and every window.nnplay call is one of these: the page renders the "state"
# events they cause, so what the API changes shows in the page and what the page changes is what
# getSpec/getState/getMetrics return.


def _layer_catalogue():
    losses_t, optimizers, common, schedules = _spec._tables()
    return {**_layertypes.catalogue(),  # "layers": {type: field rows}, "joins": [...], from the layer records
            "activations": list(_spec.ACTIVATIONS), "losses": losses_t, "optimizers": optimizers,
            "optimizer_common": common, "schedules": schedules, "datasets": list(DATASETS),
            "presets": _presets.playground_presets(), "backends": list(_spec.BACKENDS),
            "train_defaults": dict(TRAIN_DEFAULTS), "default_preset": DEFAULT_PRESET}


def first_screen():
    """What the page draws before Python is up, computed by this engine (build.py runs it in CPython at
    build time and writes dist/catalogue.json, so it cannot drift from the engine the worker loads).

    {catalogue: playground.catalogue's reply, state: the state a fresh session's start-up gives (with
    no backend chosen yet: that depends on the browser), checks: [{preset, spec, check}] for the
    default network (preset None) and every preset, as the state would hold them (the builder's shapes and
    counts)}."""
    import asyncio

    session = Session()
    emitter, rpc._emitter = rpc._emitter, None  # a private session: it announces nothing
    try:
        state = asyncio.run(session.restore(None))["state"]
        checks = [{"preset": None, "spec": state["spec"], "check": session.check_spec(state["spec"])}]
        for key, p in _presets.playground_presets().items():
            spec = session.set_spec(p["spec"], keep_weights=False)["spec"]
            checks.append({"preset": key, "spec": spec, "check": session.check_spec(spec)})
    finally:
        rpc._emitter = emitter
    state = {**state, "revision": -1, "backend": {"requested": state["spec"].get("backend", "auto"),
                                                  "backend": None, "notice": None}}
    return rpc.to_jsonable({"catalogue": _layer_catalogue(), "state": state, "checks": checks})


rpc.method("playground.catalogue")(_layer_catalogue)
rpc.method("playground.checkSpec")(lambda spec: SESSION.check_spec(spec))
rpc.method("playground.getSpec")(lambda: SESSION.spec)
rpc.method("playground.getState")(lambda: SESSION.state())
rpc.method("playground.datasetInfo")(lambda: SESSION.dataset_info())
rpc.method("playground.evaluate")(lambda split="val": SESSION.evaluate(split))
rpc.method("playground.predict")(lambda inputs: SESSION.predict(inputs))
rpc.method("playground.getMetrics")(lambda: SESSION.metrics())
rpc.method("playground.heatmap")(lambda resolution=48, neurons=64: SESSION.heatmap(resolution, neurons))
rpc.method("playground.points")(lambda limit=1000: SESSION.points(limit))
rpc.method("playground.curve")(lambda points=200: SESSION.curve(points))
rpc.method("playground.layerViews")(lambda example=0: SESSION.layer_views(example))
rpc.method("playground.convDetail")(lambda layer, channel=0, example=0, row=None, col=None:
                                    SESSION.conv_detail(layer, channel, example, row, col))
rpc.method("playground.confusion")(lambda limit=2000: SESSION.confusion(limit))
rpc.method("playground.save")(lambda: SESSION.save())
rpc.method("playground.snapshot")(lambda: SESSION.snapshot())
rpc.method("playground.setBackend")(lambda name: SESSION.set_backend(name))


@rpc.method("playground.setTrainSettings")
def _set_train_settings(**settings):
    unknown = sorted(set(settings) - set(TRAIN_DEFAULTS))
    if unknown:
        _fail(f"unknown training setting(s) {', '.join(unknown)}; known: {', '.join(TRAIN_DEFAULTS)}", "BadParams")
    return SESSION.set_train_settings(**settings)


@rpc.method("playground.setSpec")
async def _set_spec(spec, keepWeights=True):
    if SESSION.training and not SESSION.is_same_net(spec, keepWeights):
        await SESSION.stop_run()
    return SESSION.set_spec(spec, keepWeights)


@rpc.method("playground.pause")
async def _pause():
    return await SESSION.pause()


@rpc.method("playground.reset")
async def _reset():
    await SESSION.stop_run()
    return SESSION.reset()


@rpc.method("playground.load")
async def _load(bytes):  # noqa: A002 - the protocol's field name
    await SESSION.stop_run()
    return SESSION.load(bytes)


@rpc.method("playground.importConvnetjs")
async def _import_convnetjs(json):  # noqa: A002
    await SESSION.stop_run()
    return SESSION.import_convnetjs(json)


@rpc.method("playground.adopt")
async def _adopt(variable="model"):
    await SESSION.stop_run()
    return SESSION.adopt(variable)


@rpc.method("playground.restore")
async def _restore(saved=None, dataOptions=None):
    return await SESSION.restore(saved, dataOptions)


@rpc.method("playground.loadDataset")
async def _load_dataset(name, options=None):
    await SESSION.stop_run()
    return await SESSION.load_dataset(name, options)


@rpc.method("playground.train")
async def _train_rpc(steps=None, epochs=None, batchSize=None, earlyStopping=_MISSING_ARG, maxSeconds=None):
    return await SESSION.train(steps, epochs, batchSize, earlyStopping, maxSeconds)


@rpc.method("playground.runCode")
async def _run_code(code):
    """Run the learner's code (the Python view or console) like runPython; when it leaves a Model
    it built in a variable (``model`` first, else the newest name), that model becomes the
    playground's network, weights included, so the builder can show it.

    Returns ``{"value": repr of the last expression or None, "adopted": {"variable", "spec"} | None}``.
    """
    ns = rpc.USER_NAMESPACE
    known = [v for v in ns.values() if isinstance(v, Model)] + [SESSION.model]  # by identity
    value = await rpc.run_user_code(code)
    new = [k for k, v in ns.items() if isinstance(v, Model) and not any(v is m for m in known)]
    adopted = None
    if new:
        if SESSION.training:
            _fail(f"the code built a model in '{new[-1]}', but training is running: pause it, then run again",
                  "Busy")
        variable = "model" if "model" in new else new[-1]
        adopted = {"variable": variable, **SESSION.adopt(variable)}
    shown = None if value is None else (value if isinstance(value, str) else repr(value))
    if shown is not None and len(shown) > 4000:
        shown = shown[:4000] + f"… ({len(shown) - 4000} more characters)"
    return {"value": shown, "adopted": adopted}


@rpc.method("playground.code")
def _code(kind="python", spec=None):
    from . import codegen
    spec = spec if spec is not None else SESSION.spec
    if spec is None:
        _fail("no network yet", "NoModel")
    try:
        normalized = _spec.validate(spec)
    except _spec.SpecError as e:
        _fail(str(e), "SpecError")
    return codegen.export(normalized, kind)
