"""spec.validate / infer_shapes: the normative example, every layer type, join graphs, defaults,
round trips, and bad specs with their exact messages (docs/engine.md is the contract)."""
import copy
import json
import os
import pickle
import random
import subprocess
import sys
import types

import pytest

from pyengine import spec as S
from pyengine.spec import SpecError, infer_shapes, validate

EXAMPLE = {
    "input": [24, 24, 1],
    "layers": [
        {"type": "conv2d", "filters": 8, "kernel_size": 5, "strides": 1, "padding": 2, "activation": "relu",
         "name": "conv1"},
        {"type": "maxpool2d", "pool_size": 2, "strides": 2},
        {"type": "conv2d", "filters": 16, "kernel_size": 5, "padding": 2, "activation": "relu"},
        {"type": "maxpool2d", "pool_size": 3, "strides": 3},
        {"type": "flatten"},
        {"type": "dense", "units": 10},
    ],
    "loss": "softmax_cross_entropy",
    "optimizer": {"type": "adadelta", "lr": 1.0, "rho": 0.95, "eps": 1e-6},
    "seed": 0,
}


def example():
    return copy.deepcopy(EXAMPLE)


def error_lines(spec, **kw):
    with pytest.raises(SpecError) as info:
        validate(spec, **kw)
    return str(info.value).splitlines()


def one_error(spec, **kw):
    lines = error_lines(spec, **kw)
    assert len(lines) == 1, lines
    return lines[0]


def net(input_shape, *layers, loss="mse"):
    return {"input": list(input_shape), "layers": list(layers), "loss": loss}


# --------------------------------------------------------------------------------------------
# The normative example


def test_example_shapes_and_params():
    ns = validate(example())
    # hand-computed: conv 5*5*1*8 + 8 = 208; conv 5*5*8*16 + 16 = 3216; dense 256*10 + 10 = 2570
    assert ns.summary_rows() == [
        ("conv1", "conv2d", (24, 24, 8), 208),
        ("maxpool2d_1", "maxpool2d", (12, 12, 8), 0),
        ("conv2d_2", "conv2d", (12, 12, 16), 3216),
        ("maxpool2d_3", "maxpool2d", (4, 4, 16), 0),
        ("flatten_4", "flatten", (256,), 0),
        ("dense_5", "dense", (10,), 2570),
    ]
    assert ns.input == (24, 24, 1) and ns.output_shape == (10,)
    assert ns.param_count == 208 + 3216 + 2570
    # (4608 + 1152 + 2304 + 256 + 256 + 10) values, float32, value + gradient
    assert ns.activation_bytes_per_example == 8586 * 4 * 2
    conv1, pool1, conv2 = ns.layers[:3]
    assert conv1["param_shapes"] == {"weight": (5, 5, 1, 8), "bias": (8,)}
    assert list(conv2["param_shapes"]) == ["weight", "bias"]
    assert conv1["pads"] == ((2, 2), (2, 2)) and conv1["padding"] == 2
    assert conv1["kernel_size"] == (5, 5) and conv1["strides"] == (1, 1) and conv1["dilation_rate"] == (1, 1)
    assert conv1["inputs"] == ["input"] and conv1["input_shapes"] == [(24, 24, 1)] and conv1["index"] == 0
    assert pool1["inputs"] == ["conv1"] and pool1["strides"] == (2, 2) and pool1["pads"] == ((0, 0), (0, 0))
    assert ns.layers[5]["param_shapes"] == {"weight": (256, 10), "bias": (10,)}
    assert ns.loss == {"type": "softmax_cross_entropy"}
    assert ns.optimizer == {"type": "adadelta", "lr": 1.0, "rho": 0.95, "eps": 1e-6, "l1": 0.0, "l2": 0.0,
                            "clipnorm": None, "clipvalue": None, "schedule": None}
    assert ns.seed == 0 and ns.backend == "auto"
    json.dumps(ns.to_json())


def test_spec_module_does_not_import_numpy():
    root = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pyengine")
    code = "import sys; import pyengine.spec; assert 'numpy' not in sys.modules, 'numpy imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


# --------------------------------------------------------------------------------------------
# Each layer type: shape and params

