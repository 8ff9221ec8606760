"""rnn, lstm and gru over (T, F) sequences: (N, T, F) -> (N, T, units) with return_sequences, else the
last state (N, units). Gate order: lstm i, f, g, o; gru r, z, n with b_hn inside r * (h W_hn + b_hn)
(hence its two biases); nnplay's rnn has one bias and any activation."""
from ..fields import ACTIVATION, BOOL, POS_INT, REQUIRED, Bad, Field, shape_text
from .base import LayerType, default_init, np, ops

TORCH_SIMPLE_RNN = '''
class SimpleRNN(nn.Module):
    """nnplay's rnn: h_t = act(x_t W_ih + h_(t-1) W_hh + b), one bias, any activation (nn.RNN has two
    biases and only tanh/relu). Weights in nnplay's (in, out) layout."""

    def __init__(self, features, units, activation, return_sequences):
        super().__init__()
        self.weight_ih = nn.Parameter(torch.zeros(features, units))
        self.weight_hh = nn.Parameter(torch.zeros(units, units))
        self.bias = nn.Parameter(torch.zeros(units))
        self.activation, self.return_sequences = activation, return_sequences

    def forward(self, x):  # (N, T, F) -> (N, T, U) or (N, U)
        xw = x @ self.weight_ih + self.bias
        h = x.new_zeros(x.shape[0], self.weight_hh.shape[0])
        states = []
        for t in range(x.shape[1]):
            h = self.activation(xw[:, t] + h @ self.weight_hh)
            states.append(h)
        return torch.stack(states, 1) if self.return_sequences else h
'''


def _infer(gates, split_bias):
    def infer(cfg, shapes, names):
        s = shapes[0]
        if len(s) != 2:
            hint = "; add a reshape layer to (T, F)" if len(s) != 1 else \
                "; add a reshape layer to (T, F), or an embedding layer for integer ids"
            raise Bad(f"expects a sequence input (T, F), got {shape_text(s)}{hint}")
        (t, f), u = s, cfg["units"]
        params = {"weight_ih": (f, gates * u), "weight_hh": (u, gates * u)}
        if split_bias:  # gru keeps b_hn apart: it sits inside r * (h W_hn + b_hn)
            params.update(bias_ih=(gates * u,), bias_hh=(gates * u,))
        else:
            params["bias"] = (gates * u,)
        return ((t, u) if cfg["return_sequences"] else (u,)), params
    return infer


def forward_rnn(cfg, params, inputs, ctx):
    return ops.rnn(inputs[0], params["weight_ih"], params["weight_hh"], params["bias"],
                   activation=cfg.get("activation") or "linear", return_sequences=cfg["return_sequences"])


def init_lstm(cfg, param_shapes, rng):
    out = default_init(cfg, param_shapes, rng)
    u = param_shapes["weight_hh"][0]
    out["bias"][u:2 * u] = 1.0  # forget gate starts open so early gradients flow through time
    return out


def forward_lstm(cfg, params, inputs, ctx):
    return ops.lstm(inputs[0], params["weight_ih"], params["weight_hh"], params["bias"],
                    return_sequences=cfg["return_sequences"])


def forward_gru(cfg, params, inputs, ctx):
    return ops.gru(inputs[0], params["weight_ih"], params["weight_hh"], params["bias_ih"],
                   params["bias_hh"], return_sequences=cfg["return_sequences"])


