"""relu, sigmoid, tanh, gelu (tanh form), leaky_relu (alpha, 0.01) and elu (alpha, 1.0) as layers of
their own: the same shape out, one point-wise op (the `activation` field of dense/conv2d/rnn runs
the same code)."""
from ..fields import NUM, Field
from .base import LayerType, apply_activation, infer_same


def gpu(gt, cfg, ins, y_shape, masks):
    x, x_shape = ins[0]
    fwd, y, act_back = gt._activation(x, x_shape, cfg["type"], cfg.get("alpha"))

    def back(dy, needs):
        if not needs[0]:
            return [], [None]
        ops, dx = act_back(dy)
        return ops, [dx]
    return y, fwd, back


def _activation_layer(kind, fields):
    return LayerType(
        kind, fields, infer_same, lambda cfg, params, inputs, ctx: apply_activation(kind, inputs[0], cfg),
        pytorch=lambda plan, cfg, ins, out: plan.fwd.append(f"{out} = " + plan.act(kind, ins[0], cfg.get("alpha"))),
        keras=lambda plan, cfg, ins, k: plan.lines.append(
            f"{k} = layers.Activation({plan.act(kind, cfg.get('alpha'))}, name={k!r})({ins[0]})"),
        onnx=lambda g, cfg, ins, p: g.op("Identity", [g.activation(kind, ins[0], cfg.get("alpha"))], cfg["name"]),
        gpu=gpu)


LAYERS = [_activation_layer("relu", {}), _activation_layer("sigmoid", {}), _activation_layer("tanh", {}),
          _activation_layer("gelu", {}), _activation_layer("leaky_relu", {"alpha": Field(NUM, 0.01)}),
          _activation_layer("elu", {"alpha": Field(NUM, 1.0)})]