LAYER_CASES = [
    # input, layer, output shape, param shapes
    ((20,), {"type": "dense", "units": 5}, (5,), {"weight": (20, 5), "bias": (5,)}),
    ((20,), {"type": "dense", "units": 5, "use_bias": False}, (5,), {"weight": (20, 5)}),
    ((9, 9, 3), {"type": "conv2d", "filters": 4, "kernel_size": [3, 2]}, (7, 8, 4),
     {"weight": (3, 2, 3, 4), "bias": (4,)}),
    ((9, 9, 3), {"type": "conv2d", "filters": 4, "kernel_size": 3, "strides": 2, "padding": "same",
                 "use_bias": False}, (5, 5, 4), {"weight": (3, 3, 3, 4)}),
    ((9, 9, 3), {"type": "conv2d", "filters": 2, "kernel_size": 3, "padding": [1, 0]}, (9, 7, 2),
     {"weight": (3, 3, 3, 2), "bias": (2,)}),
    ((9, 9, 3), {"type": "maxpool2d"}, (4, 4, 3), {}),
    ((9, 9, 3), {"type": "avgpool2d", "pool_size": 3, "strides": 1}, (7, 7, 3), {}),
    ((9, 9, 3), {"type": "maxpool2d", "pool_size": 2, "padding": "same"}, (5, 5, 3), {}),
    ((9, 9, 3), {"type": "globalavgpool2d"}, (3,), {}),
    ((9, 9, 3), {"type": "flatten"}, (243,), {}),
    ((256,), {"type": "reshape", "target_shape": [4, -1]}, (4, 64), {}),
    ((4, 64), {"type": "reshape", "target_shape": [16, 16, 1]}, (16, 16, 1), {}),
    ((4, 4, 6), {"type": "dropout"}, (4, 4, 6), {}),
    ((4, 4, 6), {"type": "batchnorm"}, (4, 4, 6),
     {"gamma": (6,), "beta": (6,), "running_mean": (6,), "running_var": (6,)}),
    ((10,), {"type": "layernorm"}, (10,), {"gamma": (10,), "beta": (10,)}),
    ((12,), {"type": "embedding", "input_dim": 100, "output_dim": 8}, (12, 8), {"weight": (100, 8)}),
    ((12, 8), {"type": "rnn", "units": 16}, (16,), {"weight_ih": (8, 16), "weight_hh": (16, 16), "bias": (16,)}),
    ((12, 8), {"type": "rnn", "units": 16, "return_sequences": True}, (12, 16),
     {"weight_ih": (8, 16), "weight_hh": (16, 16), "bias": (16,)}),
    ((12, 8), {"type": "lstm", "units": 16}, (16,), {"weight_ih": (8, 64), "weight_hh": (16, 64), "bias": (64,)}),
    ((12, 8), {"type": "gru", "units": 16, "return_sequences": True}, (12, 16),
     {"weight_ih": (8, 48), "weight_hh": (16, 48), "bias_ih": (48,), "bias_hh": (48,)}),
    ((3, 5), {"type": "relu"}, (3, 5), {}),
    ((3, 5), {"type": "sigmoid"}, (3, 5), {}),
    ((3, 5), {"type": "tanh"}, (3, 5), {}),
    ((3, 5), {"type": "gelu"}, (3, 5), {}),
    ((3, 5), {"type": "leaky_relu", "alpha": 0.2}, (3, 5), {}),
    ((3, 5), {"type": "elu"}, (3, 5), {}),
    ((3, 5), {"type": "softmax"}, (3, 5), {}),
    ((12,), {"type": "maxout", "pieces": 3}, (4,), {}),
    ((4, 4, 6), {"type": "maxout"}, (4, 4, 3), {}),
]


@pytest.mark.parametrize("input_shape,layer,out,params", LAYER_CASES,
                         ids=[f"{c[1]['type']}-{i}" for i, c in enumerate(LAYER_CASES)])
def test_layer_shape_and_params(input_shape, layer, out, params):
    ns = validate(net(input_shape, layer))
    cfg = ns.layers[0]
    assert cfg["output_shape"] == out
    assert cfg["param_shapes"] == params and list(cfg["param_shapes"]) == list(params)  # contract order
    n = 0
    for shape in params.values():
        k = 1
        for d in shape:
            k *= d
        n += k
    assert cfg["param_count"] == n == ns.param_count
    assert set(S.LAYER_FIELDS[layer["type"]]) <= set(cfg)  # every field present


def test_lstm_and_gru_param_counts_by_hand():
    # lstm: 8*64 + 16*64 + 64 = 1600; gru: 8*48 + 16*48 + 48 + 48 = 1248
    assert validate(net((12, 8), {"type": "lstm", "units": 16})).param_count == 1600
    assert validate(net((12, 8), {"type": "gru", "units": 16})).param_count == 1248


def test_same_padding_stride_and_dilation():
    # H=7, k=3, s=2, d=2: span 5, out ceil(7/2)=4, total (4-1)*2 + 5 - 7 = 4 -> (2, 2)
    c = validate(net((7, 7, 3), {"type": "conv2d", "filters": 2, "kernel_size": 3, "strides": 2,
                                 "dilation_rate": 2, "padding": "same"})).layers[0]
    assert c["pads"] == ((2, 2), (2, 2)) and c["output_shape"] == (4, 4, 2)
    # H=8, k=3, s=2: total 3*2 + 3 - 8 = 1 -> TensorFlow puts the odd pixel at the bottom/right
    c = validate(net((8, 8, 1), {"type": "conv2d", "filters": 1, "kernel_size": 3, "strides": 2,
                                 "padding": "same"})).layers[0]
    assert c["pads"] == ((0, 1), (0, 1)) and c["output_shape"] == (4, 4, 1)
    # per-axis: H=10 k=3 s=2 -> total 1 (0, 1), out 5; W=9 k=4 d=2 (span 7) s=3 -> total 4 (2, 2), out 3
    c = validate(net((10, 9, 2), {"type": "conv2d", "filters": 3, "kernel_size": [3, 4], "strides": [2, 3],
                                  "dilation_rate": [1, 2], "padding": "same"})).layers[0]
    assert c["pads"] == ((0, 1), (2, 2)) and c["output_shape"] == (5, 3, 3)
    assert c["dilation_rate"] == (1, 2) and c["strides"] == (2, 3)
    # stride 1 "same" keeps the size; big stride gives no padding at all
    c = validate(net((5, 5, 1), {"type": "conv2d", "filters": 1, "kernel_size": 1, "strides": 4,
                                 "padding": "same"})).layers[0]
    assert c["pads"] == ((0, 0), (0, 0)) and c["output_shape"] == (2, 2, 1)


# --------------------------------------------------------------------------------------------
# Join graphs


