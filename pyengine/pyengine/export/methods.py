"""The worker's export.* RPC methods: the playground's trained network out (zip, ONNX) and weights back in.

    export.download {target: "pytorch" | "keras" | "onnx", batchSize, earlyStopping} -> {name, bytes (base64)}
    export.saveWeights {} -> {name, bytes}: nnplay's own safetensors
    export.loadWeights {bytes (base64)} -> {layout: "nnplay" | "pytorch", step}
"""
from __future__ import annotations

import base64
import math

import numpy as np

from .. import playground, rpc
from . import ExportError, SafetensorsError, load_weights, save_weights, to_onnx, zip_files
from .bundle import to_keras, to_pytorch
from ..train import early_stopping_settings

TARGETS = ("pytorch", "keras", "onnx")


def _fail(message, kind="ExportError"):
    raise rpc.RpcError(message, kind)


def _run_data(session):
    """The session's data as the export ships it: MNIST-like uint8 images raw (with how to prepare
    them), everything else as the network sees it; targets as the loss sees them."""
    d, model = session.dataset, session.model
    if d is None:
        return None
    x_tr, x_va = d["x_train"], d["x_val"]
    prep = None
    try:
        session.features(x_tr[:1])  # the page's own message when the data does not fit the input
        if d["kind"] == "images" and x_tr.dtype == np.uint8:
            shape, h = model.input_shape, x_tr.shape[1]
            size = shape[0] if len(shape) > 1 else math.isqrt(shape[0])
            layout = {3: "image", 2: "rows", 1: "flat"}[len(shape)]
            prep = {"crop": size if size < h else None, "layout": layout}
        else:
            x_tr, x_va = session.features(x_tr), session.features(x_va)
        y_tr, y_va = session.targets(d["y_train"]), session.targets(d["y_val"])
    except rpc.RpcError as e:
        _fail(f"the data cannot go with the export: {e}", "DataError")
    return {"x_train": x_tr, "y_train": np.asarray(y_tr), "x_val": x_va, "y_val": np.asarray(y_va), "prep": prep,
            "name": d["name"], "classes": d.get("classes")}


def _model():
    session = playground.SESSION
    if session.model is None:
        _fail("no network yet: build one first", "NoModel")
    if session.training:
        _fail("training is running: pause it before exporting", "Busy")
    return session


def _b64(blob):
    return base64.b64encode(blob).decode("ascii")


@rpc.method("export.download")
def download(target="pytorch", batchSize=None, earlyStopping=None):
    """The exported folder (zip) or ONNX file; batch size and early stopping default to the
    session's training settings (what the playground trains with)."""
    if target not in TARGETS:
        _fail(f"unknown export target {target!r}; choose one of {', '.join(TARGETS)}", "BadParams")
    session = _model()
    model = session.model
    settings = session.train_settings
    batch = settings["batchSize"] if batchSize is None else batchSize
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= 4096:
        _fail(f"batchSize must be a whole number from 1 to 4096, got {batch!r}", "BadParams")
    stopping = settings["earlyStopping"] if earlyStopping is None else earlyStopping
    training = {"batch_size": batch, "steps": model.step_count}
    if stopping:
        try:
            training["early_stopping"] = early_stopping_settings(
                stopping, session.dataset is not None and len(session.dataset["x_val"]) > 0)
        except ValueError as e:
            _fail(f"earlyStopping: {e}", "BadParams")
    try:
        if target == "onnx":
            return {"name": "nnplay-network.onnx", "bytes": _b64(to_onnx(model))}
        data = _run_data(session)
        if target == "pytorch":
            files = to_pytorch(model, data=data, training=training)
        else:
            files = to_keras(model, data=data, training=training)
    except ExportError as e:
        _fail(str(e))
    return {"name": f"nnplay-{target}.zip", "bytes": _b64(zip_files(files))}


@rpc.method("export.saveWeights")
def save():
    return {"name": "nnplay-weights.safetensors", "bytes": _b64(save_weights(_model().model))}


@rpc.method("export.loadWeights")
def load(bytes):  # noqa: A002 - the page's parameter name
    session = _model()
    try:
        raw = base64.b64decode(bytes, validate=True)
    except (ValueError, TypeError):
        _fail("the weights file could not be read (bad base64)", "WeightsError")
    try:
        layout = load_weights(session.model, raw)
    except (ExportError, SafetensorsError) as e:
        _fail(f"these weights do not fit the network: {e}", "WeightsError")
    except ValueError as e:  # load_state_dict's own checks (NaN/inf)
        _fail(f"these weights do not fit the network: {e}", "WeightsError")
    session.changed("weights")  # the page redraws its views from the new weights
    return {"layout": layout, "step": session.model.step_count}
