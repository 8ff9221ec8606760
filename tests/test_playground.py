"""The playground session (pyengine.playground) through rpc.dispatch, as the worker calls it."""
import asyncio
import base64
import json

import numpy as np
import pytest

from pyengine import codegen, playground, rpc, spec as spec_mod
from pyengine.presets import playground_presets


def arun(coro):
    """asyncio.run on a thread of its own: Playwright's sync API may own this thread's loop."""
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def call(method, **params):
    return json.loads(arun(rpc.dispatch(method, json.dumps(params))))


def ok(method, **params):
    reply = call(method, **params)
    assert "error" not in reply, reply["error"]["message"]
    return reply["result"]


@pytest.fixture(autouse=True)
def fresh_session(monkeypatch):
    monkeypatch.setattr(playground, "SESSION", playground.Session())


MLP = playground_presets()["mlp"]["spec"]
MLP_STORED = {**MLP, "backend": "auto"}  # the session's spec always names the backend choice


def test_spiral_trains_to_95_percent_and_reports_per_step_history():
    ok("playground.setSpec", spec=MLP)
    info = ok("playground.loadDataset", name="spiral", options={"n": 400, "noise": 0.0, "ratio": 0.8})
    assert (info["train"], info["val"], info["input_shape"]) == (320, 80, [2])
    result = ok("playground.train", epochs=150, batchSize=16)
    assert result["steps"] == 150 * 20 and len(result["history"]) == result["steps"]
    assert result["accuracy"] >= 0.95
    ev = ok("playground.evaluate")
    assert ev["split"] == "val" and ev["accuracy"] >= 0.95
    m = ok("playground.getMetrics")
    assert m["epoch"] == 150 and m["last"]["val_accuracy"] == ev["accuracy"]


def test_check_spec_gives_live_shapes_and_the_engines_inline_messages():
    bad = {"input": [2], "layers": [{"type": "dense", "units": 0}, {"type": "dense", "units": 2}]}
    r = ok("playground.checkSpec", spec=bad)
    assert not r["ok"]
    assert "units" in r["layers"][0]["messages"][0]
    assert r["problems"][0]["index"] == 0 and r["problems"][0]["field"] == "units"
    good = ok("playground.checkSpec", spec=MLP)
    assert good["ok"] and good["layers"][0]["output_shape"] == [16] and good["param_count"] == 354


def test_a_bad_spec_is_refused_and_the_previous_network_kept():
    ok("playground.setSpec", spec=MLP)
    reply = call("playground.setSpec", spec={"input": [2], "layers": [{"type": "dense", "units": -3}]})
    assert reply["error"]["kind"] == "SpecError" and "units" in reply["error"]["message"]
    assert ok("playground.getSpec") == MLP_STORED


def test_changing_only_the_optimizer_keeps_the_trained_weights():
    ok("playground.setSpec", spec=MLP)
    ok("playground.loadDataset", name="xor", options={"n": 200})
    ok("playground.train", steps=20)
    before = ok("playground.predict", inputs=[[1.0, 1.0]])
    r = ok("playground.setSpec", spec={**MLP, "optimizer": {"type": "sgd", "lr": 0.1}})
    assert r["kept_weights"]
    assert ok("playground.predict", inputs=[[1.0, 1.0]]) == before
    assert ok("playground.getMetrics")["step"] == 20


def test_pause_stops_a_running_train_call():
    ok("playground.setSpec", spec=MLP)
    ok("playground.loadDataset", name="circle", options={"n": 200})

    async def run():
        task = asyncio.ensure_future(rpc.dispatch("playground.train", json.dumps({})))  # no limit: until paused
        await asyncio.sleep(0.3)
        json.loads(await rpc.dispatch("playground.pause"))
        return json.loads(await task)["result"]

    result = arun(run())
    assert result["stopped"] == "paused" and result["steps"] > 0


def test_csv_errors_name_the_row_and_the_column():
    ok("playground.setSpec", spec=MLP)
    reply = call("playground.loadDataset", name="csv", options={"text": "a,b,label\n1,2,0\n3,x,1\n", "label": "label"})
    assert reply["error"]["kind"] == "CsvError"
    assert reply["error"]["message"] == "row 3, column 'b': 'x' is not a number"
    reply = call("playground.loadDataset", name="csv", options={"text": "a,b,label\n1,2\n", "label": "label"})
    assert "row 2" in reply["error"]["message"]
    reply = call("playground.loadDataset", name="csv", options={"text": "a,b\n1,2\n", "label": "nope"})
    assert "no column named 'nope'" in reply["error"]["message"]
    info = ok("playground.loadDataset", name="csv",
              options={"text": "x,y,kind\n" + "".join(f"{i},{-i},{'cat' if i % 2 else 'dog'}\n" for i in range(20)),
                       "label": "kind", "ratio": 0.5})
    assert info["classes"] == ["cat", "dog"] and info["input_shape"] == [2]