def test_residual_block_with_add():
    ns = validate(net((8, 8, 4),
                      {"type": "conv2d", "name": "a", "filters": 4, "kernel_size": 3, "padding": "same",
                       "activation": "relu"},
                      {"type": "conv2d", "name": "b", "filters": 4, "kernel_size": 3, "padding": "same"},
                      {"type": "add", "name": "res", "inputs": ["input", "b"]},
                      {"type": "relu"},
                      {"type": "globalavgpool2d"},
                      {"type": "dense", "units": 3}, loss="softmax_cross_entropy"))
    res = ns.layer("res")
    assert res["inputs"] == ["input", "b"] and res["input_shapes"] == [(8, 8, 4), (8, 8, 4)]
    assert res["output_shape"] == (8, 8, 4)
    assert ns.layers[3]["inputs"] == ["res"]
    assert ns.param_count == 2 * (3 * 3 * 4 * 4 + 4) + 4 * 3 + 3


def test_inception_style_concat():
    ns = validate(net((16, 16, 3),
                      {"type": "conv2d", "name": "b1", "filters": 8, "kernel_size": 1},
                      {"type": "conv2d", "name": "b2", "filters": 16, "kernel_size": 3, "padding": "same",
                       "inputs": ["input"]},
                      {"type": "maxpool2d", "name": "b3", "pool_size": 3, "strides": 1, "padding": "same",
                       "inputs": ["input"]},
                      {"type": "concat", "name": "mix", "inputs": ["b1", "b2", "b3"]},
                      {"type": "concat", "name": "mix_h", "inputs": ["b1", "b1"], "axis": 1}))
    mix = ns.layer("mix")
    assert mix["input_shapes"] == [(16, 16, 8), (16, 16, 16), (16, 16, 3)]
    assert mix["output_shape"] == (16, 16, 27) and mix["axis"] == -1
    assert ns.layer("b3")["pads"] == ((1, 1), (1, 1))
    # axes count the batch axis, as in Keras and layers.py; stored negative so both readings agree
    assert ns.layer("mix_h")["output_shape"] == (32, 16, 8) and ns.layer("mix_h")["axis"] == -3


# --------------------------------------------------------------------------------------------
# Defaults and round trips


def test_defaults_filled():
    ns = validate({"input": [6, 6, 2], "layers": [
        {"type": "conv2d", "filters": 3, "kernel_size": 3},
        {"type": "maxpool2d", "pool_size": 3},
        {"type": "batchnorm"},
        {"type": "flatten"},
        {"type": "dropout"},
        {"type": "dense", "units": 4}],
        "optimizer": {"type": "adam"}})
    conv, pool, bn, _, drop, dense = ns.layers
    assert conv["name"] == "conv2d_0" and conv["strides"] == (1, 1) and conv["padding"] == "valid"
    assert conv["dilation_rate"] == (1, 1) and conv["activation"] is None and conv["use_bias"] is True
    assert conv["pads"] == ((0, 0), (0, 0)) and conv["output_shape"] == (4, 4, 3)
    assert pool["strides"] == (3, 3) and pool["padding"] == "valid" and pool["output_shape"] == (1, 1, 3)
    assert bn["momentum"] == 0.99 and bn["epsilon"] == 0.001
    assert drop["rate"] == 0.5 and dense["activation"] is None and dense["use_bias"] is True
    assert ns.loss == {"type": "softmax_cross_entropy"}  # default loss
    assert ns.optimizer == {"type": "adam", "lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
                            "l1": 0.0, "l2": 0.0, "clipnorm": None, "clipvalue": None, "schedule": None}
    assert ns.seed == 0 and ns.backend == "auto"
    assert validate(net((3,), {"type": "dense", "units": 1})).optimizer["type"] == "sgd"


def test_loss_and_schedule_defaults():
    ns = validate({**net((5,), {"type": "dense", "units": 5}, loss={"type": "huber"}),
                   "optimizer": {"type": "sgd", "lr": 1, "schedule": {"type": "step", "step_size": 100}},
                   "seed": 7, "backend": "numpy"})
    assert ns.loss == {"type": "huber", "delta": 1.0}
    assert ns.optimizer["lr"] == 1.0 and isinstance(ns.optimizer["lr"], float)
    assert ns.optimizer["schedule"] == {"type": "step", "step_size": 100, "gamma": 0.1}
    assert ns.seed == 7 and ns.backend == "numpy"
    ns = validate({**net((5,), {"type": "dense", "units": 1}, loss="binary_cross_entropy"),
                   "optimizer": {"type": "adamw", "schedule": {"type": "cosine", "total_steps": 10}}})
    assert ns.loss == {"type": "binary_cross_entropy", "from_logits": True}
    assert ns.optimizer["weight_decay"] == 0.01
    assert ns.optimizer["schedule"] == {"type": "cosine", "total_steps": 10, "min_lr": 0.0}
    # lr 0 freezes training; optim.py allows it, so the spec does too
    assert validate({**example(), "optimizer": {"type": "sgd", "lr": 0}}).optimizer["lr"] == 0.0


def test_to_spec_round_trip():
    ns = validate(example())
    plain = ns.to_spec()
    assert plain == EXAMPLE and json.loads(json.dumps(plain)) == plain
    assert plain["layers"][0]["padding"] == 2  # user values kept, not the resolved pads
    assert validate(plain) == ns
    full = ns.to_spec(full=True)
    assert full["layers"][1] == {"type": "maxpool2d", "name": "maxpool2d_1", "inputs": ["conv1"],
                                 "pool_size": 2, "strides": 2, "padding": "valid"}
    assert full["layers"][0]["padding"] == 2 and full["layers"][0]["kernel_size"] == 5
    assert full["optimizer"]["clipnorm"] is None and full["backend"] == "auto"
    assert validate(json.loads(json.dumps(full))) == ns
    # tuples and a bare-string input name from the Python API come back as plain JSON
    spec = net((4,), {"type": "dense", "units": 2, "name": "d"},
               {"type": "dense", "units": 2, "inputs": "d"}, loss="mse")
    spec["input"] = (4,)
    ns = validate(spec)
    assert ns.to_spec()["input"] == [4] and ns.layers[1]["inputs"] == ["d"]
    assert validate(ns.to_spec(full=True)) == ns


