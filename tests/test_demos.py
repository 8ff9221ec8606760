"""The demos' Python side (pyengine.demos) in CPython, through rpc.dispatch as the pages call it:
small sizes, and each demo must learn."""
import asyncio
import json
from pathlib import Path

import numpy as np
import pytest

import pyengine.demos as demos
from pyengine import rpc

MNIST = Path(__file__).resolve().parents[1] / "dist" / "data" / "mnist.bin"


def call(method, **params):
    reply = json.loads(asyncio.run(rpc.dispatch(method, json.dumps(params))))
    if "error" in reply:
        raise AssertionError(reply["error"]["message"])
    return reply["result"]


def error(method, **params):
    reply = json.loads(asyncio.run(rpc.dispatch(method, json.dumps(params))))
    assert "error" in reply, reply
    return reply["error"]["message"]


@pytest.fixture
def mnist():
    if not MNIST.exists():
        pytest.skip("dist/data/mnist.bin is missing: run python3 build.py")
    demos.MNIST_FILE_FOR_TESTS = str(MNIST)
    yield
    demos.MNIST_FILE_FOR_TESTS = None


def test_optimizer_race_adam_leaves_chance_first_and_every_loss_stays_finite():
    call("demo.race.setup", options={})
    v = call("demo.race.run", maxSteps=1500)
    assert v["steps"] == 1500 and set(v["loss"]) == set(demos.race.OPTIMIZERS)
    assert all(np.isfinite(l) for l in v["loss"].values())
    assert v["loss"]["adam"] < 0.5 and v["accuracy"]["adam"] > 0.8
    assert v["loss"]["adam"] < v["loss"]["sgd"]
    assert "lr_scale must be between" in error("demo.race.setup", options={"lr_scale": 0})


def test_demo_methods_refuse_to_run_before_setup_and_report_bad_options():
    demos.ACTIVE.pop("race", None)
    assert "is not set up" in error("demo.race.run")
    assert "must be a number" in error("demo.race.setup", options={"points": "many"})
