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
WEB = Path(__file__).resolve().parents[1] / "web"


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
    demos.ASSET_DIR_FOR_TESTS = str(WEB)
    yield
    demos.MNIST_FILE_FOR_TESTS = demos.ASSET_DIR_FOR_TESTS = None


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


def test_clicks_classifier_learns_the_added_points_and_refuses_bad_ones():
    call("demo.clicks.setup", options={"mode": "classify"})
    for x, y in [(-3, 3), (-3.5, 4), (-4, 3.5)]:  # orange points in the blue corner
        call("demo.clicks.addPoint", x=x, y=y, label=1)
    v = call("demo.clicks.run", maxSteps=400)
    assert len(v["points"]["x"]) == 23 and v["accuracy"] == 1.0
    assert len(__import__("base64").b64decode(v["heatmap"])) == v["resolution"] ** 2
    assert "numeric" in error("demo.clicks.addPoint", x="a", y=1)
    assert "within" in error("demo.clicks.addPoint", x=100, y=1)
    assert "label must be 0 or 1" in error("demo.clicks.addPoint", x=1, y=1, label=7)
    assert "mode must be" in error("demo.clicks.setup", options={"mode": "cluster"})


def test_clicks_regression_fits_the_curve_through_the_points():
    first = call("demo.clicks.setup", options={"mode": "regress"})
    call("demo.clicks.addPoint", x=0, y=4)
    v = call("demo.clicks.run", maxSteps=2000)
    assert v["loss"] < 0.5 * first["loss"]
    call("demo.clicks.clear")
    assert call("demo.clicks.run", maxSteps=10)["steps"] == 2000  # no points: the run ends at once


def test_mnist_convnet_beats_chance_by_far_after_a_few_hundred_steps(mnist):
    first = call("demo.mnist.setup", options={"train": 2000, "test": 200})
    assert first["test_accuracy"] < 0.3
    v = call("demo.mnist.run", maxSteps=150)
    assert v["test_accuracy"] > 0.7, v["test_accuracy"]
    assert len(v["digits"]) == 16 and all(len(d["top"]) == 3 for d in v["digits"])
    assert len(v["filters"]) == 8 and [l["name"] for l in v["layers"]][0] == "conv1"


def test_overfit_lab_plain_net_memorises_and_regularisers_generalise_better(mnist):
    call("demo.overfit.setup", options={})
    v = call("demo.overfit.run", maxSteps=40)
    f = v["final"]
    assert v["epochs"] == 40 and v["train"] == 200
    assert f["plain"]["loss"] < 0.05 and f["plain"]["val_loss"] > f["plain"]["loss"] + 0.4  # memorised
    plain_val = v["history"]["plain"]["val_loss"]
    assert plain_val[-1] > min(plain_val)  # and its validation loss turned up again
    assert v["early_stopped_at"] is not None and f["early stopping"]["val_loss"] <= plain_val[-1]
    assert f["dropout"]["val_loss"] < plain_val[-1]
    assert all(x["val_accuracy"] > 0.7 for x in f.values())


def test_residual_net_trains_where_the_plain_net_of_the_same_depth_is_stuck():
    call("demo.residual.setup", options={})
    v = call("demo.residual.run", maxSteps=300)
    plain, residual = v["grad_norms"]["plain"], v["grad_norms"]["residual"]
    assert len(plain) == len(residual) == v["depth"] + 2
    assert plain[0] < 1e-6 * plain[-1]  # vanished on its way to the first layer
    assert residual[0] > 1e-3 * residual[-1]
    assert v["accuracy"]["residual"] > 0.9 and v["accuracy"]["plain"] < 0.7, v["accuracy"]


def test_painting_the_picture_appears_and_bad_uploads_are_refused():
    first = call("demo.paint.setup", options={})
    v = call("demo.paint.run", maxSteps=1500)
    assert v["mse"] < 0.3 * first["mse"] and v["psnr"] > first["psnr"] + 5, (first["mse"], v["mse"])
    tiny = __import__("base64").b64encode(bytes(range(48))).decode()  # 4x4 RGB
    assert call("demo.paint.setup", options={"image": tiny, "width": 4, "height": 4})["width"] == 4
    assert "should have 4x4 RGB pixels" in error("demo.paint.setup", options={"image": tiny[:-4], "width": 4, "height": 4})
    assert "not valid base64" in error("demo.paint.setup", options={"image": "%%%", "width": 4, "height": 4})
    assert "width must be between" in error("demo.paint.setup", options={"image": tiny, "width": 500, "height": 4})


def test_autoencoder_rebuilds_digits_and_its_2d_code_groups_them_without_labels(mnist):
    first = call("demo.autoencoder.setup", options={"train": 2000, "test": 300})
    v = call("demo.autoencoder.run", maxSteps=300)
    assert v["test_loss"] < 0.3 * first["test_loss"]
    assert v["knn_accuracy"] > 0.3, v["knn_accuracy"]  # chance: 0.1
    assert len(v["codes"]) == 300 and len(v["codes"][0]) == 2


def test_transfer_frozen_pretrained_convs_beat_training_from_scratch_on_ten_labels(mnist):
    first = call("demo.transfer.setup", options={})
    assert first["labelled"] == 10 and first["frozen"] == ["conv1", "conv2"]
    v = call("demo.transfer.run", maxSteps=60)
    acc = v["accuracy"]
    assert acc["pretrained + frozen convs"] > 0.65 and acc["pretrained + frozen convs"] > acc["from scratch"] + 0.03, acc
    assert v["history_steps"] == [0, 10, 20, 30, 40, 50, 60]