def test_theirs_tables_win_over_fallbacks(monkeypatch):
    fake_losses = types.ModuleType("pyengine.losses")
    fake_losses.LOSSES = {"focal": {"gamma": 2.0, "fn": print}}  # callables in the table are ignored
    monkeypatch.setitem(sys.modules, "pyengine.losses", fake_losses)
    spec = net((4,), {"type": "dense", "units": 3}, loss={"type": "focal", "gamma": 3})
    assert validate(spec).loss == {"type": "focal", "gamma": 3.0}
    spec["loss"] = "mse"
    assert one_error(spec).startswith("spec: field 'loss': unknown loss type 'mse'")
    fake_optim = types.ModuleType("pyengine.optim")
    fake_optim.OPTIMIZERS = {"lion": {"lr": 1e-4, "beta1": 0.9}}
    fake_optim.COMMON_DEFAULTS = {"l2": 0.0}
    fake_optim.SCHEDULES = {}
    monkeypatch.setitem(sys.modules, "pyengine.optim", fake_optim)
    spec = net((4,), {"type": "dense", "units": 3}, loss="focal")
    spec["optimizer"] = {"type": "lion"}
    assert validate(spec).optimizer == {"type": "lion", "lr": 1e-4, "beta1": 0.9, "l2": 0.0, "schedule": None}


def test_fallback_tables_when_modules_are_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyengine.losses", None)  # import now raises ImportError
    monkeypatch.setitem(sys.modules, "pyengine.optim", None)
    ns = validate({**net((4,), {"type": "dense", "units": 3}, loss={"type": "hinge"}),
                   "optimizer": {"type": "rmsprop"}})
    assert ns.loss == {"type": "hinge", "margin": 1.0}
    assert ns.optimizer["rho"] == 0.9 and ns.optimizer["clipvalue"] is None


# --------------------------------------------------------------------------------------------
# infer_shapes: partial results for the UI


def test_infer_shapes_partial():
    spec = net((8, 8, 1),
               {"type": "conv2d", "filters": 2, "kernel_size": 3},
               {"type": "dense", "units": -3},
               {"type": "flatten"},
               {"type": "dense", "units": 4, "inputs": ["conv2d_0"]},
               {"type": "conv2d", "filters": 2, "kernel_size": 3, "inputs": ["conv2d_0"]})
    info = infer_shapes(spec)
    assert info[0] == ((6, 6, 2), 20, [])
    assert info[1] == (None, None, ["field 'units': expected a positive integer, got -3"])
    assert info[2] == (None, None, [])  # downstream of a broken layer: unknown, but not an error of its own
    assert info[3].output_shape is None
    assert info[3].messages == ["expects a flat input, got (6, 6, 2); add a flatten layer"]
    assert info[4].output_shape == (4, 4, 2) and info[4].param_count == 38
    assert infer_shapes(None) == [] and infer_shapes({"layers": "x"}) == []
    # a missing input still lets fields be checked
    assert infer_shapes({"layers": [{"type": "dense"}]}) == [(None, None, ["field 'units': missing; expected "
                                                                            "a positive integer"])]


# --------------------------------------------------------------------------------------------
# Bad specs: exact messages


def dense_at_4(units):
    s = example()
    s["layers"].insert(4, {"type": "dense", "units": units})
    return s


def with_layer(i, **fields):
    s = example()
    s["layers"][i].update(fields)
    return s


def conv_stack():
    # (24,24,1) -> conv k5 valid (20,20,8) -> pool (10,10,8) -> conv k5 (6,6,16) -> dropout
    return net((24, 24, 1),
               {"type": "conv2d", "filters": 8, "kernel_size": 5},
               {"type": "maxpool2d"},
               {"type": "conv2d", "filters": 16, "kernel_size": 5},
               {"type": "dropout", "rate": 0.1})


def dense_on_image():
    s = conv_stack()
    s["layers"].append({"type": "dense", "units": 10})
    return s


