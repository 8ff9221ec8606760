"""embedding: integer ids (T,) -> rows of a (input_dim, output_dim) table, (T, output_dim)."""
from ..fields import POS_INT, REQUIRED, Bad, Field, shape_text
from .base import LayerType, np, ops

INT64 = 7  # ONNX TensorProto.DataType


def infer(cfg, shapes, names):
    s = shapes[0]
    if len(s) != 1:
        raise Bad(f"expects a sequence of integer ids (T,), got {shape_text(s)}")
    return (s[0], cfg["output_dim"]), {"weight": (cfg["input_dim"], cfg["output_dim"])}


def init(cfg, param_shapes, rng):
    return {"weight": rng.normal(0.0, 0.05, size=tuple(param_shapes["weight"])).astype(np.float32)}


def forward(cfg, params, inputs, ctx):
    return ops.embedding(inputs[0].data, params["weight"])


def to_pytorch(plan, cfg, ins, out):
    a = plan.attrs[cfg["name"]]
    plan.init.append(f"self.{a} = nn.Embedding({cfg['input_dim']}, {cfg['output_dim']})")
    plan.fwd.append(f"{out} = self.{a}({ins[0]}.long())")
    plan.param(f"{a}.weight", cfg["name"], "weight")


def to_keras(plan, cfg, ins, k):
    plan.lines.append(f"{k} = layers.Embedding({cfg['input_dim']}, {cfg['output_dim']}, name={k!r})"
                      f"(ops.cast({ins[0]}, 'int32'))")
    plan.param(f"{k}.embeddings", cfg["name"], "weight")


def to_onnx(g, cfg, ins, p):
    a = cfg["name"]
    ids = g.op("Cast", [ins[0]], to=INT64)
    return g.op("Gather", [g.const(f"{a}.weight", p["weight"]), ids], a, axis=0)


def gpu(gt, cfg, ins, y_shape, masks):
    k, name, buf = gt.k, cfg["name"], gt._buffer
    x, x_shape = ins[0]
    n_in, n_out = int(np.prod(x_shape)), int(np.prod(y_shape))
    vocab, d = gt._param(f"{name}.weight").data.shape
    y = buf(n_out)
    w = gt._weight(f"{name}.weight")

    def back(dy, needs):
        dw = gt._grad(f"{name}.weight")
        ops = [] if dw is None else [k.embedding_grad_op(x, dy, dw, n_in, vocab, d)]
        return ops, [None]  # ids have no gradient
    return y, [k.embedding_op(x, w, y, n_in, d)], back


LAYER = LayerType(
    "embedding", {"input_dim": Field(POS_INT, REQUIRED, start=100), "output_dim": Field(POS_INT, REQUIRED, start=16)}, infer, forward,
    init=init, pytorch=to_pytorch, keras=to_keras, onnx=to_onnx, gpu=gpu)
