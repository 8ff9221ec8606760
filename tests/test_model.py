"""Model API: build, forward, train_step, evaluate, fit, predict, state dicts, freezing, NaN guard."""
import numpy as np
import pytest

import pyengine
from pyengine import DataError, NumericalError
from pyengine.presets import convnetjs_mnist

MNIST_SPEC = convnetjs_mnist()


def mlp_spec(**over):
    spec = {"input": [4], "layers": [{"type": "dense", "units": 16, "activation": "tanh"},
                                     {"type": "dense", "units": 3}],
            "loss": "softmax_cross_entropy", "optimizer": {"type": "adam", "lr": 0.01}, "seed": 1}
    spec.update(over)
    return spec


def blobs(n=90, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    centers = np.array([[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0]], np.float32)
    x = centers[y] + 0.3 * rng.standard_normal((n, 4)).astype(np.float32)
    return x.astype(np.float32), y


def test_normative_spec_builds_with_keras_style_names_and_shapes():
    model = pyengine.build(MNIST_SPEC)
    assert model.layer_names == ["conv1", "maxpool2d_1", "conv2d_2", "maxpool2d_3", "flatten_4", "dense_5"]
    assert list(model.state_dict()) == ["conv1.weight", "conv1.bias", "conv2d_2.weight", "conv2d_2.bias",
                                        "dense_5.weight", "dense_5.bias"]
    assert model.state_dict()["conv1.weight"].shape == (5, 5, 1, 8)
    assert model.state_dict()["dense_5.weight"].shape == (256, 10)
    assert model.param_count() == 208 + 3216 + 2570
    text = model.summary()
    assert "(12, 12, 16)" in text and "(4, 4, 16)" in text and "5,994" in text
    out = model.forward(np.zeros((3, 24, 24, 1), np.float32))
    assert out.shape == (3, 10) and out.data.dtype == np.float32


def test_same_seed_gives_same_weights_and_same_training():
    a, b = pyengine.build(mlp_spec()), pyengine.build(mlp_spec())
    x, y = blobs()
    la = [a.train_step(x[:30], y[:30]) for _ in range(5)]
    lb = [b.train_step(x[:30], y[:30]) for _ in range(5)]
    assert la == lb
    c = pyengine.build(mlp_spec(seed=2))
    assert not np.array_equal(c.state_dict()["dense_0.weight"], pyengine.build(mlp_spec()).state_dict()["dense_0.weight"])


def test_train_step_lowers_the_loss_and_evaluate_reports_accuracy():
    model = pyengine.build(mlp_spec())
    x, y = blobs()
    before = model.evaluate(x, y)
    losses = [model.train_step(x, y) for _ in range(60)]
    after = model.evaluate(x, y)
    assert losses[-1] < 0.5 * losses[0]
    assert after["loss"] < before["loss"] and after["accuracy"] == 1.0
    assert model.step_count == 60


def test_predict_gives_probabilities_for_classifiers_and_raw_outputs_for_regression():
    model = pyengine.build(mlp_spec())
    p = model.predict(blobs()[0])
    assert p.shape == (90, 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    reg = pyengine.build({"input": [2], "layers": [{"type": "dense", "units": 1}], "loss": "mse",
                          "optimizer": {"type": "sgd", "lr": 0.1}})
    w = reg.state_dict()
    w["dense_0.weight"][:] = [[2.0], [-1.0]]
    w["dense_0.bias"][:] = [0.5]
    reg.load_state_dict(w)
    np.testing.assert_allclose(reg.predict(np.array([[1.0, 3.0]])), [[-0.5]], rtol=1e-6)


def test_fit_reports_history_events_and_validation_metrics():
    model = pyengine.build(mlp_spec())
    x, y = blobs(120)
    events = []
    hist = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, callbacks=[events.append])
    steps = [e for e in events if e["event"] == "step"]
    epochs = [e for e in events if e["event"] == "epoch"]
    assert len(steps) == 3 * 6 and steps[0]["batches"] == 6 and steps[-1]["step"] == 18
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    assert events[-1]["event"] == "end" and events[-1]["reason"] == "epochs"
    assert len(hist["step_loss"]) == 18 and len(hist["val_loss"]) == 3
    assert hist["val_accuracy"][-1] >= 0.9
    assert hist["loss"][-1] < hist["loss"][0]


def test_early_stopping_stops_after_patience_and_restores_the_best_weights():
    model = pyengine.build(mlp_spec(optimizer={"type": "sgd", "lr": 0.0}))  # nothing can improve
    x, y = blobs()
    start = model.state_dict()
    hist = model.fit(x, y, epochs=20, batch_size=30, validation_split=0.2, early_stopping=2)
    assert hist["stopped"] == "early_stopping" and hist["epochs"] == 3
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, start[k])


def test_a_callback_can_stop_training_and_max_steps_bounds_it():
    model = pyengine.build(mlp_spec())
    x, y = blobs()

    def stop_at_4(event):
        if event["event"] == "step" and event["step"] == 4:
            model.stop_training = True

    hist = model.fit(x, y, epochs=5, batch_size=10, callbacks=[stop_at_4])
    assert hist["stopped"] == "stopped" and model.step_count == 4
    hist = model.fit(x, y, epochs=5, batch_size=10, max_steps=7)
    assert hist["stopped"] == "max_steps" and model.step_count == 11