BAD = [
    ("units_negative", lambda: dense_at_4(-3),
     "layer 4 'dense_4': field 'units': expected a positive integer, got -3"),
    ("dense_on_image", dense_on_image,
     "layer 4 'dense_4': expects a flat input, got (6, 6, 16); add a flatten layer"),
    ("units_float", lambda: dense_at_4(8.5), "layer 4 'dense_4': field 'units': expected a positive integer, got 8.5"),
    ("units_bool", lambda: dense_at_4(True),
     "layer 4 'dense_4': field 'units': expected a positive integer, got true (a boolean)"),
    ("units_string", lambda: dense_at_4("10"),
     "layer 4 'dense_4': field 'units': expected a positive integer, got '10' (a string)"),
    ("unknown_type", lambda: with_layer(5, type="dens"),
     "layer 5 'dens_5': field 'type': unknown layer type 'dens'; did you mean 'dense'?"),
    ("convnetjs_type", lambda: with_layer(5, type="fc"),
     "layer 5 'fc_5': field 'type': unknown layer type 'fc'; did you mean 'dense'?"),
    ("missing_type", lambda: net((3,), {"units": 3}),
     "layer 0 'layer_0': field 'type': missing; expected a layer type, one of add, avgpool2d, batchnorm, concat, "
     "conv2d, dense, dropout, elu, embedding, flatten, gelu, globalavgpool2d, gru, layernorm, leaky_relu, lstm, "
     "maxout, maxpool2d, relu, reshape, rnn, sigmoid, softmax, tanh"),
    ("unknown_field", lambda: with_layer(5, unit=3),
     "layer 5 'dense_5': field 'unit': unknown field for dense; did you mean 'units'?"),
    ("unknown_field_no_match", lambda: with_layer(4, foo=1),
     "layer 4 'flatten_4': field 'foo': unknown field for flatten; flatten takes no fields besides type, name "
     "and inputs"),
    ("kernel_zero", lambda: with_layer(0, kernel_size=0),
     "layer 0 'conv1': field 'kernel_size': expected a positive integer or a list of 2 positive integers, got 0"),
    ("kernel_three_dims", lambda: with_layer(0, kernel_size=[3, 3, 3]),
     "layer 0 'conv1': field 'kernel_size': expected a positive integer or a list of 2 positive integers, "
     "got [3, 3, 3]"),
    ("missing_kernel", lambda: net((5, 5, 1), {"type": "conv2d", "filters": 2}),
     "layer 0 'conv2d_0': field 'kernel_size': missing; expected a positive integer or a list of 2 positive "
     "integers"),
    ("padding_case", lambda: with_layer(2, padding="SAME"),
     "layer 2 'conv2d_2': field 'padding': expected 'valid', 'same', a non-negative integer or a list of 2 "
     "non-negative integers [ph, pw], got 'SAME' (a string); did you mean 'same'?"),
    ("rate_one", lambda: net((4,), {"type": "dropout", "rate": 1.0}),
     "layer 0 'dropout_0': field 'rate': expected a number in [0, 1), got 1.0"),
    ("rate_nan", lambda: net((4,), {"type": "dropout", "rate": float("nan")}),
     "layer 0 'dropout_0': field 'rate': expected a number in [0, 1), got NaN"),
    ("kernel_too_big", lambda: net((4, 4, 1), {"type": "conv2d", "filters": 2, "kernel_size": 5}),
     "layer 0 'conv2d_0': field 'kernel_size': kernel 5x5 is larger than its padded input 4x4 (input 4x4, "
     "pads ((0, 0), (0, 0))), so the output size would be <= 0; use a smaller kernel, more padding "
     "(e.g. 'same') or less downsampling before this layer"),
    ("dilated_too_big", lambda: net((6, 6, 1), {"type": "conv2d", "filters": 2, "kernel_size": 3,
                                                "dilation_rate": 3, "padding": [0, 1]}),
     "layer 0 'conv2d_0': field 'kernel_size': kernel 3x3 with dilation 3x3 spans 7x7 is larger than its padded "
     "input 6x8 (input 6x6, pads ((0, 0), (1, 1))), so the output size would be <= 0; use a smaller kernel, "
     "more padding (e.g. 'same') or less downsampling before this layer"),
    ("pool_too_big", lambda: with_layer(3, pool_size=13, strides=1),
     "layer 3 'maxpool2d_3': field 'pool_size': pool 13x13 is larger than its padded input 12x12 (input 12x12, "
     "pads ((0, 0), (0, 0))), so the output size would be <= 0; use a smaller pool, more padding (e.g. 'same') "
     "or less downsampling before this layer"),
    ("pool_padding", lambda: net((6, 6, 1), {"type": "maxpool2d", "pool_size": 3, "padding": 2}),
     "layer 0 'maxpool2d_0': field 'padding': padding 2 is more than half the pool size 3; some windows would "
     "hold only padding"),
    ("reshape_count", lambda: net((256,), {"type": "reshape", "target_shape": [7, 7, 2]}),
     "layer 0 'reshape_0': field 'target_shape': cannot reshape (256,) (256 elements) to (7, 7, 2) (98 elements); "
     "the element counts must match (use -1 for one inferred axis)"),
    ("reshape_indivisible", lambda: net((10,), {"type": "reshape", "target_shape": [3, -1]}),
     "layer 0 'reshape_0': field 'target_shape': cannot reshape (10,) (10 elements) to (3, -1): 10 is not "
     "divisible by 3"),
    ("reshape_two_unknowns", lambda: net((16,), {"type": "reshape", "target_shape": [-1, -1, 4]}),
     "layer 0 'reshape_0': field 'target_shape': at most one -1 is allowed, got [-1, -1, 4]"),
    ("add_mismatch", lambda: net((8, 8, 4),
                                 {"type": "conv2d", "name": "a", "filters": 4, "kernel_size": 1},
                                 {"type": "conv2d", "name": "b", "filters": 6, "kernel_size": 1},
                                 {"type": "add", "inputs": ["input", "a", "b"]}),
     "layer 2 'add_2': add needs inputs of the same shape, got 'input' (8, 8, 4), 'a' (8, 8, 4), 'b' (8, 8, 6)"),
    ("add_one_input", lambda: net((8,), {"type": "dense", "units": 8}, {"type": "dense", "units": 8},
                                  {"type": "add"}),
     "layer 2 'add_2': field 'inputs': add needs at least 2 inputs, got 1 (the previous layer, by default); "
     "list them in 'inputs', e.g. ['dense_0', 'dense_1']"),
    ("concat_mismatch", lambda: net((8, 8, 4),
                                    {"type": "maxpool2d", "name": "p"},
                                    {"type": "concat", "inputs": ["input", "p"]}),
     "layer 1 'concat_1': concat along axis -1 needs the other axes to match, got 'input' (8, 8, 4), "
     "'p' (4, 4, 4)"),
    ("concat_rank", lambda: net((8, 8, 4), {"type": "flatten", "name": "f"},
                                {"type": "concat", "inputs": ["input", "f"]}),
     "layer 1 'concat_1': concat needs inputs of the same rank, got 'input' (8, 8, 4), 'f' (256,)"),
    ("concat_batch_axis", lambda: net((8,), {"type": "concat", "inputs": ["input", "input"], "axis": 0}),
     "layer 0 'concat_0': field 'axis': axis 0 is the batch axis; use -1 (the last axis) or another axis in "
     "1..1 / -1..-1"),
    ("softmax_axis_range", lambda: net((3, 5), {"type": "softmax", "axis": 3}),
     "layer 0 'softmax_0': field 'axis': axis 3 is out of range for inputs (3, 5); axes count the batch axis "
     "(as in Keras), so use 1..2 or -2..-1"),
    ("maxout_indivisible", lambda: net((4, 4, 16), {"type": "maxout", "pieces": 3}),
     "layer 0 'maxout_0': field 'pieces': maxout with pieces 3 needs the last axis (16) to be divisible by 3; "
     "input is (4, 4, 16)"),
    ("unknown_activation", lambda: with_layer(0, activation="rleu"),
     "layer 0 'conv1': field 'activation': unknown activation 'rleu'; did you mean 'relu'?"),
    ("activation_number", lambda: with_layer(5, activation=1),
     "layer 5 'dense_5': field 'activation': expected null or one of 'linear', 'relu', 'leaky_relu', 'elu', "
     "'gelu', 'sigmoid', 'tanh', 'softmax', got 1"),
    ("conv_on_flat", lambda: net((784,), {"type": "conv2d", "filters": 4, "kernel_size": 3}),
     "layer 0 'conv2d_0': expects an image input (H, W, C), got (784,); reshape to (H, W, C) first, e.g. add "
     "{'type': 'reshape', 'target_shape': [28, 28, 1]} before it"),
    ("pool_on_2d", lambda: net((28, 28), {"type": "maxpool2d"}),
     "layer 0 'maxpool2d_0': expects an image input (H, W, C), got (28, 28); reshape to (H, W, C) first, e.g. "
     "target_shape [28, 28, 1]"),
    ("lstm_on_flat", lambda: net((10,), {"type": "lstm", "units": 4}),
     "layer 0 'lstm_0': expects a sequence input (T, F), got (10,); add a reshape layer to (T, F), or an "
     "embedding layer for integer ids"),
    ("embedding_on_2d", lambda: net((4, 4), {"type": "embedding", "input_dim": 10, "output_dim": 3}),
     "layer 0 'embedding_0': expects a sequence of integer ids (T,), got (4, 4)"),
    ("layer_not_dict", lambda: net((4,), {"type": "relu"}, "dense"),
     "layer 1: expected a layer object like {'type': 'dense', 'units': 10}, got 'dense' (a string)"),
    ("duplicate_name", lambda: net((4,), {"type": "relu", "name": "x"}, {"type": "tanh", "name": "x"}),
     "layer 1 'x': field 'name': 'x' is already the name of layer 0; layer names must be unique"),
    ("default_name_clash", lambda: net((4,), {"type": "relu", "name": "tanh_1"}, {"type": "tanh"}),
     "layer 1 'tanh_1': field 'name': its default name 'tanh_1' is already the name of layer 0; layer names "
     "must be unique"),
    ("reserved_name", lambda: net((4,), {"type": "relu", "name": "input"}),
     "layer 0 'relu_0': field 'name': 'input' is reserved for the model input; choose another name"),
    ("input_later_layer", lambda: net((4,), {"type": "relu", "inputs": ["t"]}, {"type": "tanh", "name": "t"}),
     "layer 0 'relu_0': field 'inputs': 't' is layer 1, which comes after this one; inputs must name earlier "
     "layers (or 'input')"),
    ("input_unknown", lambda: net((4,), {"type": "relu", "name": "act"}, {"type": "tanh", "inputs": ["actt"]}),
     "layer 1 'tanh_1': field 'inputs': no layer is named 'actt'; did you mean 'act'?"),
    ("input_self", lambda: net((4,), {"type": "relu", "name": "r", "inputs": ["r"]}),
     "layer 0 'r': field 'inputs': 'r' is this layer; a layer cannot take its own output as input"),
    ("several_inputs_to_dense", lambda: net((4,), {"type": "relu", "name": "r"},
                                           {"type": "dense", "units": 2, "inputs": ["input", "r"]}),
     "layer 1 'dense_1': field 'inputs': only add and concat take several inputs; dense got 2 ('input', 'r')"),
    ("loss_unknown", lambda: {**example(), "loss": "msee"},
     "spec: field 'loss': unknown loss type 'msee'; did you mean 'mse'?"),
    ("loss_keras_name", lambda: {**example(), "loss": "categorical_crossentropy"},
     "spec: field 'loss': unknown loss type 'categorical_crossentropy'; did you mean 'softmax_cross_entropy'?"),
    ("loss_field", lambda: {**example(), "loss": {"type": "huber", "delta": -1}},
     "spec: field 'loss.delta': expected a positive number, got -1"),
    ("loss_not_str", lambda: {**example(), "loss": 3},
     "spec: field 'loss': expected a loss name such as 'softmax_cross_entropy' or an object like "
     "{'type': 'huber', 'delta': 1.0}, got 3"),
    ("loss_vs_output", lambda: net((4,), {"type": "dense", "units": 1}, loss="softmax_cross_entropy"),
     "spec: field 'loss': softmax_cross_entropy needs a 1-D output (K,) with K >= 2 classes, but the last layer "
     "'dense_0' gives (1,); give the last layer one unit per class (at least 2), or use binary_cross_entropy for "
     "a single output"),
    ("hinge_vs_image", lambda: net((4, 4, 2), {"type": "relu"}, loss="hinge"),
     "spec: field 'loss': hinge needs a 1-D output (K,) with K >= 2 classes, but the last layer 'relu_0' gives "
     "(4, 4, 2); add flatten and dense layers (units = number of classes) at the end"),
    ("default_loss_vs_output", lambda: {"input": [3], "layers": [{"type": "dense", "units": 1}]},
     "spec: field 'loss': no 'loss' given, so the default softmax_cross_entropy is used, which needs a 1-D output "
     "(K,) with K >= 2 classes; the last layer 'dense_0' gives (1,); set 'loss' (e.g. 'mse' for regression) or "
     "give the last layer one unit per class (at least 2), or use binary_cross_entropy for a single output"),
    ("optimizer_type", lambda: {**example(), "optimizer": {"type": "adamm"}},
     "spec: field 'optimizer.type': unknown optimizer type 'adamm'; did you mean 'adam'?"),
    ("optimizer_missing_type", lambda: {**example(), "optimizer": {"lr": 0.1}},
     "spec: field 'optimizer': missing 'type'; expected one of 'sgd', 'momentum', 'nesterov', 'adagrad', "
     "'rmsprop', 'adadelta', 'adam', 'adamw', e.g. {'type': 'adam'}"),
    ("optimizer_string", lambda: {**example(), "optimizer": "adam"},
     "spec: field 'optimizer': expected an object with a 'type', e.g. {'type': 'adam', 'lr': 0.001}, got 'adam' "
     "(a string); write {'type': 'adam'}"),
    ("optimizer_field", lambda: {**example(), "optimizer": {"type": "adam", "betta1": 0.8}},
     "spec: field 'optimizer.betta1': unknown field for adam; did you mean 'beta1'?"),
    ("optimizer_lr_bool", lambda: {**example(), "optimizer": {"type": "sgd", "lr": True}},
     "spec: field 'optimizer.lr': expected a non-negative number, got true (a boolean)"),
    ("schedule_missing_field", lambda: {**example(), "optimizer": {"type": "sgd", "schedule": {"type": "step"}}},
     "spec: field 'optimizer.schedule.step_size': missing; step needs a positive integer"),
    ("schedule_type", lambda: {**example(), "optimizer": {"type": "sgd", "schedule": {"type": "cosin",
                                                                                     "total_steps": 5}}},
     "spec: field 'optimizer.schedule.type': unknown schedule type 'cosin'; did you mean 'cosine'?"),
    ("seed_negative", lambda: {**example(), "seed": -1},
     "spec: field 'seed': expected a non-negative integer, got -1"),
    ("seed_float", lambda: {**example(), "seed": 1.5}, "spec: field 'seed': expected a non-negative integer, got 1.5"),
    ("backend", lambda: {**example(), "backend": "webgl"},
     "spec: field 'backend': expected one of 'auto', 'numpy', 'webgpu', got 'webgl' (a string); did you mean "
     "'webgpu'?"),
    ("top_level_typo", lambda: {**example(), "optimiser": {"type": "sgd"}},
     "spec: field 'optimiser': unknown field; did you mean 'optimizer'?"),
    ("missing_input", lambda: {"layers": [{"type": "relu"}], "loss": "mse"},
     "spec: field 'input': missing; expected a non-empty list of positive integers: the shape of one example "
     "without the batch axis, e.g. [28, 28, 1]"),
    ("empty_input", lambda: {**example(), "input": []},
     "spec: field 'input': expected a non-empty list of positive integers: the shape of one example without the "
     "batch axis, e.g. [28, 28, 1], got []"),
    ("bool_in_input", lambda: {**example(), "input": [24, True, 1]},
     "spec: field 'input': expected a non-empty list of positive integers: the shape of one example without the "
     "batch axis, e.g. [28, 28, 1], got [24, true, 1]"),
    ("missing_layers", lambda: {"input": [3]},
     "spec: field 'layers': missing; expected a list of layer objects, e.g. [{'type': 'dense', 'units': 10}]"),
    ("empty_layers", lambda: {"input": [3], "layers": []}, "spec: field 'layers': expected at least one layer, got []"),
    ("layers_not_list", lambda: {"input": [3], "layers": "dense"},
     "spec: field 'layers': expected a list of layer objects, got 'dense' (a string)"),
    ("spec_none", lambda: None,
     "spec: expected the spec to be an object like {'input': [...], 'layers': [...]}, got null"),
    ("spec_json_text", lambda: json.dumps(EXAMPLE),
     "spec: expected the spec to be an object (dict), got a str; parse the JSON first (json.loads)"),
    ("budget_params", lambda: net((1,), {"type": "embedding", "input_dim": 3_145_729, "output_dim": 10}),
     "spec: the network has 31,457,290 parameters; the limit is 20,000,000 (the largest layer is 'embedding_0' "
     "with 31,457,290)"),
    ("budget_activations", lambda: net((512, 512, 3), {"type": "conv2d", "filters": 64, "kernel_size": 3,
                                                       "padding": "same"}),
     # 512*512*64 values * 4 bytes * 2 (gradients) * 32 examples
     "spec: activation memory for a batch of 32 is 4,294,967,296 bytes (4.00 GiB, outputs and their gradients as "
     "float32); the limit is 1,073,741,824 bytes; the largest output is 'conv2d_0' (512, 512, 64); use a smaller "
     "batch, fewer filters or more downsampling"),
]


