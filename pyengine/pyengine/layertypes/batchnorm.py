"""batchnorm: normalise over every axis but the last with the batch's statistics while training
(running averages kept for evaluation, with the biased variance), then gamma * x_hat + beta."""
from ..fields import FRACTION, POS_NUM, Field
from .base import LayerType, np, ops

TORCH_BATCHNORM_LAST = '''
class BatchNormLast(nn.Module):
    """nnplay's batchnorm: statistics over every axis but the last (channels-last images, sequences or
    vectors alike) and the biased batch variance in the running average too (torch's BatchNorm keeps
    the unbiased one): running = momentum * running + (1 - momentum) * batch."""

    def __init__(self, channels, momentum, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))  # nnplay's gamma
        self.bias = nn.Parameter(torch.zeros(channels))  # nnplay's beta
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))
        self.momentum, self.eps = momentum, eps

    def forward(self, x):
        x2 = x.reshape(-1, x.shape[-1])
        if self.training:
            mean = x2.mean(0)
            var = ((x2 - mean) ** 2).mean(0)
            with torch.no_grad():
                self.running_mean.mul_(self.momentum).add_((1 - self.momentum) * mean)
                self.running_var.mul_(self.momentum).add_((1 - self.momentum) * var)
        else:
            mean, var = self.running_mean, self.running_var
        return ((x2 - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias).reshape(x.shape)
'''


def infer(cfg, shapes, names):
    c = shapes[0][-1]
    return shapes[0], {"gamma": (c,), "beta": (c,), "running_mean": (c,), "running_var": (c,)}


def forward(cfg, params, inputs, ctx):
    return ops.batchnorm(inputs[0], params["gamma"], params["beta"], params["running_mean"].data,
                         params["running_var"].data, momentum=cfg["momentum"], eps=cfg["epsilon"],
                         training=ctx.training)


def to_pytorch(plan, cfg, ins, out):
    name, a = cfg["name"], plan.attrs[cfg["name"]]
    plan.helper("BatchNormLast", TORCH_BATCHNORM_LAST)
    plan.init.append(f"self.{a} = BatchNormLast({cfg['input_shapes'][0][-1]}, momentum={plan.py(cfg['momentum'])}, "
                     f"eps={plan.py(cfg['epsilon'])})")
    plan.fwd.append(f"{out} = self.{a}({ins[0]})")
    for key, p in (("weight", "gamma"), ("bias", "beta"), ("running_mean", "running_mean"),
                   ("running_var", "running_var")):
        plan.param(f"{a}.{key}", name, p)


def to_keras(plan, cfg, ins, k):
    plan.lines.append(f"{k} = layers.BatchNormalization(momentum={plan.py(cfg['momentum'])}, "
                      f"epsilon={plan.py(cfg['epsilon'])}, name={k!r})({ins[0]})")
    for kk, p in (("gamma", "gamma"), ("beta", "beta"), ("moving_mean", "running_mean"),
                  ("moving_variance", "running_var")):
        plan.param(f"{k}.{kk}", cfg["name"], p)


def to_onnx(g, cfg, ins, p):
    a = cfg["name"]
    scale = p["gamma"] / np.sqrt(p["running_var"] + np.float32(cfg["epsilon"]))
    y = g.op("Sub", [ins[0], g.const(f"{a}.running_mean", p["running_mean"])])
    y = g.op("Mul", [y, g.const(f"{a}.scale", scale.astype(np.float32))])
    return g.op("Add", [y, g.const(f"{a}.beta", p["beta"])], a)


def gpu(gt, cfg, ins, y_shape, masks):
    k, name, buf = gt.k, cfg["name"], gt._buffer
    x, x_shape = ins[0]
    n_in = int(np.prod(x_shape))
    c = x_shape[-1]
    rows = n_in // c
    training = name not in gt.model.frozen  # a frozen batchnorm runs in inference mode, as on NumPy
    stats, xhat, y = buf(2 * c), buf(n_in), buf(n_in)
    gamma, beta = gt._weight(f"{name}.gamma"), gt._weight(f"{name}.beta")
    fwd = [k.batchnorm_stats_op(x, stats, gt._weight(f"{name}.running_mean"),
                                gt._weight(f"{name}.running_var"), rows, c, training, cfg["momentum"],
                                cfg["epsilon"]),
           k.batchnorm_op(x, stats, gamma, beta, xhat, y, rows, c)]

    def back(dy, needs):
        dg, db = gt._grad(f"{name}.gamma"), gt._grad(f"{name}.beta")
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


LAYER = LayerType(
    "batchnorm", {"momentum": Field(FRACTION, 0.99), "epsilon": Field(POS_NUM, 0.001)}, infer, forward,
    aliases=("batchnormalization", "batch_normalization"),
    pytorch=to_pytorch, keras=to_keras, onnx=to_onnx, gpu=gpu)
