"""pyengine itself in the browser: the ConvNetJS MNIST convnet trains in Pyodide inside the worker."""
import pytest

SETUP = """
import numpy as np, pyengine
from pyengine import data
from pyengine.presets import convnetjs_mnist
from pyengine.backends import numpy_backend

images, labels = data.load_mnist('/data/mnist.bin')
x_all, y_all = data.mnist_arrays(images, labels, crop=24)
order = np.random.default_rng(0).permutation(len(x_all))   # the file is grouped by digit
x_train, y_train = x_all[order[:8000]], y_all[order[:8000]]
x_test, y_test = x_all[order[8000:9000]], y_all[order[8000:9000]]
engine_model = pyengine.build(convnetjs_mnist())
before = engine_model.evaluate(x_test, y_test)
{"params": engine_model.param_count(), "before": before, "numpy": np.__version__,
 "gemm": numpy_backend.gemm.__name__, "im2col": numpy_backend.im2col.__name__}
"""

TRAIN = """
from pyengine import rpc
history = engine_model.fit(x_train[:4000], y_train[:4000], epochs=1, batch_size=20,
                           callbacks=[lambda e: e["event"] == "step" and e["step"] % 50 == 0
                                      and rpc.emit("progress", stage="train", step=e["step"], loss=e["loss"])])
after = engine_model.evaluate(x_test, y_test)
{"steps": engine_model.step_count, "step_loss": history["step_loss"], "after": after}
"""


@pytest.mark.timeout(400)
def test_the_mnist_convnet_trains_in_pyodide_in_the_worker(booted):
    booted.page.evaluate("nnplay.loadMnist()")
    setup = booted.run(SETUP)
    assert setup["params"] == 5994
    assert setup["numpy"] == "2.0.2"  # Pyodide's NumPy, not the CPython one
    # the path users get: the worker booted on the WebAssembly SIMD kernels (issue 14; test_simd.py
    # trains on the einsum fallback too)
    assert (setup["gemm"], setup["im2col"]) == ("gemm_simd", "im2col_simd")
    assert setup["before"]["accuracy"] < 0.25  # an untrained net is near chance
    result = booted.page.evaluate(
        """async (code) => {
            const progress = [];
            const off = nnplay.on('progress', e => { if (e.stage === 'train') progress.push(e.step); });
            const result = await nnplay.runPython(code);
            off();
            return {...result, progress};
        }""",
        TRAIN,
    )
    losses = result["step_loss"]
    assert result["steps"] == 200
    assert result["progress"] == [50, 100, 150, 200]  # streamed while training ran
    first, last = sum(losses[:20]) / 20, sum(losses[-20:]) / 20
    assert last < 0.5 * first, (first, last)
    assert result["after"]["loss"] < setup["before"]["loss"]
    assert result["after"]["accuracy"] > 0.85 > setup["before"]["accuracy"]