@pytest.mark.parametrize("make,expected", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_spec_message(make, expected):
    assert one_error(make()) == expected


def test_many_problems_reported_at_once():
    s = example()
    s["layers"][0]["activation"] = "rleu"
    s["layers"][1]["type"] = "maxpool"
    s["layers"][2]["kernel_size"] = 0
    s["layers"].insert(4, {"type": "dense", "units": -3})
    s["layers"][6]["unit"] = 10
    s["optimizer"]["lr"] = -1
    s["seed"] = "0"
    with pytest.raises(SpecError) as info:
        validate(s)
    err = info.value
    assert str(err).splitlines() == [
        "layer 0 'conv1': field 'activation': unknown activation 'rleu'; did you mean 'relu'?",
        "layer 1 'maxpool_1': field 'type': unknown layer type 'maxpool'; did you mean 'maxpool2d'?",
        "layer 2 'conv2d_2': field 'kernel_size': expected a positive integer or a list of 2 positive integers, got 0",
        "layer 4 'dense_4': field 'units': expected a positive integer, got -3",
        "layer 6 'dense_6': field 'unit': unknown field for dense; did you mean 'units'?",
        "spec: field 'optimizer.lr': expected a non-negative number, got -1",
        "spec: field 'seed': expected a non-negative integer, got '0' (a string)",
    ]
    js = err.to_json()
    assert js[3] == {"index": 4, "name": "dense_4", "field": "units",
                     "message": "expected a positive integer, got -3"}
    assert js[5] == {"index": None, "name": None, "field": "optimizer.lr",
                     "message": "expected a non-negative number, got -1"}
    json.dumps(js)
    assert isinstance(err, ValueError)
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) and again.problems == err.problems


