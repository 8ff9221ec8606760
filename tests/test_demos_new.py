"""The newer demos' Python side (pong, backprop, dilation, vgg) in CPython, through rpc.dispatch as their
pages call it: Pong's reward rises, backprop's numbers are finite differences, the receptive fields are
the textbook ones, and bad options get a message naming the option."""
import asyncio
import base64
import json
from pathlib import Path

import numpy as np
import pytest

import pyengine.demos as demos
from pyengine import presets
from pyengine.demos.dilation import receptive_field
from pyengine.demos.pong import BALL, PADDLE, Games

MNIST = Path(__file__).resolve().parents[1] / "dist" / "data" / "mnist.bin"


def reply(method, **params):
    from pyengine import rpc
    return json.loads(asyncio.run(rpc.dispatch(method, json.dumps(params))))


def call(method, **params):
    r = reply(method, **params)
    assert "error" not in r, r["error"]["message"]
    return r["result"]


def error(method, **params):
    r = reply(method, **params)
    assert "error" in r, r
    return r["error"]["message"]


# --- Pong from pixels -----------------------------------------------------------------------------------


def test_pong_is_winnable_a_ball_tracker_wins_and_random_moves_lose():
    """The rewards make sense: following the ball (deciding every 3 frames) wins most points, random moves
    lose most."""
    for policy, check in ((lambda g, rng: (g.by + BALL / 2) < (g.agent + PADDLE / 2), lambda m: m > 0.3),
                          (lambda g, rng: rng.random(g.n) < 0.5, lambda m: m < -0.5)):
        rng = np.random.default_rng(0)
        g, points = Games(16, rng, opponent_speed=0.4), []
        for _ in range(800):
            r = g.step(policy(g, rng), repeat=3)
            points += list(r[r != 0])
        assert len(points) > 50 and check(np.mean(points)), np.mean(points)


def test_pong_policy_gradients_raise_the_average_reward_over_a_seeded_run():
    first = call("demo.pong.setup", options={"seed": 0})
    assert first["points"] == 0 and first["view_size"] == 20
    assert len(base64.b64decode(first["frame"])) == 20 * 20
    assert len(first["hidden_weights"]) == 12 and len(base64.b64decode(first["hidden_weights"][0])) == 400
    v = call("demo.pong.run", maxSteps=3000)  # 16 games x 3000 decisions: about 5,000 points
    pts = np.array(demos.ACTIVE["pong"].points)
    assert len(pts) > 3000 and v["points"] == len(pts)
    early, late = pts[:1000].mean(), pts[-1000:].mean()
    print(f"pong: {len(pts)} points, mean reward first 1000 {early:.3f}, last 1000 {late:.3f}")
    assert late > early + 0.08, (early, late)  # seed 0 here: -0.764 -> -0.646 (2,000 points: ~3 standard errors)
    assert v["updates"] > 100 and v["reward_curve"] and v["running_reward"] is not None
    w = call("demo.pong.watch", frames=50)  # watch it play: a separate game, no learning
    assert demos.ACTIVE["pong"].updates == v["updates"]
    assert set(w["game"]) == {"ball", "agent", "opponent"} and 0 <= w["prob_up"] <= 1


def test_pong_refuses_bad_options_with_their_names():
    assert "games must be between 1 and 64" in error("demo.pong.setup", options={"games": 0})
    assert "lr must be a number" in error("demo.pong.setup", options={"lr": "fast"})
    assert "scale must divide" in error("demo.pong.setup", options={"scale": 3})
    assert "unknown option(s) speed" in error("demo.pong.setup", options={"speed": 2})
    call("demo.pong.setup", options={"games": 2})
    assert "frames must be between" in error("demo.pong.watch", frames=0)


# --- backprop one step at a time ------------------------------------------------------------------------


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def loss64(w, x, t):
    """The 2-2-1 net in float64, written out by hand: the reference for finite differences."""
    h = sigmoid(x @ np.array(w["hidden"]["weight"]) + np.array(w["hidden"]["bias"]))
    y = sigmoid(h @ np.array(w["output"]["weight"]) + np.array(w["output"]["bias"]))
    return float(((y - t) ** 2).sum())


