"""Checks of the parameters that reach the engine from outside (the page, window.nnplay, files).

One function per entry point; each returns the parameters normalised (defaults filled in, whole
numbers as int) or raises ``ParamError`` whose message names the field, the value given and what is
allowed, e.g. ``loadDataset('mnist'): count must be a whole number from 1 to 10000, got -5``. They
allocate nothing big and call nothing else, so the playground (or any other caller) runs them first
and a bad value never reaches NumPy, ``int()`` or a half-finished state change. (The module is
``checks``: ``pyengine.validate`` is the spec validator.)
"""
from __future__ import annotations

import base64
import binascii
import math
from typing import Any

from .rpc import RpcError
from .data import DEFAULT_FEATURES, PLAYGROUND_FEATURES

TOY_DATASETS = ("spiral", "circle", "xor", "gauss")
DATASETS = (*TOY_DATASETS, "regression1d", "mnist", "csv", "images")
MAX_POINTS = 20000  # toy and regression1d points
MAX_CSV_CHARS = 50_000_000
MAX_IMAGES = 20000  # uploaded pictures in all
MAX_CLASSES = 100
MAX_BATCH = 4096


class ParamError(RpcError):
    """A bad parameter: ``field`` (its name), ``value`` (what was given), the message says what is allowed."""

    def __init__(self, message: str, field: str | None = None, value: Any = None, kind: str = "BadParams"):
        super().__init__(message, kind)
        self.field = field
        self.value = value


