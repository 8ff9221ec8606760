"""Bad parameters for each Python entry point (pyengine.checks, and through the playground's RPC
methods): each gives a message naming the field, the value and what is allowed, and the session keeps
its previous network, data and counters."""
import asyncio
import base64
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from pyengine import checks, io as model_io, playground, rpc
from pyengine.presets import playground_presets

MLP = playground_presets()["mlp"]["spec"]


def call(method, **params):
    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API may own this thread's loop
        return json.loads(pool.submit(asyncio.run, rpc.dispatch(method, json.dumps(params))).result())


def ok(method, **params):
    reply = call(method, **params)
    assert "error" not in reply, reply["error"]["message"]
    return reply["result"]


def error(method, **params):
    reply = call(method, **params)
    assert "error" in reply, reply
    return reply["error"]


@pytest.fixture
def session(monkeypatch):
    """A session with the MLP on 200 spiral points and a few steps taken."""
    monkeypatch.setattr(playground, "SESSION", playground.Session())
    ok("playground.setSpec", spec=MLP)
    ok("playground.loadDataset", name="spiral", options={"n": 200})
    ok("playground.train", steps=3)
    return playground.SESSION


def state(s):
    return (json.dumps(s.spec, sort_keys=True), s.dataset["name"], len(s.dataset["x_train"]), s.model.step_count,
            s.examples, s.training)


BAD_DATASETS = [
    ("mnist", {"count": 0}, "count must be a whole number >= 1", "got 0"),
    ("mnist", {"count": -5}, "count must be a whole number >= 1", "got -5"),
    ("mnist", {"count": "abc"}, "count must be a whole number", "got 'abc'"),
    ("mnist", {"count": 2.5}, "count must be a whole number", "got 2.5"),
    ("spiral", {"ratio": "abc"}, "ratio must be a number from 0.05 to 1", "got 'abc'"),
    ("spiral", {"ratio": 0}, "ratio must be a number from 0.05 to 1", "got 0"),
    ("spiral", {"n": "abc"}, "n must be a whole number from 10 to 20000", "got 'abc'"),
    ("spiral", {"n": None}, "n must be a whole number from 10 to 20000", "got null"),
    ("circle", {"noise": "abc"}, "noise must be a number from 0 to 1", "got 'abc'"),
    ("xor", {"noise": 2}, "noise must be a number from 0 to 1", "got 2"),
    ("regression1d", {"n": -5}, "n must be a whole number from 10 to 20000", "got -5"),
    ("regression1d", {"n": 1e9}, "n must be a whole number from 10 to 20000", "got 1000000000"),
    ("gauss", {"n": True}, "n must be a whole number", "got true"),
    ("gauss", {"nn": 100}, "unknown option 'nn'", "allowed: n, noise, ratio, seed"),
    ("gauss", 7, "options must be an object", "got 7"),
    ("constructor", {}, "unknown dataset 'constructor'", "choose one of spiral"),
    ("__proto__", {}, "unknown dataset '__proto__'", "choose one of"),
    (["spiral"], {}, "unknown dataset ['spiral']", "choose one of"),
    ("csv", {"text": 5}, "text must be the CSV file's text", "got 5"),
    ("csv", {"text": "a,b\n1,2\n", "label": [1]}, "label must be a column name", "got [1]"),
    ("images", {"classes": "abc"}, "classes must be a list", "got 'abc'"),
    ("images", {"classes": ["str", "str"]}, "class 1 must be an object {name, images}", "got 'str'"),
    ("images", {"classes": [{"name": "a", "images": ["AAA"]}, {"name": "b", "images": ["AAAA"]}]},
     "class 'a', image 1: not valid base64", ""),
    ("images", {"classes": [{"name": "a", "images": ["AAAA"]}, {"name": "b", "images": ["AAAA"]}]},
     "class 'a', image 1: expected 784 grey pixels (28×28), got 3", ""),
    ("images", {"classes": [{"name": "a", "images": [7]}, {"name": "b", "images": ["AAAA"]}]},
     "class 'a', image 1: expected base64 text of 28×28 grey pixels", "got 7"),
    ("images", {"classes": [{"name": "a", "images": []}, {"name": "b", "images": ["AAAA"]}]},
     "class 'a' has no images", ""),
    ("images", {"size": 1000, "classes": []}, "size must be a whole number from 1 to 64", "got 1000"),
]