def to_pytorch(plan, cfg, ins, out):
    t, name, a, x = cfg["type"], cfg["name"], plan.attrs[cfg["name"]], ins[0]
    init, fwd = plan.init.append, plan.fwd.append
    shape_in = cfg["input_shapes"][0]
    tr = (lambda w: w.T, lambda w: w.T)
    if t == "rnn":
        plan.helper("SimpleRNN", TORCH_SIMPLE_RNN)
        fn = f"lambda z: {plan.act(cfg['activation'], 'z')}"
        init(f"self.{a} = SimpleRNN({shape_in[-1]}, {cfg['units']}, {fn}, return_sequences={cfg['return_sequences']})")
        fwd(f"{out} = self.{a}({x})")
        for p in ("weight_ih", "weight_hh", "bias"):
            plan.param(f"{a}.{p}", name, p)
        return
    cls = "LSTM" if t == "lstm" else "GRU"
    init(f"self.{a} = nn.{cls}({shape_in[-1]}, {cfg['units']}, batch_first=True)")
    plan.param(f"{a}.weight_ih_l0", name, "weight_ih", *tr)
    plan.param(f"{a}.weight_hh_l0", name, "weight_hh", *tr)
    if t == "lstm":  # nnplay's lstm has one bias; torch's second stays zero and untrained
        init(f"self.{a}.bias_hh_l0.requires_grad_(False)")
        plan.param(f"{a}.bias_ih_l0", name, "bias")
        plan.param(f"{a}.bias_hh_l0", name, None)
        plan.frozen.append(f"{a}.bias_hh_l0")
    else:
        plan.param(f"{a}.bias_ih_l0", name, "bias_ih")
        plan.param(f"{a}.bias_hh_l0", name, "bias_hh")
    fwd(f"{out} = self.{a}({x})[0]" + ("" if cfg["return_sequences"] else "[:, -1]"))


def to_keras(plan, cfg, ins, k):
    t, name, x = cfg["type"], cfg["name"], ins[0]
    if t == "rnn":
        fn = plan.act(cfg["activation"]) or "None"
        plan.lines.append(f"{k} = layers.SimpleRNN({cfg['units']}, activation={fn}, "
                          f"return_sequences={cfg['return_sequences']}, name={k!r})({x})")
        for kk, p in (("kernel", "weight_ih"), ("recurrent_kernel", "weight_hh"), ("bias", "bias")):
            plan.param(f"{k}.{kk}", name, p)
    elif t == "lstm":  # Keras' gates i, f, c, o are pyengine's i, f, g, o
        plan.lines.append(f"{k} = layers.LSTM({cfg['units']}, return_sequences={cfg['return_sequences']}, "
                          f"name={k!r})({x})")
        for kk, p in (("kernel", "weight_ih"), ("recurrent_kernel", "weight_hh"), ("bias", "bias")):
            plan.param(f"{k}.{kk}", name, p)
    else:  # gru: Keras' gates z, r, h; pyengine's r, z, n: swap the first two blocks
        u = cfg["units"]
        swap = lambda w: np.concatenate([w[..., u:2 * u], w[..., :u], w[..., 2 * u:]], axis=-1)  # noqa: E731
        plan.lines.append(f"{k} = layers.GRU({u}, return_sequences={cfg['return_sequences']}, reset_after=True, "
                          f"name={k!r})({x})")
        plan.param(f"{k}.kernel", name, "weight_ih", swap, swap)
        plan.param(f"{k}.recurrent_kernel", name, "weight_hh", swap, swap)
        plan.param(f"{k}.bias", name, ("bias_ih", "bias_hh"), lambda b: swap(np.stack(b)), lambda b: tuple(swap(b)))


def to_onnx(g, cfg, ins, p):
    return _onnx_recurrent(g, cfg, ins[0], p, cfg["name"])


