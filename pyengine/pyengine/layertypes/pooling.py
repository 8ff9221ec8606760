"""maxpool2d, avgpool2d (windows over (H, W, C); average leaves padding out of the mean) and
globalavgpool2d ((H, W, C) -> (C,)): one file, as they share their shape rule and every hook."""
from ..fields import PADDING, PAIR, Bad, Field, SameAs, int_text
from .base import LayerType, need_image, np, ops, window

FIELDS = {"pool_size": Field(PAIR, 2), "strides": Field(PAIR, SameAs("pool_size")), "padding": Field(PADDING, "valid")}

TORCH_AVG_POOL_PADDED = '''
def avg_pool_padded(x, kernel, stride, pads):
    """nnplay's average pool of NCHW x with pads (top, bottom, left, right): the mean over the window's
    real cells only (padding is left out of the count, as TensorFlow's 'same' does; torch's
    count_include_pad=False takes symmetric padding only)."""
    top, bottom, left, right = pads
    ones = torch.ones_like(x[:1, :1])
    total = F.avg_pool2d(F.pad(x, (left, right, top, bottom)), kernel, stride, divisor_override=1)
    count = F.avg_pool2d(F.pad(ones, (left, right, top, bottom)), kernel, stride, divisor_override=1)
    return total / count
'''

KERAS_PADDED_POOL = '''
@keras.saving.register_keras_serializable()
class PaddedPool(keras.layers.Layer):
    """pyengine's pools with explicit pads ((top, bottom), (left, right)): max pads with -inf; average
    leaves the padding out of the mean (mean of the real cells of each window)."""

    def __init__(self, kind, pool_size, strides, pads, **kw):
        super().__init__(**kw)
        self.kind, self.pool_size, self.strides, self.pads = kind, tuple(pool_size), tuple(strides), pads

    def call(self, x):
        (t, b), (l, r) = self.pads
        widths = [[0, 0], [t, b], [l, r], [0, 0]]
        if self.kind == "max":
            return ops.max_pool(ops.pad(x, widths, constant_values=float("-inf")), self.pool_size, self.strides, "valid")
        total = ops.average_pool(ops.pad(x, widths), self.pool_size, self.strides, "valid")
        ones = ops.pad(ops.ones_like(x[:1, :, :, :1]), widths)
        return total / ops.average_pool(ones, self.pool_size, self.strides, "valid")

    def get_config(self):
        return {**super().get_config(), "kind": self.kind, "pool_size": self.pool_size, "strides": self.strides,
                "pads": self.pads}
'''


def infer_pool(cfg, shapes, names):
    h, w, c = need_image(shapes[0])
    pad = cfg["padding"]
    if not isinstance(pad, str):
        # A window lying wholly in padding has nothing to pool (max of nothing); PyTorch's rule.
        ph, pw = (pad, pad) if isinstance(pad, int) else pad
        for p, k in ((ph, cfg["pool_size"][0]), (pw, cfg["pool_size"][1])):
            if 2 * p > k:
                raise Bad(f"padding {int_text(p)} is more than half the pool size {int_text(k)}; "
                          f"some windows would hold only padding", field="padding")
    oh, ow = window(cfg, (h, w), cfg["pool_size"], "pool_size", "pool")
    return (oh, ow, c), {}


def infer_global(cfg, shapes, names):
    return (need_image(shapes[0])[2],), {}


def forward_max(cfg, params, inputs, ctx):
    return ops.maxpool2d(inputs[0], cfg["pool_size"], cfg["strides"], cfg["pads"])


def forward_avg(cfg, params, inputs, ctx):
    return ops.avgpool2d(inputs[0], cfg["pool_size"], cfg["strides"], cfg["pads"])


def forward_global(cfg, params, inputs, ctx):
    return ops.global_avgpool2d(inputs[0])


