"""The ONNX export (written by pyengine without the onnx package) against onnxruntime: for every
layer type, join and activation, inference matches pyengine's forward within 1e-4 relative."""
import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")

import pyengine  # noqa: E402
from export_cases import all_forward_specs, inputs_for, jitter, rel_err  # noqa: E402
from pyengine import export  # noqa: E402


def run_onnx(blob, x):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(blob, opts, providers=["CPUExecutionProvider"])
    return {o.name: v for o, v in zip(sess.get_outputs(), sess.run(None, {"input": x}))}


@pytest.mark.parametrize("case,spec", all_forward_specs(), ids=[c for c, _ in all_forward_specs()])
def test_onnx_inference_matches_pyengine(case, spec):
    rng = np.random.default_rng(2)
    model = pyengine.build(spec)
    jitter(model, rng)
    x = inputs_for(model, 5, rng)
    out = run_onnx(export.to_onnx(model), x)
    want = model.forward(x).data
    assert out["output"].shape == want.shape
    assert rel_err(out["output"], want) < 1e-4, rel_err(out["output"], want)
    if "probabilities" in out:
        assert rel_err(out["probabilities"], model.predict(x)) < 1e-4


@pytest.mark.parametrize("loss", [{"type": "binary_cross_entropy"}, {"type": "hinge"}])
def test_probabilities_output_follows_predict(loss):
    units = 1 if loss["type"] == "binary_cross_entropy" else 3
    model = pyengine.build({"input": [3], "layers": [{"type": "dense", "units": units}], "loss": loss})
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    out = run_onnx(export.to_onnx(model), x)
    assert ("probabilities" in out) == (loss["type"] == "binary_cross_entropy")
    assert rel_err(out.get("probabilities", out["output"]), model.predict(x)) < 1e-4


def test_every_preset_exports_to_onnx():
    from pyengine.presets import playground_presets
    for name, preset in sorted(playground_presets().items()):
        model = pyengine.build(preset["spec"])
        x = inputs_for(model, 2, np.random.default_rng(0))
        assert rel_err(run_onnx(export.to_onnx(model), x)["output"], model.forward(x).data) < 1e-4, name
