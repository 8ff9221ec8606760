"""layernorm: normalise each position over its last axis, then gamma * x_hat + beta."""
from ..fields import POS_NUM, Field
from .base import LayerType, np, ops


def infer(cfg, shapes, names):
    c = shapes[0][-1]
    return shapes[0], {"gamma": (c,), "beta": (c,)}


def forward(cfg, params, inputs, ctx):
    return ops.layernorm(inputs[0], params["gamma"], params["beta"], eps=cfg["epsilon"])


def to_pytorch(plan, cfg, ins, out):
    name, a = cfg["name"], plan.attrs[cfg["name"]]
    plan.init.append(f"self.{a} = nn.LayerNorm({cfg['input_shapes'][0][-1]}, eps={plan.py(cfg['epsilon'])})")
    plan.fwd.append(f"{out} = self.{a}({ins[0]})")
    plan.param(f"{a}.weight", name, "gamma")
    plan.param(f"{a}.bias", name, "beta")


def to_keras(plan, cfg, ins, k):
    plan.lines.append(f"{k} = layers.LayerNormalization(epsilon={plan.py(cfg['epsilon'])}, name={k!r})({ins[0]})")
    plan.param(f"{k}.gamma", cfg["name"], "gamma")
    plan.param(f"{k}.beta", cfg["name"], "beta")


def to_onnx(g, cfg, ins, p):
    a = cfg["name"]
    return g.op("LayerNormalization", [ins[0], g.const(f"{a}.gamma", p["gamma"]), g.const(f"{a}.beta", p["beta"])],
                a, axis=-1, epsilon=float(cfg["epsilon"]))


def gpu(gt, cfg, ins, y_shape, masks):
    k, name, buf = gt.k, cfg["name"], gt._buffer
    x, x_shape = ins[0]
    n_in = int(np.prod(x_shape))
    c = x_shape[-1]
    rows = n_in // c
    xhat, inv, y = buf(n_in), buf(rows), buf(n_in)
    gamma, beta = gt._weight(f"{name}.gamma"), gt._weight(f"{name}.beta")
    fwd = [k.layernorm_op(x, gamma, beta, xhat, inv, y, rows, c, cfg["epsilon"])]

    def back(dy, needs):
        dg, db = gt._grad(f"{name}.gamma"), gt._grad(f"{name}.beta")
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


LAYER = LayerType("layernorm", {"epsilon": Field(POS_NUM, 0.001)}, infer, forward, aliases=("layer_normalization",),
                  pytorch=to_pytorch, keras=to_keras, onnx=to_onnx, gpu=gpu)
