"""GPU-resident training: a Model's whole step (forward, loss, backward, update) recorded once as
one program of WGSL dispatches and replayed per batch.

Parameters, gradients, activations and optimizer state live in GPU buffers. A step writes the
batch (inputs and one-hot targets) and the optimizer's per-parameter uniforms (learning rate,
Adam's bias corrections), submits the program and reads back 2 floats: the mean loss and the
number of correct predictions. Pipelines, bind groups and uniforms are made once per batch size.

What NumPy keeps (so a GPU failure loses no weights): the Model's Parameters and the optimizer's
state are refreshed from the GPU (`pull`) every `SYNC_EVERY` steps and whenever they are needed
(state_dict, save, forward/predict/evaluate, switching backend). After a device loss the model
continues on NumPy from the last refresh, at most SYNC_EVERY - 1 steps back, with its step count
rolled back to match.

Supported: sequential chains of dense, conv2d, maxpool2d, avgpool2d, globalavgpool2d, flatten,
reshape and the activation layers relu, leaky_relu, elu, gelu, sigmoid, tanh (also as dense/conv2d
`activation`); losses softmax_cross_entropy and mse on a 1-D output; optimizers sgd, momentum,
nesterov, adagrad, rmsprop, adadelta, adam, adamw with l1/l2/clipvalue/schedules (not clipnorm).
Anything else is reported by `unsupported(model)` and the model trains on NumPy.
"""
import numpy as np

from .kernels import ACTIVATIONS, Kernels, optimizer_fields

SYNC_EVERY = 20
LAYERS = {"dense", "conv2d", "maxpool2d", "avgpool2d", "globalavgpool2d", "flatten", "reshape",
          "relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh"}
LOSSES = {"softmax_cross_entropy", "mse"}
OPTIMIZERS = {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "adamw"}
SLOTS = {"momentum": ("velocity",), "nesterov": ("velocity",), "adagrad": ("accum",),
         "rmsprop": ("mean_square",), "adadelta": ("mean_square_grad", "mean_square_delta"),
         "adam": ("m", "v"), "adamw": ("m", "v")}


def unsupported(model):
    """Why `model` cannot train on the GPU (a list of reasons; empty when it can)."""
    reasons = []
    prev = "input"
    for cfg in model.nspec.layers:
        if cfg["type"] not in LAYERS:
            reasons.append(f"layer type {cfg['type']} ({cfg['name']})")
        elif cfg.get("activation") not in ACTIVATIONS:
            reasons.append(f"activation {cfg.get('activation')} ({cfg['name']})")
        if cfg["inputs"] != [prev]:
            reasons.append(f"non-sequential inputs ({cfg['name']})")
        if cfg["type"] == "dense" and len(cfg["input_shapes"][0]) != 1:
            reasons.append(f"dense on a {len(cfg['input_shapes'][0])}-D input ({cfg['name']})")
        prev = cfg["name"]
    if model.loss_type not in LOSSES:
        reasons.append(f"loss {model.loss_type}")
    if len(model.output_shape) != 1:
        reasons.append(f"output shape {model.output_shape} (needs 1-D)")
    opt = model.optimizer.config
    if opt["type"] not in OPTIMIZERS:
        reasons.append(f"optimizer {opt['type']}")
    if opt.get("clipnorm") is not None:
        reasons.append("clipnorm")
    if model.frozen:
        reasons.append("frozen layers")
    return reasons


