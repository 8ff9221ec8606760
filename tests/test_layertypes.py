"""A layer type is one record (pyengine/layertypes): a new one, written in one module and
registered, is validated, built, trained, listed in the builder's catalogue and exported (or
refused by name) with no other file touched. Plus: the registry holds every built-in type with the
hooks each part reads."""
import asyncio
import importlib.util
import json
import os
import subprocess
import sys
import types
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import pyengine
from pyengine import layers, layertypes, playground, rpc, spec
from pyengine.backends.webgpu import plan
from pyengine.export import ExportError, keras as keras_export, onnx as onnx_export, pytorch as pt_export
from pyengine.fields import POS_NUM, Field, shape_text
from pyengine.layertypes.base import LayerType, ops
from pyengine.tensor import Tensor

# ---- the new layer type: everything it is, in this one block (what layertypes/scale.py would hold) ----


def _scale_infer(cfg, shapes, names):
    """(..., C) -> (..., C), one learnable factor per channel."""
    return shapes[0], {"scale": (shapes[0][-1],)}


def _scale_init(cfg, param_shapes, rng):
    return {"scale": np.full(param_shapes["scale"], cfg["init"], np.float32)}


def _scale_forward(cfg, params, inputs, ctx):
    return ops.mul(inputs[0], params["scale"])


def _scale_to_pytorch(plan_, cfg, ins, out):
    a = plan_.attrs[cfg["name"]]
    plan_.init.append(f"self.{a} = nn.Parameter(torch.full(({cfg['input_shapes'][0][-1]},), "
                      f"{plan_.py(cfg['init'])}))")
    plan_.fwd.append(f"{out} = {ins[0]} * self.{a}  # {shape_text(cfg['output_shape'])} per example")
    plan_.param(a, cfg["name"], "scale")


SCALE = LayerType("scale", fields={"init": Field(POS_NUM, 1.0)}, infer=_scale_infer, forward=_scale_forward,
                  init=_scale_init, pytorch=_scale_to_pytorch)  # no keras, onnx or gpu hook: refused by name

# -------------------------------------------------------------------------------------------------------

NET = {"input": [4], "layers": [{"type": "dense", "units": 6, "activation": "tanh"},
                                {"type": "scale", "init": 0.5},
                                {"type": "dense", "units": 3}],
       "optimizer": {"type": "sgd", "lr": 0.1}, "seed": 3}


@pytest.fixture
def scale_layer():
    layertypes.register(SCALE)
    yield SCALE
    layertypes.unregister("scale")


def test_a_new_layer_type_passes_spec_analysis_and_bad_values_name_the_field(scale_layer):
    ns = spec.validate(NET)
    cfg = ns.layers[1]
    assert (cfg["type"], cfg["name"], cfg["init"]) == ("scale", "scale_1", 0.5)
    assert cfg["output_shape"] == (6,) and cfg["param_shapes"] == {"scale": (6,)} and cfg["param_count"] == 6
    assert spec.validate({"input": [2], "layers": [{"type": "scale"}], "loss": "mse"}).layers[0]["init"] == 1.0
    bad = {**NET, "layers": [NET["layers"][0], {"type": "scale", "init": -2}, NET["layers"][2]]}
    with pytest.raises(spec.SpecError) as err:
        spec.validate(bad)
    assert str(err.value) == "layer 1 'scale_1': field 'init': expected a positive number, got -2"
    typo = {**NET, "layers": [NET["layers"][0], {"type": "scale", "factor": 2}, NET["layers"][2]]}
    with pytest.raises(spec.SpecError, match="field 'factor': unknown field for scale; scale takes 'init'"):
        spec.validate(typo)
    with pytest.raises(spec.SpecError, match="unknown layer type 'scael'; did you mean 'scale'"):
        spec.validate({**NET, "layers": [{"type": "scael"}]})


