"""flatten ((...) -> (prod,)) and reshape (to target_shape, one -1 inferred): the same bytes with a new
shape, so on the GPU both are aliases of their input."""
from ..fields import REQUIRED, TARGET_SHAPE, Bad, Field, count_text, prod, shape_text
from .base import LayerType, gpu_alias, ops


def infer_flatten(cfg, shapes, names):
    return (prod(shapes[0]),), {}


def infer_reshape(cfg, shapes, names):
    s, target = shapes[0], cfg["target_shape"]
    total, known = prod(s), prod(d for d in target if d != -1)
    if -1 in target:
        if total % known:
            raise Bad(f"cannot reshape {shape_text(s)} ({count_text(total)} elements) to {shape_text(target)}: "
                      f"{count_text(total)} is not divisible by {count_text(known)}", field="target_shape")
        return tuple(total // known if d == -1 else d for d in target), {}
    if known != total:
        raise Bad(f"cannot reshape {shape_text(s)} ({count_text(total)} elements) to {shape_text(target)} "
                  f"({count_text(known)} elements); the element counts must match (use -1 for one inferred axis)",
                  field="target_shape")
    return target, {}


def forward_flatten(cfg, params, inputs, ctx):
    return ops.flatten(inputs[0])


def forward_reshape(cfg, params, inputs, ctx):
    x = inputs[0]
    return ops.reshape(x, (x.shape[0],) + tuple(cfg["target_shape"]))


FLATTEN = LayerType(
    "flatten", {}, infer_flatten, forward_flatten,
    pytorch=lambda plan, cfg, ins, out: plan.fwd.append(f"{out} = {ins[0]}.flatten(1)"),
    keras=lambda plan, cfg, ins, k: plan.lines.append(f"{k} = layers.Flatten(name={k!r})({ins[0]})"),
    onnx=lambda g, cfg, ins, p: g.op("Flatten", [ins[0]], cfg["name"], axis=1),
    gpu=gpu_alias)
RESHAPE = LayerType(
    "reshape", {"target_shape": Field(TARGET_SHAPE, REQUIRED, start=[-1])}, infer_reshape, forward_reshape,
    pytorch=lambda plan, cfg, ins, out: plan.fwd.append(
        f"{out} = {ins[0]}.reshape({ins[0]}.shape[0], {', '.join(map(str, cfg['target_shape']))})"),
    keras=lambda plan, cfg, ins, k: plan.lines.append(
        f"{k} = layers.Reshape({tuple(cfg['target_shape'])}, name={k!r})({ins[0]})"),
    onnx=lambda g, cfg, ins, p: g.op("Reshape", [ins[0], g.ints([0] + list(cfg["target_shape"]))], cfg["name"]),
    gpu=gpu_alias)
