"""GPU-resident training: a Model's whole step (forward, loss, backward, update) recorded once as
one program of WGSL dispatches and replayed per batch.

Parameters, gradients, activations, batchnorm running statistics and optimizer state live in GPU
buffers. A step writes the batch (inputs and targets, one-hot for class labels), the dropout masks
(drawn on the CPU from model.rng exactly as the NumPy layer draws them, so both backends drop the
same units) and the optimizer's per-parameter uniforms (learning rate, Adam's bias corrections),
submits the program and reads back one small buffer: the mean loss and the batch's output (what
`model.last_batch_output` holds after a NumPy step). Pipelines, bind groups and uniforms are made
once per batch size.

The layer graph is walked as the NumPy forward walks it, so add and concat joins (ResNet,
inception) need nothing special; in backward, a layer output that feeds several layers receives
the sum of their input gradients.

What NumPy keeps (so a GPU failure loses no weights): the Model's Parameters (with the running
statistics) and the optimizer's state are refreshed from the GPU (`pull`) every `SYNC_EVERY` steps
and whenever they are needed (state_dict, save, forward/predict/evaluate, switching backend). After
a device loss the model continues on NumPy from the last refresh, at most SYNC_EVERY - 1 steps
back, with its step count rolled back to match.

Planned: every layer type (dense and conv2d with any activation, pooling, flatten, reshape,
dropout, batchnorm in training / evaluation (frozen) mode, layernorm, embedding, add, concat, the
activation layers, softmax, maxout, rnn / lstm / gru with or without return_sequences); every loss
(softmax_cross_entropy, mse, huber, hinge, binary_cross_entropy with or without logits) on outputs
of any rank; every optimizer with l1/l2/clipvalue/clipnorm/schedules; frozen layers.
`unsupported(model)` lists what is not planned (a layer type whose record has no `gpu` hook, or an
activation the kernels lack; then the model trains on NumPy, and the notice names it) and
`placement(model)` says which layers would run where.
"""
import numpy as np

from ... import layertypes
from ...layertypes.base import axis_split as _axis_split
from .kernels import ACTIVATIONS, OPTIMIZER_UNIFORM_BYTES, Kernels, optimizer_fields

SYNC_EVERY = 20
LOSSES = {"softmax_cross_entropy", "binary_cross_entropy", "mse", "huber", "hinge"}
CLASS_LABEL_LOSSES = ("softmax_cross_entropy", "hinge")  # targets may be int labels -> one-hot
OPTIMIZERS = {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "adamw"}
SLOTS = {"momentum": ("velocity",), "nesterov": ("velocity",), "adagrad": ("accum",),
         "rmsprop": ("mean_square",), "adadelta": ("mean_square_grad", "mean_square_delta"),
         "adam": ("m", "v"), "adamw": ("m", "v")}
METRICS = 4  # readback floats before the clipnorm partials: [loss, -, -, -]


def _layer_reason(cfg):
    """Why the plan cannot run this layer (None when it can)."""
    act = cfg.get("activation")
    record = layertypes.TYPES.get(cfg["type"])
    if record is None or record.gpu is None:
        return f"layer type {cfg['type']} ({cfg['name']})"
    if act not in ACTIVATIONS and act != "softmax":
        return f"activation {act} ({cfg['name']})"
    return None


def unsupported(model):
    """Why `model` cannot train on the GPU (a list of reasons; empty when it can)."""
    reasons = [r for r in map(_layer_reason, model.nspec.layers) if r]
    if model.loss_type not in LOSSES:
        reasons.append(f"loss {model.loss_type}")
    if model.optimizer.config["type"] not in OPTIMIZERS:
        reasons.append(f"optimizer {model.optimizer.config['type']}")
    return reasons


def placement(model):
    """{"webgpu": [layer types the plan runs], "numpy": ["type (name)", ...]}: where each layer would run."""
    gpu, cpu = [], []
    for cfg in model.nspec.layers:
        if _layer_reason(cfg):
            cpu.append(f"{cfg['type']} ({cfg['name']})")
        elif cfg["type"] not in gpu:
            gpu.append(cfg["type"])
    return {"webgpu": gpu, "numpy": cpu}


