"""The kernel API: one function per WGSL kernel that records a dispatch on device buffers.

Each `*_op` function takes buffer handles and shapes, writes the kernel's uniform parameters into
a fresh small uniform buffer and returns an op ("dispatch", pipeline, [buffers], x, y, z) that a
program replays every step (plan.py) or runs once (the eager helpers at the end, used by tests
and benchmarks). Layout is channels-last, float32, as in numpy_backend.
"""
import math

import numpy as np

ACTIVATIONS = {None: 0, "linear": 0, "relu": 1, "leaky_relu": 2, "elu": 3, "gelu": 4, "sigmoid": 5, "tanh": 6}
LOSS_CODES = {"softmax_cross_entropy": 0, "mse": 1, "huber": 2, "binary_cross_entropy": 3, "hinge": 5}
GRAD_NORM = 99  # optimizer.wgsl's squared-gradient-norm pass (clipnorm)
OPTIMIZER_UNIFORM_BYTES = 64
OPTIMIZER_CODES = {"sgd": 0, "momentum": 1, "nesterov": 2, "adagrad": 3, "rmsprop": 4, "adadelta": 5,
                   "adam": 6, "adamw": 7}
MAX_GROUPS = 65535
THREAD_DIMS = (2, 4, 8, 16)  # gemm_core.wgsl's TX / TY choices: tiles of 8 .. 64 rows or columns
TARGET_GROUPS = 64  # split K until a GEMM has about this many workgroups ...
MIN_SPLIT_K = 256  # ... as long as each split still sums at least this much of K
MAX_SPLITS = 64
MAX_PARTIAL = 1 << 24  # floats of split-K scratch per GEMM


def gemm_shape(m, n, k, batch=1):
    """(TX, TY, SPLITS) for gemm_core.wgsl: the smallest tile (4 TY x 4 TX) that covers the output
    up to 64 x 64, so narrow outputs (8-16 channels) do not compute columns they throw away, then
    split-K when the output alone gives too few workgroups to keep the device busy."""
    tx = next((t for t in THREAD_DIMS if 4 * t >= n), THREAD_DIMS[-1])
    ty = next((t for t in THREAD_DIMS if 4 * t >= m), THREAD_DIMS[-1])
    groups = math.ceil(m / (4 * ty)) * math.ceil(n / (4 * tx)) * batch
    splits = 1
    while (splits * 2 <= MAX_SPLITS and groups * splits * 2 <= TARGET_GROUPS and k // (splits * 2) >= MIN_SPLIT_K
           and splits * 2 * batch * m * n <= MAX_PARTIAL):
        splits *= 2
    return tx, ty, splits


def pack(*fields):
    """A uniform struct of 4-byte scalars: Python floats become f32, ints u32; padded to 16 bytes."""
    words = [np.float32(v).view(np.uint32) if isinstance(v, float) else np.uint32(v) for v in fields]
    words += [np.uint32(0)] * (-len(words) % 4)
    return np.array(words, dtype=np.uint32)


def flat_groups(n, per_group=256):
    """(x, y, 1) workgroups covering n threads as index.wgsl flattens them."""
    groups = max(1, math.ceil(n / per_group))
    x = min(groups, MAX_GROUPS)
    return x, math.ceil(groups / x), 1


RNN_SOFTMAX = 7  # rnn.wgsl / rnn_grad.wgsl only: softmax over the units (not a pointwise activation)


def activation_constants(act, alpha=None):
    if act == "softmax":
        return {"ACT": RNN_SOFTMAX, "ALPHA": 0.0}
    code = ACTIVATIONS[act]
    if alpha is None:
        alpha = 1.0 if act == "elu" else 0.01
    return {"ACT": code, "ALPHA": float(alpha)}


