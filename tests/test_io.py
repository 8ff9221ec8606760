"""Model files (save/load) and ConvNetJS import."""
import json
import struct

import numpy as np
import pytest

import pyengine
from pyengine import ModelFileError
from pyengine.io import MAGIC

BN_CONV_SPEC = {
    "input": [8, 8, 2],
    "layers": [
        {"type": "conv2d", "filters": 4, "kernel_size": 3, "padding": "same", "name": "c1"},
        {"type": "batchnorm", "name": "bn"},
        {"type": "relu"},
        {"type": "maxpool2d"},
        {"type": "flatten"},
        {"type": "dropout", "rate": 0.3},
        {"type": "dense", "units": 3}],
    "loss": "softmax_cross_entropy", "optimizer": {"type": "momentum", "lr": 0.05}, "seed": 3,
}


def trained_model():
    model = pyengine.build(BN_CONV_SPEC)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 8, 8, 2)).astype(np.float32)
    y = np.arange(16) % 3
    for _ in range(4):
        model.train_step(x, y)
    return model, x


def test_save_then_load_gives_identical_predictions_and_weights():
    model, x = trained_model()
    blob = pyengine.save(model)
    assert blob[:8] == MAGIC
    again = pyengine.load(blob)
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(again.state_dict()[k], v)
    assert again.spec == model.spec and again.step_count == 4
    assert "bn.running_var" in again.state_dict()


def test_saved_size_is_header_plus_float32_weights():
    model, _ = trained_model()
    blob = pyengine.save(model)
    (hlen,) = struct.unpack("<I", blob[8:12])
    data_start = 12 + hlen + (-(12 + hlen) % 8)
    assert len(blob) - data_start == 4 * sum(v.size for v in model.state_dict().values())


def corrupt(blob, fn):
    (hlen,) = struct.unpack("<I", blob[8:12])
    header = json.loads(blob[12:12 + hlen])
    fn(header)
    new = json.dumps(header).encode()
    head = MAGIC + struct.pack("<I", len(new)) + new
    head += b"\0" * (-len(head) % 8)
    return head + blob[12 + hlen + (-(12 + hlen) % 8):]


@pytest.mark.parametrize("mutate, message", [
    (lambda b: b"GARBAGE!" + b[8:], "not an nnplay model file"),
    (lambda b: b'{"layers": []}', "looks like a ConvNetJS JSON file"),
    (lambda b: b[:40], "truncated"),
    (lambda b: b[:-12], "truncated: tensor 'dense_6.bias'"),
    (lambda b: b[:12] + b"{" * (len(b) - 12), "header is not valid JSON"),
    (lambda b: corrupt(b, lambda h: h.update(version=7)), "version 7 is not supported"),
    (lambda b: corrupt(b, lambda h: h["tensors"][0].update(shape=[3, 3, 2, 5])),
     r"tensor 'c1.weight' has shape \(3, 3, 2, 5\), the spec needs \(3, 3, 2, 4\)"),
    (lambda b: corrupt(b, lambda h: h["tensors"].pop()), r"lacks tensor\(s\) \['dense_6.bias'\]"),
    (lambda b: corrupt(b, lambda h: h["tensors"][0].update(name="zzz")), "tensor 'zzz' that the spec has no parameter"),
    (lambda b: corrupt(b, lambda h: h["spec"]["layers"][0].update(filters=-1)), "layer 0 'c1'"),
])
def test_a_corrupt_model_file_is_refused_with_a_message_naming_the_problem(mutate, message):
    model, _ = trained_model()
    with pytest.raises((ModelFileError, pyengine.SpecError), match=message):
        pyengine.load(mutate(pyengine.save(model)))


def test_nan_weights_in_a_file_are_refused():
    model, _ = trained_model()
    blob = bytearray(pyengine.save(model))
    blob[-4:] = np.array([np.nan], "<f4").tobytes()
    with pytest.raises(ModelFileError, match="contains NaN/inf"):
        pyengine.load(bytes(blob))


# A ConvNetJS net.toJSON() written by hand. Input 3x3x1:
#   1 2 0
#   0 1 3
#   2 0 1
# conv 2x2 (one filter [[1, 0], [0, -1]], bias 0.5): [[0.5, -0.5], [0.5, 0.5]]; relu: [[0.5, 0], [0.5, 0.5]]
# pool 2x2 stride 2: 0.5; fc (weights 2 and -1, biases 0.1 and 0.2): [1.1, -0.3]
# softmax: [1 / (1 + e^-1.4), e^-1.4 / (1 + e^-1.4)] = [0.8021839, 0.1978161]
def vol(values, sx=1, sy=1, depth=None, as_object=False):
    w = {str(i): v for i, v in enumerate(values)} if as_object else list(values)
    return {"sx": sx, "sy": sy, "depth": depth or len(values), "w": w}


CONVNETJS_NET = {"layers": [
    {"layer_type": "input", "out_sx": 3, "out_sy": 3, "out_depth": 1},
    {"layer_type": "conv", "sx": 2, "sy": 2, "stride": 1, "pad": 0, "in_depth": 1, "out_depth": 1,
     "out_sx": 2, "out_sy": 2, "l1_decay_mul": 0, "l2_decay_mul": 1,
     "filters": [vol([1, 0, 0, -1], 2, 2, 1, as_object=True)], "biases": vol([0.5], as_object=True)},
    {"layer_type": "relu", "out_sx": 2, "out_sy": 2, "out_depth": 1},
    {"layer_type": "pool", "sx": 2, "sy": 2, "stride": 2, "pad": 0, "in_depth": 1, "out_depth": 1,
     "out_sx": 1, "out_sy": 1},
    {"layer_type": "fc", "out_depth": 2, "num_inputs": 1, "out_sx": 1, "out_sy": 1,
     "filters": [vol([2.0]), vol([-1.0])], "biases": vol([0.1, 0.2])},
    {"layer_type": "softmax", "out_depth": 2, "num_inputs": 2, "out_sx": 1, "out_sy": 1},
]}


