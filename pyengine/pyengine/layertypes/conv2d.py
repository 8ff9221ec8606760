"""conv2d: a 2-D convolution over (H, W, C) images, channels-last, weights (KH, KW, C, F)."""
from ..fields import ACTIVATION, BOOL, PADDING, PAIR, POS_INT, REQUIRED, Field
from .base import LayerType, apply_activation, bias, need_image, ops, window
from .dense import gpu_weighted


def infer(cfg, shapes, names):
    h, w, c = need_image(shapes[0])
    oh, ow = window(cfg, (h, w), cfg["kernel_size"], "kernel_size", "kernel")
    kh, kw = cfg["kernel_size"]
    params = {"weight": (kh, kw, c, cfg["filters"])}
    if cfg["use_bias"]:
        params["bias"] = (cfg["filters"],)
    return (oh, ow, cfg["filters"]), params


def forward(cfg, params, inputs, ctx):
    act = cfg.get("activation")
    fuse = act == "relu"
    y = ops.conv2d(inputs[0], params["weight"], bias(cfg, params), strides=cfg["strides"],
                   pads=cfg["pads"], dilation=cfg["dilation_rate"], relu=fuse)
    return y if fuse else apply_activation(act, y, cfg)


def to_pytorch(plan, cfg, ins, out):
    name, a, x = cfg["name"], plan.attrs[cfg["name"]], ins[0]
    (pt, pb), (pl, pr) = cfg["pads"]
    plan.init.append(
        f"self.{a} = nn.Conv2d({cfg['input_shapes'][0][-1]}, {cfg['filters']}, kernel_size={tuple(cfg['kernel_size'])}, "
        f"stride={tuple(cfg['strides'])}, dilation={tuple(cfg['dilation_rate'])}, bias={cfg['use_bias']})")
    src = f"{x}.permute(0, 3, 1, 2)"
    if pt or pb or pl or pr:  # explicit pads: TensorFlow's 'same' may pad one more at the bottom/right
        src = f"F.pad({src}, ({pl}, {pr}, {pt}, {pb}))"
    plan.fwd.append(f"{out} = " + plan.act(cfg.get("activation"), f"self.{a}({src}).permute(0, 2, 3, 1)"))
    plan.param(f"{a}.weight", name, "weight", lambda w: w.transpose(3, 2, 0, 1), lambda w: w.transpose(2, 3, 1, 0))
    if cfg["use_bias"]:
        plan.param(f"{a}.bias", name, "bias")


def to_keras(plan, cfg, ins, k):
    x = ins[0]
    act = plan.act(cfg.get("activation"))
    act_s = f", activation={act}" if act else ""
    (pt, pb), (pl, pr) = cfg["pads"]
    if pt or pb or pl or pr:  # explicit pads (TensorFlow's 'same' may pad one more at the bottom/right)
        plan.lines.append(f"{k}_pad = layers.ZeroPadding2D((({pt}, {pb}), ({pl}, {pr})), name={k + '_pad'!r})({x})")
        x = f"{k}_pad"
    plan.lines.append(
        f"{k} = layers.Conv2D({cfg['filters']}, {tuple(cfg['kernel_size'])}, strides={tuple(cfg['strides'])}, "
        f"dilation_rate={tuple(cfg['dilation_rate'])}{act_s}, use_bias={cfg['use_bias']}, name={k!r})({x})")
    plan.param(f"{k}.kernel", cfg["name"], "weight")
    if cfg["use_bias"]:
        plan.param(f"{k}.bias", cfg["name"], "bias")


def to_onnx(g, cfg, ins, p):
    a, act = cfg["name"], cfg.get("activation")
    (pt, pb), (pl, pr) = cfg["pads"]
    w = g.const(f"{a}.weight", p["weight"].transpose(3, 2, 0, 1))  # (KH, KW, C, F) -> (F, C, KH, KW)
    inputs = [g.nchw(ins[0]), w] + ([g.const(f"{a}.bias", p["bias"])] if cfg["use_bias"] else [])
    y = g.op("Conv", inputs, kernel_shape=list(cfg["kernel_size"]), strides=list(cfg["strides"]),
             dilations=list(cfg["dilation_rate"]), pads=[pt, pl, pb, pr])
    return g.activation(act, g.nhwc(y, a if act in (None, "linear") else "conv"), hint=a)


LAYER = LayerType(
    "conv2d",
    fields={"filters": Field(POS_INT, REQUIRED, start=8), "kernel_size": Field(PAIR, REQUIRED, start=3), "strides": Field(PAIR, 1),
            "padding": Field(PADDING, "valid"), "dilation_rate": Field(PAIR, 1),
            "activation": Field(ACTIVATION, None), "use_bias": Field(BOOL, True)},
    infer=infer, forward=forward, aliases=("conv", "convolution2d"),
    pytorch=to_pytorch, keras=to_keras, onnx=to_onnx, gpu=gpu_weighted)
