"""The playground session: the RPC methods the page (web/ui/*, window.nnplay) calls in the worker.

One session per worker: the current spec and model, the dataset, the training position and the
history. Every method is registered as ``playground.<name>`` with ``@rpc.method``; every failure
is an ``rpc.RpcError`` whose message names the problem, and a failed call leaves the session as it
was (a bad spec, CSV or model file never replaces the working one).

Training runs in chunks: after each time slice ``train`` awaits ``asyncio.sleep(0)``, which hands
control back to the worker's event loop so a ``playground.pause`` request can arrive and be served.

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

import numpy as np

from . import data as _data
from . import io as _model_io
from . import losses as _losses
from . import presets as _presets
from . import rpc
from . import spec as _spec
from . import checks as _checks
from .model import CLASS_LOSSES, DataError, NumericalError, build

__all__ = ["SESSION", "Session", "parse_csv", "CsvError"]

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


class Session:
    """Everything one playground page holds in the worker."""

    def __init__(self):
        self.spec = None
        self.model = None
        self.dataset = None  # dict: name, options, kind, x_train, y_train, x_val, y_val, classes, ...
        self.training = False
        self.pause_requested = False
        self.reset_counters()

    def reset_counters(self):
        self.epoch = 0  # completed epochs
        self.batch = 0  # position in the current epoch, in batches
        self.order = None
        self.examples = 0
        self.step_loss = []
        self.step_accuracy = []
        self.epochs = []  # per-epoch metric dicts
        self.examples_per_s = None
        self.best = None
        self.waited = 0
        self.best_state = None

    # -- spec --

    def check_spec(self, spec):
        """Per-layer output shapes, parameter counts and messages, plus the spec-wide problems."""
        layers = _spec.infer_shapes(spec)
        try:
            normalized = _spec.validate(spec)
            problems = []
        except _spec.SpecError as e:
            normalized, problems = None, e.to_json()
        except (TypeError, ValueError) as e:  # not even a dict
            normalized, problems = None, [{"index": None, "name": None, "field": None, "message": str(e)}]
        return {
            "ok": normalized is not None,
            "layers": [{"output_shape": i.output_shape, "param_count": i.param_count, "messages": i.messages}
                       for i in layers],
            "problems": problems,
            "output_shape": normalized.output_shape if normalized else None,
            "param_count": normalized.param_count if normalized
            else sum(i.param_count or 0 for i in layers),
            "names": [c["name"] for c in normalized.layers] if normalized else None,
        }

    def set_spec(self, spec, keep_weights=True):
        """Build `spec`; keep the trained weights when only training settings changed."""
        if self.training:
            _fail("training is running: pause it before changing the network", "Busy")
        try:
            model = build(spec)
        except _spec.SpecError as e:
            _fail(str(e), "SpecError")
        same_net = (self.model is not None and keep_weights
                    and _net_part(self.model.spec) == _net_part(model.spec))
        if same_net:
            model.load_state_dict(self.model.state_dict())
            model.step_count = self.model.step_count
        else:
            self.reset_counters()
        self.spec, self.model = model.spec, model
        return {"spec": self.spec, "kept_weights": same_net, **self.check_spec(self.spec)}

    def require_model(self):
        if self.model is None:
            _fail("no network yet: call setSpec(spec) first", "NoModel")
        return self.model

    # -- data --

    async def load_dataset(self, name, options=None):
        opts = _checks.validate_dataset_params(name, options)  # names the field, the value, what is allowed
        options = dict(options or {})
        ratio, seed = opts["ratio"], opts["seed"]
        extra = {}
        if name in TOY_DATASETS:
            x, y = TOY_DATASETS[name](opts["n"], noise=opts["noise"], seed=seed)
            kind, classes = "2d", ["0", "1"]
        elif name == "regression1d":
            x, y = _data.regression_1d(opts["n"], noise=opts["noise"], seed=seed)
            kind, classes = "1d", []
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
        elif name == "csv":
            try:
                x, y, info = parse_csv(opts["text"], opts["label"])
            except CsvError as e:
                _fail(str(e), "CsvError")
            kind = "table"
            classes = info["classes"]
            extra = {"csv": info}
        else:  # images uploaded per class: {"classes": [{"name", "images": [base64 of size*size uint8]}], "size"}
            x, y, classes = _uploaded_images(opts)
            kind = "images"
        n_train = max(1, int(round(len(x) * ratio)))
        order = np.random.default_rng(seed + 1).permutation(len(x))
        tr, va = order[:n_train], order[n_train:]
        self.dataset = {
            "name": name, "options": {k: v for k, v in options.items() if k != "text"}, "kind": kind,
            "x_train": x[tr], "y_train": y[tr], "x_val": x[va], "y_val": y[va], "classes": classes, **extra,
        }
        self.order, self.batch = None, 0
        return self.dataset_info()

    def dataset_info(self):
        d = self.dataset
        if d is None:
            return None
        info = {"name": d["name"], "options": d["options"], "kind": d["kind"], "train": len(d["x_train"]),
                "val": len(d["x_val"]), "classes": d["classes"],
                "input_shape": list(d["x_train"].shape[1:]), "suggested_input": _suggested_input(d)}
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
            want = "an input of [s, s, 1] or [s*s] with s <= %d" % h
        else:
            if tuple(x.shape[1:]) == shape:
                return x
            want = f"input {list(x.shape[1:])}"
        _fail(f"the network's input is {list(shape)} but the dataset '{self.dataset['name']}' needs {want}; "
              "change the input shape", "DataError")

    def targets(self, y):
        model = self.model
        if model.loss_type == "binary_cross_entropy" and y.ndim == 1:
            out = model.output_shape
            return y.astype(np.float32).reshape((-1,) + tuple(out))
        if model.loss_type in ("mse", "huber") and y.ndim == 1:
            if self.dataset["classes"] and tuple(model.output_shape) == (len(self.dataset["classes"]),):
                return np.eye(len(self.dataset["classes"]), dtype=np.float32)[y]  # one-hot regression target
            return y.astype(np.float32).reshape(-1, 1)
        return y

    # -- training --

    async def train(self, steps=None, epochs=None, batch_size=16, early_stopping=None, max_seconds=None):
        model = self.require_model()
        d = self.require_data()
        if self.training:
            _fail("training is already running", "Busy")
        p = _checks.validate_train_params(steps, epochs, batch_size, early_stopping, max_seconds)
        steps, epochs, batch_size, early_stopping, max_seconds = (
            p["steps"], p["epochs"], p["batch_size"], p["early_stopping"], p["max_seconds"])
        x = self.features(d["x_train"])
        y = self.targets(d["y_train"])
        has_val = len(d["x_val"]) > 0
        xv = self.features(d["x_val"][:MAX_VAL_FOR_EPOCH]) if has_val else None
        yv = self.targets(d["y_val"][:MAX_VAL_FOR_EPOCH]) if has_val else None
        n = len(x)
        batches = (n + batch_size - 1) // batch_size
        if self.order is None or len(self.order) != n or self.batch >= batches:
            self.order, self.batch = model.rng.permutation(n), 0
        target_steps = steps
        if epochs is not None:  # whole epochs from where we are (a partial epoch counts as started)
            target_steps = int(math.ceil(epochs * batches)) - self.batch
        self.training, self.pause_requested = True, False
        start_step, losses_here, reason = model.step_count, [], "steps" if steps else "epochs"
        t_start, t_chunk = time.perf_counter(), time.perf_counter()
        last_progress = 0.0
        stopping = _early_stopping(early_stopping, has_val)
        try:
            while True:
                if target_steps is not None and len(losses_here) >= target_steps:
                    break
                if self.pause_requested:
                    reason = "paused"
                    break
                if max_seconds is not None and time.perf_counter() - t_start > max_seconds:
                    reason = "time"
                    break
                idx = self.order[self.batch * batch_size:(self.batch + 1) * batch_size]
                t0 = time.perf_counter()
                try:
                    loss = model.train_step(x[idx], y[idx])
                except NumericalError as e:
                    _fail(str(e), "NumericalError")
                dt = time.perf_counter() - t0
                acc = _losses.accuracy(model.last_batch_output, y[idx], model.loss_type)
                rate = len(idx) / dt if dt > 0 else None
                self.examples_per_s = rate if self.examples_per_s is None or rate is None else (
                    0.8 * self.examples_per_s + 0.2 * rate)
                self.examples += len(idx)
                self.step_loss.append(loss)
                self.step_accuracy.append(acc)
                losses_here.append(loss)
                self.batch += 1
                now = time.perf_counter()
                if now - last_progress > PROGRESS_SECONDS or self.batch == batches:
                    last_progress = now
                    rpc.emit("progress", stage="train", step=model.step_count, epoch=self.epoch + 1,
                             batch=self.batch, batches=batches, loss=loss, accuracy=acc, examples=self.examples,
                             examples_per_s=self.examples_per_s)
                if self.batch >= batches:
                    if self.end_epoch(x, y, xv, yv, stopping):
                        reason = "early_stopping"
                        break
                    self.order, self.batch = model.rng.permutation(n), 0
                if now - t_chunk > CHUNK_SECONDS:
                    await asyncio.sleep(0)  # let a pause request (or any other message) in
                    t_chunk = time.perf_counter()
        finally:
            self.training = False
        result = {"steps": model.step_count - start_step, "history": losses_here, "stopped": reason,
                  "epoch": self.epoch, "examples": self.examples}
        tail = losses_here[-10:] or self.step_loss[-10:]
        result["loss"] = float(np.mean(tail)) if tail else None
        if has_val:
            val = model.evaluate(xv, yv)
            result.update(accuracy=val["accuracy"], val_loss=val["loss"], val_accuracy=val["accuracy"])
        else:
            accs = [a for a in self.step_accuracy[-10:] if a is not None]
            result["accuracy"] = float(np.mean(accs)) if accs else None
        return result

    def end_epoch(self, x, y, xv, yv, stopping):
        """Record an epoch's metrics and stream them; True when early stopping says stop."""
        model, batches = self.model, self.batch
        self.epoch += 1
        loss = float(np.mean(self.step_loss[-batches:]))
        accs = [a for a in self.step_accuracy[-batches:] if a is not None]
        metrics = {"epoch": self.epoch, "step": model.step_count, "loss": loss,
                   "accuracy": float(np.mean(accs)) if accs else None, "val_loss": None, "val_accuracy": None}
        if xv is not None:
            val = model.evaluate(xv, yv)
            metrics.update(val_loss=val["loss"], val_accuracy=val["accuracy"])
        self.epochs.append(metrics)
        rpc.emit("epoch", **metrics)
        if not stopping:
            return False
        value = metrics[stopping["monitor"]]
        sign = -1.0 if "accuracy" in stopping["monitor"] else 1.0
        if self.best is None or sign * value < sign * self.best - stopping["min_delta"]:
            self.best, self.waited, self.best_state = value, 0, model.state_dict()
            return False
        self.waited += 1
        if self.waited >= stopping["patience"]:
            model.load_state_dict(self.best_state)
            rpc.emit("epoch", **metrics, early_stopped=True)
            return True
        return False

    def reset(self):
        if self.training:
            _fail("training is running: pause it before resetting", "Busy")
        if self.spec is not None:
            self.model = build(self.spec)
        self.reset_counters()
        return self.metrics()

    def evaluate(self, split="val"):
        model = self.require_model()
        d = self.require_data()
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
        out = model.predict(x)
        result = {"outputs": out[0] if single else out}
        if model.loss_type in CLASS_LOSSES:
            cls = out.argmax(axis=-1)
            result["classes"] = int(cls[0]) if single else cls
        return result

    def metrics(self):
        m = self.model
        n = len(self.step_loss)
        stride = max(1, n // 2000)  # the curve needs at most ~2000 points
        return {
            "step": m.step_count if m else 0, "epoch": self.epoch, "examples": self.examples,
            "training": self.training, "examples_per_s": self.examples_per_s,
            "step_loss": self.step_loss[::stride], "step_stride": stride,
            "epochs": self.epochs, "last": self.epochs[-1] if self.epochs else None,
            "backend": getattr(m, "backend", None),
        }

    # -- views --

    def heatmap(self, resolution=48, neurons=8, extent=6.0):
        """Decision surface of a 2-D classifier on a grid over [-extent, extent]^2, as uint8 bytes:
        P(class 1) (or the regression output) for the whole net and, per dense-like layer, up to
        `neurons` units' outputs (TensorFlow Playground's per-neuron thumbnails)."""
        model = self.require_model()
        if tuple(model.input_shape) != (2,):
            _fail("the heatmap needs a network with input [2] (2-D data)", "BadParams")
        r = int(resolution)
        ticks = np.linspace(-extent, extent, r, dtype=np.float32)
        gx, gy = np.meshgrid(ticks, -ticks)  # row 0 is the top (+y)
        grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
        from .tensor import no_grad
        with no_grad():
            out = model.forward(grid, training=False)
            outputs = {k: v.data for k, v in (model.last_outputs or {}).items()}
        probs = model.output_probabilities(out.data)
        value = probs[:, 1] if probs.shape[1:] == (2,) else probs[:, 0] if probs.ndim == 2 else probs.ravel()
        classifier = model.loss_type in CLASS_LOSSES + ("binary_cross_entropy",)
        main = to_u8(value, 0.0, 1.0) if classifier else to_u8(value)
        thumbs = []
        for cfg in model.nspec.layers[:-1]:
            o = outputs.get(cfg["name"])
            if o is None or o.ndim != 2:
                continue
            units = []
            for u in range(min(neurons, o.shape[1])):
                col = o[:, u]
                m = float(np.abs(col).max()) or 1.0
                units.append(b64(to_u8(col, -m, m)))  # centred: 128 is zero
            thumbs.append({"layer": cfg["name"], "units": units, "total": int(o.shape[1])})
        return {"resolution": r, "extent": extent, "classifier": classifier, "pixels": b64(main),
                "neurons": thumbs}

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
        return {"example": i, "label": label.tolist() if hasattr(label, "tolist") else label, "layers": views}

    def confusion(self, limit=2000, show=16):
        """Confusion matrix on the validation data (rows: true class) and misclassified examples."""
        model = self.require_model()
        d = self.require_data()
        if model.loss_type not in CLASS_LOSSES + ("binary_cross_entropy",):
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

    # -- files --

    def save(self):
        return {"bytes": b64(_model_io.save(self.require_model()))}

    def load(self, data):
        if self.training:
            _fail("training is running: pause it before loading a model", "Busy")
        try:
            raw = base64.b64decode(data, validate=True)
        except (ValueError, TypeError):
            _fail("the model file could not be read (bad base64)", "ModelFileError")
        try:
            model = _model_io.load(raw)
        except _model_io.ModelFileError as e:
            _fail(str(e), "ModelFileError")
        except _spec.SpecError as e:
            _fail(f"the model file holds an invalid network: {e}", "ModelFileError")
        except Exception as e:  # noqa: BLE001 - any corruption is the file's problem, reported as such
            _fail(f"the model file is corrupt ({type(e).__name__}: {e})", "ModelFileError")
        self.model, self.spec = model, model.spec
        self.reset_counters()
        return {"spec": self.spec, "step": model.step_count}

    def import_convnetjs(self, json_text):
        if self.training:
            _fail("training is running: pause it before importing", "Busy")
        try:
            model = _model_io.from_convnetjs(json_text)
        except Exception as e:  # noqa: BLE001 - every problem of the file becomes its message
            _fail(f"the ConvNetJS file could not be imported: {e}", "ImportError")
        self.model, self.spec = model, model.spec
        self.reset_counters()
        return {"spec": self.spec}

    def adopt(self, variable="model"):
        """Take a Model the learner built in the Python view (a variable of runPython's namespace)."""
        from .model import Model
        value = rpc.USER_NAMESPACE.get(variable)
        if not isinstance(value, Model):
            _fail(f"the Python code did not leave a pyengine Model in the variable '{variable}'", "NoModel")
        self.model, self.spec = value, value.spec
        self.reset_counters()
        return {"spec": self.spec}


def _net_part(spec):
    """The parts of a spec that shape the weights (everything but loss, optimizer and backend)."""
    return {"input": spec.get("input"), "layers": spec.get("layers"), "seed": spec.get("seed", 0)}


def _early_stopping(cfg, has_val):
    if not cfg:
        return None
    cfg = {"patience": cfg} if isinstance(cfg, int) and not isinstance(cfg, bool) else dict(cfg)
    patience = cfg.get("patience")
    if not isinstance(patience, int) or patience < 1:
        _fail(f"early stopping patience must be a positive whole number, got {patience!r}", "BadParams")
    cfg.setdefault("monitor", "val_loss" if has_val else "loss")
    cfg.setdefault("min_delta", 0.0)
    if cfg["monitor"].startswith("val_") and not has_val:
        cfg["monitor"] = cfg["monitor"][4:]
    return cfg


def _suggested_input(d):
    if d["kind"] == "images":
        return [int(d["x_train"].shape[1]), int(d["x_train"].shape[2]), 1]
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
    """Checked uploads (validate.validate_image_classes) -> (x uint8 (n, size, size), y, class names)."""
    size = opts["size"]
    xs, ys, names = [], [], []
    for k, (name, images) in enumerate(opts["classes"]):
        names.append(name)
        xs.extend(np.frombuffer(raw, np.uint8).reshape(size, size) for raw in images)
        ys.extend([k] * len(images))
    return np.stack(xs), np.asarray(ys, dtype=np.int64), names


SESSION = Session()


# --- RPC methods --------------------------------------------------------------------------------


def _layer_catalogue():
    losses_t, optimizers, common, schedules = _spec._tables()
    return {"layers": {t: _spec.describe_fields(t) for t in _spec.LAYER_FIELDS},
            "joins": [t for t, lt in _spec.LAYER_TYPES.items() if lt.min_inputs > 1],
            "activations": list(_spec.ACTIVATIONS), "losses": losses_t, "optimizers": optimizers,
            "optimizer_common": common, "datasets": list(DATASETS), "presets": _presets.playground_presets()}


rpc.method("playground.catalogue")(_layer_catalogue)
rpc.method("playground.checkSpec")(lambda spec: SESSION.check_spec(spec))
rpc.method("playground.setSpec")(lambda spec, keepWeights=True: SESSION.set_spec(spec, keepWeights))
rpc.method("playground.getSpec")(lambda: SESSION.spec)
rpc.method("playground.datasetInfo")(lambda: SESSION.dataset_info())
rpc.method("playground.pause")(lambda: _pause())
rpc.method("playground.reset")(lambda: SESSION.reset())
rpc.method("playground.evaluate")(lambda split="val": SESSION.evaluate(split))
rpc.method("playground.predict")(lambda inputs: SESSION.predict(inputs))
rpc.method("playground.getMetrics")(lambda: SESSION.metrics())
rpc.method("playground.heatmap")(lambda resolution=48, neurons=8: SESSION.heatmap(resolution, neurons))
rpc.method("playground.points")(lambda limit=1000: SESSION.points(limit))
rpc.method("playground.layerViews")(lambda example=0: SESSION.layer_views(example))
rpc.method("playground.confusion")(lambda limit=2000: SESSION.confusion(limit))
rpc.method("playground.save")(lambda: SESSION.save())
rpc.method("playground.load")(lambda bytes: SESSION.load(bytes))
rpc.method("playground.importConvnetjs")(lambda json: SESSION.import_convnetjs(json))
rpc.method("playground.adopt")(lambda variable="model": SESSION.adopt(variable))


def _pause():
    SESSION.pause_requested = SESSION.training
    return {"paused": SESSION.training}


@rpc.method("playground.loadDataset")
async def _load_dataset(name, options=None):
    return await SESSION.load_dataset(name, options)


@rpc.method("playground.train")
async def _train(steps=None, epochs=None, batchSize=16, earlyStopping=None, maxSeconds=None):
    return await SESSION.train(steps, epochs, batchSize, earlyStopping, maxSeconds)


@rpc.method("playground.runCode")
async def _run_code(code):
    """Run the learner's code (the Python view or console) like runPython; when it leaves a Model
    it built in a variable (``model`` first, else the newest name), that model becomes the
    playground's network, weights included, so the builder can show it.

    Returns ``{"value": repr of the last expression or None, "adopted": {"variable", "spec"} | None}``.
    """
    from .model import Model
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
    shown = None if value is None else repr(value)
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