def test_the_shipped_pretrained_weights_know_the_digits_0_to_4(mnist):
    from pyengine import data, io
    model = io.load((WEB / "demos" / "weights" / "transfer-0to4.nnp").read_bytes())
    images, labels = data.load_mnist(MNIST)
    keep = labels <= 4
    x, y = data.mnist_arrays(images[keep][::10], labels[keep][::10], crop=24)
    assert model.evaluate(x, y)["accuracy"] > 0.9


def test_pruning_accuracy_falls_with_sparsity_and_fine_tuning_recovers_it(mnist):
    call("demo.pruning.setup", options={"train": 2000, "test": 500, "finetune_steps": 40})
    v = call("demo.pruning.run")  # runs through every stage, then ends
    curve = v["curve"]
    assert v["done"] and [c["sparsity"] for c in curve] == demos.pruning.SPARSITIES
    assert all(abs(c["actual_sparsity"] - c["sparsity"]) < 0.01 for c in curve)
    assert curve[0]["pruned"] > 0.9 and curve[1]["pruned"] > curve[0]["pruned"] - 0.03  # half the weights: free
    assert curve[-1]["pruned"] < curve[0]["pruned"] - 0.2  # 99% pruned: much worse
    for c in curve[2:]:
        assert c["finetuned"] >= c["pruned"] - 0.02, c  # fine-tuning recovers (or at least keeps)
    assert next(c for c in curve if c["sparsity"] == 0.9)["finetuned"] > 0.8


def test_gan_generated_points_move_onto_the_ring():
    first = call("demo.gan.setup", options={})
    v = call("demo.gan.run", maxSteps=800)
    assert first["ring_distance"] > 0.8
    assert v["ring_distance"] < 0.3, v["ring_distance"]
    assert 0.4 < v["d_curve"][-1] < 1.0  # neither side wins outright
    assert [s["step"] for s in v["snapshots"]] == [100, 200, 400, 800]


def test_char_rnn_loss_falls_well_below_guessing_and_samples_use_the_texts_characters():
    demos.ASSET_DIR_FOR_TESTS = str(WEB)
    try:
        first = call("demo.charrnn.setup", options={})
    finally:
        demos.ASSET_DIR_FOR_TESTS = None
    assert first["vocab"] == 48 and first["chars"] > 2000
    v = call("demo.charrnn.run", maxSteps=250)
    assert v["loss"] < 0.6 * v["chance_loss"], v["loss"]
    cold = call("demo.charrnn.sample", length=100, temperature=0.2, seed=0)["text"]
    assert len(cold) == 104 and set(cold) <= set((WEB / "demos/data/public-domain.txt").read_text())
    assert "temperature must be between" in error("demo.charrnn.sample", temperature=0)
    assert "cell must be" in error("demo.charrnn.setup", options={"cell": "transformer"})


def test_dqn_reward_rises_and_the_greedy_route_reaches_the_goal():
    call("demo.dqn.setup", options={})
    v = call("demo.dqn.run", maxSteps=1500)
    assert v["episodes"] > 60
    assert v["recent_return"] > v["first_returns"] + 1.0, (v["first_returns"], v["recent_return"])
    assert v["greedy"]["reached_goal"] and len(v["greedy"]["path"]) <= 12


def test_model_search_leaderboard_is_sorted_and_the_ensemble_beats_the_median_candidate():
    call("demo.search.setup", options={})
    v = call("demo.search.run", maxSteps=96)  # 8 candidates x 3 folds x 20 epochs (5 per step)
    board = v["leaderboard"]
    assert v["candidates"] == 8 and len(board) == 8
    assert [e["cv_accuracy"] for e in board] == sorted((e["cv_accuracy"] for e in board), reverse=True)
    assert all(len(e["cv_folds"]) == 3 for e in board)
    assert v["ensemble_test_accuracy"] >= v["median_test_accuracy"]
    assert v["ensemble_test_accuracy"] > 0.8


def test_model_search_takes_a_csv_and_explains_a_bad_one():
    rows = ["a,b,label"] + [f"{i % 7},{(i * 3) % 5},{i % 2}" for i in range(40)]
    v = call("demo.search.setup", options={"csv": "\n".join(rows)})
    assert v["rows"]["train"] + v["rows"]["test"] == 40 and v["features"] == ["a", "b"]
    assert "row 3, column 'a'" in error("demo.search.setup", options={"csv": "a,label\n1,0\nx,1"})
    assert "needs class labels" in error("demo.search.setup", options={"csv": "a,y\n" + "\n".join(f"{i},{i / 3}" for i in range(30))})
    assert "at least 15 rows" in error("demo.search.setup", options={"csv": "a,label\n1,0\n2,1"})


def test_the_home_page_links_every_demo_page_and_every_page_has_a_python_demo():
    index = (WEB / "index.html").read_text()
    pages = sorted(p.stem for p in (WEB / "demos").glob("*.html"))
    assert pages and all(f'href="demos/{name}.html"' in index for name in pages), pages
    for name in pages:
        html = (WEB / "demos" / f"{name}.html").read_text()
        assert f'src="{name}.js"' in html and 'id="controls"' in html and 'class="idea"' in html
        assert f'name: "{name}"' in (WEB / "demos" / f"{name}.js").read_text()
        assert name in demos.DEMOS