def test_budget_is_overridable():
    spec = net((1,), {"type": "embedding", "input_dim": 3_145_729, "output_dim": 10})
    assert validate(spec, budget={"max_params": None}).param_count == 31_457_290
    assert one_error(example(), budget={"max_params": 1000}).startswith(
        "spec: the network has 5,994 parameters; the limit is 1,000")
    # 68,688 bytes per example * 16 > 1,000,000
    assert one_error(example(), budget={"max_activation_bytes": 1_000_000, "batch_size": 16}).startswith(
        "spec: activation memory for a batch of 16 is 1,099,008 bytes")
    assert S.DEFAULT_BUDGET == {"max_params": 20_000_000, "max_activation_bytes": 1 << 30, "batch_size": 32}
    with pytest.raises(ValueError):
        validate(example(), budget={"max_param": 5})


def test_describe_fields_for_ui():
    rows = S.describe_fields("maxpool2d")
    assert [r["name"] for r in rows] == ["pool_size", "strides", "padding"]
    assert rows[1]["default"] == {"same_as": "pool_size"} and rows[0]["default"] == 2
    assert S.describe_fields("dense")[0] == {"name": "units", "expected": "a positive integer", "required": True,
                                             "default": None}
    json.dumps({t: S.describe_fields(t) for t in S.LAYER_TYPES})