class Kernels:
    """Records kernel dispatches on one device; owns the buffers it creates (uniforms, split-K scratch)."""

    def __init__(self, device):
        self.dev = device
        self.uniforms = []
        self.dummy = device.create_buffer(16)  # bound where a kernel's optional input is absent
        self.dummy2 = device.create_buffer(16)  # a second one: writable bindings may not alias

    def uniform(self, *fields):
        data = pack(*fields)
        handle = self.dev.create_buffer(data.nbytes, uniform=True)
        self.dev.write(handle, data)
        self.uniforms.append(handle)
        return handle

    def release(self):
        for h in self.uniforms:
            self.dev.destroy(h)
        self.uniforms.clear()
        self.dev.destroy(self.dummy)
        self.dev.destroy(self.dummy2)

    # ---- GEMM family: each returns a list of ops (the GEMM, and the split-K reduction if split) ----
    def _gemm(self, name, bindings, m, n, k, batch=1, bias=None, act=None, alpha=None, shape=None):
        """Dispatch gemm_core kernel `name` with bindings [a, b, bias slot, out, params] over a
        (batch, m, n) output; the epilogue (bias, activation) runs in the kernel or, split, in the reduction."""
        tx, ty, splits = shape or gemm_shape(m, n, k, batch)
        groups = (math.ceil(n / (4 * tx)), math.ceil(m / (4 * ty)), batch * splits)
        if splits == 1:
            pipe = self.dev.pipeline(name, TX=tx, TY=ty, **activation_constants(act, alpha))
            return [("dispatch", pipe, [*bindings, self.dummy2], *groups)]
        total = batch * m * n
        partial = self.dev.create_buffer(splits * total * 4)
        self.uniforms.append(partial)
        pipe = self.dev.pipeline(name, TX=tx, TY=ty, SPLITS=splits, **activation_constants(None))
        reduce = self.dev.pipeline("splitk_reduce", **activation_constants(act, alpha))
        params = self.uniform(total, n, splits, int(bias is not None))
        out = bindings[3]
        return [("dispatch", pipe, [*bindings, partial], *groups),
                ("dispatch", reduce, [partial, self.dummy if bias is None else bias, out, params], *flat_groups(total))]

    def matmul_op(self, a, b, c, m, n, k, batch=1, trans_a=False, trans_b=False, bias=None,
                  act=None, alpha=None, broadcast_a=False, broadcast_b=False, shape=None):
        """c (batch, m, n) = act(op(a) . op(b) + bias); vec4 loads when neither is transposed and k, n % 4 == 0."""
        vec4 = not trans_a and not trans_b and k % 4 == 0 and n % 4 == 0
        params = self.uniform(m, n, k, int(trans_a), int(trans_b), 0 if broadcast_a else m * k,
                              0 if broadcast_b else k * n, int(bias is not None))
        bindings = [a, b, self.dummy if bias is None else bias, c, params]
        return self._gemm("matmul_vec4" if vec4 else "matmul", bindings, m, n, k, batch, bias, act, alpha, shape)

    def _conv_params(self, x_shape, w_shape, out_hw, strides, pads, dilation, has_bias=False):
        n, h, w, c = x_shape
        kh, kw, _, f = w_shape
        (pt, _), (pl, _) = pads
        return self.uniform(n, h, w, c, out_hw[0], out_hw[1], f, kh, kw, strides[0], strides[1], pt, pl,
                            dilation[0], dilation[1], int(has_bias))

    def conv2d_op(self, x, w, bias, y, x_shape, w_shape, out_hw, strides, pads, dilation, act=None, alpha=None,
                  shape=None):
        """y (N, OH, OW, F) = act(conv(x, w) + bias) as implicit GEMM: (N*OH*OW, KH*KW*C) . (KH*KW*C, F)."""
        params = self._conv_params(x_shape, w_shape, out_hw, strides, pads, dilation, bias is not None)
        m, n, k = x_shape[0] * out_hw[0] * out_hw[1], w_shape[3], w_shape[0] * w_shape[1] * w_shape[2]
        bindings = [x, w, self.dummy if bias is None else bias, y, params]
        return self._gemm("conv2d", bindings, m, n, k, 1, bias, act, alpha, shape)

    def conv2d_grad_input_op(self, dy, w, dx, x_shape, w_shape, out_hw, strides, pads, dilation, shape=None):
        """dx (N*H*W, C) = dy patches (N*H*W, KH*KW*F) . w^T (KH*KW*F, C)."""
        params = self._conv_params(x_shape, w_shape, out_hw, strides, pads, dilation)
        m, n, k = x_shape[0] * x_shape[1] * x_shape[2], x_shape[3], w_shape[0] * w_shape[1] * w_shape[3]
        return self._gemm("conv2d_grad_input", [dy, w, None, dx, params], m, n, k, shape=shape)

    def conv2d_grad_weight_op(self, x, dy, dw, x_shape, w_shape, out_hw, strides, pads, dilation, shape=None):
        """dw (KH*KW*C, F) = patches^T (KH*KW*C, N*OH*OW) . dy (N*OH*OW, F): the long-K GEMM split-K is for."""
        params = self._conv_params(x_shape, w_shape, out_hw, strides, pads, dilation)
        m, n, k = w_shape[0] * w_shape[1] * w_shape[2], w_shape[3], x_shape[0] * out_hw[0] * out_hw[1]
        return self._gemm("conv2d_grad_weight", [x, dy, None, dw, params], m, n, k, shape=shape)

    # ---- pooling -------------------------------------------------------------------------
    def _pool_params(self, x_shape, out_hw, pool, strides, pads, total):
        n, h, w, c = x_shape
        return self.uniform(n, h, w, c, out_hw[0], out_hw[1], pool[0], pool[1], strides[0], strides[1],
                            pads[0][0], pads[1][0], total)

    def maxpool_op(self, x, y, idx, x_shape, out_hw, pool, strides, pads):
        total = x_shape[0] * out_hw[0] * out_hw[1] * x_shape[3]
        params = self._pool_params(x_shape, out_hw, pool, strides, pads, total)
        return ("dispatch", self.dev.pipeline("maxpool"), [x, y, idx, params], *flat_groups(total))

    def maxpool_grad_op(self, dy, idx, dx, x_shape, out_hw, pool, strides, pads):
        total = int(np.prod(x_shape))
        params = self._pool_params(x_shape, out_hw, pool, strides, pads, total)
        return ("dispatch", self.dev.pipeline("maxpool_grad"), [dy, idx, dx, params], *flat_groups(total))

    def avgpool_op(self, x, y, x_shape, out_hw, pool, strides, pads):
        total = x_shape[0] * out_hw[0] * out_hw[1] * x_shape[3]
        params = self._pool_params(x_shape, out_hw, pool, strides, pads, total)
        return ("dispatch", self.dev.pipeline("avgpool"), [x, y, None, params], *flat_groups(total))

    def avgpool_grad_op(self, dy, dx, x_shape, out_hw, pool, strides, pads):
        total = int(np.prod(x_shape))
        params = self._pool_params(x_shape, out_hw, pool, strides, pads, total)
        return ("dispatch", self.dev.pipeline("avgpool_grad"), [dy, dx, None, params], *flat_groups(total))

    # ---- elementwise, reductions, loss, optimizer ----------------------------------------
    def activation_op(self, x, y, n, act, alpha=None):
        pipe = self.dev.pipeline("activation", **activation_constants(act, alpha))
        return ("dispatch", pipe, [x, y, self.uniform(n)], *flat_groups(n))

    def activation_grad_op(self, z, y, dy, dx, n, act, alpha=None):
        pipe = self.dev.pipeline("activation_grad", **activation_constants(act, alpha))
        return ("dispatch", pipe, [z, y, dy, dx, self.uniform(n)], *flat_groups(n))

    def colsum_op(self, dy, db, m, f):
        return ("dispatch", self.dev.pipeline("colsum"), [dy, db, self.uniform(m, f)], f, 1, 1)

    def loss_op(self, out, target, grad, rows, n, k, loss="softmax_cross_entropy"):
        """Per-row losses of `n` rows of `k` outputs and the gradient; `loss` a name or config dict."""
        cfg = {"type": loss} if isinstance(loss, str) else loss
        code = LOSS_CODES[cfg["type"]]
        if cfg["type"] == "binary_cross_entropy" and not cfg.get("from_logits", True):
            code = 4
        extra = float(cfg.get("delta", cfg.get("margin", 1.0)))
        pipe = self.dev.pipeline("loss", LOSS=code)
        return ("dispatch", pipe, [out, target, grad, rows, self.uniform(n, k, extra)], math.ceil(n / 64), 1, 1)

    def metrics_op(self, rows, metrics, n):
        return ("dispatch", self.dev.pipeline("metrics"), [rows, metrics, self.uniform(n)], 1, 1, 1)

    def optimizer_op(self, kind, w, g, s1, s2, metrics, params_uniform, n):
        pipe = self.dev.pipeline("optimizer", OPT=OPTIMIZER_CODES[kind])
        return ("dispatch", pipe, [w, g, s1 or self.dummy, s2 or self.dummy2, metrics, params_uniform],
                *flat_groups(n))

    def grad_norm_op(self, w, g, metrics, params_uniform):
        """metrics[norm_at] = sum of this parameter's squared (l1/l2/clipvalue-adjusted) gradient."""
        pipe = self.dev.pipeline("optimizer", OPT=GRAD_NORM)
        return ("dispatch", pipe, [w, g, self.dummy, self.dummy2, metrics, params_uniform], 1, 1, 1)

    # ---- the other layers ------------------------------------------------------------------
    def add_op(self, a, b, y, n):
        return ("dispatch", self.dev.pipeline("elementwise", OP=0), [a, b, y, self.uniform(n)], *flat_groups(n))

    def mul_op(self, a, b, y, n):
        return ("dispatch", self.dev.pipeline("elementwise", OP=1), [a, b, y, self.uniform(n)], *flat_groups(n))

    def block_copy_op(self, src, dst, rows, width, src_stride, src_off, dst_stride, dst_off):
        params = self.uniform(rows, width, src_stride, src_off, dst_stride, dst_off)
        return ("dispatch", self.dev.pipeline("block_copy"), [src, dst, params], *flat_groups(rows * width))

    def softmax_op(self, x, y, outer, k, inner):
        params = self.uniform(outer * inner, k, inner)
        return ("dispatch", self.dev.pipeline("softmax", MODE=0), [x, self.dummy, y, params], *flat_groups(outer * inner))

    def softmax_grad_op(self, y, dy, dx, outer, k, inner):
        params = self.uniform(outer * inner, k, inner)
        return ("dispatch", self.dev.pipeline("softmax", MODE=1), [y, dy, dx, params], *flat_groups(outer * inner))

    def maxout_op(self, x, idx, y, n_out, pieces):
        return ("dispatch", self.dev.pipeline("maxout", MODE=0), [x, idx, y, self.uniform(n_out, pieces)],
                *flat_groups(n_out))

    def maxout_grad_op(self, dy, idx, dx, n_in, pieces):
        return ("dispatch", self.dev.pipeline("maxout", MODE=1), [dy, idx, dx, self.uniform(n_in, pieces)],
                *flat_groups(n_in))

    def norm_reduce_op(self, g, xhat, db, dg, m, c):
        return ("dispatch", self.dev.pipeline("norm_reduce"), [g, xhat, db, dg, self.uniform(m, c)], c, 1, 1)

    def batchnorm_stats_op(self, x, stats, running_mean, running_var, m, c, training, momentum, eps):
        params = self.uniform(m, c, int(training), 0, float(momentum), float(eps))
        return ("dispatch", self.dev.pipeline("batchnorm_stats"), [x, stats, running_mean, running_var, params],
                c, 1, 1)

    def batchnorm_op(self, x, stats, gamma, beta, xhat, y, m, c):
        params = self.uniform(m * c, c, 0, m)
        return ("dispatch", self.dev.pipeline("batchnorm", MODE=0),
                [x, stats, gamma, beta, self.dummy, self.dummy2, xhat, y, params], *flat_groups(m * c))

    def batchnorm_grad_op(self, dy, stats, gamma, db, dg, xhat, dx, m, c, training):
        params = self.uniform(m * c, c, int(training), m)
        return ("dispatch", self.dev.pipeline("batchnorm", MODE=1),
                [dy, stats, gamma, self.dummy, db, dg, xhat, dx, params], *flat_groups(m * c))

    def layernorm_op(self, x, gamma, beta, xhat, inv, y, rows, c, eps):
        params = self.uniform(rows, c, float(eps))
        return ("dispatch", self.dev.pipeline("layernorm", MODE=0), [x, gamma, beta, xhat, inv, y, params],
                *flat_groups(rows))

    def layernorm_grad_op(self, dy, gamma, xhat, inv, dx, rows, c):
        params = self.uniform(rows, c, 0.0)
        return ("dispatch", self.dev.pipeline("layernorm", MODE=1), [dy, gamma, self.dummy, xhat, inv, dx, params],
                *flat_groups(rows))

    def embedding_op(self, ids, w, y, positions, d):
        n = positions * d
        return ("dispatch", self.dev.pipeline("embedding", MODE=0), [ids, w, y, self.uniform(n, d, positions)],
                *flat_groups(n))

    def embedding_grad_op(self, ids, dy, dw, positions, vocab, d):
        n = vocab * d
        return ("dispatch", self.dev.pipeline("embedding", MODE=1), [ids, dy, dw, self.uniform(n, d, positions)],
                *flat_groups(n))


    # ---- recurrent steps: one dispatch per time step k, N x U threads ----------------------------
    def _step_params(self, n, t, u, k, seq):
        return self.uniform(n, t, u, k, int(seq), int(k == t - 1))

    def lstm_step_op(self, xw, hw, ct_prev, gates, ct, h, hs, y, n, t, u, k, seq):
        return ("dispatch", self.dev.pipeline("lstm"),
                [xw, hw, ct_prev, gates, ct, h, hs, y, self._step_params(n, t, u, k, seq)], *flat_groups(n * u))

    def lstm_step_grad_op(self, gates, ct_prev, ct, dh, dy, dc, dz, dzb, n, t, u, k, seq):
        return ("dispatch", self.dev.pipeline("lstm_grad"),
                [gates, ct_prev, ct, dh, dy, dc, dz, dzb, self._step_params(n, t, u, k, seq)], *flat_groups(n * u))

    def gru_step_op(self, xw, hw, h_prev, gh, h, hs, y, n, t, u, k, seq):
        return ("dispatch", self.dev.pipeline("gru"),
                [xw, hw, h_prev, gh, h, hs, y, self._step_params(n, t, u, k, seq)], *flat_groups(n * u))

    def gru_step_grad_op(self, gh, h_prev, dh, dy, dxwb, dhw, dhwb, dhz, n, t, u, k, seq):
        return ("dispatch", self.dev.pipeline("gru_grad"),
                [gh, h_prev, dh, dy, dxwb, dhw, dhwb, dhz, self._step_params(n, t, u, k, seq)], *flat_groups(n * u))

    def rnn_step_op(self, xw, hw, pre, h, hs, y, n, t, u, k, seq, act):
        return ("dispatch", self.dev.pipeline("rnn", **activation_constants(act)),
                [xw, hw, pre, h, hs, y, self._step_params(n, t, u, k, seq)], *flat_groups(n * u))

    def rnn_step_grad_op(self, pre, h, dh, dy, dz, dzb, n, t, u, k, seq, act):
        return ("dispatch", self.dev.pipeline("rnn_grad", **activation_constants(act)),
                [pre, h, dh, dy, dz, dzb, self._step_params(n, t, u, k, seq)], *flat_groups(n * u))


