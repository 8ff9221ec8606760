"""The fit loop: batching, validation, per-step and per-epoch events, early stopping.

Callbacks are plain callables that receive one event dict at a time, the same dicts the browser
worker streams to the page:
  {"event": "step",  "step", "epoch", "batch", "batches", "loss", "examples_per_s"}
  {"event": "epoch", "epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"}
  {"event": "end",   "reason": "epochs" | "max_steps" | "early_stopping" | "stopped", "history"}
Setting `model.stop_training = True` (from a callback, say) ends training after the current step.
"""
import time

import numpy as np

from . import losses
from .model import CLASS_LOSSES, DataError


def _split_validation(model, x, y, validation_split, validation_data):
    if validation_data is not None:
        if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
            raise DataError("validation_data must be a pair (x_val, y_val)")
        xv = model._check_x(validation_data[0], "validation x")
        yv = model._check_y(validation_data[1], len(xv), "validation y")
        return x, y, xv, yv
    if not 0.0 <= validation_split < 1.0:
        raise DataError(f"validation_split must be in [0, 1), got {validation_split}")
    n_val = int(round(len(x) * validation_split))
    if n_val == 0:
        return x, y, None, None
    if n_val == len(x):
        raise DataError(f"validation_split {validation_split} leaves no training examples out of {len(x)}")
    # Keras takes the last fraction, before shuffling, so the split is reproducible and visible.
    return x[:-n_val], y[:-n_val], x[-n_val:], y[-n_val:]


def _early_stopping_settings(early_stopping, has_validation):
    if early_stopping is None or early_stopping is False:
        return None
    if isinstance(early_stopping, bool) or not isinstance(early_stopping, (int, dict)):
        raise ValueError("early_stopping must be a patience (int) or a dict "
                         "{patience, monitor, min_delta, restore_best}")
    cfg = {"patience": early_stopping} if isinstance(early_stopping, int) else dict(early_stopping)
    unknown = set(cfg) - {"patience", "monitor", "min_delta", "restore_best"}
    if unknown:
        raise ValueError(f"early_stopping: unknown field(s) {sorted(unknown)}")
    cfg.setdefault("monitor", "val_loss" if has_validation else "loss")
    cfg.setdefault("min_delta", 0.0)
    cfg.setdefault("restore_best", True)
    if not isinstance(cfg.get("patience"), int) or cfg["patience"] < 1:
        raise ValueError(f"early_stopping: patience must be a positive integer, got {cfg.get('patience')!r}")
    if cfg["monitor"] not in ("loss", "val_loss", "accuracy", "val_accuracy"):
        raise ValueError(f"early_stopping: monitor must be loss, val_loss, accuracy or val_accuracy")
    if cfg["monitor"].startswith("val_") and not has_validation:
        raise ValueError(f"early_stopping monitors {cfg['monitor']} but there is no validation data; "
                         "pass validation_split or validation_data, or monitor 'loss'")
    return cfg


def fit(model, x, y, epochs=1, batch_size=32, validation_split=0.0, validation_data=None,
        callbacks=(), early_stopping=None, shuffle=True, max_steps=None):
    """Train `model`; returns the history dict of per-epoch metrics plus per-step losses."""
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    x = model._check_x(x, "x")
    y = model._check_y(y, len(x), "y")
    if len(x) == 0:
        raise DataError("fit: got no training examples")
    x, y, xv, yv = _split_validation(model, x, y, validation_split, validation_data)
    stopping = _early_stopping_settings(early_stopping, xv is not None)
    callbacks = list(callbacks or ())

    def emit(event):
        for cb in callbacks:
            cb(event)

    history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": [], "step_loss": []}
    n = len(x)
    batches = (n + batch_size - 1) // batch_size
    best, best_state, waited = None, None, 0
    reason = "epochs"
    steps_done = 0
    model.stop_training = False
    for epoch in range(1, epochs + 1):
        t_epoch = time.perf_counter()
        order = model.rng.permutation(n) if shuffle else np.arange(n)
        seen, loss_sum, correct_sum = 0, 0.0, 0.0
        for b in range(batches):
            idx = order[b * batch_size:(b + 1) * batch_size]
            t0 = time.perf_counter()
            loss = model._train_step_checked(x[idx], y[idx])
            dt = time.perf_counter() - t0
            seen += len(idx)
            loss_sum += loss * len(idx)
            acc = losses.accuracy(model.last_batch_output, y[idx], model.loss_type)
            correct_sum += (acc or 0.0) * len(idx)
            steps_done += 1
            history["step_loss"].append(loss)
            emit({"event": "step", "step": model.step_count, "epoch": epoch, "batch": b + 1,
                  "batches": batches, "loss": loss, "examples_per_s": len(idx) / dt if dt > 0 else None})
            if model.stop_training:
                reason = "stopped"
                break
            if max_steps is not None and steps_done >= max_steps:
                reason = "max_steps"
                break
        # Training metrics are averages over the epoch's batches (training mode), as Keras reports
        # them: free to compute, where a second pass over the training set would not be.
        has_accuracy = model.loss_type in CLASS_LOSSES + ("binary_cross_entropy",)
        train_metrics = {"loss": loss_sum / seen, "accuracy": correct_sum / seen if has_accuracy else None}
        history["loss"].append(train_metrics["loss"])
        history["accuracy"].append(train_metrics["accuracy"])
        val = model._evaluate_checked(xv, yv) if xv is not None else {"loss": None, "accuracy": None}
        history["val_loss"].append(val["loss"])
        history["val_accuracy"].append(val["accuracy"])
        emit({"event": "epoch", "epoch": epoch, "loss": train_metrics["loss"], "accuracy": train_metrics["accuracy"],
              "val_loss": val["loss"], "val_accuracy": val["accuracy"], "seconds": time.perf_counter() - t_epoch})
        if reason != "epochs":
            break
        if stopping:
            value = history[stopping["monitor"]][-1]
            sign = -1.0 if "accuracy" in stopping["monitor"] else 1.0  # lower is better for losses
            if best is None or sign * value < sign * best - stopping["min_delta"]:
                best, waited = value, 0
                if stopping["restore_best"]:
                    best_state = model.state_dict()
            else:
                waited += 1
                if waited >= stopping["patience"]:
                    reason = "early_stopping"
                    if best_state is not None:
                        model.load_state_dict(best_state)
                    break
    history["stopped"] = reason
    history["epochs"] = len(history["loss"])
    emit({"event": "end", "reason": reason, "history": history})
    return history