def test_save_load_round_trip_and_a_corrupt_file_keeps_the_model():
    ok("playground.setSpec", spec=MLP)
    ok("playground.loadDataset", name="gauss", options={"n": 100})
    ok("playground.train", steps=5)
    blob = ok("playground.save")["bytes"]
    before = ok("playground.predict", inputs=[0.5, -0.5])
    ok("playground.reset")
    ok("playground.load", bytes=blob)
    assert ok("playground.predict", inputs=[0.5, -0.5]) == before
    corrupt = base64.b64encode(base64.b64decode(blob)[:40]).decode()
    reply = call("playground.load", bytes=corrupt)
    assert reply["error"]["kind"] == "ModelFileError"
    assert ok("playground.predict", inputs=[0.5, -0.5]) == before


def test_heatmap_layer_views_and_confusion_are_compact_bytes():
    ok("playground.setSpec", spec=MLP)
    ok("playground.loadDataset", name="xor", options={"n": 200})
    ok("playground.train", steps=10)
    h = ok("playground.heatmap", resolution=20)
    assert len(base64.b64decode(h["pixels"])) == 400
    assert h["neurons"][0]["total"] == 16 and len(h["neurons"][0]["units"]) == 16  # every neuron drawn
    c = ok("playground.confusion")
    assert np.array(c["matrix"]).sum() == c["total"] == 40
    v = ok("playground.layerViews")
    assert [layer["name"] for layer in v["layers"]][0] == "input" and "gradient" in v["layers"][1]


def test_mnist_images_adapt_to_the_network_input(tmp_path):
    from pyengine import data
    rng = np.random.default_rng(0)
    path = tmp_path / "mnist.bin"
    data.write_mnist(path, rng.integers(0, 256, (60, 28, 28)), np.repeat(np.arange(10), 6))
    for preset in ("mnist", "lenet", "lstm", "resnet"):
        ok("playground.setSpec", spec=playground_presets()[preset]["spec"])
        ok("playground.loadDataset", name="mnist", options={"path": str(path)})
        assert ok("playground.train", steps=1, batchSize=8)["steps"] == 1
    c = ok("playground.confusion")
    assert len(base64.b64decode(c["examples"][0]["pixels"])) == 28 * 28
    ok("playground.setSpec", spec={**MLP, "input": [3]})
    reply = call("playground.train", steps=1)
    assert reply["error"]["kind"] == "DataError" and "input" in reply["error"]["message"]


@pytest.mark.parametrize("name", sorted(playground_presets()))
def test_every_preset_exports_to_python_pytorch_and_keras(name):
    spec = playground_presets()[name]["spec"]
    python = ok("playground.code", kind="python", spec=spec)
    ns = {}
    exec(python.replace("print(model.summary())", ""), ns)  # the Python view's code builds the same net
    assert ns["model"].spec == spec_mod.validate(spec).to_spec()
    for kind in ("pytorch", "keras"):
        text = ok("playground.code", kind=kind, spec=spec)
        compile(text, kind, "exec")


def test_adopt_takes_a_model_built_in_the_python_view():
    arun(rpc.run_python("import pyengine\nmodel = pyengine.build(" + repr(MLP) + ")"))
    assert ok("playground.adopt")["spec"] == MLP_STORED
    rpc.USER_NAMESPACE.pop("model")
    assert call("playground.adopt")["error"]["kind"] == "NoModel"


def test_run_code_adopts_a_model_the_code_builds_and_reports_its_variable():
    rpc.USER_NAMESPACE.pop("model", None)
    r = ok("playground.runCode", code="import pyengine\nnet = pyengine.build(" + repr(MLP) + ")\n1 + 1")
    assert r["value"] == "2"
    assert r["adopted"]["variable"] == "net" and r["adopted"]["spec"] == MLP_STORED
    assert ok("playground.getSpec") == MLP_STORED
    # Code that builds no new model leaves the network alone, even if a model variable exists.
    again = ok("playground.runCode", code="x = net\n'hello'")
    assert again == {"value": "hello", "adopted": None}
    # With several new models, `model` wins over any other name.
    other = {**MLP, "layers": [{"type": "dense", "units": 3}]}
    r = ok("playground.runCode", code=f"model = pyengine.build({MLP!r})\nzzz = pyengine.build({other!r})")
    assert r["adopted"]["variable"] == "model"
    for name in ("net", "x", "model", "zzz"):
        rpc.USER_NAMESPACE.pop(name)