class GpuTrainer:
    """A Model's GPU state: parameter/gradient/optimizer buffers and one program per batch size."""

    ACTIVATIONS = ACTIVATIONS  # what the GEMM epilogue and the activation kernels run (for the layer hooks)

    def __init__(self, model, device):
        self.model = model
        self.dev = device
        self.k = Kernels(device)
        self.buffers = []
        self.params = {}  # trainable Parameter.name -> (Parameter, weight buffer, grad buffer, [slot buffers])
        self.fixed = {}  # other Parameter.name (running statistics, frozen weights) -> (Parameter, buffer)
        self.opt_uniforms = {}
        self.programs = {}  # batch size -> (program, x buffer, target buffer, readback buffer, dropout masks)
        self.live = set()  # trainable parameters the loss reaches (the others get no update, as on NumPy)
        self.t = {}  # adam per-parameter update counts
        self.dirty = False  # GPU weights newer than the NumPy copies
        self.synced_steps = (model.step_count, model.optimizer.steps)
        self.steps_since_sync = 0
        opt = model.optimizer
        slots = SLOTS.get(opt.config["type"], ())
        for p in model.parameters(trainable_only=False):
            w = self._buffer(p.data.size)
            self.dev.write(w, p.data)
            if not p.trainable:
                self.fixed[p.name] = (p, w)
                continue
            state = opt.state.get(p.name, {})
            slot_bufs = []
            for s in slots:
                b = self._buffer(p.data.size)
                self.dev.write(b, state.get(s, np.zeros_like(p.data)))
                slot_bufs.append(b)
            self.t[p.name] = int(state.get("t", 0))
            self.params[p.name] = (p, w, self._buffer(p.data.size), slot_bufs)
            self.opt_uniforms[p.name] = self.dev.create_buffer(OPTIMIZER_UNIFORM_BYTES, uniform=True)
            self.buffers.append(self.opt_uniforms[p.name])

    def _buffer(self, count, dtype_bytes=4):
        h = self.dev.create_buffer(max(int(count), 1) * dtype_bytes)
        self.buffers.append(h)
        return h

    def _weight(self, name):
        """The weight buffer of parameter `name`, trainable or not."""
        entry = self.params.get(name)
        return entry[1] if entry is not None else self.fixed[name][1]

    def _grad(self, name):
        """The gradient buffer of parameter `name` (marking it live), or None when it is not trained."""
        entry = self.params.get(name)
        if entry is None:
            return None
        self.live.add(name)
        return entry[2]

    # ---- recording ---------------------------------------------------------------------------
    def _record(self, batch):
        m, k = self.model, self.k
        x_buf = self._buffer(batch * int(np.prod(m.input_shape)))
        acts = {"input": (x_buf, (batch, *m.input_shape))}
        fwd, backs, masks = [], [], []
        for cfg in m.nspec.layers:
            ins = [acts[n] for n in cfg["inputs"]]
            out_shape = (batch, *cfg["output_shape"])
            y, ops, back = self._layer(cfg, ins, out_shape, masks)
            fwd += ops
            acts[cfg["name"]] = (y, out_shape)
            backs.append((cfg, back))
        out_buf, out_shape = acts[m.nspec.layers[-1]["name"]]
        n_out = int(np.prod(out_shape))
        classes = out_shape[-1]
        rows = n_out // classes
        target, grad_out, row_losses = self._buffer(n_out), self._buffer(n_out), self._buffer(rows)
        n_params = len(self.params)
        readback = self._buffer(METRICS + n_params + n_out)
        loss_ops = [k.loss_op(out_buf, target, grad_out, row_losses, rows, classes, m.loss_cfg),
                    k.metrics_op(row_losses, readback, rows),
                    k.block_copy_op(out_buf, readback, 1, n_out, 0, 0, 0, METRICS + n_params)]
        # Backward, output end first; grads[name] collects the gradients flowing into a layer's output.
        grads = {m.nspec.layers[-1]["name"]: [grad_out]}
        bwd = []
        for cfg, back in reversed(backs):
            contributions = grads.pop(cfg["name"], [])
            if not contributions:
                continue  # nothing downstream reaches the loss
            dy = contributions[0]
            n = int(np.prod((batch, *cfg["output_shape"])))
            for extra in contributions[1:]:
                total = self._buffer(n)
                bwd.append(k.add_op(dy, extra, total, n))
                dy = total
            ops, dxs = back(dy, [src != "input" for src in cfg["inputs"]])
            bwd += ops
            for src, dx in zip(cfg["inputs"], dxs):
                if dx is not None and src != "input":
                    grads.setdefault(src, []).append(dx)
        update = []
        opt_type = m.optimizer.config["type"]
        if m.optimizer.config.get("clipnorm") is not None:
            update += [k.grad_norm_op(w, g, readback, self.opt_uniforms[name])
                       for name, (p, w, g, slots) in self.params.items() if name in self.live]
        for name, (p, w, g, slots) in self.params.items():
            if name in self.live:
                update.append(k.optimizer_op(opt_type, w, g, slots[0] if slots else None,
                                             slots[1] if len(slots) > 1 else None, readback,
                                             self.opt_uniforms[name], p.data.size))
        prog = self.dev.program(fwd + loss_ops + bwd + update)
        return prog, x_buf, target, readback, masks

    def _activation(self, z, shape, act, alpha):
        """(forward ops, y, backward(dy) -> (ops, dz)) of an unfused activation on buffer z."""
        k, n = self.k, int(np.prod(shape))
        if act in (None, "linear"):
            return [], z, lambda dy: ([], dy)
        y = self._buffer(n)
        if act == "softmax":
            split = _axis_split(shape, -1)
            fwd = [k.softmax_op(z, y, *split)]

            def back(dy):
                dz = self._buffer(n)
                return [k.softmax_grad_op(y, dy, dz, *split)], dz
            return fwd, y, back

        def back_pointwise(dy):
            dz = self._buffer(n)
            return [k.activation_grad_op(z, y, dy, dz, n, act, alpha)], dz
        return [k.activation_op(z, y, n, act, alpha)], y, back_pointwise

    def _layer(self, cfg, ins, y_shape, masks):
        """(output buffer, forward ops, backward(dy, needs) -> (ops, [dx per input])) of one layer: its
        record's gpu hook (pyengine/layertypes), which builds with k, _buffer, _weight, _grad, _param,
        _activation, ACTIVATIONS and model."""
        return layertypes.get(cfg["type"]).gpu(self, cfg, ins, y_shape, masks)

    def _param(self, name):
        entry = self.params.get(name)
        return entry[0] if entry is not None else self.fixed[name][0]

    # ---- running -----------------------------------------------------------------------------
    def step(self, x, y):
        """One training step on the GPU; returns (mean loss, the batch's output array) and leaves NumPy stale."""
        m = self.model
        batch = len(x)
        if batch not in self.programs:
            self.programs[batch] = self._record(batch)
        prog, x_buf, target_buf, readback, masks = self.programs[batch]
        n_out = int(np.prod(m.output_shape))
        if m.loss_type in CLASS_LABEL_LOSSES and y.ndim == 1:  # class labels -> one-hot
            target = np.zeros((batch, n_out), np.float32)
            target[np.arange(batch), y] = 1.0
        else:
            target = y.reshape(batch, n_out).astype(np.float32)
        self.dev.write(x_buf, np.ascontiguousarray(x, np.float32))
        self.dev.write(target_buf, target)
        for mask_buf, shape, rate in masks:  # the draws ops.dropout makes, in the same order
            keep = m.rng.random(shape, dtype=np.float32) >= rate
            self.dev.write(mask_buf, keep * np.asarray(1.0 / (1.0 - rate), dtype=np.float32))
        opt = m.optimizer
        lr = opt.lr_at(opt.steps)
        n_params = len(self.params)
        for i, (name, (p, *_rest)) in enumerate(self.params.items()):
            fields = optimizer_fields(p.data.size, opt.config, lr, p.decay, self.t[name] + 1,
                                      norm_at=METRICS + i, norms_from=METRICS, norms=n_params)
            self.dev.write(self.opt_uniforms[name], fields)
        result = self.dev.run(prog, read=readback, count=METRICS + n_params + batch * n_out)
        loss = float(result[0])
        output = result[METRICS + n_params:].reshape(batch, *m.output_shape)
        if np.isfinite(loss):  # the kernels skipped the update otherwise
            for name in self.live:
                self.t[name] += 1
            opt.steps += 1
            self.dirty = True
            self.steps_since_sync += 1
        return loss, output

    def pull(self):
        """Copy weights and optimizer state from the GPU into the Model's NumPy arrays."""
        if not self.dirty:
            return
        opt = self.model.optimizer
        slots = SLOTS.get(opt.config["type"], ())
        # Read everything first: a failure half-way must not leave NumPy with a mix of two steps.
        fetched = {name: (self.dev.read(w, p.data.size), [self.dev.read(b, p.data.size) for b in slot_bufs])
                   for name, (p, w, _g, slot_bufs) in self.params.items()}
        running = {name: self.dev.read(b, p.data.size) for name, (p, b) in self.fixed.items()
                   if name.rsplit(".", 1)[-1].startswith("running_")}
        for name, values in running.items():
            p = self.fixed[name][0]
            p.data[...] = values.reshape(p.data.shape)
        for name, (weights, slot_values) in fetched.items():
            p = self.params[name][0]
            p.data[...] = weights.reshape(p.data.shape)
            if slots and name in self.live:  # NumPy makes no state for parameters it never updates
                st = opt.state.setdefault(name, {})
                for s, value in zip(slots, slot_values):
                    st[s] = value.reshape(p.data.shape)
                if opt.config["type"] in ("adam", "adamw"):
                    st["t"] = np.array(self.t[name], dtype=np.int64)
        self.dirty = False
        self.steps_since_sync = 0
        self.synced_steps = (self.model.step_count, opt.steps)

    def push(self):
        """Upload the Model's NumPy weights and optimizer state (after load_state_dict & co.)."""
        opt = self.model.optimizer
        slots = SLOTS.get(opt.config["type"], ())
        for p, w in self.fixed.values():
            self.dev.write(w, p.data)
        for name, (p, w, _g, slot_bufs) in self.params.items():
            self.dev.write(w, p.data)
            st = opt.state.get(name, {})
            for s, b in zip(slots, slot_bufs):
                self.dev.write(b, st.get(s, np.zeros_like(p.data)))
            self.t[name] = int(st.get("t", 0))
        self.dirty = False
        self.synced_steps = (self.model.step_count, opt.steps)

    def release(self):
        for prog, *_ in self.programs.values():
            self.dev.release_program(prog)
        for h in self.buffers:
            self.dev.destroy(h)
        self.k.release()
        self.programs.clear()
        self.buffers.clear()
