"""The playground session as the one state: what changes it, what it announces, and what happens
when calls overlap (a change while training, two train() calls), through rpc.dispatch as the
worker calls it."""
import ast
import asyncio
import json
from pathlib import Path

import numpy as np
import pytest

from pyengine import playground, rpc
from pyengine.presets import playground_presets

PRESETS = playground_presets()
MLP = PRESETS["mlp"]["spec"]


@pytest.fixture(autouse=True)
def fresh_session(monkeypatch):
    monkeypatch.setattr(playground, "SESSION", playground.Session())


@pytest.fixture
def events():
    seen = []
    rpc.set_emitter(lambda text: seen.append(json.loads(text)))
    yield seen
    rpc.set_emitter(None)


def run(coro):
    """Run a coroutine on a fresh event loop in a thread (Playwright may own this thread's loop)."""
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def call(method, **params):
    reply = json.loads(await rpc.dispatch(method, json.dumps(params)))
    return reply


async def ok(method, **params):
    reply = await call(method, **params)
    assert "error" not in reply, reply["error"]["message"]
    return reply["result"]


async def spiral_session(spec=MLP, n=200):
    await ok("playground.setSpec", spec=spec)
    await ok("playground.loadDataset", name="spiral", options={"n": n})


def test_every_change_is_announced_as_a_state_event_that_matches_get_state(events):
    async def go():
        await spiral_session()
        await ok("playground.setTrainSettings", batchSize=8)
        await ok("playground.train", steps=3)
        return await ok("playground.getState")
    state = run(go())
    states = [e for e in events if e["event"] == "state"]
    assert [s["revision"] for s in states] == sorted(s["revision"] for s in states)
    last = states[-1]
    assert last["revision"] == state["revision"]
    assert last["spec"] == state["spec"] == {**MLP, "backend": "auto"}
    assert state["train"] == {"batchSize": 8, "earlyStopping": None, "workers": "auto"}
    assert state["data"]["name"] == "spiral" and state["data"]["options"]["n"] == 200
    assert state["counters"]["step"] == 3 and state["counters"]["examples"] == 24
    assert state["training"] is False and state["fit"]["ok"] is True
    changes = [c for s in states for c in s["change"]]
    assert {"spec", "data", "train", "training", "counters"} <= set(changes)


def test_same_network_is_one_check_for_kept_weights_and_for_a_running_train():
    session = playground.SESSION
    assert session.is_same_net(MLP) is False  # nothing built yet
    session.set_spec(MLP)
    other_loss = {**MLP, "loss": "mse", "optimizer": {"type": "adam", "lr": 0.5}, "backend": "numpy"}
    wider = {**MLP, "layers": [{**MLP["layers"][0], "units": MLP["layers"][0]["units"] + 1}, *MLP["layers"][1:]]}
    assert session.is_same_net(other_loss) is True
    assert session.is_same_net(other_loss, keep_weights=False) is False
    assert session.is_same_net(wider) is False and session.is_same_net({**MLP, "seed": 7}) is False
    assert session.is_same_net("not a spec") is False and session.is_same_net(None) is False
    # set_spec keeps the weights exactly when the check says so (the RPC asks the same method
    # whether a running train() may go on)
    assert session.set_spec(other_loss)["kept_weights"] is True
    assert session.set_spec(wider)["kept_weights"] is False
    assert "_is_same_net" not in vars(playground)


def test_a_second_train_is_busy_and_a_change_of_optimizer_applies_while_training_goes_on():
    async def go():
        await spiral_session()
        first = asyncio.ensure_future(rpc.dispatch("playground.train", json.dumps({"steps": 400})))
        while not playground.SESSION.training:
            await asyncio.sleep(0)
        busy = await call("playground.train", steps=1)
        faster = {**MLP, "optimizer": {"type": "adam", "lr": 0.001, "eps": 1e-7}}
        kept = await ok("playground.setSpec", spec=faster)
        still = playground.SESSION.training
        result = json.loads(await first)["result"]
        return busy, kept, still, result, playground.SESSION.model
    busy, kept, still, result, model = run(go())
    assert busy["error"]["kind"] == "Busy"
    assert kept["kept_weights"] is True and still is True
    assert result["stopped"] == "steps" and result["steps"] == 400  # one run, not cut short
    assert model.optimizer.config["lr"] == 0.001 and model.optimizer.config["eps"] == 1e-7
    assert model.step_count == 400