def test_convnetjs_import_predicts_what_convnetjs_computes():
    model = pyengine.from_convnetjs(json.dumps(CONVNETJS_NET))
    assert [c["type"] for c in model.nspec.layers] == ["conv2d", "relu", "maxpool2d", "flatten", "dense"]
    x = np.array([[1, 2, 0], [0, 1, 3], [2, 0, 1]], np.float32).reshape(1, 3, 3, 1)
    p0 = 1 / (1 + np.exp(-1.4))
    np.testing.assert_allclose(model.predict(x), [[p0, 1 - p0]], rtol=1e-6)


def test_convnetjs_channel_layout_matches_ours():
    # Input 1x2x2 with w = [1, 2, 3, 4] ((x=0: d0=1, d1=2), (x=1: d0=3, d1=4)).
    # 1x1 conv, filters (1, 10) and (0, -1): x=0 -> (21, -2), x=1 -> (43, -4).
    # fc over the flattened (y, x, d) order [21, -2, 43, -4] with weights [1, 1, 0.5, 0]: 40.5.
    net = {"layers": [
        {"layer_type": "input", "out_sx": 2, "out_sy": 1, "out_depth": 2},
        {"layer_type": "conv", "sx": 1, "sy": 1, "stride": 1, "pad": 0, "in_depth": 2, "out_depth": 2,
         "filters": [vol([1, 10]), vol([0, -1])], "biases": vol([0, 0])},
        {"layer_type": "fc", "out_depth": 1, "filters": [vol([1, 1, 0.5, 0])], "biases": vol([0])},
        {"layer_type": "regression", "out_depth": 1}]}
    model = pyengine.from_convnetjs(net)
    x = np.array([1, 2, 3, 4], np.float32).reshape(1, 1, 2, 2)
    np.testing.assert_allclose(model.predict(x), [[40.5]], rtol=1e-6)
    assert model.loss_type == "mse"


def test_convnetjs_two_d_nets_import_as_flat_inputs_with_svm_and_tanh():
    net = {"layers": [
        {"layer_type": "input", "out_sx": 1, "out_sy": 1, "out_depth": 2},
        {"layer_type": "fc", "out_depth": 2, "filters": [vol([1, 0]), vol([0, 1])], "biases": vol([0, 0])},
        {"layer_type": "tanh"},
        {"layer_type": "fc", "out_depth": 2, "filters": [vol([1, -1]), vol([-1, 1])], "biases": vol([0, 0])},
        {"layer_type": "svm", "num_classes": 2}]}
    model = pyengine.from_convnetjs(net)
    assert model.input_shape == (2,) and model.loss_type == "hinge"
    t = np.tanh([0.5, -0.5])
    np.testing.assert_allclose(model.predict(np.array([[0.5, -0.5]])), [[t[0] - t[1], t[1] - t[0]]], rtol=1e-6)


def test_convnetjs_dropout_predicts_with_convnetjs_test_time_scaling():
    # ConvNetJS multiplies by drop_prob (0.25 here) at test time. Input [1, 2] -> fc [[1, 0], [0, 1]]
    # -> relu [1, 2] -> dropout x0.25 -> [0.25, 0.5] -> fc (weights [2, 4], bias 1) -> 1 + 0.5 + 2 = 3.5.
    net = {"layers": [
        {"layer_type": "input", "out_sx": 1, "out_sy": 1, "out_depth": 2},
        {"layer_type": "fc", "out_depth": 2, "filters": [vol([1, 0]), vol([0, 1])], "biases": vol([0, 0])},
        {"layer_type": "relu"},
        {"layer_type": "dropout", "drop_prob": 0.25},
        {"layer_type": "fc", "out_depth": 1, "filters": [vol([2, 4])], "biases": vol([1])},
        {"layer_type": "regression", "out_depth": 1}]}
    model = pyengine.from_convnetjs(net)
    assert [c["type"] for c in model.nspec.layers] == ["dense", "relu", "dropout", "dense"]
    np.testing.assert_allclose(model.predict(np.array([[1.0, 2.0]])), [[3.5]], rtol=1e-6)


@pytest.mark.parametrize("net, message", [
    ("{not json", "not valid JSON"),
    ({"nope": 1}, "non-empty \"layers\" list"),
    ({"layers": [{"layer_type": "fc"}]}, "first layer must be of layer_type \"input\""),
    ({"layers": [{"layer_type": "input", "out_sx": 1, "out_sy": 1, "out_depth": 2}, {"layer_type": "lrn"}]},
     "layer_type 'lrn' is not supported"),
    ({"layers": [{"layer_type": "input", "out_sx": 1, "out_sy": 1, "out_depth": 2},
                 {"layer_type": "fc", "out_depth": 1}]}, r"ConvNetJS layer 1 \(fc\): missing field 'filters'"),
    ({"layers": [{"layer_type": "input", "out_sx": 1, "out_sy": 1, "out_depth": 2},
                 {"layer_type": "fc", "out_depth": 1, "filters": [vol([1, 2, 3])], "biases": vol([0])}]},
     r"ConvNetJS layer 1 \(fc\): each filter needs 2 weights \(one per input\), filter 0 has 3"),
])
def test_bad_convnetjs_files_get_clear_messages(net, message):
    with pytest.raises(ModelFileError, match=message):
        pyengine.from_convnetjs(net)