def test_backprop_steps_show_the_engines_numbers_and_they_equal_finite_differences():
    v = call("demo.backprop.setup", options={"x1": 1.0, "x2": -0.5, "target": 0.9, "lr": 1.0})
    assert v["stage"] == 0 and v["loss"] is None
    views = [call("demo.backprop.step") for _ in range(len(v["stages"]) - 1)]  # up to the update
    last = views[-1]
    assert last["next"] == "update" and last["formula"].startswith("∂L/∂w11 = x1 · ∂L/∂u1")
    x, t, w = np.array(last["x"]), last["target"], last["weights"]
    # The forward values are the net's.
    u = x @ np.array(w["hidden"]["weight"]) + np.array(w["hidden"]["bias"])
    assert np.allclose(last["z"], u, atol=1e-6) and np.allclose(last["h"], sigmoid(u), atol=1e-6)
    assert abs(last["loss"] - loss64(w, x, t)) < 1e-6
    # Each backward step is one link of the chain rule...
    g = last["grad"]
    yhat, h = last["yhat"][0], np.array(last["h"])
    assert np.isclose(g["yhat"][0], 2 * (yhat - t), atol=1e-6)
    assert np.isclose(g["z2"][0], g["yhat"][0] * yhat * (1 - yhat), atol=1e-6)
    assert np.allclose(g["h"], np.array(w["output"]["weight"])[:, 0] * g["z2"][0], atol=1e-6)
    assert np.allclose(g["z"], np.array(g["h"]) * h * (1 - h), atol=1e-6)
    # ... and the weight gradients equal central differences of the loss (float64, by hand).
    eps = 1e-6
    for layer, grads in last["param_grads"].items():
        for key, grad in grads.items():
            grad = np.array(grad)
            for idx in np.ndindex(grad.shape):
                plus, minus = json.loads(json.dumps(w)), json.loads(json.dumps(w))
                for copy, sign in ((plus, 1), (minus, -1)):
                    arr = np.array(copy[layer][key])
                    arr[idx] += sign * eps
                    copy[layer][key] = arr.tolist()
                fd = (loss64(plus, x, t) - loss64(minus, x, t)) / (2 * eps)
                assert abs(grad[idx] - fd) < 1e-5 + 1e-3 * abs(fd), (layer, key, idx, grad[idx], fd)
    # The update stage: the demo's own finite-difference check agrees, and w <- w - lr * grad.
    up = call("demo.backprop.step")
    assert up["stage"] == 0 and up["iteration"] == 1
    for layer, grads in last["param_grads"].items():
        for key, grad in grads.items():
            assert np.allclose(up["finite_differences"][layer][key], grad, atol=2e-4)
            assert np.allclose(up["weights"][layer][key], np.array(w[layer][key]) - 1.0 * np.array(grad), atol=1e-6)
    # Play repeats the cycle: the net fits the target.
    done = call("demo.backprop.run", maxSteps=11 * 60)
    assert done["iteration"] == 61 and done["losses"][-1] < 0.1 * done["losses"][0], done["losses"][::20]


def test_backprop_refuses_bad_options():
    assert "target must be between 0.0 and 1.0, got 2" in error("demo.backprop.setup", options={"target": 2})
    assert "x1 must be a number" in error("demo.backprop.setup", options={"x1": "one"})
    assert "unknown option(s) momentum" in error("demo.backprop.setup", options={"momentum": 0.9})


# --- receptive fields and dilation ----------------------------------------------------------------------


def test_dilated_stacks_grow_exponentially_plain_ones_linearly_at_the_same_cost():
    v = call("demo.dilation.setup", options={"depth": 5})
    assert v["shown"] == 1
    for layers in range(2, 6):
        v = call("demo.dilation.step")
        assert v["shown"] == layers
    plain, dilated = v["plain"], v["dilated"]
    assert dilated["rates"] == [1, 2, 4, 8, 16]
    assert plain["fields"] == [3, 5, 7, 9, 11]  # 2L + 1
    assert dilated["fields"] == [3, 7, 15, 31, 63]  # 2^(L+1) - 1
    assert plain["measured"] == 11 and dilated["measured"] == 63  # the autograd picture agrees
    assert dilated["covered"] == 63 * 63  # doubling rates leave no holes
    assert plain["params"] == dilated["params"] == 5 * (9 * 16 * 16 + 16)
    assert v["plain_layers_for_same_field"] == 31
    assert len(base64.b64decode(dilated["paths"])) == v["size"] ** 2
    assert call("demo.dilation.run")["shown"] == 5  # Play stops at the full depth


