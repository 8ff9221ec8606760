"""window.nnplay's playground API, driven only through window.nnplay (as a Playwright user would)."""
import pytest

MLP = {"input": [2], "layers": [{"type": "dense", "units": 16, "activation": "tanh"},
                                {"type": "dense", "units": 16, "activation": "tanh"},
                                {"type": "dense", "units": 2}],
       "loss": "softmax_cross_entropy", "optimizer": {"type": "adam", "lr": 0.01}, "seed": 0}


@pytest.mark.timeout(240)
def test_the_spiral_trains_to_95_percent_through_window_nnplay_alone(booted):
    r = booted.page.evaluate(
        """async (spec) => {
            await nnplay.ready;
            await nnplay.setSpec(spec);
            const data = await nnplay.loadDataset("spiral", {n: 400, noise: 0, ratio: 0.8});
            const epochs = [], progress = [];
            const offE = nnplay.on("epoch", e => epochs.push(e));
            const offP = nnplay.on("progress", e => e.stage === "train" && progress.push(e));
            const result = await nnplay.train({epochs: 150, batchSize: 16});
            offE(); offP();
            const evaluation = await nnplay.evaluate();
            const metrics = await nnplay.getMetrics();
            const predicted = await nnplay.predict([[0, 0.1], [4, -1]]);
            const got = await nnplay.getSpec();
            return {data, result, epochs: epochs.length, progress: progress.length, evaluation, metrics, predicted, got};
        }""",
        MLP,
    )
    assert r["data"]["train"] == 320 and r["data"]["val"] == 80
    assert r["result"]["steps"] == 3000 and len(r["result"]["history"]) == 3000
    assert r["result"]["accuracy"] >= 0.95, r["result"]
    assert r["evaluation"]["accuracy"] >= 0.95
    assert r["epochs"] == 150 and r["progress"] > 0
    assert r["metrics"]["epoch"] == 150 and r["metrics"]["step"] == 3000
    assert len(r["predicted"]["outputs"]) == 2 and r["got"] == {**MLP, "backend": "auto"}


def test_pause_save_load_and_errors_through_window_nnplay(booted):
    r = booted.page.evaluate(
        """async (spec) => {
            await nnplay.setSpec(spec);
            await nnplay.loadDataset("xor", {n: 200});
            const running = nnplay.train({});              // no limit: runs until paused
            await new Promise(r => setTimeout(r, 400));
            const clickedAt = performance.now();
            await nnplay.pause();
            const paused = await running;
            const bytes = await nnplay.save();
            const before = await nnplay.predict([1, 1]);
            await nnplay.reset();
            await nnplay.load(bytes);
            const after = await nnplay.predict([1, 1]);
            const errors = [];
            const off = nnplay.on("error", e => errors.push(e.message));
            const fail = async (p) => { try { await p; return null; } catch (e) { return e.message; } };
            const corrupt = await fail(nnplay.load(bytes.slice(0, 30)));
            const badSpec = await fail(nnplay.setSpec({input: [2], layers: [{type: "dense", units: 0}]}));
            const badData = await fail(nnplay.loadDataset("nope"));
            const badTrain = await fail(nnplay.train({steps: -1}));
            off();
            const still = await nnplay.predict([1, 1]);
            return {paused, isBytes: bytes instanceof Uint8Array, same: JSON.stringify(before) === JSON.stringify(after),
                    corrupt, badSpec, badData, badTrain, errors, kept: JSON.stringify(still) === JSON.stringify(after),
                    code: await nnplay.code("keras")};
        }""",
        MLP,
    )
    assert r["paused"]["stopped"] == "paused" and r["paused"]["steps"] > 0
    assert r["isBytes"] and r["same"] and r["kept"]
    assert "ModelFileError" in r["corrupt"]
    assert "units" in r["badSpec"]
    assert "unknown dataset 'nope'" in r["badData"]
    assert "steps must be a positive integer" in r["badTrain"] and r["errors"]
    assert "keras.Model" in r["code"]
