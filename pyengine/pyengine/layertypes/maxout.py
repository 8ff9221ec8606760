"""maxout: the max over consecutive groups of `pieces` channels of the last axis, (..., C) -> (..., C / pieces)."""
from ..fields import POS_INT, Bad, Field, int_text, shape_text
from .base import LayerType, np, ops

KERAS_MAXOUT = '''
@keras.saving.register_keras_serializable()
class Maxout(keras.layers.Layer):
    """Max over consecutive groups of `pieces` channels of the last axis."""

    def __init__(self, pieces, **kw):
        super().__init__(**kw)
        self.pieces = pieces

    def call(self, x):
        shape = tuple(x.shape[1:-1]) + (x.shape[-1] // self.pieces, self.pieces)
        return ops.max(ops.reshape(x, (-1,) + shape), axis=-1)

    def get_config(self):
        return {**super().get_config(), "pieces": self.pieces}
'''


def infer(cfg, shapes, names):
    s, k = shapes[0], cfg["pieces"]
    if s[-1] % k:
        raise Bad(f"maxout with pieces {int_text(k)} needs the last axis ({int_text(s[-1])}) to be divisible "
                  f"by {int_text(k)}; input is {shape_text(s)}", field="pieces")
    return s[:-1] + (s[-1] // k,), {}


def forward(cfg, params, inputs, ctx):
    return ops.maxout(inputs[0], cfg.get("pieces", 2))


def to_pytorch(plan, cfg, ins, out):
    plan.fwd.append(f"{out} = {ins[0]}.unflatten(-1, (-1, {cfg['pieces']})).amax(-1)  # max over consecutive groups")


def to_keras(plan, cfg, ins, k):
    plan.helper("Maxout", KERAS_MAXOUT)
    plan.lines.append(f"{k} = Maxout({cfg['pieces']}, name={k!r})({ins[0]})")


def to_onnx(g, cfg, ins, p):
    shape, k = cfg["input_shapes"][0], cfg["pieces"]
    y = g.op("Reshape", [ins[0], g.ints([0] + list(shape[:-1]) + [shape[-1] // k, k])])
    return g.op("ReduceMax", [y], cfg["name"], axes=[-1], keepdims=0)


def gpu(gt, cfg, ins, y_shape, masks):
    k, buf = gt.k, gt._buffer
    x, x_shape = ins[0]
    n_in, n_out = int(np.prod(x_shape)), int(np.prod(y_shape))
    pieces = cfg.get("pieces", 2)
    y, idx = buf(n_out), buf(n_out)

    def back(dy, needs):
        if not needs[0]:
            return [], [None]
        dx = buf(n_in)
        return [k.maxout_grad_op(dy, idx, dx, n_in, pieces)], [dx]
    return y, [k.maxout_op(x, idx, y, n_out, pieces)], back


LAYER = LayerType("maxout", {"pieces": Field(POS_INT, 2)}, infer, forward,
                  pytorch=to_pytorch, keras=to_keras, onnx=to_onnx, gpu=gpu)