class GpuTrainer:
    """A Model's GPU state: parameter/gradient/optimizer buffers and one program per batch size."""

    def __init__(self, model, device):
        self.model = model
        self.dev = device
        self.k = Kernels(device)
        self.buffers = []
        self.params = {}  # Parameter.name -> (Parameter, weight buffer, grad buffer, [slot buffers])
        self.opt_uniforms = {}
        self.programs = {}  # batch size -> (program, x buffer, target buffer, metrics buffer)
        self.t = {}  # adam per-parameter update counts
        self.dirty = False  # GPU weights newer than the NumPy copies
        self.synced_steps = (model.step_count, model.optimizer.steps)
        self.steps_since_sync = 0
        opt = model.optimizer
        slots = SLOTS.get(opt.config["type"], ())
        for p in model.parameters():
            w = self._buffer(p.data.size)
            self.dev.write(w, p.data)
            state = opt.state.get(p.name, {})
            slot_bufs = []
            for s in slots:
                b = self._buffer(p.data.size)
                self.dev.write(b, state.get(s, np.zeros_like(p.data)))
                slot_bufs.append(b)
            self.t[p.name] = int(state.get("t", 0))
            self.params[p.name] = (p, w, self._buffer(p.data.size), slot_bufs)
            self.opt_uniforms[p.name] = self.dev.create_buffer(48, uniform=True)
            self.buffers.append(self.opt_uniforms[p.name])

    def _buffer(self, count, dtype_bytes=4):
        h = self.dev.create_buffer(max(int(count), 1) * dtype_bytes)
        self.buffers.append(h)
        return h

    # ---- recording ---------------------------------------------------------------------------
    def _record(self, batch):
        m, k = self.model, self.k
        x_buf = self._buffer(batch * int(np.prod(m.input_shape)))
        fwd, bwd = [], []
        cur, cur_shape = x_buf, (batch, *m.input_shape)
        grads_needed = []  # (layer index) -> whether to compute the input gradient
        layer_io = []
        for i, cfg in enumerate(m.nspec.layers):
            out_shape = (batch, *cfg["output_shape"])
            layer_io.append((cfg, cur, cur_shape, out_shape))
            t = cfg["type"]
            if t in ("flatten", "reshape"):
                out = cur  # same bytes, new shape
            else:
                out = self._buffer(np.prod(out_shape))
            layer_io[-1] = (cfg, cur, cur_shape, out_shape, out)
            cur, cur_shape = out, out_shape
            grads_needed.append(i > 0)
        out_buf, out_shape = cur, cur_shape
        n_out = int(np.prod(out_shape[1:]))
        target = self._buffer(batch * n_out)
        grad_out = self._buffer(batch * n_out)
        rows = self._buffer(2 * batch)
        metrics = self._buffer(4)
        loss_ops = [k.loss_op(out_buf, target, grad_out, rows, batch, n_out, m.loss_type),
                    k.metrics_op(rows, metrics, batch)]
        # Backward, output end first: dy flows through dx buffers.
        dy = grad_out
        extra = {}  # layer name -> pre-activation buffer (unfused activations)
        for i in range(len(layer_io) - 1, -1, -1):
            cfg, x, x_shape, y_shape, y = layer_io[i]
            need_dx = grads_needed[i]
            fwd_ops, bwd_ops, dy = self._layer(cfg, x, x_shape, y, y_shape, dy, need_dx)
            fwd[:0] = fwd_ops
            bwd.extend(bwd_ops)
        update = []
        for name, (p, w, g, slots) in self.params.items():
            update.append(k.optimizer_op(m.optimizer.config["type"], w, g, slots[0] if slots else None,
                                         slots[1] if len(slots) > 1 else None, metrics, self.opt_uniforms[name],
                                         p.data.size))
        prog = self.dev.program(fwd + loss_ops + bwd + update)
        return prog, x_buf, target, metrics, out_buf

    def _layer(self, cfg, x, x_shape, y, y_shape, dy, need_dx):
        """(forward ops, backward ops, input-gradient buffer) of one layer."""
        k, t = self.k, cfg["type"]
        name = cfg["name"]
        fwd, bwd = [], []
        n_in, n_out = int(np.prod(x_shape)), int(np.prod(y_shape))
        dx = self._buffer(n_in) if need_dx and t not in ("flatten", "reshape") else None
        if t in ("flatten", "reshape"):
            return fwd, bwd, dy
        if t in ("dense", "conv2d"):
            act = cfg.get("activation") or "linear"
            alpha = cfg.get("alpha")
            weight = self.params[f"{name}.weight"]
            bias = self.params.get(f"{name}.bias") if cfg.get("use_bias", True) else None
            fused = act != "gelu"
            z = y if fused else self._buffer(n_out)
            if t == "dense":
                b, fin = x_shape
                units = y_shape[1]
                fwd += k.matmul_op(x, weight[1], z, b, units, fin, bias=bias and bias[1],
                                   act=act if fused else None, alpha=alpha)
            else:
                geo = (x_shape, weight[0].data.shape, y_shape[1:3], cfg["strides"], cfg["pads"], cfg["dilation_rate"])
                fwd += k.conv2d_op(x, weight[1], bias and bias[1], z, *geo, act=act if fused else None,
                                   alpha=alpha)
            if not fused:
                fwd.append(k.activation_op(z, y, n_out, act, alpha))
            dz = dy
            if act != "linear":
                dz = self._buffer(n_out)
                bwd.append(k.activation_grad_op(z, y, dy, dz, n_out, act, alpha))
            cols = y_shape[-1]
            rows = n_out // cols
            if bias is not None:
                bwd.append(k.colsum_op(dz, bias[2], rows, cols))
            if t == "dense":
                b, fin = x_shape
                bwd += k.matmul_op(x, dz, weight[2], fin, cols, b, trans_a=True)
                if dx is not None:
                    bwd += k.matmul_op(dz, weight[1], dx, b, fin, cols, trans_b=True)
            else:
                bwd += k.conv2d_grad_weight_op(x, dz, weight[2], *geo)
                if dx is not None:
                    bwd += k.conv2d_grad_input_op(dz, weight[1], dx, *geo)
            return fwd, bwd, dx
        if t in ("maxpool2d", "avgpool2d", "globalavgpool2d"):
            if t == "globalavgpool2d":
                pool, strides, pads = x_shape[1:3], (1, 1), ((0, 0), (0, 0))
                ohw = (1, 1)
            else:
                pool, strides, pads = cfg["pool_size"], cfg["strides"], cfg["pads"]
                ohw = y_shape[1:3]
            if t == "maxpool2d":
                idx = self._buffer(n_out)
                fwd.append(k.maxpool_op(x, y, idx, x_shape, ohw, pool, strides, pads))
                if dx is not None:
                    bwd.append(k.maxpool_grad_op(dy, idx, dx, x_shape, ohw, pool, strides, pads))
            else:
                fwd.append(k.avgpool_op(x, y, x_shape, ohw, pool, strides, pads))
                if dx is not None:
                    bwd.append(k.avgpool_grad_op(dy, dx, x_shape, ohw, pool, strides, pads))
            return fwd, bwd, dx
        # activation layers
        alpha = cfg.get("alpha")
        fwd.append(k.activation_op(x, y, n_out, t, alpha))
        if dx is not None:
            bwd.append(k.activation_grad_op(x, y, dy, dx, n_out, t, alpha))
        return fwd, bwd, dx

    # ---- running -----------------------------------------------------------------------------
    def step(self, x, y):
        """One training step on the GPU; returns (mean loss, the batch's output array) and leaves NumPy stale."""
        m = self.model
        batch = len(x)
        if batch not in self.programs:
            self.programs[batch] = self._record(batch)
        prog, x_buf, target_buf, metrics, out_buf = self.programs[batch]
        n_out = int(np.prod(m.output_shape))
        if y.ndim == 1:  # class labels -> one-hot
            target = np.zeros((batch, n_out), np.float32)
            target[np.arange(batch), y] = 1.0
        else:
            target = y.reshape(batch, n_out).astype(np.float32)
        self.dev.write(x_buf, np.ascontiguousarray(x, np.float32))
        self.dev.write(target_buf, target)
        opt = m.optimizer
        lr = opt.lr_at(opt.steps)
        for name, (p, *_rest) in self.params.items():
            t = self.t[name] + 1
            self.dev.write(self.opt_uniforms[name], optimizer_fields(p.data.size, opt.config, lr, p.decay, t))
        result = self.dev.run(prog, read=metrics, count=4)
        loss = float(result[0])
        output = self.dev.read(out_buf, batch * n_out).reshape(batch, *m.output_shape)
        if np.isfinite(loss):  # the kernels skipped the update otherwise
            for name in self.t:
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
        for name, (weights, slot_values) in fetched.items():
            p = self.params[name][0]
            p.data[...] = weights.reshape(p.data.shape)
            if slots:
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
