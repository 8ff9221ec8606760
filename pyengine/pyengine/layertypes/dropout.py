"""dropout: inverted dropout while training (kept units scaled by 1 / (1 - rate)); identity otherwise."""
from ..fields import RATE, Field
from .base import LayerType, infer_same, np, ops


def forward(cfg, params, inputs, ctx):
    return ops.dropout(inputs[0], cfg["rate"], ctx.training, ctx.rng)


def to_pytorch(plan, cfg, ins, out):
    a = plan.attrs[cfg["name"]]
    plan.init.append(f"self.{a} = nn.Dropout({plan.py(cfg['rate'])})")
    plan.fwd.append(f"{out} = self.{a}({ins[0]})")


def gpu(gt, cfg, ins, y_shape, masks):
    """The masks are drawn on the CPU per step (GpuTrainer.step), as the NumPy layer draws them."""
    k, buf = gt.k, gt._buffer
    x, x_shape = ins[0]
    n_in, n_out = int(np.prod(x_shape)), int(np.prod(y_shape))
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


LAYER = LayerType(
    "dropout", {"rate": Field(RATE, 0.5)}, infer_same, forward, pytorch=to_pytorch,
    keras=lambda plan, cfg, ins, k: plan.lines.append(f"{k} = layers.Dropout({plan.py(cfg['rate'])}, name={k!r})({ins[0]})"),
    onnx=lambda g, cfg, ins, p: g.op("Identity", [ins[0]], cfg["name"]),  # inference: dropout does nothing
    gpu=gpu)
