"""Do the playground presets' default settings learn their data quickly and stably? (issue 15)

Drives the playground session exactly as the page does (setSpec of the preset, loadDataset with the
page's default options, train with the page's batch size) in CPython on NumPy, and prints, per
preset: seconds and epochs to the target validation accuracy, the best, and the spread (max - min)
of validation accuracy over the last epochs (a stable default does not swing).

    python3 scripts/check_defaults.py [preset ...] [--seconds 30]
"""
import argparse
import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pyengine"))

from pyengine import playground, rpc  # noqa: E402,F401 (playground registers its methods)
from pyengine.presets import playground_presets  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE_BATCH = 16  # web/ui/settings.js defaults
PAGE_DATA = {"spiral": {"n": 400, "noise": 0, "ratio": 0.8}, "regression1d": {"n": 400, "noise": 0, "ratio": 0.8},
             "mnist": {"count": 4000, "ratio": 0.8, "path": os.path.join(ROOT, "dist", "data", "mnist.bin")}}
TARGET = {"spiral": 0.95, "mnist": 0.90}


def call(method, **params):
    reply = json.loads(asyncio.run(rpc.dispatch(method, json.dumps(params))))
    if "error" in reply:
        raise SystemExit(f"{method}: {reply['error']['message']}")
    return reply["result"]


def check(key, seconds):
    preset = playground_presets()[key]
    call("playground.setSpec", spec=preset["spec"], keepWeights=False)
    call("playground.loadDataset", name=preset["dataset"], options=PAGE_DATA[preset["dataset"]])
    call("playground.setTrainSettings", batchSize=PAGE_BATCH)
    call("playground.reset")
    start, reached, accs, losses = time.perf_counter(), None, [], []
    while time.perf_counter() - start < seconds:
        call("playground.train", epochs=1)
        last = call("playground.getState")["last"]
        accs.append(last.get("val_accuracy"))
        losses.append(last.get("val_loss"))
        target = TARGET.get(preset["dataset"])
        if reached is None and target and accs[-1] is not None and accs[-1] >= target:
            reached = (time.perf_counter() - start, len(accs))
    elapsed = time.perf_counter() - start
    tail = [a for a in accs[-10:] if a is not None]
    if preset["dataset"] == "regression1d":
        return f"{key:12s} {len(accs)} epochs in {elapsed:.1f} s; val loss {losses[-1]:.4f} (min {min(losses):.4f})"
    when = f"{reached[0]:.1f} s (epoch {reached[1]})" if reached else "not reached"
    return (f"{key:12s} {TARGET[preset['dataset']]:.0%} at {when}; {len(accs)} epochs in {elapsed:.1f} s; "
            f"last {accs[-1]:.3f}, best {max(tail):.3f}, spread over the last {len(tail)} epochs "
            f"{max(tail) - min(tail):.3f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("presets", nargs="*", default=["mlp", "regression"])
    ap.add_argument("--seconds", type=float, default=20)
    args = ap.parse_args()
    for key in args.presets:
        print(check(key, args.seconds), flush=True)
