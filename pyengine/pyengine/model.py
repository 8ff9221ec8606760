"""Model: a validated spec turned into parameters and a forward pass over the layer graph.

`build(spec)` validates the spec (no arrays allocated until it passes), creates every layer's
parameters with the spec's seed, and wires the optimizer and loss. The forward pass walks the
layers in order; each layer reads its inputs by name, so residual (`add`) and inception-style
(`concat`) joins need nothing special.
"""
import numpy as np

from . import layertypes
from . import losses, optim, spec as spec_mod
from . import train as _train
from .backends.webgpu import switch as _switch
from .errors import DataError, NumericalError
from .losses import CLASS_LOSSES
from .tensor import Parameter, Tensor, no_grad

__all__ = ["Model", "build", "DataError", "NumericalError", "CLASS_LOSSES"]


class _Context:
    """What a layer's forward needs besides its inputs and parameters."""
    __slots__ = ("training", "rng")

    def __init__(self, training, rng):
        self.training = training
        self.rng = rng


class Model:
    def __init__(self, normalized):
        self.nspec = normalized
        self.rng = np.random.default_rng(normalized.seed)
        self.params = {}  # layer name -> {param name -> Parameter}
        for cfg in normalized.layers:
            shapes = cfg["param_shapes"]
            if not shapes:
                continue
            arrays = layertypes.get(cfg["type"]).init(cfg, shapes, self.rng)
            layer_params = {}
            for pname in shapes:
                p = Parameter(np.ascontiguousarray(arrays[pname], dtype=np.float32))
                p.name = f"{cfg['name']}.{pname}"
                p.trainable = not pname.startswith("running_")
                p.decay = pname.startswith("weight")
                p.requires_grad = p.trainable
                layer_params[pname] = p
            self.params[cfg["name"]] = layer_params
        self.frozen = set()
        self.loss_cfg = normalized.loss
        self.loss_type = normalized.loss["type"]
        self.loss_fn = losses.get_loss(normalized.loss)
        self.optimizer = optim.make_optimizer(normalized.optimizer)
        self.backend = "numpy"
        self.requested_backend = normalized.backend
        self.step_count = 0
        self.stop_training = False
        self.last_outputs = None  # layer name -> Tensor, from the latest forward pass
        self.last_batch_output = None  # the latest training batch's output array
        self.backend_notice = None  # why the model is not on the backend it asked for (or None)
        self._gpu = None  # backends.webgpu.plan.GpuTrainer while training runs on WebGPU
        self._auto = None  # "auto" on a real GPU: its state until it has timed both backends (switch.py)
        self.set_backend(normalized.backend)

    # ---- compute backend -----------------------------------------------------------------
    def set_backend(self, name):
        """Run training on "auto" | "webgpu" | "numpy"; returns what actually runs (`self.backend`).

        Weights and optimizer state carry over; if WebGPU is absent or cannot run this model, the
        model stays on NumPy and `backend_notice` says why (never an exception)."""
        return _switch.set_backend(self, name)

    def _sync_weights(self):
        """Make the NumPy parameters current (they lag behind while training runs on the GPU)."""
        if self._gpu is not None:
            _switch.sync(self)

    # ---- description ---------------------------------------------------------------------
    @property
    def spec(self):
        """The model's spec as a plain JSON dict (what the UI, URLs and files hold)."""
        return self.nspec.to_spec()

    @property
    def input_shape(self):
        return tuple(self.nspec.input)

    @property
    def output_shape(self):
        return tuple(self.nspec.output_shape)

    @property
    def layer_names(self):
        return [cfg["name"] for cfg in self.nspec.layers]

    def parameters(self, trainable_only=True):
        out = []
        for layer_params in self.params.values():
            for p in layer_params.values():
                if p.trainable or not trainable_only:
                    out.append(p)
        return out

    def param_count(self):
        return int(sum(p.data.size for p in self.parameters(trainable_only=False)))

    def summary(self):
        """A text table: each layer's name, type, output shape and parameter count, and totals."""
        rows = [("layer", "type", "output shape", "params")]
        for cfg in self.nspec.layers:
            rows.append((cfg["name"], cfg["type"], str(tuple(cfg["output_shape"])), f"{cfg['param_count']:,}"))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = ["  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                 for r in rows]
        lines.insert(1, "-" * len(lines[0]))
        trainable = sum(p.data.size for p in self.parameters())
        lines.append("-" * len(lines[0]))
        lines.append(f"input {tuple(self.nspec.input)}; total params {self.param_count():,} "
                     f"(trainable {trainable:,}); loss {self.loss_type}; optimizer {self.nspec.optimizer['type']}")
        return "\n".join(lines)

    def __repr__(self):
        """`print(model)` / the console's value: the summary table (layers, output shapes, parameters)."""
        return f"Model (backend {self.backend}, {self.step_count} steps trained)\n{self.summary()}"

    # ---- forward -------------------------------------------------------------------------
    def forward(self, x, training=False):
        """Run the network on a batch; returns the output Tensor (logits for classifiers).

        `x` is an array or Tensor of shape (N, *spec input). Gradients flow to `x` when it is a
        Tensor with requires_grad, so models can be chained (GANs, adversarial examples).
        """
        self._sync_weights()
        x = x if isinstance(x, Tensor) else Tensor(self._as_input_array(x))
        ctx = _Context(training, self.rng)
        frozen_ctx = _Context(False, self.rng)
        outputs = {"input": x}
        out = x
        for cfg in self.nspec.layers:
            inputs = [outputs[n] for n in cfg["inputs"]]
            name = cfg["name"]
            # A frozen batchnorm runs in inference mode, as in Keras, so fine-tuning keeps its statistics.
            layer_ctx = frozen_ctx if (name in self.frozen and cfg["type"] == "batchnorm") else ctx
            out = layertypes.get(cfg["type"]).forward(cfg, self.params.get(name, {}), inputs, layer_ctx)
            outputs[name] = out
        self.last_outputs = outputs
        return out

    def _as_input_array(self, x):
        x = np.asarray(x)
        if x.dtype != np.float32 and not (x.dtype.kind in "iu" and self.nspec.layers[0]["type"] == "embedding"):
            x = x.astype(np.float32)
        return x

    def predict(self, x, batch_size=256):
        """Outputs for `x` in evaluation mode, as NumPy. Classifiers give probabilities
        (softmax for softmax_cross_entropy, sigmoid for binary_cross_entropy from logits);
        other losses give the raw outputs."""
        x = self._check_x(x, "x")
        outs = []
        with no_grad():
            for i in range(0, len(x), batch_size):
                outs.append(self.forward(x[i:i + batch_size], training=False).data)
        out = np.concatenate(outs) if outs else np.zeros((0,) + self.output_shape, np.float32)
        return self.output_probabilities(out)

    def output_probabilities(self, out):
        if self.loss_type == "softmax_cross_entropy":
            e = np.exp(out - out.max(axis=-1, keepdims=True))
            return e / e.sum(axis=-1, keepdims=True)
        if self.loss_type == "binary_cross_entropy" and self.loss_cfg.get("from_logits", True):
            return 1.0 / (1.0 + np.exp(-out))
        return out

    # ---- training ------------------------------------------------------------------------
    def train_step(self, x, y):
        """One optimizer step on the batch (x, y); returns the loss as a float.

        If the loss or a gradient is NaN/inf, raises NumericalError naming the step and the first
        layer where it appeared; the weights stay as they were before the step."""
        x = self._check_x(x, "x")
        y = self._check_y(y, len(x), "y")
        return self._train_step_checked(x, y)

    def _train_step_checked(self, x, y):
        if self._gpu is not None or self._auto is not None:
            loss = _switch.train_step(self, x, y)
            if loss is not None:
                return loss  # else the GPU failed and the model fell back: run this step on NumPy
        step = self.step_count + 1
        trainable = self.parameters()  # frozen layers' parameters are not trainable
        loss_value, out = self._gradients(x, y, step, trainable)
        self._apply_gradients(step, trainable, out)
        return loss_value

    def _gradients(self, x, y, step, trainable):
        """Forward and backward on (x, y) (NumPy): sets every trainable parameter's `grad` (None
        where no gradient reached it) and returns (loss as a float, the batch's output array).
        Raises NumericalError naming the first layer where the loss or a gradient became non-finite.
        A data-parallel step (pyengine.parallel) runs this on each worker's share of the batch."""
        for p in trainable:
            p.grad = None
        out = self.forward(x, training=True)
        loss = self.loss_fn(out, y)
        loss_value = float(loss.data)
        if not np.isfinite(loss_value):
            self._raise_forward_nan(step, loss_value)
        loss.backward()
        for cfg in reversed(self.nspec.layers):  # backprop meets the output end first
            for p in self.params.get(cfg["name"], {}).values():
                if p.grad is not None and not np.isfinite(p.grad).all():
                    raise NumericalError(
                        f"step {step}: the gradient of {p.name} became non-finite (nan/inf) in layer "
                        f"{cfg['index']} '{cfg['name']}'; the weights were left as before this step. "
                        "Try a lower learning rate or gradient clipping.", step, cfg["name"])
        self.last_outputs = None  # drop the graph: it holds every activation of the batch
        return loss_value, out.data

    def _apply_gradients(self, step, trainable, out):
        """The optimizer step from the parameters' `grad`s; undone (and NumericalError) when it makes
        a weight non-finite. Counts the step and keeps `out` as the batch's output (for accuracy)."""
        backup = [p.data.copy() for p in trainable]
        self.optimizer.step(trainable)
        for p, old in zip(trainable, backup):
            if not np.isfinite(p.data).all():
                for q, o in zip(trainable, backup):
                    np.copyto(q.data, o)
                layer = p.name.split(".", 1)[0]
                raise NumericalError(
                    f"step {step}: the update made {p.name} non-finite (nan/inf); the weights were "
                    "restored to their values before this step. Try a lower learning rate.", step, layer)
        self.step_count = step
        self.last_batch_output = out

    def _raise_forward_nan(self, step, loss_value):
        outputs = self.last_outputs or {}
        for cfg in self.nspec.layers:
            t = outputs.get(cfg["name"])
            if t is not None and not np.isfinite(t.data).all():
                raise NumericalError(
                    f"step {step}: the loss became {loss_value}; non-finite values first appeared in the "
                    f"output of layer {cfg['index']} '{cfg['name']}'; the weights were left as before this "
                    "step. Try a lower learning rate.", step, cfg["name"])
        raise NumericalError(
            f"step {step}: the loss became {loss_value} although every layer output was finite; check the "
            "targets (e.g. probabilities outside [0, 1]); the weights were left as before this step.", step, None)

    def evaluate(self, x, y, batch_size=256):
        """Mean loss and accuracy (None for regression losses) on (x, y) in evaluation mode."""
        x = self._check_x(x, "x")
        y = self._check_y(y, len(x), "y")
        return self._evaluate_checked(x, y, batch_size)

    def _evaluate_checked(self, x, y, batch_size=256):
        total_loss, total_correct, has_accuracy, n = 0.0, 0.0, False, len(x)
        if n == 0:
            raise DataError("evaluate: got no examples")
        with no_grad():
            for i in range(0, n, batch_size):
                xb, yb = x[i:i + batch_size], y[i:i + batch_size]
                out = self.forward(xb, training=False)
                total_loss += float(self.loss_fn(out, yb).data) * len(xb)
                acc = losses.accuracy(out.data, yb, self.loss_type)
                if acc is not None:
                    has_accuracy = True
                    total_correct += acc * len(xb)
        return {"loss": total_loss / n, "accuracy": (total_correct / n) if has_accuracy else None}

    def fit(self, x, y, epochs=1, batch_size=32, validation_split=0.0, validation_data=None,
            callbacks=(), early_stopping=None, shuffle=True, max_steps=None):
        """Train for `epochs` (or until `max_steps`); see pyengine.train.fit."""
        return _train.fit(self, x, y, epochs=epochs, batch_size=batch_size, validation_split=validation_split,
                   validation_data=validation_data, callbacks=callbacks, early_stopping=early_stopping,
                   shuffle=shuffle, max_steps=max_steps)

    # ---- data checks ---------------------------------------------------------------------
    def _check_x(self, x, what):
        x = _numeric_array(x.data if isinstance(x, Tensor) else x, what)
        want = self.input_shape
        if x.shape[1:] != want:
            hint = ""
            if x.ndim >= 1 and int(np.prod(x.shape[1:])) == int(np.prod(want)):
                hint = f"; reshape it with x.reshape(-1, {', '.join(map(str, want))})"
            elif x.shape == want:
                hint = "; it looks like a single example: add a batch axis with x[None]"
            raise DataError(f"{what} has shape {x.shape}: each example must be {want} as the spec's "
                            f"input says, so {what} must be (N, {', '.join(map(str, want))}){hint}")
        if x.dtype.kind == "f":
            finite = np.isfinite(x)
            if not finite.all():
                bad = np.argwhere(~finite)[0]
                raise DataError(f"{what} contains {int((~finite).sum())} NaN/inf value(s); the first is in "
                                f"example {int(bad[0])} at position {tuple(int(i) for i in bad[1:])}")
        return self._as_input_array(x)

    def _check_y(self, y, n, what):
        y = _numeric_array(y, what)
        if len(y) != n:
            raise DataError(f"x and {what} have different lengths: {n} examples but {len(y)} targets")
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            bad = int(np.argwhere(~np.isfinite(y))[0][0])
            raise DataError(f"{what} contains NaN/inf values; the first is in example {bad}")
        out = self.output_shape
        if self.loss_type in CLASS_LOSSES:
            k = out[-1]
            if y.ndim == 1:
                if y.dtype.kind == "f" and not np.all(y == np.round(y)):
                    raise DataError(f"{what}: class labels must be whole numbers; got e.g. "
                                    f"{y[y != np.round(y)][0]}")
                if n and (y.min() < 0 or y.max() >= k):
                    bad = int(np.argmax((y < 0) | (y >= k)))
                    raise DataError(f"{what}: label {y[bad]} at example {bad} is out of range: the network "
                                    f"has {k} outputs, so labels must be in 0..{k - 1}")
                return y.astype(np.int64)
            if y.shape[1:] != (k,):
                raise DataError(f"{what} has shape {y.shape}: expected integer labels (N,) or one-hot "
                                f"targets (N, {k}) for {self.loss_type}")
            return y.astype(np.float32)
        if y.shape[1:] != out:
            if y.ndim == 1 and out == (1,):
                y = y.reshape(-1, 1)
            else:
                raise DataError(f"{what} has shape {y.shape}: expected (N, {', '.join(map(str, out))}) "
                                f"to match the network's output {out} for {self.loss_type}")
        if self.loss_type == "binary_cross_entropy" and n and (y.min() < 0 or y.max() > 1):
            raise DataError(f"{what}: binary_cross_entropy targets must lie in [0, 1]; got values in "
                            f"[{y.min()}, {y.max()}]")
        return y.astype(np.float32)

    # ---- weights -------------------------------------------------------------------------
    def state_dict(self):
        """Every parameter as `<layer name>.<param>` -> float32 array copy, in layer order."""
        self._sync_weights()
        return {p.name: p.data.copy() for p in self.parameters(trainable_only=False)}

    def load_state_dict(self, state, strict=True):
        """Copy arrays into the parameters. With strict, missing and unexpected keys are errors."""
        own = {p.name: p for p in self.parameters(trainable_only=False)}
        problems = []
        if strict:
            missing = [k for k in own if k not in state]
            unexpected = [k for k in state if k not in own]
            if missing:
                problems.append("missing: " + ", ".join(missing))
            if unexpected:
                problems.append("unexpected: " + ", ".join(unexpected))
        for name, value in state.items():
            if name in own:
                arr = np.asarray(value)
                if arr.shape != own[name].data.shape:
                    problems.append(f"{name}: expected shape {own[name].data.shape}, got {arr.shape}")
                elif arr.dtype.kind == "f" and not np.isfinite(arr).all():
                    problems.append(f"{name}: contains NaN/inf")
        if problems:
            raise ValueError("load_state_dict: " + "; ".join(problems))
        self._sync_weights()  # GPU-side optimizer state must not overwrite what is loaded below
        for name, value in state.items():
            if name in own:
                np.copyto(own[name].data, np.asarray(value, dtype=np.float32))
        if self._gpu is not None:
            self._gpu.push()

    def _layer_names_checked(self, names):
        if isinstance(names, str):
            names = [names]
        known = set(self.layer_names)
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"unknown layer name(s) {unknown}; the layers are {self.layer_names}")
        return list(names)

    def freeze(self, names):
        """Stop training the named layers (transfer learning). Frozen batchnorm uses its running stats."""
        for name in self._layer_names_checked(names):
            self.frozen.add(name)
            for pname, p in self.params.get(name, {}).items():
                p.trainable = False
                p.requires_grad = False
        if self._gpu is not None:
            self.set_backend(self.requested_backend)  # the GPU plan trains a fixed set of params

    def unfreeze(self, names=None):
        """Train the named layers again (all layers when names is None)."""
        names = list(self.frozen) if names is None else self._layer_names_checked(names)
        for name in names:
            self.frozen.discard(name)
            for pname, p in self.params.get(name, {}).items():
                if not pname.startswith("running_"):
                    p.trainable = True
                    p.requires_grad = True
        if self.requested_backend != "numpy" and self.backend == "numpy" and not self.frozen:
            self.set_backend(self.requested_backend)


def _numeric_array(value, what):
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as e:
        raise DataError(f"{what}: not a rectangular numeric array ({e})") from None
    if arr.dtype.kind not in "biuf":
        raise DataError(f"{what}: expected numbers, got dtype {arr.dtype}")
    return arr


def build(spec, budget=None):
    """Validate `spec` (raises spec.SpecError listing every problem) and build a Model."""
    return Model(spec_mod.validate(spec, budget=budget))