@pytest.mark.parametrize("name,options,message,value", BAD_DATASETS)
def test_a_bad_dataset_option_names_field_value_and_range_and_keeps_the_data(session, name, options, message, value):
    before = state(session)
    e = error("playground.loadDataset", name=name, options=options)
    assert message in e["message"] and value in e["message"], e["message"]
    assert e["kind"] == "DataError" and "Traceback" not in e["message"]
    assert state(session) == before
    assert ok("playground.train", steps=1)["steps"] == 1  # the session still trains


BAD_TRAIN = [
    ({"epochs": "abc"}, "epochs must be a positive number", "got 'abc'"),
    ({"epochs": None, "steps": 0}, "steps must be a positive integer", "got 0"),
    ({"steps": -1}, "steps must be a positive integer", "got -1"),
    ({"steps": "abc"}, "steps must be a positive integer", "got 'abc'"),
    ({"steps": 1.5}, "steps must be a positive integer", "got 1.5"),
    ({"epochs": 0}, "epochs must be a positive number", "got 0"),
    ({"epochs": 1e300}, "epochs must be a positive number up to 1000000", "got 1e+300"),
    ({"batchSize": 0}, "batchSize must be a whole number from 1 to 4096", "got 0"),
    ({"batchSize": "16"}, "batchSize must be a whole number from 1 to 4096", "got '16'"),
    ({"earlyStopping": "abc"}, "earlyStopping must be a patience", "got 'abc'"),
    ({"earlyStopping": -2}, "earlyStopping must be a whole number from 1", "got -2"),
    ({"earlyStopping": {"patience": 2, "monitor": "x"}}, "earlyStopping.monitor must be one of", "got 'x'"),
    ({"earlyStopping": {"patience": 2, "nope": 1}}, "earlyStopping has an unknown field 'nope'", ""),
    ({"earlyStopping": {}}, "earlyStopping.patience must be a whole number", "got null"),
    ({"maxSeconds": -1}, "maxSeconds must be a number from 0", "got -1"),
]


@pytest.mark.parametrize("params,message,value", BAD_TRAIN)
def test_a_bad_train_parameter_is_refused_before_training_and_the_session_stays_idle(session, params, message, value):
    before = state(session)
    e = error("playground.train", **params)
    assert message in e["message"] and value in e["message"], e["message"]
    assert e["kind"] == "BadParams"
    assert state(session) == before and not session.training
    assert ok("playground.train", steps=2)["steps"] == 2  # not wedged: the next call trains


def test_good_values_are_normalised_with_their_defaults():
    assert checks.validate_dataset_params("spiral") == {"ratio": 0.8, "seed": 0, "n": 500, "noise": 0.0,
                                                        "features": ["x1", "x2"]}  # 2-D data: the raw inputs
    assert checks.validate_dataset_params("regression1d", {"n": 300.0})["n"] == 300
    assert checks.validate_dataset_params("mnist", {"count": 100}, mnist_available=10000)["count"] == 100
    assert checks.validate_dataset_params("mnist", {}, mnist_available=500)["count"] == 500
    with pytest.raises(checks.ParamError, match="count must be a whole number from 1 to 500, got 600"):
        checks.validate_dataset_params("mnist", {"count": 600}, mnist_available=500)
    p = checks.validate_train_params(5.0)
    assert p == {"steps": 5, "epochs": None, "batch_size": 16, "early_stopping": None, "max_seconds": None}
    assert checks.validate_early_stopping(3) == {"patience": 3}
    assert checks.validate_early_stopping(0) is None and checks.validate_early_stopping(False) is None
    e = pytest.raises(checks.ParamError, checks.validate_train_params, epochs=float("nan")).value
    assert (e.field, "got nan" in str(e)) == ("epochs", True)
    assert "got inf" in str(pytest.raises(checks.ParamError, checks.validate_train_params, epochs=float("inf")).value)