@pytest.mark.parametrize("change", ["network", "data", "reset"])
def test_a_new_network_new_data_or_reset_ends_the_run_first_and_the_next_train_starts_at_once(change):
    async def go():
        await spiral_session()
        first = asyncio.ensure_future(rpc.dispatch("playground.train", json.dumps({})))  # until paused
        while not playground.SESSION.training:
            await asyncio.sleep(0)
        await asyncio.sleep(0.05)
        if change == "network":
            other = {**MLP, "layers": [{"type": "dense", "units": 8, "activation": "relu"}, {"type": "dense", "units": 2}]}
            await ok("playground.setSpec", spec=other)
        elif change == "data":
            await ok("playground.loadDataset", name="circle", options={"n": 100})
        else:
            await ok("playground.reset")
        ended = json.loads(await first)["result"]
        again = await ok("playground.train", steps=2)  # never "Busy" after the change resolved
        return ended, again
    ended, again = run(go())
    assert ended["stopped"] == "changed"
    assert again["steps"] == 2 and again["stopped"] == "steps"


def test_pause_resolves_with_the_session_idle_and_counters_only_grow(events):
    async def go():
        await spiral_session()
        first = asyncio.ensure_future(rpc.dispatch("playground.train", json.dumps({})))
        while playground.SESSION.history.epoch < 3:
            await asyncio.sleep(0)
        paused = await ok("playground.pause")
        idle = not playground.SESSION.training
        await first
        return paused, idle
    paused, idle = run(go())
    assert paused == {"paused": True} and idle
    counted = [e["counters"]["epoch"] if e["event"] == "state" else e["epoch"]
               for e in events if e["event"] in ("progress", "state")]
    assert len(counted) > 5 and counted[-1] >= 3
    assert counted == sorted(counted), "the epoch counter went backwards"


@pytest.mark.parametrize("params, field", [
    ({"earlyStopping": "abc"}, "earlyStopping"), ({"epochs": float("nan")}, "epochs"),
    ({"epochs": float("inf")}, "epochs"), ({"epochs": "3"}, "epochs"), ({"steps": 0}, "steps"),
    ({"batchSize": 0}, "batchSize"), ({"maxSeconds": -1}, "maxSeconds")])
def test_bad_train_values_are_refused_by_name_and_never_wedge_the_session(params, field):
    async def go():
        await spiral_session()
        reply = await rpc.dispatch("playground.train", json.dumps(params).replace("NaN", "NaN"))
        after = await ok("playground.train", steps=1)
        return json.loads(reply), after
    if any(isinstance(v, float) and not np.isfinite(v) for v in params.values()):
        async def go():  # noqa: F811 - JSON cannot carry NaN/inf: call the session directly
            await spiral_session()
            try:
                await playground.SESSION.train(epochs=params["epochs"])
                reply = {"result": "trained"}
            except rpc.RpcError as e:
                reply = {"error": {"message": str(e), "kind": e.kind}}
            return reply, await ok("playground.train", steps=1)
    reply, after = run(go())
    assert reply["error"]["kind"] == "BadParams" and field in reply["error"]["message"]
    assert after["steps"] == 1


