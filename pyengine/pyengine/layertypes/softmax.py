"""softmax along `axis` (counting the batch axis, as in Keras; stored negative)."""
from ..fields import INT, Field
from .base import LayerType, axis, axis_split, np, ops


def infer(cfg, shapes, names):
    axis(cfg, shapes[0])
    return shapes[0], {}


def gpu(gt, cfg, ins, y_shape, masks):
    k, buf = gt.k, gt._buffer
    x, x_shape = ins[0]
    n_in, n_out = int(np.prod(x_shape)), int(np.prod(y_shape))
    y = buf(n_out)
    split = axis_split(x_shape, cfg["axis"])

    def back(dy, needs):
        if not needs[0]:
            return [], [None]
        dx = buf(n_in)
        return [k.softmax_grad_op(y, dy, dx, *split)], [dx]
    return y, [k.softmax_op(x, y, *split)], back


LAYER = LayerType(
    "softmax", {"axis": Field(INT, -1)}, infer,
    lambda cfg, params, inputs, ctx: ops.softmax(inputs[0], axis=cfg.get("axis", -1)),
    pytorch=lambda plan, cfg, ins, out: plan.fwd.append(f"{out} = F.softmax({ins[0]}, dim={cfg['axis']})"),
    keras=lambda plan, cfg, ins, k: plan.lines.append(f"{k} = layers.Softmax(axis={cfg['axis']}, name={k!r})({ins[0]})"),
    onnx=lambda g, cfg, ins, p: g.op("Softmax", [ins[0]], cfg["name"], axis=cfg["axis"]),
    gpu=gpu)