def pool_to_pytorch(plan, cfg, ins, out):
    t, x = cfg["type"], ins[0]
    (pt, pb), (pl, pr) = cfg["pads"]
    k, s = tuple(cfg["pool_size"]), tuple(cfg["strides"])
    src = f"{x}.permute(0, 3, 1, 2)"
    padded = pt or pb or pl or pr
    if t == "maxpool2d":
        if padded:
            src = f"F.pad({src}, ({pl}, {pr}, {pt}, {pb}), value=float('-inf'))"
        plan.fwd.append(f"{out} = F.max_pool2d({src}, {k}, {s}).permute(0, 2, 3, 1)")
    elif padded:
        plan.helper("avg_pool_padded", TORCH_AVG_POOL_PADDED)
        plan.fwd.append(f"{out} = avg_pool_padded({src}, {k}, {s}, ({pt}, {pb}, {pl}, {pr})).permute(0, 2, 3, 1)")
    else:
        plan.fwd.append(f"{out} = F.avg_pool2d({src}, {k}, {s}).permute(0, 2, 3, 1)")


def global_to_pytorch(plan, cfg, ins, out):
    plan.fwd.append(f"{out} = {ins[0]}.mean(dim=(1, 2))")


def pool_to_keras(plan, cfg, ins, k):
    t, x, pads = cfg["type"], ins[0], cfg["pads"]
    if any(pads[0]) or any(pads[1]):
        plan.helper("PaddedPool", KERAS_PADDED_POOL)
        kind = "max" if t == "maxpool2d" else "avg"
        plan.lines.append(f"{k} = PaddedPool({kind!r}, {tuple(cfg['pool_size'])}, {tuple(cfg['strides'])}, "
                          f"{tuple(tuple(p) for p in pads)}, name={k!r})({x})")
    else:
        cls = "MaxPooling2D" if t == "maxpool2d" else "AveragePooling2D"
        plan.lines.append(f"{k} = layers.{cls}({tuple(cfg['pool_size'])}, strides={tuple(cfg['strides'])}, "
                          f"name={k!r})({x})")


def global_to_keras(plan, cfg, ins, k):
    plan.lines.append(f"{k} = layers.GlobalAveragePooling2D(name={k!r})({ins[0]})")


def pool_to_onnx(g, cfg, ins, p):
    t = cfg["type"]
    (pt, pb), (pl, pr) = cfg["pads"]
    extra = {} if t == "maxpool2d" else {"count_include_pad": 0}  # padding is left out of the mean
    y = g.op("MaxPool" if t == "maxpool2d" else "AveragePool", [g.nchw(ins[0])], kernel_shape=list(cfg["pool_size"]),
             strides=list(cfg["strides"]), pads=[pt, pl, pb, pr], **extra)
    return g.nhwc(y, cfg["name"])


def global_to_onnx(g, cfg, ins, p):
    return g.op("ReduceMean", [ins[0]], cfg["name"], axes=[1, 2], keepdims=0)


def gpu(gt, cfg, ins, y_shape, masks):
    k, t, buf = gt.k, cfg["type"], gt._buffer
    x, x_shape = ins[0]
    n_in, n_out = int(np.prod(x_shape)), int(np.prod(y_shape))
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


MAXPOOL2D = LayerType("maxpool2d", FIELDS, infer_pool, forward_max, aliases=("pool", "max_pooling2d", "maxpool"),
                      pytorch=pool_to_pytorch, keras=pool_to_keras, onnx=pool_to_onnx, gpu=gpu)
AVGPOOL2D = LayerType("avgpool2d", FIELDS, infer_pool, forward_avg, aliases=("avgpool", "average_pooling2d"),
                      pytorch=pool_to_pytorch, keras=pool_to_keras, onnx=pool_to_onnx, gpu=gpu)
GLOBALAVGPOOL2D = LayerType("globalavgpool2d", {}, infer_global, forward_global, aliases=("globalaveragepooling2d",),
                            pytorch=global_to_pytorch, keras=global_to_keras, onnx=global_to_onnx, gpu=gpu)
