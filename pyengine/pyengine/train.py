"""Training: one resumable `Trainer` that `Model.fit`, the playground and the demos all drive.

    trainer = Trainer(model, x, y, batch_size=32, validation=(xv, yv), early_stopping=3)
    trainer.step()                      # one optimizer step on the next batch
    trainer.run(epochs=2)               # steps until a limit; returns why it stopped
    await run_sliced(trainer.step, ...)  # the same in time slices, yielding to an event loop

A trainer keeps its position (epoch, batch, the epoch's shuffled order), the history and the
early-stopping state between calls, so training can be paused and resumed at any step. At the end
of each epoch it scores the validation data, emits the "epoch" event and checks early stopping
(one implementation for every caller). Events are plain dicts handed to each callback; the browser
worker streams the same dicts to the page:

  {"event": "step",  "step", "epoch", "batch", "batches", "loss", "accuracy", "examples", "examples_per_s"}
  {"event": "epoch", "epoch", "step", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"}
  {"event": "end",   "reason", "history"}                                  (fit only)

The NaN guard lives in `Model.train_step`: a step whose loss, gradients or update become
non-finite raises NumericalError with the weights as they were before it; the trainer then
records `stopped = "nan"` and lets the error through.
"""
import asyncio
import math
import time

import numpy as np

from .errors import DataError, NumericalError
from .losses import CLASSIFIER_LOSSES, accuracy

STOP_REASONS = ("steps", "epochs", "time", "stopped", "early_stopping", "nan", "paused", "changed")


def split_validation(x, y, validation_split):
    """Keras's split: the last fraction, before shuffling, so it is reproducible and visible."""
    if not (isinstance(validation_split, (int, float)) and 0.0 <= validation_split < 1.0):
        raise DataError(f"validation_split must be in [0, 1), got {validation_split!r}")
    n_val = int(round(len(x) * validation_split))
    if n_val == 0:
        return x, y, None
    if n_val == len(x):
        raise DataError(f"validation_split {validation_split} leaves no training examples out of {len(x)}")
    return x[:-n_val], y[:-n_val], (x[-n_val:], y[-n_val:])


def early_stopping_settings(early_stopping, has_validation):
    """None, a patience (int) or {patience, monitor, min_delta, restore_best} -> a full dict or None.

    Without validation data a val_* monitor falls back to the training metric of the same name."""
    if early_stopping is None or early_stopping is False or early_stopping == 0:
        return None
    if isinstance(early_stopping, bool) or not isinstance(early_stopping, (int, dict)):
        raise ValueError(f"early stopping must be a patience (a positive whole number) or a dict "
                         f"{{patience, monitor, min_delta, restore_best}}, got {early_stopping!r}")
    cfg = {"patience": early_stopping} if isinstance(early_stopping, int) else dict(early_stopping)
    unknown = set(cfg) - {"patience", "monitor", "min_delta", "restore_best"}
    if unknown:
        raise ValueError(f"early stopping: unknown field(s) {sorted(unknown)}; "
                         "allowed: patience, monitor, min_delta, restore_best")
    patience = cfg.get("patience")
    if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
        raise ValueError(f"early stopping: patience must be a positive whole number, got {patience!r}")
    cfg.setdefault("monitor", "val_loss" if has_validation else "loss")
    if cfg["monitor"] not in ("loss", "val_loss", "accuracy", "val_accuracy"):
        raise ValueError(f"early stopping: monitor must be loss, val_loss, accuracy or val_accuracy, "
                         f"got {cfg['monitor']!r}")
    if cfg["monitor"].startswith("val_") and not has_validation:
        cfg["monitor"] = cfg["monitor"][4:]
    min_delta = cfg.setdefault("min_delta", 0.0)
    if isinstance(min_delta, bool) or not isinstance(min_delta, (int, float)) or not min_delta >= 0:
        raise ValueError(f"early stopping: min_delta must be a number >= 0, got {min_delta!r}")
    cfg.setdefault("restore_best", True)
    return cfg