def test_untouched_default_network_follows_the_data_and_an_edited_one_gets_a_reason_and_fixes(events, mnist_built):
    async def go():
        await ok("playground.restore")  # what the page does on a first visit: the default network
        mnist = await ok("playground.loadDataset", name="mnist", options={"path": MNIST, "count": 100})
        auto_spec = await ok("playground.getSpec")
        await ok("playground.setSpec", spec=MLP)  # now the learner's own choice
        await ok("playground.loadDataset", name="mnist", options={"path": MNIST, "count": 100})
        refused = await call("playground.train", steps=1)
        return mnist, auto_spec, await ok("playground.getState"), refused
    mnist, auto_spec, state, refused = run(go())
    assert mnist["applied_preset"] == "mnist" and auto_spec["input"] == PRESETS["mnist"]["spec"]["input"]
    fit = state["fit"]
    assert fit["ok"] is False and "input is [2]" in fit["reason"]
    labels = [f["label"] for f in fit["fixes"]]
    assert any("preset" in f for f in fit["fixes"]) and any("Set the input" in l for l in labels)
    assert refused["error"]["kind"] == "DataError" and "input" in refused["error"]["message"]
    assert any(e["event"] == "notice" for e in events)


@pytest.mark.parametrize("dataset", sorted(playground.TOY_DATASETS) + ["regression1d", "mnist"])
def test_every_dataset_with_the_default_network_fits_or_says_why(dataset, mnist_built):
    async def go():
        await ok("playground.restore")
        options = {"path": MNIST, "count": 50} if dataset == "mnist" else {"n": 50}
        await ok("playground.loadDataset", name=dataset, options=options)
        state = await ok("playground.getState")
        if state["fit"]["ok"]:
            await ok("playground.train", steps=2)
        return state
    state = run(go())
    assert state["fit"]["ok"] or state["fit"]["reason"]


def test_regression_by_default_gets_mse_and_learns_the_curve():
    async def go():
        await ok("playground.restore")
        await ok("playground.loadDataset", name="regression1d", options={"n": 200})
        state = await ok("playground.getState")
        result = await ok("playground.train", epochs=150, batchSize=16)
        curve = await ok("playground.curve", points=50)
        return state, result, curve
    state, result, curve = run(go())
    assert state["spec"]["loss"] == "mse" and state["fit"]["ok"]
    assert result["val_loss"] < 0.02
    x, y = np.asarray(curve["x"]), np.asarray(curve["y"])
    assert np.abs(y - np.sin(np.pi * x)).mean() < 0.1


def test_snapshot_and_restore_bring_back_weights_counters_and_history():
    async def go():
        await spiral_session()
        await ok("playground.train", epochs=3, batchSize=20)
        before = await ok("playground.getMetrics")
        preds = await ok("playground.predict", inputs=[[0.5, -0.3], [1.0, 2.0]])
        snap = await ok("playground.snapshot")
        playground.SESSION = playground.Session()  # a reload: a fresh worker
        back = await ok("playground.restore", saved=snap)
        return before, preds, back, await ok("playground.getMetrics"), await ok("playground.predict",
                                                                                  inputs=[[0.5, -0.3], [1.0, 2.0]])
    before, preds, back, after, preds_after = run(go())
    assert back["ignored"] == [] and back["weights"] and back["history"]
    assert after["epoch"] == before["epoch"] == 3 and after["examples"] == before["examples"]
    assert after["step"] == before["step"] and len(after["epochs"]) == 3
    assert len(after["step_loss"]) == len(before["step_loss"])
    np.testing.assert_allclose(preds_after["outputs"], preds["outputs"], rtol=1e-6)
    assert back["state"]["train"]["batchSize"] == 20


def test_restore_ignores_what_it_cannot_use_names_it_and_falls_back_to_the_default():
    async def go():
        await spiral_session()
        other_weights = (await ok("playground.snapshot"))["weights"]
        playground.SESSION = playground.Session()
        bad = await ok("playground.restore", saved={"spec": {"input": [2], "layers": [{"type": "nope"}]},
                                                     "data": {"name": "constructor"}, "train": 7})
        wrong = await ok("playground.restore", saved={
            "spec": {**MLP, "layers": [{"type": "dense", "units": 4}, {"type": "dense", "units": 2}]},
            "weights": other_weights})
        garbage = await ok("playground.restore", saved=12)
        return bad, wrong, garbage
    bad, wrong, garbage = run(go())
    text = " ".join(bad["ignored"])
    assert "network" in text and "constructor" in text and "training settings" in text
    assert bad["state"]["spec"]["layers"] == MLP["layers"] and bad["state"]["data"]["name"] == "spiral"
    assert wrong["weights"] is False and any("another network" in m for m in wrong["ignored"])
    assert garbage["ignored"] == ["the saved state is not an object"] and garbage["state"]["fit"]["ok"]


