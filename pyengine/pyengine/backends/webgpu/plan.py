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
`unsupported(model)` lists what is not planned (a layer type or activation added to the engine
but not here yet; then the model trains on NumPy, and the notice names it) and `placement(model)`
says which layers would run where.
"""
import numpy as np

from .kernels import ACTIVATIONS, OPTIMIZER_UNIFORM_BYTES, Kernels, optimizer_fields

SYNC_EVERY = 20
LAYERS = {"dense", "conv2d", "maxpool2d", "avgpool2d", "globalavgpool2d", "flatten", "reshape", "dropout",
          "batchnorm", "layernorm", "embedding", "add", "concat", "relu", "leaky_relu", "elu", "gelu", "sigmoid",
          "tanh", "softmax", "maxout", "rnn", "lstm", "gru"}
LOSSES = {"softmax_cross_entropy", "binary_cross_entropy", "mse", "huber", "hinge"}
CLASS_LABEL_LOSSES = ("softmax_cross_entropy", "hinge")  # targets may be int labels -> one-hot
OPTIMIZERS = {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "adamw"}
SLOTS = {"momentum": ("velocity",), "nesterov": ("velocity",), "adagrad": ("accum",),
         "rmsprop": ("mean_square",), "adadelta": ("mean_square_grad", "mean_square_delta"),
         "adam": ("m", "v"), "adamw": ("m", "v")}
ALIASES = ("flatten", "reshape")  # output = the input's bytes with a new shape
METRICS = 4  # readback floats before the clipnorm partials: [loss, -, -, -]


def _layer_reason(cfg):
    """Why the plan cannot run this layer (None when it can)."""
    act = cfg.get("activation")
    if cfg["type"] not in LAYERS:
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


def _axis_split(shape, axis):
    """(outer, length, inner) of a full (batch-first) shape around `axis` (negative, as spec.py stores it)."""
    a = len(shape) + axis if axis < 0 else axis
    return int(np.prod(shape[:a])), int(shape[a]), int(np.prod(shape[a + 1:]))


class GpuTrainer:
    """A Model's GPU state: parameter/gradient/optimizer buffers and one program per batch size."""

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
        """(output buffer, forward ops, backward(dy, needs) -> (ops, [dx per input])) of one layer."""
        k, t, name = self.k, cfg["type"], cfg["name"]
        x, x_shape = ins[0]
        n_in, n_out = int(np.prod(x_shape)), int(np.prod(y_shape))
        buf = self._buffer
        if t in ALIASES:
            return x, [], lambda dy, needs: ([], [dy])
        if t in ("dense", "conv2d"):
            act = cfg.get("activation") or "linear"
            alpha = cfg.get("alpha")
            w = self._weight(f"{name}.weight")
            has_bias = cfg.get("use_bias", True) and "bias" in self.model.params.get(name, {})
            bias = self._weight(f"{name}.bias") if has_bias else None
            fused = act in ACTIVATIONS and act != "gelu"  # in the GEMM epilogue
            z = buf(n_out)
            cols = y_shape[-1]
            rows = n_out // cols
            if t == "dense":
                fin = x_shape[-1]
                fwd = k.matmul_op(x, w, z, rows, cols, fin, bias=bias, act=act if fused else None, alpha=alpha)
            else:
                geo = (x_shape, self._param(f"{name}.weight").data.shape, y_shape[1:3], cfg["strides"],
                       cfg["pads"], cfg["dilation_rate"])
                fwd = k.conv2d_op(x, w, bias, z, *geo, act=act if fused else None, alpha=alpha)
            if fused:
                y = z
                act_back = None
            else:
                act_fwd, y, act_back = self._activation(z, y_shape, act, alpha)
                fwd = fwd + act_fwd

            def back(dy, needs):
                ops = []
                if act_back is not None:
                    ops, dz = act_back(dy)
                elif act != "linear":
                    dz = buf(n_out)
                    ops = [k.activation_grad_op(y, y, dy, dz, n_out, act, alpha)]
                else:
                    dz = dy
                db = self._grad(f"{name}.bias") if has_bias else None
                if db is not None:
                    ops.append(k.colsum_op(dz, db, rows, cols))
                dw = self._grad(f"{name}.weight")
                dx = buf(n_in) if needs[0] else None
                if t == "dense":
                    fin = x_shape[-1]
                    if dw is not None:
                        ops += k.matmul_op(x, dz, dw, fin, cols, rows, trans_a=True)
                    if dx is not None:
                        ops += k.matmul_op(dz, w, dx, rows, fin, cols, trans_b=True)
                else:
                    if dw is not None:
                        ops += k.conv2d_grad_weight_op(x, dz, dw, *geo)
                    if dx is not None:
                        ops += k.conv2d_grad_input_op(dz, w, dx, *geo)
                return ops, [dx]
            return y, fwd, back
        if t in ("maxpool2d", "avgpool2d", "globalavgpool2d"):
            if t == "globalavgpool2d":
                pool, strides, pads, ohw = x_shape[1:3], (1, 1), ((0, 0), (0, 0)), (1, 1)
            else:
                pool, strides, pads, ohw = cfg["pool_size"], cfg["strides"], cfg["pads"], y_shape[1:3]
            y = buf(n_out)
            if t == "maxpool2d":
                idx = buf(n_out)
                fwd = [k.maxpool_op(x, y, idx, x_shape, ohw, pool, strides, pads)]
            else:
                fwd = [k.avgpool_op(x, y, x_shape, ohw, pool, strides, pads)]

            def back(dy, needs):
                if not needs[0]:
                    return [], [None]
                dx = buf(n_in)
                if t == "maxpool2d":
                    return [k.maxpool_grad_op(dy, idx, dx, x_shape, ohw, pool, strides, pads)], [dx]
                return [k.avgpool_grad_op(dy, dx, x_shape, ohw, pool, strides, pads)], [dx]
            return y, fwd, back
        if t == "dropout":
            rate = float(cfg["rate"])
            if rate <= 0:
                return x, [], lambda dy, needs: ([], [dy])
            mask, y = buf(n_in), buf(n_out)
            masks.append((mask, x_shape, rate))

            def back(dy, needs):
                if not needs[0]:
                    return [], [None]
                dx = buf(n_in)
                return [k.mul_op(dy, mask, dx, n_in)], [dx]
            return y, [k.mul_op(x, mask, y, n_in)], back
        if t == "batchnorm":
            c = x_shape[-1]
            rows = n_in // c
            training = name not in self.model.frozen  # a frozen batchnorm runs in inference mode, as on NumPy
            stats, xhat, y = buf(2 * c), buf(n_in), buf(n_in)
            gamma, beta = self._weight(f"{name}.gamma"), self._weight(f"{name}.beta")
            fwd = [k.batchnorm_stats_op(x, stats, self._weight(f"{name}.running_mean"),
                                        self._weight(f"{name}.running_var"), rows, c, training, cfg["momentum"],
                                        cfg["epsilon"]),
                   k.batchnorm_op(x, stats, gamma, beta, xhat, y, rows, c)]

            def back(dy, needs):
                dg, db = self._grad(f"{name}.gamma"), self._grad(f"{name}.beta")
                ops = []
                if dg is not None or db is not None or training:
                    dg, db = dg if dg is not None else buf(c), db if db is not None else buf(c)
                    ops.append(k.norm_reduce_op(dy, xhat, db, dg, rows, c))
                dx = None
                if needs[0]:
                    dx = buf(n_in)
                    ops.append(k.batchnorm_grad_op(dy, stats, gamma, k.dummy if db is None else db,
                                                   k.dummy2 if dg is None else dg, xhat, dx, rows, c, training))
                return ops, [dx]
            return y, fwd, back
        if t == "layernorm":
            c = x_shape[-1]
            rows = n_in // c
            xhat, inv, y = buf(n_in), buf(rows), buf(n_in)
            gamma, beta = self._weight(f"{name}.gamma"), self._weight(f"{name}.beta")
            fwd = [k.layernorm_op(x, gamma, beta, xhat, inv, y, rows, c, cfg["epsilon"])]

            def back(dy, needs):
                dg, db = self._grad(f"{name}.gamma"), self._grad(f"{name}.beta")
                ops = []
                if dg is not None or db is not None:
                    ops.append(k.norm_reduce_op(dy, xhat, db if db is not None else buf(c),
                                                dg if dg is not None else buf(c), rows, c))
                dx = None
                if needs[0]:
                    dx = buf(n_in)
                    ops.append(k.layernorm_grad_op(dy, gamma, xhat, inv, dx, rows, c))
                return ops, [dx]
            return y, fwd, back
        if t in ("lstm", "rnn", "gru"):
            return self._recurrent(cfg, x, x_shape, y_shape)
        if t == "embedding":
            vocab, d = self._param(f"{name}.weight").data.shape
            y = buf(n_out)
            w = self._weight(f"{name}.weight")

            def back(dy, needs):
                dw = self._grad(f"{name}.weight")
                ops = [] if dw is None else [k.embedding_grad_op(x, dy, dw, n_in, vocab, d)]
                return ops, [None]  # ids have no gradient
            return y, [k.embedding_op(x, w, y, n_in, d)], back
        if t == "add":
            fwd, acc = [], x
            for other, _shape in ins[1:]:
                total = buf(n_out)
                fwd.append(k.add_op(acc, other, total, n_out))
                acc = total
            return acc, fwd, lambda dy, needs: ([], [dy if need else None for need in needs])
        if t == "concat":
            y = buf(n_out)
            outer, total, inner = _axis_split(y_shape, cfg["axis"])
            fwd, slices, off = [], [], 0
            for xi, shape_i in ins:
                width = _axis_split(shape_i, cfg["axis"])[1] * inner
                fwd.append(k.block_copy_op(xi, y, outer, width, width, 0, total * inner, off))
                slices.append((off, width))
                off += width

            def back(dy, needs):
                ops, dxs = [], []
                for (off_i, width), need in zip(slices, needs):
                    dx = buf(outer * width) if need else None
                    if dx is not None:
                        ops.append(k.block_copy_op(dy, dx, outer, width, total * inner, off_i, width, 0))
                    dxs.append(dx)
                return ops, dxs
            return y, fwd, back
        if t == "softmax":
            y = buf(n_out)
            split = _axis_split(x_shape, cfg["axis"])

            def back(dy, needs):
                if not needs[0]:
                    return [], [None]
                dx = buf(n_in)
                return [k.softmax_grad_op(y, dy, dx, *split)], [dx]
            return y, [k.softmax_op(x, y, *split)], back
        if t == "maxout":
            pieces = cfg.get("pieces", 2)
            y, idx = buf(n_out), buf(n_out)

            def back(dy, needs):
                if not needs[0]:
                    return [], [None]
                dx = buf(n_in)
                return [k.maxout_grad_op(dy, idx, dx, n_in, pieces)], [dx]
            return y, [k.maxout_op(x, idx, y, n_out, pieces)], back
        # activation layers
        alpha = cfg.get("alpha")
        fwd, y, act_back = self._activation(x, x_shape, t, alpha)

        def back(dy, needs):
            if not needs[0]:
                return [], [None]
            ops, dx = act_back(dy)
            return ops, [dx]
        return y, fwd, back

    def _recurrent(self, cfg, x, x_shape, y_shape):
        """rnn / lstm / gru as pyengine.ops.recurrent computes them: the input projection of all steps
        in one GEMM, then per step one GEMM (h W_hh) and one cell kernel; backward through time the
        same way, and the weight / input gradients as one GEMM each over all steps."""
        k, buf, name, kind = self.k, self._buffer, cfg["name"], cfg["type"]
        act = cfg.get("activation") or "linear" if kind == "rnn" else None
        n, steps, f = x_shape
        u = cfg["units"]
        gates = {"rnn": 1, "lstm": 4, "gru": 3}[kind] * u
        seq = cfg["return_sequences"]
        w = lambda p: self._weight(f"{name}.{p}")  # noqa: E731
        bias_ih, bias_hh = (w("bias_ih"), w("bias_hh")) if kind == "gru" else (w("bias"), None)
        xw = buf(n * steps * gates)
        fwd = k.matmul_op(x, w("weight_ih"), xw, n * steps, gates, f, bias=bias_ih)
        zero_h, zero_ct = buf(n * u), buf(2 * n * u)  # the initial state: never written, so zeros
        hs = buf(n * steps * u)  # (N, T, U): the state before each step (row k = 0 stays zero)
        y = buf(n * steps * u) if seq else None
        y_or_dummy = k.dummy2 if y is None else y
        h, per_step = zero_h, []
        for step in range(steps):
            hw = buf(n * gates)
            fwd += k.matmul_op(h, w("weight_hh"), hw, n, gates, u, bias=bias_hh)
            h_next = buf(n * u)
            if kind == "lstm":
                g_k, ct = buf(n * gates), buf(2 * n * u)
                ct_prev = per_step[-1][1] if per_step else zero_ct
                fwd.append(k.lstm_step_op(xw, hw, ct_prev, g_k, ct, h_next, hs, y_or_dummy, n, steps, u, step, seq))
                per_step.append((g_k, ct, ct_prev))
            elif kind == "gru":
                gh = buf(4 * n * u)
                fwd.append(k.gru_step_op(xw, hw, h, gh, h_next, hs, y_or_dummy, n, steps, u, step, seq))
                per_step.append((gh, h))
            else:
                pre = buf(n * u)
                fwd.append(k.rnn_step_op(xw, hw, pre, h_next, hs, y_or_dummy, n, steps, u, step, seq, act))
                per_step.append((pre, h_next))
            h = h_next

        def back(dy, needs):
            ops = []
            dzb = buf(n * steps * gates)  # input-side pre-activation grads, batch-major
            dhwb = buf(n * steps * gates) if kind == "gru" else dzb  # grads of h W_hh (+ b_hh)
            dc = buf(n * u) if kind == "lstm" else None
            dh = zero_h if seq else dy
            dy_seq = dy if seq else k.dummy
            for step in range(steps - 1, -1, -1):
                dz = buf(n * gates)
                if kind == "lstm":
                    g_k, ct, ct_prev = per_step[step]
                    ops.append(k.lstm_step_grad_op(g_k, ct_prev, ct, dh, dy_seq, dc, dz, dzb, n, steps, u, step, seq))
                elif kind == "gru":
                    gh, h_prev = per_step[step]
                    dhz = buf(n * u)
                    ops.append(k.gru_step_grad_op(gh, h_prev, dh, dy_seq, dzb, dz, dhwb, dhz, n, steps, u, step, seq))
                else:
                    pre, h_k = per_step[step]
                    ops.append(k.rnn_step_grad_op(pre, h_k, dh, dy_seq, dz, dzb, n, steps, u, step, seq, act))
                if step > 0:
                    dh = buf(n * u)
                    ops += k.matmul_op(dz, w("weight_hh"), dh, n, u, gates, trans_b=True)
                    if kind == "gru":  # h_prev also reaches h directly: dh z
                        total = buf(n * u)
                        ops.append(k.add_op(dhz, dh, total, n * u))
                        dh = total
            dw_hh, dw_ih = self._grad(f"{name}.weight_hh"), self._grad(f"{name}.weight_ih")
            db_ih = self._grad(f"{name}.bias_ih" if kind == "gru" else f"{name}.bias")
            db_hh = self._grad(f"{name}.bias_hh") if kind == "gru" else None
            if dw_hh is not None:
                ops += k.matmul_op(hs, dhwb, dw_hh, u, gates, n * steps, trans_a=True)
            if dw_ih is not None:
                ops += k.matmul_op(x, dzb, dw_ih, f, gates, n * steps, trans_a=True)
            if db_ih is not None:
                ops.append(k.colsum_op(dzb, db_ih, n * steps, gates))
            if db_hh is not None:
                ops.append(k.colsum_op(dhwb, db_hh, n * steps, gates))
            dx = None
            if needs[0]:
                dx = buf(n * steps * f)
                ops += k.matmul_op(dzb, w("weight_ih"), dx, n * steps, f, gates, trans_b=True)
            return ops, [dx]
        return (y if seq else h), fwd, back

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