def test_freeze_keeps_layer_weights_and_batchnorm_statistics_fixed():
    spec = {"input": [4], "layers": [{"type": "dense", "units": 8, "name": "base"},
                                     {"type": "batchnorm", "name": "bn"},
                                     {"type": "relu"}, {"type": "dense", "units": 3, "name": "head"}],
            "loss": "softmax_cross_entropy", "optimizer": {"type": "adam", "lr": 0.05}}
    model = pyengine.build(spec)
    x, y = blobs()
    model.freeze(["base", "bn"])
    before = model.state_dict()
    for _ in range(5):
        model.train_step(x, y)
    after = model.state_dict()
    for k in ("base.weight", "base.bias", "bn.gamma", "bn.beta", "bn.running_mean", "bn.running_var"):
        np.testing.assert_array_equal(after[k], before[k], err_msg=k)
    assert not np.array_equal(after["head.weight"], before["head.weight"])
    model.unfreeze()
    model.train_step(x, y)
    assert not np.array_equal(model.state_dict()["base.weight"], before["base.weight"])
    assert not np.array_equal(model.state_dict()["bn.running_mean"], before["bn.running_mean"])
    with pytest.raises(ValueError, match="unknown layer name"):
        model.freeze(["nope"])


def test_load_state_dict_names_missing_unexpected_and_misshapen_entries():
    model = pyengine.build(mlp_spec())
    state = model.state_dict()
    del state["dense_1.bias"]
    state["dense_9.weight"] = np.zeros(3)
    state["dense_0.weight"] = np.zeros((5, 16))
    with pytest.raises(ValueError) as e:
        model.load_state_dict(state)
    msg = str(e.value)
    assert "missing: dense_1.bias" in msg and "unexpected: dense_9.weight" in msg
    assert "dense_0.weight: expected shape (4, 16), got (5, 16)" in msg


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the NaN/overflow is the point
def test_nan_in_the_forward_pass_names_the_step_and_layer_and_keeps_weights():
    model = pyengine.build(mlp_spec())
    x, y = blobs()
    model.train_step(x, y)
    model.params["dense_1"]["weight"].data[0, 0] = np.inf
    before = model.state_dict()
    with pytest.raises(NumericalError) as e:
        model.train_step(x, y)
    assert "step 2" in str(e.value) and "layer 1 'dense_1'" in str(e.value)
    assert e.value.step == 2 and e.value.layer == "dense_1"
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    assert model.step_count == 1


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the NaN/overflow is the point
def test_an_overflowing_update_is_reported_and_rolled_back():
    model = pyengine.build(mlp_spec(optimizer={"type": "sgd", "lr": 1e38}))
    x, y = blobs()
    before = model.state_dict()
    with pytest.raises(NumericalError, match="step 1: the update made .* non-finite"):
        model.train_step(x * 1e3, y)
    assert model.step_count == 0
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


@pytest.mark.parametrize("x, y, message", [
    (np.zeros((5, 3)), np.zeros(5), r"x has shape \(5, 3\): each example must be \(4,\)"),
    (np.zeros((5, 4)), np.zeros(6), "x and y have different lengths: 5 examples but 6 targets"),
    (np.full((5, 4), np.nan), np.zeros(5), "x contains 20 NaN/inf value"),
    (np.zeros((5, 4)), np.array([0, 1, 2, 3, 0]), "label 3 at example 3 is out of range: the network has 3 outputs"),
    (np.zeros((5, 4)), np.array([0, 1, -1, 0, 0]), "label -1 at example 2 is out of range"),
    (np.zeros((5, 4)), np.array([0, 0.5, 1, 0, 0]), "class labels must be whole numbers"),
    (np.zeros((5, 4)), np.zeros((5, 4)), r"expected integer labels \(N,\) or one-hot targets \(N, 3\)"),
    (np.zeros(4), np.zeros(1), r"looks like a single example"),
    ([["a", "b", "c", "d"]], [0], "expected numbers"),
])
def test_bad_training_data_gets_a_message_naming_the_problem(x, y, message):
    model = pyengine.build(mlp_spec())
    with pytest.raises(DataError, match=message):
        model.train_step(x, y)
    with pytest.raises(DataError, match=message):
        model.fit(x, y)


def test_flat_images_get_a_reshape_hint():
    model = pyengine.build(MNIST_SPEC)
    with pytest.raises(DataError, match=r"reshape it with x.reshape\(-1, 24, 24, 1\)"):
        model.predict(np.zeros((2, 576)))


def test_residual_and_concat_graphs_train():
    spec = {"input": [6], "layers": [
        {"type": "dense", "units": 8, "activation": "relu", "name": "a"},
        {"type": "dense", "units": 8, "activation": "relu", "name": "b"},
        {"type": "add", "inputs": ["a", "b"], "name": "res"},
        {"type": "dense", "units": 4, "inputs": ["input"], "name": "side"},
        {"type": "concat", "inputs": ["res", "side"], "name": "cat"},
        {"type": "dense", "units": 2}],
        "loss": "softmax_cross_entropy", "optimizer": {"type": "adam", "lr": 0.02}}
    model = pyengine.build(spec)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 6)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    first = model.train_step(x, y)
    for _ in range(80):
        last = model.train_step(x, y)
    assert last < 0.3 * first
    assert model.evaluate(x, y)["accuracy"] >= 0.95


def test_regression_with_huber_and_one_dimensional_targets():
    model = pyengine.build({"input": [1], "layers": [{"type": "dense", "units": 16, "activation": "tanh"},
                                                     {"type": "dense", "units": 1}],
                            "loss": {"type": "huber", "delta": 1.0}, "optimizer": {"type": "adam", "lr": 0.02}})
    x = np.linspace(-2, 2, 64, dtype=np.float32)[:, None]
    y = np.sin(x[:, 0])
    hist = model.fit(x, y, epochs=150, batch_size=64)
    assert hist["loss"][-1] < 0.01 and hist["accuracy"][-1] is None
