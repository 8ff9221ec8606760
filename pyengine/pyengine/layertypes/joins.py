"""add (element-wise sum of inputs of one shape) and concat (along `axis`, which counts the batch
axis as in Keras and is stored negative): the layers that take several inputs (ResNet, inception)."""
from ..fields import INT, Bad, Field
from .base import LayerType, axis, axis_split, listing, np, ops


def infer_add(cfg, shapes, names):
    if any(s != shapes[0] for s in shapes):
        raise Bad(f"add needs inputs of the same shape, got {listing(shapes, names)}")
    return shapes[0], {}


def infer_concat(cfg, shapes, names):
    rank = len(shapes[0])
    if any(len(s) != rank for s in shapes):
        raise Bad(f"concat needs inputs of the same rank, got {listing(shapes, names)}")
    ax = axis(cfg, shapes[0])
    if any(s[:ax] + s[ax + 1:] != shapes[0][:ax] + shapes[0][ax + 1:] for s in shapes):
        raise Bad(f"concat along axis {cfg['axis']} needs the other axes to match, got {listing(shapes, names)}")
    return shapes[0][:ax] + (sum(s[ax] for s in shapes),) + shapes[0][ax + 1:], {}


def add_to_onnx(g, cfg, ins, p):
    y = ins[0]
    for other in ins[1:]:
        y = g.op("Add", [y, other])
    return g.op("Identity", [y], cfg["name"])


def add_gpu(gt, cfg, ins, y_shape, masks):
    k, n_out = gt.k, int(np.prod(y_shape))
    fwd, acc = [], ins[0][0]
    for other, _shape in ins[1:]:
        total = gt._buffer(n_out)
        fwd.append(k.add_op(acc, other, total, n_out))
        acc = total
    return acc, fwd, lambda dy, needs: ([], [dy if need else None for need in needs])


def concat_gpu(gt, cfg, ins, y_shape, masks):
    k, buf = gt.k, gt._buffer
    y = buf(int(np.prod(y_shape)))
    outer, total, inner = axis_split(y_shape, cfg["axis"])
    fwd, slices, off = [], [], 0
    for xi, shape_i in ins:
        width = axis_split(shape_i, cfg["axis"])[1] * inner
        fwd.append(k.block_copy_op(xi, y, outer, width, width, 0, total * inner, off))
        slices.append((off, width))
        off += width

    def back(dy, needs):
        ops, dxs = [], []
        for (off_i, width), need in zip(slices, needs):
            dx = buf(outer * width) if need else None
            if dx is not None:
                ops.append(k.block_copy_op(dy, dx, outer, width, total * inner, off_i, width, 0))
            dxs.append(dx)
        return ops, dxs
    return y, fwd, back


def _arg(ins):
    return ins[0] if len(ins) == 1 else "[" + ", ".join(ins) + "]"


ADD = LayerType(
    "add", {}, infer_add, lambda cfg, params, inputs, ctx: ops.add(*inputs), min_inputs=2, max_inputs=None,
    pytorch=lambda plan, cfg, ins, out: plan.fwd.append(f"{out} = " + " + ".join(ins)),
    keras=lambda plan, cfg, ins, k: plan.lines.append(f"{k} = layers.Add(name={k!r})({_arg(ins)})"),
    onnx=add_to_onnx, gpu=add_gpu)
CONCAT = LayerType(
    "concat", {"axis": Field(INT, -1)}, infer_concat,
    lambda cfg, params, inputs, ctx: ops.concat(inputs, axis=cfg.get("axis", -1)),
    min_inputs=2, max_inputs=None, aliases=("concatenate",),
    pytorch=lambda plan, cfg, ins, out: plan.fwd.append(f"{out} = torch.cat([{', '.join(ins)}], dim={cfg['axis']})"),
    keras=lambda plan, cfg, ins, k: plan.lines.append(
        f"{k} = layers.Concatenate(axis={cfg['axis']}, name={k!r})({_arg(ins)})"),
    onnx=lambda g, cfg, ins, p: g.op("Concat", ins, cfg["name"], axis=cfg["axis"]),
    gpu=concat_gpu)