def test_run_code_errors_name_the_line_and_stops_are_error_replies():
    err = call("playground.runCode", code="a = 1\nb = undefined_name\n")["error"]
    assert err["kind"] == "NameError" and err["line"] == 2 and "undefined_name" in err["message"]
    err = call("playground.runCode", code="def f(:\n  pass")["error"]
    assert err["kind"] == "SyntaxError" and err["line"] == 1
    err = call("playground.runCode", code="x = 0\nraise KeyboardInterrupt")["error"]
    assert err["kind"] == "KeyboardInterrupt" and err["line"] == 2 and err["message"] == "stopped at line 2"
    err = call("playground.runCode", code="exit(3)")["error"]
    assert err["kind"] == "SystemExit" and "exit(3)" in err["message"]
    assert ok("playground.runCode", code="x")["value"] == "0"  # the namespace survives a stop
    rpc.USER_NAMESPACE.pop("x")


def test_playground_feature_inputs_feed_the_network_and_its_input_follows():
    ok("playground.setSpec", spec=MLP)
    info = ok("playground.loadDataset", name="circle", options={"n": 200, "features": ["x1sq", "x2sq"]})
    assert info["input_shape"] == [2] and info["options"]["features"] == ["x1sq", "x2sq"]
    info = ok("playground.loadDataset", name="circle", options={"n": 200, "features": ["x1", "x2", "x1sq", "x2sq", "x1x2"]})
    state = ok("playground.getState")
    assert info["input_shape"] == [5] and state["spec"]["input"] == [5] and state["fit"]["ok"]
    ok("playground.train", epochs=30)
    assert ok("playground.getState")["last"]["val_accuracy"] > 0.95  # x1², x2² make the circle linear
    h = ok("playground.heatmap", resolution=12)
    assert [i["name"] for i in h["inputs"]] == ["x1", "x2", "x1sq", "x2sq", "x1x2"]
    assert np.array(h["neurons"][0]["weight"]).shape == (5, 16) and h["neurons"][-1]["output"]
    points = ok("playground.points")
    assert np.array(points["train_x"]).shape[1] == 2  # the points stay the 2-D points
    for bad, word in ((["x3"], "unknown feature"), ([], "non-empty"), (["x1", "x1"], "twice"), ("x1", "list")):
        reply = call("playground.loadDataset", name="circle", options={"features": bad})
        assert reply["error"]["kind"] == "DataError" and word in reply["error"]["message"], reply
    assert ok("playground.getState")["spec"]["input"] == [5]  # a refused option changes nothing


def test_heatmap_marks_the_misclassified_points():
    ok("playground.setSpec", spec=MLP)
    ok("playground.loadDataset", name="spiral", options={"n": 200})
    h = ok("playground.heatmap", resolution=8)
    points = ok("playground.points")
    pred = np.array(ok("playground.predict", inputs=points["train_x"])["classes"])
    assert list(h["wrong"]["train"]) == list(np.flatnonzero(pred != np.array(points["train_y"])))


def test_conv_detail_adds_up_to_the_layer_output():
    from pyengine import data
    import tempfile, os
    rng = np.random.default_rng(0)
    path = os.path.join(tempfile.mkdtemp(), "mnist.bin")
    data.write_mnist(path, rng.integers(0, 256, (40, 28, 28)), np.repeat(np.arange(10), 4))
    ok("playground.setSpec", spec=playground_presets()["lenet"]["spec"])
    ok("playground.loadDataset", name="mnist", options={"path": path})
    ok("playground.train", steps=2, batchSize=8)
    for layer, ch in (("conv2d_0", 3), ("conv2d_2", 5)):
        c = ok("playground.convDetail", layer=layer, channel=ch, example=2)
        total = sum(t["sum"] for t in c["terms"]) + c["others"] + c["bias"]
        assert abs(total - c["z"]) < 1e-4 and abs(max(c["z"], 0.0) - c["value"]) < 1e-4  # relu
        t = c["terms"][0]
        assert abs(float((np.array(t["window"]) * np.array(t["weights"])).sum()) - t["sum"]) < 1e-4
    v = ok("playground.layerViews", example=3)
    assert v["example"] == 3 and abs(sum(v["probabilities"]) - 1) < 1e-5 and v["classes"][0] == "0"
    reply = call("playground.convDetail", layer="dense_5")
    assert reply["error"]["kind"] == "BadParams" and "conv2d_0" in reply["error"]["message"]


def test_print_model_shows_its_layers():
    from pyengine import build
    text = repr(build(MLP))
    assert "dense_0" in text and "(16,)" in text and "total params" in text