def optimizer_fields(n, cfg, lr, decay, t=1, norm_at=0, norms_from=0, norms=0):
    """The optimizer.wgsl uniform for one parameter: l1/l2/weight decay only on weights (p.decay);
    with clipnorm, this parameter's g^2 sum goes to metrics[norm_at] and the global norm sums
    metrics[norms_from : norms_from + norms]."""
    kind = cfg["type"]
    h1 = {"momentum": cfg.get("momentum"), "nesterov": cfg.get("momentum"), "rmsprop": cfg.get("rho"),
          "adadelta": cfg.get("rho"), "adam": cfg.get("beta1"), "adamw": cfg.get("beta1")}.get(kind) or 0.0
    h2 = cfg.get("beta2") or 0.0
    bc1 = 1.0 - h1 ** t if kind in ("adam", "adamw") else 1.0
    bc2 = 1.0 - h2 ** t if kind in ("adam", "adamw") else 1.0
    l1 = float(cfg["l1"]) if decay else 0.0
    l2 = float(cfg["l2"]) if decay else 0.0
    wd = float(cfg.get("weight_decay") or 0.0) if decay else 0.0
    return pack(n, float(lr), l1, l2, float(h1), float(h2), float(cfg.get("eps") or 0.0),
                float(cfg["clipvalue"] or 0.0), float(bc1), float(bc2), wd, float(cfg.get("clipnorm") or 0.0),
                int(norm_at), int(norms_from), int(norms), 0)