# --------------------------------------------------------------------------------------------
# Garbage never escapes as anything but SpecError

JUNK = [None, True, False, 0, -1, 1, 2, 3, 1.5, -0.0, float("nan"), float("inf"), 10 ** 30, -(10 ** 30), "",
        "same", "relu", "input", "dense", "x" * 300, [], [0], [2, 2], [-1, 4], [None], [[1]], {}, {"type": "dense"},
        {"type": None}, {"a": {"b": [1, {"c": 2}]}}, [1, 2, 3, 4, 5, 6, 7, 8], {1: 2}, (3, 3)]


def _mutate(spec, rng):
    """One random edit somewhere in the nested structure."""
    containers = []

    def walk(node):
        if isinstance(node, dict):
            containers.append(node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            containers.append(node)
            for v in node:
                walk(v)
    walk(spec)
    node = rng.choice(containers)
    op = rng.random()
    if isinstance(node, dict):
        keys = list(node)
        if keys and op < 0.6:
            node[rng.choice(keys)] = copy.deepcopy(rng.choice(JUNK))
        elif keys and op < 0.8:
            del node[rng.choice(keys)]
        else:
            node[rng.choice(["type", "name", "inputs", "units", "axis", "padding", "zzz", "schedule",
                             "strides", "kernel_size", "target_shape", "pieces"])] = copy.deepcopy(rng.choice(JUNK))
    else:
        if node and op < 0.5:
            node[rng.randrange(len(node))] = copy.deepcopy(rng.choice(JUNK))
        elif node and op < 0.7:
            del node[rng.randrange(len(node))]
        elif node and op < 0.85:
            node.insert(rng.randrange(len(node) + 1), copy.deepcopy(node[rng.randrange(len(node))]))
        else:
            rng.shuffle(node)
    return spec


def test_fuzz_only_spec_error_escapes():
    rng = random.Random(1234)
    seen_ok = seen_err = 0
    for trial in range(400):
        spec = example()
        for _ in range(rng.randint(1, 4)):
            if rng.random() < 0.03:
                spec = copy.deepcopy(rng.choice(JUNK))
            if isinstance(spec, (dict, list)) and spec:
                spec = _mutate(spec, rng)
        try:
            validate(spec)
            seen_ok += 1
        except SpecError as e:
            seen_err += 1
            assert e.problems and all(str(p) for p in e.problems)
            json.dumps(e.to_json())
        info = infer_shapes(spec)  # never raises either
        assert all(len(row) == 3 for row in info)
    assert seen_err > 100 and seen_ok > 10  # the loop exercised both outcomes