def shown(value: Any, limit: int = 60) -> str:
    """A value as a message shows it: repr, cut to `limit` characters, JS-ish names for None/bools."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def number(where: str, field: str, value: Any, lo: float, hi: float, kind: str = "BadParams") -> float:
    """A finite number in [lo, hi] (ints and floats; not bools, not strings)."""
    if not _is_number(value) or not math.isfinite(value) or not lo <= value <= hi:
        raise ParamError(f"{where}: {field} must be a number from {lo:g} to {hi:g}, got {shown(value)}",
                         field, value, kind)
    return float(value)


def whole(where: str, field: str, value: Any, lo: int, hi: int | None, kind: str = "BadParams") -> int:
    """A whole number in [lo, hi] (an int, or a float with no fraction such as 400.0 or 1e3); hi None: no top."""
    ok = (_is_number(value) and math.isfinite(value) and float(value).is_integer() and lo <= value
          and (hi is None or value <= hi))
    if not ok:
        allowed = f"from {lo} to {hi}" if hi is not None else f">= {lo}"
        raise ParamError(f"{where}: {field} must be a whole number {allowed}, got {shown(value)}", field, value, kind)
    return int(value)


def _options(where: str, options: Any, allowed: tuple[str, ...], kind: str) -> dict:
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise ParamError(f"{where}: options must be an object, got {shown(options)}", "options", options, kind)
    unknown = [k for k in options if k not in allowed]
    if unknown:
        raise ParamError(f"{where}: unknown option {shown(unknown[0])}; allowed: {', '.join(allowed)}",
                         str(unknown[0]), options[unknown[0]], kind)
    return options


# --- datasets -------------------------------------------------------------------------------------

_DATASET_OPTIONS = {
    **{name: ("n", "noise", "ratio", "seed", "features") for name in TOY_DATASETS},
    "regression1d": ("n", "noise", "ratio", "seed"),
    "mnist": ("count", "ratio", "seed", "path"),
    "csv": ("text", "label", "ratio", "seed"),
    "images": ("classes", "size", "ratio", "seed"),
}


def validate_dataset_params(name: Any, options: Any = None, mnist_available: int | None = None) -> dict:
    """loadDataset(name, options) -> the options with their defaults: {"ratio", "seed", ...per dataset}.

    toy 2-D sets: n (10..20000, default 500), noise (0..1); regression1d: n (10..20000, default 200),
    noise (0..1); mnist: count (1..the digits available, default all), path; csv: text (the file),
    label (a column name or 0-based index); images: classes [{name, images: [base64]}], size (1..64).
    Every set: ratio (train share, 0.05..1; default 0.8, MNIST 0.9), seed (a whole number).
    """
    if not isinstance(name, str) or name not in DATASETS:
        raise ParamError(f"unknown dataset {shown(name)}; choose one of {', '.join(DATASETS)}", "name", name,
                         "DataError")
    where = f"loadDataset({name!r})"
    given = _options(where, options, _DATASET_OPTIONS[name], "DataError")
    get = given.get
    out: dict[str, Any] = {
        "ratio": number(where, "ratio", get("ratio", 0.9 if name == "mnist" else 0.8), 0.05, 1.0, "DataError"),
        "seed": whole(where, "seed", get("seed", 0), 0, 2**32 - 1, "DataError"),
    }
    if name in TOY_DATASETS or name == "regression1d":
        out["n"] = whole(where, "n", get("n", 500 if name in TOY_DATASETS else 200), 10, MAX_POINTS, "DataError")
        out["noise"] = number(where, "noise", get("noise", 0.0), 0.0, 1.0, "DataError")
        if name in TOY_DATASETS:
            out["features"] = _features(where, get("features", list(DEFAULT_FEATURES)))
    elif name == "mnist":
        if "count" in given:  # (the top is known once the file is read: checked again then)
            out["count"] = whole(where, "count", given["count"], 1, mnist_available, "DataError")
        elif mnist_available is not None:
            out["count"] = mnist_available
        if "path" in given:
            if not isinstance(given["path"], str) or not given["path"]:
                raise ParamError(f"{where}: path must be a file name, got {shown(given['path'])}", "path",
                                 given["path"], "DataError")
            out["path"] = given["path"]
    elif name == "csv":
        text, label = get("text"), get("label")
        if not isinstance(text, str):
            raise ParamError(f"{where}: text must be the CSV file's text, got {shown(text)}", "text", text,
                             "DataError")
        if len(text) > MAX_CSV_CHARS:
            raise ParamError(f"{where}: the CSV text has {len(text):,} characters; at most {MAX_CSV_CHARS:,} are "
                             "read", "text", None, "DataError")
        if not (label is None or isinstance(label, str)
                or (isinstance(label, int) and not isinstance(label, bool) and label >= 0)):
            raise ParamError(f"{where}: label must be a column name or a 0-based column number, got {shown(label)}",
                             "label", label, "DataError")
        out.update(text=text, label=label)
    else:
        out["size"] = whole(where, "size", get("size", 28), 1, 64, "DataError")
        out["classes"] = validate_image_classes(get("classes"), out["size"], where)
    return out


def _features(where, value):
    """The 2-D sets' feature inputs: a list of distinct names from data.PLAYGROUND_FEATURES, at least one."""
    allowed = ", ".join(PLAYGROUND_FEATURES)
    if not isinstance(value, (list, tuple)) or not value:
        raise ParamError(f"{where}: features must be a non-empty list of feature names ({allowed}), got "
                         f"{shown(value)}", "features", value, "DataError")
    for f in value:
        if not isinstance(f, str) or f not in PLAYGROUND_FEATURES:
            raise ParamError(f"{where}: unknown feature {shown(f)}; choose from {allowed}", "features", f, "DataError")
    if len(set(value)) != len(value):
        raise ParamError(f"{where}: features lists a name twice: {shown(value)}", "features", value, "DataError")
    return [f for f in PLAYGROUND_FEATURES if f in value]  # one order, whatever order they came in


def validate_image_classes(classes: Any, size: int, where: str = "loadDataset('images')") -> list:
    """Uploaded images per class -> [(name, [bytes of size*size grey pixels])]; each problem names the
    class and the image (1-based, as the upload panel counts them)."""
    if not isinstance(classes, list):
        raise ParamError(f"{where}: classes must be a list of {{name, images}}, got {shown(classes)}",
                         "classes", classes, "DataError")
    if not 2 <= len(classes) <= MAX_CLASSES:
        raise ParamError(f"{where}: image upload needs at least two classes with images (at most {MAX_CLASSES}), "
                         f"got {len(classes)}", "classes", None, "DataError")
    out, total = [], 0
    for k, cls in enumerate(classes):
        if not isinstance(cls, dict):
            raise ParamError(f"{where}: class {k + 1} must be an object {{name, images}}, got {shown(cls)}",
                             f"classes[{k}]", cls, "DataError")
        name = cls.get("name")
        if name is not None and not isinstance(name, str):
            raise ParamError(f"{where}: class {k + 1}: name must be text, got {shown(name)}",
                             f"classes[{k}].name", name, "DataError")
        name = (name or "").strip() or f"class {k}"
        images = cls.get("images")
        if not isinstance(images, list) or not images:
            raise ParamError(f"{where}: class '{name}' has no images (images must be a non-empty list of base64 "
                             f"text), got {shown(images)}", f"classes[{k}].images", images, "DataError")
        total += len(images)
        if total > MAX_IMAGES:
            raise ParamError(f"{where}: more than {MAX_IMAGES} images in all", "classes", None, "DataError")
        pixels = []
        for j, img in enumerate(images):
            field = f"classes[{k}].images[{j}]"
            if not isinstance(img, str):
                raise ParamError(f"{where}: class '{name}', image {j + 1}: expected base64 text of {size}×{size} "
                                 f"grey pixels, got {shown(img)}", field, img, "DataError")
            try:
                raw = base64.b64decode(img, validate=True)
            except (binascii.Error, ValueError):
                raise ParamError(f"{where}: class '{name}', image {j + 1}: not valid base64 text",
                                 field, None, "DataError") from None
            if len(raw) != size * size:
                raise ParamError(f"{where}: class '{name}', image {j + 1}: expected {size * size} grey pixels "
                                 f"({size}×{size}), got {len(raw)}", field, None, "DataError")
            pixels.append(raw)
        out.append((name, pixels))
    return out