# ---- eager helpers: NumPy in, NumPy out (tests, benchmarks, wgsl_run.py) ----------------------
class Eager:
    """Runs single kernels on NumPy arrays: upload, one program, read back."""

    def __init__(self, device):
        self.dev = device
        self.k = Kernels(device)
        self.buffers = []

    def upload(self, array, dtype=np.float32):
        array = np.ascontiguousarray(array, dtype=dtype)
        h = self.dev.create_buffer(max(array.nbytes, 4))
        self.dev.write(h, array)
        self.buffers.append(h)
        return h

    def empty(self, count):
        h = self.dev.create_buffer(max(int(count), 1) * 4)
        self.buffers.append(h)
        return h

    def run(self, ops, out, shape):
        prog = self.dev.program(ops)
        try:
            return self.dev.run(prog, read=out, count=int(np.prod(shape))).reshape(shape)
        finally:
            self.dev.release_program(prog)

    def release(self):
        for h in self.buffers:
            self.dev.destroy(h)
        self.buffers.clear()
        self.k.release()
        self.k = Kernels(self.dev)

    def matmul(self, a, b, trans_a=False, trans_b=False, bias=None, act=None, shape=None):
        """a (..., M, K) or (..., K, M) with trans_a; b likewise; one shared batch (or 2-D b).
        shape=(TX, TY, SPLITS) forces gemm_core's tile shape and split-K (tests); default: gemm_shape()."""
        a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
        m, k = (a.shape[-1], a.shape[-2]) if trans_a else a.shape[-2:]
        n = b.shape[-2] if trans_b else b.shape[-1]
        batch = int(np.prod(a.shape[:-2])) if a.ndim > 2 else (int(np.prod(b.shape[:-2])) if b.ndim > 2 else 1)
        out = self.empty(batch * m * n)
        ops = self.k.matmul_op(self.upload(a), self.upload(b), out, m, n, k, batch, trans_a, trans_b,
                               None if bias is None else self.upload(bias), act,
                               broadcast_a=a.ndim == 2 and batch > 1, broadcast_b=b.ndim == 2 and batch > 1,
                               shape=shape)
        lead = a.shape[:-2] if a.ndim > 2 else b.shape[:-2]
        return self.run(ops, out, (*lead, m, n))

    @staticmethod
    def conv_out_hw(x_shape, w_shape, strides, pads, dilation):
        return tuple((x_shape[1 + i] + pads[i][0] + pads[i][1] - (w_shape[i] - 1) * dilation[i] - 1) // strides[i] + 1
                     for i in range(2))

    def conv2d(self, x, w, b=None, strides=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1), act=None, shape=None):
        ohw = self.conv_out_hw(x.shape, w.shape, strides, pads, dilation)
        out_shape = (x.shape[0], *ohw, w.shape[3])
        out = self.empty(np.prod(out_shape))
        ops = self.k.conv2d_op(self.upload(x), self.upload(w), None if b is None else self.upload(b), out,
                               x.shape, w.shape, ohw, strides, pads, dilation, act, shape=shape)
        return self.run(ops, out, out_shape)

    def conv2d_grad_input(self, dy, w, x_shape, strides=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1), shape=None):
        out = self.empty(np.prod(x_shape))
        ops = self.k.conv2d_grad_input_op(self.upload(dy), self.upload(w), out, x_shape, w.shape, dy.shape[1:3],
                                          strides, pads, dilation, shape=shape)
        return self.run(ops, out, x_shape)

    def conv2d_grad_weight(self, x, dy, w_shape, strides=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1), shape=None):
        out = self.empty(np.prod(w_shape))
        ops = self.k.conv2d_grad_weight_op(self.upload(x), self.upload(dy), out, x.shape, w_shape, dy.shape[1:3],
                                           strides, pads, dilation, shape=shape)
        return self.run(ops, out, w_shape)

    @staticmethod
    def pool_out_hw(x_shape, pool, strides, pads):
        return tuple((x_shape[1 + i] + pads[i][0] + pads[i][1] - pool[i]) // strides[i] + 1 for i in range(2))

    def maxpool(self, x, pool, strides, pads=((0, 0), (0, 0))):
        """Returns (y, idx) as numpy_backend.maxpool2d_forward does."""
        ohw = self.pool_out_hw(x.shape, pool, strides, pads)
        shape = (x.shape[0], *ohw, x.shape[3])
        y, idx = self.empty(np.prod(shape)), self.empty(np.prod(shape))
        ops = [self.k.maxpool_op(self.upload(x), y, idx, x.shape, ohw, pool, strides, pads)]
        out = self.run(ops, y, shape)
        return out, self.dev.read(idx, int(np.prod(shape))).view(np.uint32).reshape(shape)

    def maxpool_grad(self, dy, idx, x_shape, pool, strides, pads=((0, 0), (0, 0))):
        out = self.empty(np.prod(x_shape))
        ops = [self.k.maxpool_grad_op(self.upload(dy), self.upload(idx, np.uint32), out, x_shape, dy.shape[1:3],
                                      pool, strides, pads)]
        return self.run(ops, out, x_shape)

    def avgpool(self, x, pool, strides, pads=((0, 0), (0, 0))):
        ohw = self.pool_out_hw(x.shape, pool, strides, pads)
        shape = (x.shape[0], *ohw, x.shape[3])
        y = self.empty(np.prod(shape))
        return self.run([self.k.avgpool_op(self.upload(x), y, x.shape, ohw, pool, strides, pads)], y, shape)

    def avgpool_grad(self, dy, x_shape, pool, strides, pads=((0, 0), (0, 0))):
        out = self.empty(np.prod(x_shape))
        ops = [self.k.avgpool_grad_op(self.upload(dy), out, x_shape, dy.shape[1:3], pool, strides, pads)]
        return self.run(ops, out, x_shape)

    def activation(self, x, act):
        out = self.empty(x.size)
        return self.run([self.k.activation_op(self.upload(x), out, x.size, act)], out, x.shape)

    def activation_grad(self, z, y, dy, act):
        out = self.empty(z.size)
        ops = [self.k.activation_grad_op(self.upload(z), self.upload(y), self.upload(dy), out, z.size, act)]
        return self.run(ops, out, z.shape)

    def colsum(self, dy):
        m, f = dy.shape
        out = self.empty(f)
        return self.run([self.k.colsum_op(self.upload(dy), out, m, f)], out, (f,))

    def loss(self, out, target, loss="softmax_cross_entropy"):
        """Returns (mean loss, grad) as the training plan computes them; rows are out's last axis."""
        k = out.shape[-1]
        n = out.size // k
        grad, rows, metrics = self.empty(out.size), self.empty(n), self.empty(4)
        ops = [self.k.loss_op(self.upload(out), self.upload(target), grad, rows, n, k, loss),
               self.k.metrics_op(rows, metrics, n)]
        m = self.run(ops, metrics, (4,))
        return float(m[0]), self.dev.read(grad, out.size).reshape(out.shape)

    def add(self, a, b):
        out = self.empty(a.size)
        return self.run([self.k.add_op(self.upload(a), self.upload(b), out, a.size)], out, a.shape)

    def mul(self, a, b):
        out = self.empty(a.size)
        return self.run([self.k.mul_op(self.upload(a), self.upload(b), out, a.size)], out, a.shape)

    def concat(self, xs, axis):
        """np.concatenate(xs, axis) as the plan records it (one block copy per input)."""
        shape = list(xs[0].shape)
        axis %= len(shape)
        shape[axis] = sum(x.shape[axis] for x in xs)
        inner = int(np.prod(shape[axis + 1:]))
        outer = int(np.prod(shape[:axis]))
        out, ops, off = self.empty(np.prod(shape)), [], 0
        for x in xs:
            width = x.shape[axis] * inner
            ops.append(self.k.block_copy_op(self.upload(x), out, outer, width, width, 0, shape[axis] * inner, off))
            off += width
        return self.run(ops, out, tuple(shape))

    def split(self, g, sizes, axis):
        """The concat backward: g's slices along axis."""
        axis %= g.ndim
        inner, outer = int(np.prod(g.shape[axis + 1:])), int(np.prod(g.shape[:axis]))
        gb, parts, off = self.upload(g), [], 0
        for size in sizes:
            width = size * inner
            out = self.empty(outer * width)
            shape = (*g.shape[:axis], size, *g.shape[axis + 1:])
            parts.append(self.run([self.k.block_copy_op(gb, out, outer, width, g.shape[axis] * inner, off,
                                                        width, 0)], out, shape))
            off += width
        return parts

    def softmax(self, x, axis=-1):
        axis %= x.ndim
        outer, k, inner = int(np.prod(x.shape[:axis])), x.shape[axis], int(np.prod(x.shape[axis + 1:]))
        out = self.empty(x.size)
        return self.run([self.k.softmax_op(self.upload(x), out, outer, k, inner)], out, x.shape)

    def softmax_grad(self, y, dy, axis=-1):
        axis %= y.ndim
        outer, k, inner = int(np.prod(y.shape[:axis])), y.shape[axis], int(np.prod(y.shape[axis + 1:]))
        out = self.empty(y.size)
        return self.run([self.k.softmax_grad_op(self.upload(y), self.upload(dy), out, outer, k, inner)], out, y.shape)

    def maxout(self, x, pieces):
        """Returns (y, idx)."""
        shape = (*x.shape[:-1], x.shape[-1] // pieces)
        n = int(np.prod(shape))
        y, idx = self.empty(n), self.empty(n)
        out = self.run([self.k.maxout_op(self.upload(x), idx, y, n, pieces)], y, shape)
        return out, self.dev.read(idx, n).view(np.uint32).reshape(shape)

    def maxout_grad(self, dy, idx, pieces):
        n = dy.size * pieces
        out = self.empty(n)
        ops = [self.k.maxout_grad_op(self.upload(dy), self.upload(idx, np.uint32), out, n, pieces)]
        return self.run(ops, out, (*dy.shape[:-1], dy.shape[-1] * pieces))

    def batchnorm(self, x, gamma, beta, running_mean, running_var, momentum, eps, training):
        """Returns (y, xhat, stats, new running mean, new running var)."""
        c = x.shape[-1]
        m = x.size // c
        xb, stats, xhat, y = self.upload(x), self.empty(2 * c), self.empty(x.size), self.empty(x.size)
        rm, rv = self.upload(running_mean), self.upload(running_var)
        ops = [self.k.batchnorm_stats_op(xb, stats, rm, rv, m, c, training, momentum, eps),
               self.k.batchnorm_op(xb, stats, self.upload(gamma), self.upload(beta), xhat, y, m, c)]
        out = self.run(ops, y, x.shape)
        read = self.dev.read
        return out, read(xhat, x.size).reshape(x.shape), read(stats, 2 * c), read(rm, c), read(rv, c)

    def batchnorm_grad(self, dy, xhat, stats, gamma, training):
        """Returns (dx, dgamma, dbeta)."""
        c = dy.shape[-1]
        m = dy.size // c
        g, xh, db, dg, dx = self.upload(dy), self.upload(xhat), self.empty(c), self.empty(c), self.empty(dy.size)
        ops = [self.k.norm_reduce_op(g, xh, db, dg, m, c),
               self.k.batchnorm_grad_op(g, self.upload(stats), self.upload(gamma), db, dg, xh, dx, m, c, training)]
        out = self.run(ops, dx, dy.shape)
        return out, self.dev.read(dg, c), self.dev.read(db, c)

    def layernorm(self, x, gamma, beta, eps):
        """Returns (y, xhat, inv_std)."""
        c = x.shape[-1]
        rows = x.size // c
        xhat, inv, y = self.empty(x.size), self.empty(rows), self.empty(x.size)
        ops = [self.k.layernorm_op(self.upload(x), self.upload(gamma), self.upload(beta), xhat, inv, y, rows, c, eps)]
        out = self.run(ops, y, x.shape)
        return out, self.dev.read(xhat, x.size).reshape(x.shape), self.dev.read(inv, rows)

    def layernorm_grad(self, dy, gamma, xhat, inv):
        """Returns (dx, dgamma, dbeta)."""
        c = dy.shape[-1]
        rows = dy.size // c
        g, xh, db, dg, dx = self.upload(dy), self.upload(xhat), self.empty(c), self.empty(c), self.empty(dy.size)
        ops = [self.k.norm_reduce_op(g, xh, db, dg, rows, c),
               self.k.layernorm_grad_op(g, self.upload(gamma), xh, self.upload(inv), dx, rows, c)]
        out = self.run(ops, dx, dy.shape)
        return out, self.dev.read(dg, c), self.dev.read(db, c)

    def embedding(self, ids, w):
        positions, d = ids.size, w.shape[1]
        out = self.empty(positions * d)
        return self.run([self.k.embedding_op(self.upload(ids), self.upload(w), out, positions, d)], out,
                        (*ids.shape, d))

    def embedding_grad(self, ids, dy, vocab):
        positions, d = ids.size, dy.shape[-1]
        out = self.empty(vocab * d)
        ops = [self.k.embedding_grad_op(self.upload(ids), self.upload(dy), out, positions, vocab, d)]
        return self.run(ops, out, (vocab, d))

    def optimizer_step(self, cfg, w, g, slots=(), lr=None, decay=True, t=1, loss=0.0):
        """One update; returns (new w, new slot arrays)."""
        kind = cfg["type"]
        wb, gb = self.upload(w), self.upload(g)
        sb = [self.upload(s) for s in slots]
        metrics = self.upload(np.array([loss, 0, 0, 0], np.float32))
        u = self.dev.create_buffer(OPTIMIZER_UNIFORM_BYTES, uniform=True)
        self.k.uniforms.append(u)
        self.dev.write(u, optimizer_fields(w.size, cfg, cfg["lr"] if lr is None else lr, decay, t))
        op = self.k.optimizer_op(kind, wb, gb, sb[0] if sb else None, sb[1] if len(sb) > 1 else None,
                                 metrics, u, w.size)
        new_w = self.run([op], wb, w.shape)
        return new_w, [self.dev.read(s, w.size).reshape(w.shape) for s in sb]