def test_equal_rates_leave_holes_in_the_receptive_field():
    call("demo.dilation.setup", options={"depth": 3, "rates": "2, 2, 2"})
    v = call("demo.dilation.run")
    assert v["dilated"]["measured"] == 13 and v["dilated"]["fields"][-1] == 13
    assert v["dilated"]["covered"] == 7 * 7  # only every other pixel of the 13 x 13 square


def test_receptive_fields_are_the_textbook_ones():
    def conv(k, s=1, p=0):
        return {"type": "conv2d", "filters": 4, "kernel_size": k, "strides": s, "padding": p}

    def pool(k, s):
        return {"type": "maxpool2d", "pool_size": k, "strides": s}
    alexnet = [conv(11, 4, 2), pool(3, 2), conv(5, 1, 2), pool(3, 2), conv(3, 1, 1), conv(3, 1, 1), conv(3, 1, 1),
               pool(3, 2)]
    vgg16 = []
    for convs in (2, 2, 3, 3, 3):
        vgg16 += [conv(3, 1, 1)] * convs + [pool(2, 2)]
    for layers, size, field in ((alexnet, 227, 195), (vgg16, 224, 212)):  # e.g. Araujo et al., Distill 2019
        spec = {"input": [size, size, 3], "layers": [dict(layer) for layer in layers], "loss": "mse"}
        fields = receptive_field(spec)
        assert list(fields.values())[-1][0] == field, fields
    incep = receptive_field(presets.inception_mnist())
    assert incep["inception_concat"][0] == incep["inception_5x5"][0] == 3 + 1 + 4 * 2  # the widest branch
    assert receptive_field(presets.vgg_mnist())["block1_conv2"] == (5, 1)  # two 3x3 see 5x5


def test_dilation_refuses_bad_rates_and_depths():
    assert "rates lists 2 rates for a depth of 3" in error("demo.dilation.setup", options={"depth": 3, "rates": "1,2"})
    assert "rate 2 must be a whole number" in error("demo.dilation.setup", options={"depth": 2, "rates": "1,x"})
    assert "rate 1 must be a whole number from 1 to 64" in error("demo.dilation.setup",
                                                                 options={"depth": 1, "rates": [0]})
    assert "depth must be between 1 and 8" in error("demo.dilation.setup", options={"depth": 20})


# --- VGG stacks, inception, one 5x5 -----------------------------------------------------------------------


@pytest.fixture
def mnist():
    if not MNIST.exists():
        pytest.skip("dist/data/mnist.bin is missing: run python3 build.py")
    demos.MNIST_FILE_FOR_TESTS = str(MNIST)
    yield
    demos.MNIST_FILE_FOR_TESTS = None


def test_vgg_inception_and_one_5x5_see_alike_cost_alike_and_all_learn(mnist):
    first = call("demo.vgg.setup", options={"train": 1000, "test": 200})
    nets = {n["name"]: n for n in first["nets"]}
    vgg, five, incep = nets["two 3x3 convs (VGG)"], nets["one 5x5 conv"], nets["inception module"]
    assert vgg["block_params"] == 2 * (9 * 8 * 8 + 8) and five["block_params"] == 25 * 8 * 6 + 6
    assert vgg["receptive_field"] == five["receptive_field"] == incep["receptive_field"] == 7
    assert incep["block_params"] < vgg["block_params"]
    assert [l["type"] for l in incep["block_layers"]].count("conv2d") == 6
    v = call("demo.vgg.run", maxSteps=80)
    for net in v["nets"]:
        assert net["test_accuracy"] > 0.6, (net["name"], net["accuracy_curve"])
        assert len(net["accuracy_curve"]) == 5 and net["backend"] == "numpy"
    assert "batch_size must be between" in error("demo.vgg.setup", options={"batch_size": 0})


def test_vgg_and_inception_presets_build_and_train_a_step():
    from pyengine import build
    rng = np.random.default_rng(0)
    x, y = rng.random((4, 28, 28, 1), np.float32), np.arange(4)
    for name in ("vgg", "inception"):
        p = presets.playground_presets()[name]
        assert p["dataset"] == "mnist"
        model = build(p["spec"])
        assert model.output_shape == (10,) and np.isfinite(model.train_step(x, y))