# --- training -------------------------------------------------------------------------------------


def validate_train_params(steps: Any = None, epochs: Any = None, batch_size: Any = 16, early_stopping: Any = None,
                          max_seconds: Any = None) -> dict:
    """train(...) -> {"steps", "epochs", "batch_size", "early_stopping", "max_seconds"} checked.

    steps: a whole number >= 1 or null; epochs: a finite number > 0 or null (neither: train until
    paused); batch_size 1..4096; early_stopping: null/0/false (off), a patience (whole number >= 1) or
    {patience, monitor?, min_delta?}; max_seconds: a positive number or null.
    """
    where = "train"
    if steps is not None and not (_is_number(steps) and math.isfinite(steps) and float(steps).is_integer()
                                  and 1 <= steps <= 10**9):
        raise ParamError(f"{where}: steps must be a positive integer (1 to 1000000000), got {shown(steps)}",
                         "steps", steps)
    if steps is not None:
        steps = int(steps)
    if epochs is not None and (not _is_number(epochs) or not math.isfinite(epochs) or not 0 < epochs <= 10**6):
        raise ParamError(f"{where}: epochs must be a positive number up to 1000000, got {shown(epochs)}",
                         "epochs", epochs)
    if epochs is not None:
        epochs = float(epochs)
    batch_size = whole(where, "batchSize", batch_size, 1, MAX_BATCH)
    if max_seconds is not None:
        max_seconds = number(where, "maxSeconds", max_seconds, 0.0, 10.0**7)
    return {"steps": steps, "epochs": epochs, "batch_size": batch_size,
            "early_stopping": validate_early_stopping(early_stopping), "max_seconds": max_seconds}


_MONITORS = ("loss", "accuracy", "val_loss", "val_accuracy")


def validate_early_stopping(cfg: Any) -> dict | None:
    """null / 0 / false -> None; a patience or {patience, monitor, min_delta} -> that dict, checked."""
    if cfg is None or cfg is False or (_is_number(cfg) and cfg == 0):
        return None
    where = "train"
    if _is_number(cfg):
        return {"patience": whole(where, "earlyStopping", cfg, 1, 10**6)}
    if not isinstance(cfg, dict):
        raise ParamError(f"{where}: earlyStopping must be a patience (a whole number of epochs >= 1), "
                         f"{{patience, monitor, min_delta}} or null, got {shown(cfg)}", "earlyStopping", cfg)
    unknown = [k for k in cfg if k not in ("patience", "monitor", "min_delta")]
    if unknown:
        raise ParamError(f"{where}: earlyStopping has an unknown field {shown(unknown[0])}; allowed: patience, "
                         "monitor, min_delta", f"earlyStopping.{unknown[0]}", cfg[unknown[0]])
    out = {"patience": whole(where, "earlyStopping.patience", cfg.get("patience"), 1, 10**6)}
    if "monitor" in cfg:
        if cfg["monitor"] not in _MONITORS:
            raise ParamError(f"{where}: earlyStopping.monitor must be one of {', '.join(_MONITORS)}, got "
                             f"{shown(cfg['monitor'])}", "earlyStopping.monitor", cfg["monitor"])
        out["monitor"] = cfg["monitor"]
    if "min_delta" in cfg:
        out["min_delta"] = number(where, "earlyStopping.min_delta", cfg["min_delta"], 0.0, 10.0**6)
    return out