def test_a_new_layer_type_builds_and_trains_with_a_correct_gradient(scale_layer):
    model = pyengine.build(NET)
    assert model.params["scale_1"]["scale"].data.tolist() == [0.5] * 6
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 4)).astype(np.float32), rng.integers(0, 3, 8)
    before = model.params["scale_1"]["scale"].data.copy()
    losses = [model.train_step(x, y) for _ in range(20)]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    assert not np.allclose(model.params["scale_1"]["scale"].data, before)  # the new parameter learns
    # its gradient against central differences, in float64
    cfg = model.nspec.layers[1]
    ctx = types.SimpleNamespace(training=True, rng=None)
    xs, s = rng.standard_normal((3, 6)), rng.standard_normal(6)
    r = rng.standard_normal((3, 6))
    xt, st = Tensor(xs, requires_grad=True), Tensor(s, requires_grad=True)
    (SCALE.forward(cfg, {"scale": st}, [xt], ctx) * Tensor(r)).sum().backward()
    eps = 1e-6
    num = np.array([((xs * (s + eps * e)) * r).sum() - ((xs * (s - eps * e)) * r).sum() for e in np.eye(6)]) / (2 * eps)
    np.testing.assert_allclose(st.grad, num, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(xt.grad, s * r, rtol=1e-12)


def test_a_new_layer_type_is_in_the_catalogue_the_builder_reads(scale_layer):
    with ThreadPoolExecutor(1) as pool:  # the worker's request, on a loop of its own
        reply = pool.submit(asyncio.run, rpc.dispatch("playground.catalogue", "{}")).result()
    cat = json.loads(reply)["result"]
    assert cat["layers"]["scale"] == [{"name": "init", "expected": "a positive number", "required": False,
                                       "default": 1.0}]
    assert "scale" not in cat["joins"]
    # a required field says what a layer added from the palette starts with (the builder has no table of its own)
    assert cat["layers"]["dense"][0] == {"name": "units", "expected": "a positive integer", "required": True,
                                         "default": None, "start": 10}
    assert {r["name"]: r.get("start") for r in cat["layers"]["conv2d"] if r["required"]} == {"filters": 8,
                                                                                             "kernel_size": 3}
    json.dumps(cat)
    layertypes.unregister("scale")
    assert "scale" not in playground._layer_catalogue()["layers"]


def test_a_new_layer_type_exports_where_it_has_a_hook_and_is_refused_by_name_elsewhere(scale_layer, tmp_path):
    model = pyengine.build(NET)
    code = pt_export.model_code(model.nspec)
    assert "self.scale_1 = nn.Parameter(torch.full((6,), 0.5))" in code
    assert pt_export.torch_param_names(model.nspec) == ["dense_0.weight", "dense_0.bias", "scale_1",
                                                        "dense_2.weight", "dense_2.bias"]
    with pytest.raises(ExportError, match=r"^layer 1 'scale_1': type 'scale' has no Keras translation$"):
        keras_export.model_code(model.nspec)
    with pytest.raises(ExportError, match=r"^layer 1 'scale_1': type 'scale' has no ONNX translation$"):
        onnx_export.to_onnx(model)
    # no gpu hook: the WebGPU plan says so, naming the layer, and the model trains on NumPy
    assert plan.unsupported(model) == ["layer type scale (scale_1)"]
    assert plan.placement(model) == {"webgpu": ["dense"], "numpy": ["scale (scale_1)"]}
    torch = pytest.importorskip("torch")
    path = tmp_path / "scale_net.py"
    path.write_text(code)
    mod_spec = importlib.util.spec_from_file_location("scale_net", path)
    mod = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(mod)
    net = mod.Net()
    net.load_state_dict({k: torch.from_numpy(v) for k, v in pt_export.to_torch_state(
        model.nspec, model.state_dict()).items()})
    x = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    with torch.no_grad():
        np.testing.assert_allclose(net(torch.from_numpy(x)).numpy(), model.forward(x, training=False).data,
                                   rtol=1e-5, atol=1e-6)


def test_a_name_is_registered_once_and_records_only():
    with pytest.raises(ValueError, match="'dense' is already registered"):
        layertypes.register(layertypes.get("dense"))
    with pytest.raises(TypeError, match="expected a LayerType"):
        layertypes.register({"name": "dict"})


def test_every_built_in_type_is_one_record_with_every_hook():
    assert list(layertypes.TYPES) == [
        "dense", "conv2d", "maxpool2d", "avgpool2d", "globalavgpool2d", "flatten", "reshape", "dropout",
        "batchnorm", "layernorm", "embedding", "rnn", "lstm", "gru", "add", "concat", "relu", "sigmoid", "tanh",
        "gelu", "leaky_relu", "elu", "softmax", "maxout"]
    for name, record in layertypes.TYPES.items():
        assert record.name == name
        for hook in ("infer", "forward", "init", "pytorch", "keras", "onnx", "gpu"):
            assert callable(getattr(record, hook)), (name, hook)
    assert [t for t, r in layertypes.TYPES.items() if r.min_inputs > 1] == ["add", "concat"]
    assert spec.LAYER_TYPES is layertypes.TYPES and layers.LAYERS is layertypes.TYPES


def test_the_layer_records_import_no_numpy():
    root = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pyengine")
    code = ("import sys; import pyengine.layertypes, pyengine.spec; "
            "assert 'numpy' not in sys.modules, 'numpy imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)