def test_the_backend_choice_survives_presets_loads_and_specs_without_one():
    async def go():
        await spiral_session()
        await ok("playground.setBackend", name="numpy")
        await ok("playground.setSpec", spec=PRESETS["lenet"]["spec"], keepWeights=False)
        after_preset = (await ok("playground.getSpec"))["backend"]
        model = await ok("playground.save")
        await ok("playground.setBackend", name="numpy")
        await ok("playground.load", bytes=model["bytes"])
        after_load = await ok("playground.getState")
        return after_preset, after_load
    after_preset, after_load = run(go())
    assert after_preset == "numpy"
    assert after_load["spec"]["backend"] == "numpy" and after_load["backend"]["requested"] == "numpy"


def test_dataset_options_are_checked_by_name(mnist_built):
    async def go():
        await ok("playground.restore")
        replies = [await call("playground.loadDataset", name="mnist", options={"path": MNIST, "count": c})
                   for c in (0, -5, "abc")]
        replies.append(await call("playground.loadDataset", name="regression1d", options={"n": 10 ** 9}))
        replies.append(await call("playground.loadDataset", name="spiral", options={"noise": "x"}))
        return replies, await ok("playground.getState")
    replies, state = run(go())
    for r, field in zip(replies, ["count", "count", "count", "n", "noise"]):
        assert r["error"]["kind"] == "DataError" and f"{field} must be" in r["error"]["message"], r["error"]
    assert state["data"]["name"] == "spiral"  # the working data stays


def test_one_request_per_builder_edit_returns_the_check_even_for_a_bad_spec():
    reply = run(call("playground.setSpec", spec={"input": [2], "layers": [{"type": "dense", "units": -1}]}))
    err = reply["error"]
    assert err["kind"] == "SpecError" and "units" in err["message"]
    assert err["details"]["ok"] is False and err["details"]["layers"][0]["messages"]


ENGINE = Path(playground.__file__).parent


def _imports(path):
    """The pyengine modules a file imports at module level (relative imports resolved)."""
    tree = ast.parse(path.read_text())
    pkg = path.relative_to(ENGINE.parent).with_suffix("").parts[:-1]
    out = set()
    for node in tree.body:  # module level only: that is what makes an import cycle
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(pkg[:len(pkg) - node.level + 1])
            mod = base + (node.module.split(".") if node.module else [])
            names = [mod + [a.name] for a in node.names] if not node.module else [mod]
            out.update(".".join(n) for n in names)
    return out


def test_model_training_and_backends_import_one_way():
    modules = {".".join(p.relative_to(ENGINE.parent).with_suffix("").parts).removesuffix(".__init__"): p
               for p in ENGINE.rglob("*.py")}
    graph = {m: {i for i in _imports(p) if i in modules} for m, p in modules.items()}

    def reaches(a, b, seen=()):
        return any(n == b or (n not in seen and reaches(n, b, seen + (n,))) for n in graph.get(a, ()))

    core = ["pyengine.model", "pyengine.train"] + [m for m in modules if m.startswith("pyengine.backends")]
    cycles = [(a, b) for a in core for b in core if a < b and reaches(a, b) and reaches(b, a)]
    assert cycles == []
    assert not reaches("pyengine.train", "pyengine.model")  # the trainer needs only the model's methods


MNIST = str(Path(__file__).resolve().parents[1] / "dist" / "data" / "mnist.bin")


@pytest.fixture
def mnist_built():
    if not Path(MNIST).exists():
        pytest.skip("dist/data/mnist.bin is missing: run python3 build.py")