def test_uploaded_images_load_when_valid():
    px = base64.b64encode(bytes(4)).decode()
    out = checks.validate_dataset_params("images", {"size": 2, "classes": [{"name": " cat ", "images": [px]},
                                                                           {"images": [px, px]}]})
    assert [(n, len(i)) for n, i in out["classes"]] == [("cat", 1), ("class 1", 2)]


def test_a_bad_model_file_is_refused_naming_the_problem_and_the_model_stays(session):
    before = state(session)
    for data, message in [("%%%", "bad base64"), (base64.b64encode(b"{}").decode(), "not an nnplay model file"),
                          (5, "bad base64")]:
        e = error("playground.load", bytes=data)
        assert message in e["message"] and e["kind"] == "ModelFileError", e
        assert state(session) == before


CJS_INPUT = {"layer_type": "input", "out_sx": 1, "out_sy": 1, "out_depth": 2}


def cjs(*layers, first=CJS_INPUT):
    return json.dumps({"layers": [first, *layers]})


def fc(filters, biases, depth=None):
    return {"layer_type": "fc", "out_depth": depth or len(filters), "filters": [{"w": w} for w in filters],
            "biases": {"w": biases}}


BAD_CONVNETJS = [
    (cjs(first={"layer_type": "input", "out_sx": 1, "out_depth": 2}),
     "layer 0 (input): missing field 'out_sy' (the input size)"),
    (cjs(first={"layer_type": "input", "out_sx": 1, "out_sy": "x", "out_depth": 2}),
     "layer 0 (input): out_sy must be a whole number >= 1 (the input size), got 'x'"),
    (cjs(fc([[1, 2], [3]], [0, 0])), "layer 1 (fc): filter 1 has 1 weights, filter 0 has 2"),
    (cjs(fc([[1, 2, 3], [3, 4, 5]], [0, 0])), "layer 1 (fc): each filter needs 2 weights (one per input), filter 0 has 3"),
    (cjs(fc([[1, 2]], [0, 0], depth=2)), "layer 1 (fc): out_depth is 2 but there are 1 filters"),
    (cjs(fc([[1, 2]], [0, 0, 0])),
     "layer 1 (fc): biases has 3 values, the layer has 1 outputs"),
    (cjs({"layer_type": "fc", "out_depth": 2}), "layer 1 (fc): missing field 'filters'"),
    (cjs({"layer_type": "conv", "sx": 3, "sy": 3, "out_depth": 1, "stride": 1, "filters": [{"w": [1, 2]}],
          "biases": {"w": [0]}}, first={"layer_type": "input", "out_sx": 4, "out_sy": 4, "out_depth": 1}),
     "layer 1 (conv): each filter needs 9 weights (3×3×1), filter 0 has 2"),
    (cjs({"layer_type": "fc", "out_depth": 1, "filters": [{"w": ["a", 1]}], "biases": {"w": [0]}}),
     "layer 1 (fc) filter 0: weights must be numbers"),
    ("[" * 100000, "ConvNetJS file is"),
    ('{"layers": [' + '{"a": ' * 5000 + "1" + "}" * 5000 + "]}", "ConvNetJS"),
]


@pytest.mark.parametrize("text,message", BAD_CONVNETJS)
def test_a_bad_convnetjs_file_names_the_layer_and_field(session, text, message):
    before = state(session)
    e = error("playground.importConvnetjs", json=text)
    assert message in e["message"], e["message"]
    assert "KeyError" not in e["message"] and "Traceback" not in e["message"]
    assert state(session) == before


def test_a_well_formed_convnetjs_fc_net_still_imports():
    model = model_io.from_convnetjs(cjs(fc([[1, 2], [3, 4]], [0.5, -0.5]), {"layer_type": "softmax"}))
    assert model.predict([[1.0, 0.0]]).shape == (1, 2)


def test_unknown_or_missing_rpc_parameters_are_named(session):
    e = error("playground.train", steps=1, epoch=2)
    assert e["kind"] == "BadParams" and "playground.train: unknown parameter 'epoch'" in e["message"]
    assert "steps, epochs, batchSize, earlyStopping, maxSeconds" in e["message"]
    e = error("playground.loadDataset", options={})
    assert "playground.loadDataset: missing parameter 'name'" in e["message"]