def _onnx_recurrent(g, cfg, x, p, a):
    """Unrolled rnn / lstm / gru over the fixed sequence length, in pyengine's gate order."""
    t_len, _ = cfg["input_shapes"][0]
    kind, u = cfg["type"], cfg["units"]
    w_ih = g.const(f"{a}.weight_ih", p["weight_ih"])
    w_hh = g.const(f"{a}.weight_hh", p["weight_hh"])
    b_in = g.const(f"{a}.bias" if kind != "gru" else f"{a}.bias_ih", p["bias"] if kind != "gru" else p["bias_ih"])
    xw = g.op("Add", [g.op("MatMul", [x, w_ih]), b_in])  # (N, T, G): every step's input projection at once
    b_hh = g.const(f"{a}.bias_hh", p["bias_hh"]) if kind == "gru" else None
    h = c = None
    states = []
    act = cfg.get("activation") if kind == "rnn" else None
    for t in range(t_len):
        z = g.op("Gather", [xw, g.ints(t)], axis=1)  # (N, G)
        if kind == "rnn":
            pre = z if h is None else g.op("Add", [z, g.op("MatMul", [h, w_hh])])
            h = g.activation(act or "linear", pre)
        elif kind == "lstm":
            pre = z if h is None else g.op("Add", [z, g.op("MatMul", [h, w_hh])])
            i, f, gg, o = g.ops("Split", [pre], 4, axis=1)
            i, f, o = (g.op("Sigmoid", [v]) for v in (i, f, o))
            gg = g.op("Tanh", [gg])
            ig = g.op("Mul", [i, gg])
            c = ig if c is None else g.op("Add", [g.op("Mul", [f, c]), ig])
            h = g.op("Mul", [o, g.op("Tanh", [c])])
        else:  # gru: r, z, n; n = tanh(x_n + r (h W_hn + b_hn)); h = n + z (h - n)
            hw = b_hh if h is None else g.op("Add", [g.op("MatMul", [h, w_hh]), b_hh])
            xr, xz, xn = g.ops("Split", [z], 3, axis=1)
            if h is None:
                hr, hz, hn = (g.const(f"{a}.bias_hh_{k}", p["bias_hh"][k * u:(k + 1) * u]) for k in range(3))
            else:
                hr, hz, hn = g.ops("Split", [hw], 3, axis=1)
            r = g.op("Sigmoid", [g.op("Add", [xr, hr])])
            zz = g.op("Sigmoid", [g.op("Add", [xz, hz])])
            n = g.op("Tanh", [g.op("Add", [xn, g.op("Mul", [r, hn])])])
            h = g.op("Sub", [n, g.op("Mul", [zz, n])]) if h is None else \
                g.op("Add", [n, g.op("Mul", [zz, g.op("Sub", [h, n])])])
        if cfg["return_sequences"]:
            states.append(g.op("Unsqueeze", [h, g.ints([1])]))
    if cfg["return_sequences"]:
        return g.op("Concat", states, a, axis=1) if len(states) > 1 else g.op("Identity", states, a)
    return g.op("Identity", [h], a)


def gpu(gt, cfg, ins, y_shape, masks):
    """rnn / lstm / gru as pyengine.ops.recurrent computes them: the input projection of all steps
    in one GEMM, then per step one GEMM (h W_hh) and one cell kernel; backward through time the
    same way, and the weight / input gradients as one GEMM each over all steps."""
    x, x_shape = ins[0]
    k, buf, name, kind = gt.k, gt._buffer, cfg["name"], cfg["type"]
    act = cfg.get("activation") or "linear" if kind == "rnn" else None
    n, steps, f = x_shape
    u = cfg["units"]
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[kind] * u
    seq = cfg["return_sequences"]
    w = lambda p: gt._weight(f"{name}.{p}")  # noqa: E731
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
        dw_hh, dw_ih = gt._grad(f"{name}.weight_hh"), gt._grad(f"{name}.weight_ih")
        db_ih = gt._grad(f"{name}.bias_ih" if kind == "gru" else f"{name}.bias")
        db_hh = gt._grad(f"{name}.bias_hh") if kind == "gru" else None
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


_RECURRENT = {"units": Field(POS_INT, REQUIRED, start=10), "return_sequences": Field(BOOL, False)}
HOOKS = dict(pytorch=to_pytorch, keras=to_keras, onnx=to_onnx, gpu=gpu)
RNN = LayerType("rnn", {"units": Field(POS_INT, REQUIRED, start=10), "activation": Field(ACTIVATION, "tanh"),
                        "return_sequences": Field(BOOL, False)}, _infer(1, False), forward_rnn,
                aliases=("simplernn",), **HOOKS)
LSTM = LayerType("lstm", _RECURRENT, _infer(4, False), forward_lstm, init=init_lstm, **HOOKS)
GRU = LayerType("gru", _RECURRENT, _infer(3, True), forward_gru, **HOOKS)
