"""dense: y = act(x W + b) on a flat input (in,) -> (units,)."""
from ..fields import ACTIVATION, BOOL, POS_INT, REQUIRED, Bad, Field, shape_text
from .base import LayerType, apply_activation, bias, np, ops


def infer(cfg, shapes, names):
    s = shapes[0]
    if len(s) != 1:
        raise Bad(f"expects a flat input, got {shape_text(s)}; add a flatten layer")
    units = cfg["units"]
    params = {"weight": (s[0], units)}
    if cfg["use_bias"]:
        params["bias"] = (units,)
    return (units,), params


def forward(cfg, params, inputs, ctx):
    act = cfg.get("activation")
    fuse = act == "relu"  # bias + relu in the same pass over the output
    y = ops.dense(inputs[0], params["weight"], bias(cfg, params), relu=fuse)
    return y if fuse else apply_activation(act, y, cfg)


def to_pytorch(plan, cfg, ins, out):
    name, a, x = cfg["name"], plan.attrs[cfg["name"]], ins[0]
    plan.init.append(f"self.{a} = nn.Linear({cfg['input_shapes'][0][-1]}, {cfg['units']}, bias={cfg['use_bias']})")
    plan.fwd.append(f"{out} = " + plan.act(cfg.get("activation"), f"self.{a}({x})"))
    plan.param(f"{a}.weight", name, "weight", lambda w: w.T, lambda w: w.T)
    if cfg["use_bias"]:
        plan.param(f"{a}.bias", name, "bias")


def to_keras(plan, cfg, ins, k):
    act = plan.act(cfg.get("activation"))
    act_s = f", activation={act}" if act else ""
    plan.lines.append(f"{k} = layers.Dense({cfg['units']}{act_s}, use_bias={cfg['use_bias']}, name={k!r})({ins[0]})")
    plan.param(f"{k}.kernel", cfg["name"], "weight")
    if cfg["use_bias"]:
        plan.param(f"{k}.bias", cfg["name"], "bias")


def to_onnx(g, cfg, ins, p):
    a = cfg["name"]
    y = g.op("MatMul", [ins[0], g.const(f"{a}.weight", p["weight"])])
    if cfg["use_bias"]:
        y = g.op("Add", [y, g.const(f"{a}.bias", p["bias"])])
    return g.activation(cfg.get("activation"), y, hint=a)


def gpu_weighted(gt, cfg, ins, y_shape, masks):
    """dense and conv2d on the GPU: one GEMM (or implicit-GEMM conv) with bias and most activations
    in its epilogue; backward: the activation's gradient, the bias column sums, dW and dx."""
    k, t, name = gt.k, cfg["type"], cfg["name"]
    x, x_shape = ins[0]
    n_in, n_out = int(np.prod(x_shape)), int(np.prod(y_shape))
    buf = gt._buffer
    act = cfg.get("activation") or "linear"
    alpha = cfg.get("alpha")
    w = gt._weight(f"{name}.weight")
    has_bias = cfg.get("use_bias", True) and "bias" in gt.model.params.get(name, {})
    bias = gt._weight(f"{name}.bias") if has_bias else None
    fused = act in gt.ACTIVATIONS and act != "gelu"  # in the GEMM epilogue
    z = buf(n_out)
    cols = y_shape[-1]
    rows = n_out // cols
    if t == "dense":
        fin = x_shape[-1]
        fwd = k.matmul_op(x, w, z, rows, cols, fin, bias=bias, act=act if fused else None, alpha=alpha)
    else:
        geo = (x_shape, gt._param(f"{name}.weight").data.shape, y_shape[1:3], cfg["strides"],
               cfg["pads"], cfg["dilation_rate"])
        fwd = k.conv2d_op(x, w, bias, z, *geo, act=act if fused else None, alpha=alpha)
    if fused:
        y = z
        act_back = None
    else:
        act_fwd, y, act_back = gt._activation(z, y_shape, act, alpha)
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
        db = gt._grad(f"{name}.bias") if has_bias else None
        if db is not None:
            ops.append(k.colsum_op(dz, db, rows, cols))
        dw = gt._grad(f"{name}.weight")
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


LAYER = LayerType(
    "dense",
    fields={"units": Field(POS_INT, REQUIRED, start=10), "activation": Field(ACTIVATION, None), "use_bias": Field(BOOL, True)},
    infer=infer, forward=forward, aliases=("fc", "linear"),
    pytorch=to_pytorch, keras=to_keras, onnx=to_onnx, gpu=gpu_weighted)