class History:
    """The counters and curves of training: what a page shows and an autosave keeps. It outlives
    any one Trainer (a new batch size or new data makes a new trainer that goes on counting)."""

    def __init__(self):
        self.epoch = 0  # completed epochs: one monotone counter
        self.examples = 0
        self.examples_per_s = None  # a smoothed rate
        self.step_loss, self.step_accuracy = [], []
        self.epochs = []  # one metrics dict per completed epoch

    def to_json(self, max_points=2000):
        """A JSON dict (the per-step curve thinned to at most `max_points`) that from_json reads."""
        stride = max(1, -(-len(self.step_loss) // max_points))
        return {"epoch": self.epoch, "examples": self.examples, "examples_per_s": self.examples_per_s,
                "step_loss": self.step_loss[::stride], "step_accuracy": self.step_accuracy[::stride],
                "step_stride": stride, "epochs": list(self.epochs)}

    @classmethod
    def from_json(cls, d):
        """Read what to_json wrote; raises ValueError naming the field that is wrong."""
        if not isinstance(d, dict):
            raise ValueError(f"history must be an object, got {type(d).__name__}")
        h = cls()
        for key in ("epoch", "examples"):
            v = d.get(key, 0)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"history.{key} must be a whole number >= 0, got {v!r}")
            setattr(h, key, v)
        stride = d.get("step_stride", 1)
        if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
            raise ValueError(f"history.step_stride must be a whole number >= 1, got {stride!r}")
        curves = {}
        for key in ("step_loss", "step_accuracy"):
            v = d.get(key, [])
            if not isinstance(v, list) or not all(x is None or (isinstance(x, (int, float)) and not isinstance(x, bool))
                                                 for x in v):
                raise ValueError(f"history.{key} must be a list of numbers")
            curves[key] = [None if x is None else float(x) for x in v]
        # a thinned curve comes back as a step curve: each stored point stands for `stride` steps
        h.step_loss = [float("nan") if x is None else x for x in curves["step_loss"] for _ in range(stride)]
        acc = curves["step_accuracy"] + [None] * (len(curves["step_loss"]) - len(curves["step_accuracy"]))
        h.step_accuracy = [a for a in acc[:len(curves["step_loss"])] for _ in range(stride)]
        epochs = d.get("epochs", [])
        if not isinstance(epochs, list) or not all(isinstance(e, dict) for e in epochs):
            raise ValueError("history.epochs must be a list of objects")
        h.epochs = [{k: e.get(k) for k in ("epoch", "step", "loss", "accuracy", "val_loss", "val_accuracy")}
                    for e in epochs]
        rate = d.get("examples_per_s")
        h.examples_per_s = float(rate) if isinstance(rate, (int, float)) and not isinstance(rate, bool) else None
        return h


class Trainer:
    """Resumable mini-batch training of `model` on (x, y); see the module docstring.

    `history` (a History) is where counters and curves go; pass the previous trainer's to go on
    counting. `position_from` (a Trainer on the same data and batch size) resumes its epoch in
    progress instead of starting a new one."""

    def __init__(self, model, x, y, batch_size=32, validation=None, early_stopping=None, shuffle=True,
                 callbacks=(), history=None, position_from=None, step_fn=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive whole number, got {batch_size!r}")
        self.model = model
        self.x = model._check_x(x, "x")
        self.y = model._check_y(y, len(self.x), "y")
        if len(self.x) == 0:
            raise DataError("training needs at least one example; got none")
        self.validation = None
        if validation is not None:
            if not (isinstance(validation, (tuple, list)) and len(validation) == 2):
                raise DataError("validation data must be a pair (x_val, y_val)")
            xv = model._check_x(validation[0], "validation x")
            if len(xv):
                self.validation = (xv, model._check_y(validation[1], len(xv), "validation y"))
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.callbacks = list(callbacks or ())
        self.stopping = early_stopping_settings(early_stopping, self.validation is not None)
        self.has_accuracy = model.loss_type in CLASSIFIER_LOSSES
        self.h = history if history is not None else History()
        self.batch = 0  # batches done in the current epoch
        self.order = None  # the current epoch's example order
        if (position_from is not None and position_from.batch_size == batch_size
                and len(position_from.x) == len(self.x) and position_from.order is not None):
            self.order, self.batch = position_from.order, position_from.batch
        self.best, self.waited, self.best_state = None, 0, None
        self.stopped = None  # why training ended for good ("early_stopping", "nan"), else None
        self.stop_requested = False
        self._epoch_start = None
        self.step_fn = step_fn or model._train_step_checked  # (x, y) -> loss: one optimizer step

    # counters and curves live in the History
    epoch = property(lambda self: self.h.epoch)
    examples = property(lambda self: self.h.examples)
    examples_per_s = property(lambda self: self.h.examples_per_s)
    step_loss = property(lambda self: self.h.step_loss)
    step_accuracy = property(lambda self: self.h.step_accuracy)
    epochs = property(lambda self: self.h.epochs)

    @property
    def batches(self):
        """Batches per epoch."""
        return (len(self.x) + self.batch_size - 1) // self.batch_size

    def emit(self, event):
        for cb in self.callbacks:
            cb(event)

    def steps_for(self, steps=None, epochs=None):
        """How many steps a run of `steps`, or of `epochs` whole epochs from here (the epoch in
        progress counts as started; fractions allowed), takes; None when neither is given."""
        if steps is not None:
            return int(steps)
        if epochs is not None:
            return max(0, int(math.ceil(epochs * self.batches)) - self.batch)
        return None

    def step(self):
        """One optimizer step on the next batch; returns the "step" event dict. At the end of an
        epoch also validates, emits "epoch" and applies early stopping (which sets `stopped`)."""
        m = self.model
        if self.order is None or len(self.order) != len(self.x):
            self.order = m.rng.permutation(len(self.x)) if self.shuffle else np.arange(len(self.x))
            self.batch = 0
        if self.batch == 0:
            self._epoch_start = time.perf_counter()
        idx = self.order[self.batch * self.batch_size:(self.batch + 1) * self.batch_size]
        xb, yb = self.x[idx], self.y[idx]
        t0 = time.perf_counter()
        try:
            loss = self.step_fn(xb, yb)
        except NumericalError:
            self.stopped = "nan"
            raise
        dt = time.perf_counter() - t0
        acc = None
        if self.has_accuracy and m.last_batch_output is not None:
            acc = accuracy(m.last_batch_output, yb, m.loss_cfg)
        h = self.h
        rate = len(idx) / dt if dt > 0 else None
        if rate is not None:
            h.examples_per_s = rate if h.examples_per_s is None else 0.8 * h.examples_per_s + 0.2 * rate
        h.examples += len(idx)
        h.step_loss.append(loss)
        h.step_accuracy.append(acc)
        self.batch += 1
        event = {"event": "step", "step": m.step_count, "epoch": self.epoch + 1, "batch": self.batch,
                 "batches": self.batches, "loss": loss, "accuracy": acc, "examples": self.examples,
                 "examples_per_s": self.examples_per_s}
        self.emit(event)
        if self.batch >= self.batches:
            self.end_epoch()
        return event

    def end_epoch(self):
        """Record the epoch's metrics (training: averages over its batches, as Keras reports them;
        validation: a pass over the validation data) and check early stopping."""
        m = self.model
        done = self.batch
        self.h.epoch += 1
        self.order, self.batch = None, 0  # the next step starts a new epoch with a new order
        losses = self.h.step_loss[-done:] if done else [float("nan")]
        accs = [a for a in self.h.step_accuracy[-done:] if a is not None] if done else []
        metrics = {"epoch": self.epoch, "step": m.step_count, "loss": float(np.mean(losses)),
                   "accuracy": float(np.mean(accs)) if accs else None, "val_loss": None, "val_accuracy": None,
                   "seconds": time.perf_counter() - (self._epoch_start or time.perf_counter())}
        if self.validation is not None:
            val = m._evaluate_checked(*self.validation)
            metrics.update(val_loss=val["loss"], val_accuracy=val["accuracy"])
        self.h.epochs.append(metrics)
        self.emit({"event": "epoch", **metrics})
        if self.stopping:
            self._check_early_stopping(metrics)
        return metrics

    def _check_early_stopping(self, metrics):
        value = metrics[self.stopping["monitor"]]
        if value is None:
            return
        sign = -1.0 if "accuracy" in self.stopping["monitor"] else 1.0  # lower is better for losses
        if self.best is None or sign * value < sign * self.best - self.stopping["min_delta"]:
            self.best, self.waited = value, 0
            if self.stopping["restore_best"]:
                self.best_state = self.model.state_dict()
            return
        self.waited += 1
        if self.waited >= self.stopping["patience"]:
            self.stopped = "early_stopping"
            if self.best_state is not None:
                self.model.load_state_dict(self.best_state)

    def run(self, steps=None, epochs=None, seconds=None):
        """Train until `steps` steps / `epochs` epochs are done (see steps_for), `seconds` pass,
        stop() is called (or model.stop_training is set) or early stopping ends it; returns the reason:
        "steps" | "epochs" | "time" | "stopped" | "early_stopping"."""
        target = self.steps_for(steps, epochs)
        limit = "steps" if steps is not None else "epochs"
        deadline = None if seconds is None else time.perf_counter() + seconds
        self.stop_requested = self.model.stop_training = False
        done = 0
        while True:
            if self.stopped:
                return self.stopped
            if target is not None and done >= target:
                return limit
            if deadline is not None and time.perf_counter() >= deadline:
                return "time"
            self.step()
            done += 1
            if self.stop_requested or self.model.stop_training:
                return "stopped"

    def stop(self):
        """Make a running run() return "stopped" after its current step."""
        self.stop_requested = True

    def history(self):
        """Keras-style history: per-epoch lists plus the per-step losses."""
        h = {k: [e[k] for e in self.epochs] for k in ("loss", "accuracy", "val_loss", "val_accuracy")}
        h["step_loss"] = list(self.step_loss)
        h["epochs"] = len(self.epochs)
        return h


async def run_sliced(step, *, max_steps=None, max_seconds=None, should_stop=lambda: False, on_progress=None,
                     slice_seconds=0.05, progress_seconds=0.1, final_progress=True):
    """Call `step()` repeatedly in time slices of `slice_seconds`, awaiting `asyncio.sleep(0)`
    between slices so that other requests (pause, a setting change) reach the event loop.

    `step()` may return a stop reason (a string) to end the run; `should_stop()` is checked before
    every step and returns a reason (or a falsy value). `on_progress()` is called at most every
    `progress_seconds` and (with final_progress) after the last step. Returns (reason, steps done), reason being the step's
    or should_stop's own, "steps" (max_steps reached) or "time" (max_seconds passed)."""
    start = t_slice = time.perf_counter()
    last_progress = 0.0
    done = 0
    reason = None
    try:
        while reason is None:
            reason = should_stop()
            if reason:
                break
            if max_steps is not None and done >= max_steps:
                reason = "steps"
                break
            if max_seconds is not None and time.perf_counter() - start > max_seconds:
                reason = "time"
                break
            reason = step() or None
            done += 1
            now = time.perf_counter()
            if on_progress is not None and now - last_progress > progress_seconds:
                last_progress = now
                on_progress()
            if now - t_slice > slice_seconds:
                await asyncio.sleep(0)  # let a pause request (or any other message) in
                t_slice = time.perf_counter()
    finally:
        if on_progress is not None and done and final_progress:
            on_progress()
    return reason, done


def fit(model, x, y, epochs=1, batch_size=32, validation_split=0.0, validation_data=None,
        callbacks=(), early_stopping=None, shuffle=True, max_steps=None):
    """Train `model` for `epochs` (or until `max_steps`); returns the history dict:
    per-epoch "loss", "accuracy", "val_loss", "val_accuracy", per-step "step_loss", "epochs" and
    "stopped" ("epochs" | "max_steps" | "early_stopping" | "stopped")."""
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    x = model._check_x(x, "x")
    y = model._check_y(y, len(x), "y")
    if len(x) == 0:
        raise DataError("fit: got no training examples")
    validation = validation_data
    if validation is None:
        x, y, validation = split_validation(x, y, validation_split)
    elif not (isinstance(validation, (tuple, list)) and len(validation) == 2):
        raise DataError("validation_data must be a pair (x_val, y_val)")
    trainer = Trainer(model, x, y, batch_size=batch_size, validation=validation, early_stopping=early_stopping,
                      shuffle=shuffle, callbacks=callbacks)
    full = trainer.steps_for(epochs=epochs)
    steps = full if max_steps is None else min(full, max_steps)
    reason = trainer.run(steps=steps)
    if reason == "steps":
        reason = "max_steps" if steps < full else "epochs"
    if trainer.batch and not trainer.stopped:  # stopped mid-epoch: report the partial epoch too
        trainer.end_epoch()
    history = trainer.history()
    history["stopped"] = reason
    trainer.emit({"event": "end", "reason": reason, "history": history})
    return history
