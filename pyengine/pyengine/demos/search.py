"""Automatic model search on tabular data, as ConvNetJS's MagicNet does: random networks and training
settings, each scored by k-fold cross-validation, a live leaderboard, and an ensemble of the best
(their predicted probabilities averaged) scored on a held-out test split.

The bundled table is synthetic (`synthetic_table`: three overlapping classes in four measured features
plus two pure-noise ones, seeded); the page can upload a CSV instead (parsed by the playground's
`parse_csv`: a header row, numbers, the label column last or named)."""
import numpy as np

from ..model import build
from ..playground import CsvError, parse_csv
from . import Demo, fail, option, register

EPOCHS_PER_STEP = 5


def synthetic_table(n=300, seed=0):
    """(x (n, 6) float32, y (n,) int64, feature names, class names)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[5.0, 3.4, 1.5, 0.3], [5.9, 2.8, 4.3, 1.3], [6.6, 3.0, 5.5, 2.0]])
    spread = np.array([0.35, 0.35, 0.45, 0.25])
    y = np.repeat(np.arange(3), n // 3 + 1)[:n]
    x = centres[y] + rng.normal(0, 1, (n, 4)) * spread * np.array([1.0, 1.0, 1.3, 1.3])
    x = np.concatenate([x, rng.normal(0, 1, (n, 2))], axis=1)  # two features that carry no signal
    order = rng.permutation(n)
    names = ["length", "width", "petal_length", "petal_width", "noise_1", "noise_2"]
    return x[order].astype(np.float32), y[order].astype(np.int64), names, ["a", "b", "c"]


def random_candidate(rng, features, classes):
    hidden = [int(rng.integers(4, 48)) for _ in range(int(rng.integers(0, 3)))]
    activation = str(rng.choice(["relu", "tanh", "sigmoid"]))
    optimizer = str(rng.choice(["adam", "momentum", "adagrad"]))
    lr = float(10 ** rng.uniform(-3, -1.3 if optimizer == "adam" else -0.7))
    l2 = float(10 ** rng.uniform(-5, -1.5))
    batch_size = int(rng.choice([8, 16, 32]))
    layers = [{"type": "dense", "units": u, "activation": activation} for u in hidden]
    spec = {"input": [features], "layers": layers + [{"type": "dense", "units": classes}],
            "loss": "softmax_cross_entropy", "optimizer": {"type": optimizer, "lr": lr, "l2": l2},
            "seed": int(rng.integers(1 << 30))}
    words = " → ".join([str(features), *(f"{u} {activation}" for u in hidden), str(classes)])
    return {"spec": spec, "batch_size": batch_size,
            "description": f"{words}; {optimizer} lr {lr:.3g}, L2 {l2:.2g}, batch {batch_size}"}


@register
class Search(Demo):
    name = "search"
    view_seconds = 0.4

    async def setup(self, csv=None, label=None, folds=3, epochs=20, test_ratio=0.2, ensemble=3, seed=0, **_):
        self.folds = option({"folds": folds}, "folds", 3, 2, 10, int)
        self.epochs = option({"epochs": epochs}, "epochs", 20, EPOCHS_PER_STEP, 500, int)
        self.ensemble_size = option({"ensemble": ensemble}, "ensemble", 3, 1, 20, int)
        test_ratio = option({"test_ratio": test_ratio}, "test_ratio", 0.2, 0.05, 0.5)
        if csv is None:
            x, y, self.features, self.classes = synthetic_table()
            self.source = "synthetic table (300 rows, seeded)"
        else:
            try:
                x, y, info = parse_csv(csv, label)
            except CsvError as e:
                fail(str(e), "CsvError")
            if info["task"] != "classification":
                fail(f"the label column '{info['label']}' holds non-integer numbers: model search here needs "
                     "class labels (whole numbers or words)", "CsvError")
            self.features, self.classes = info["features"], info["classes"]
            self.source = f"uploaded CSV ({info['rows']} rows, label '{info['label']}')"
        if len(x) < 5 * self.folds:
            fail(f"the table needs at least {5 * self.folds} rows for {self.folds}-fold cross-validation", "CsvError")
        mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6  # standardise: one scale for every random net
        x = (x - mean) / std
        self.rng = np.random.default_rng(seed)
        order = self.rng.permutation(len(x))
        n_test = max(1, int(round(len(x) * test_ratio)))
        self.xt, self.yt = x[order[:n_test]], y[order[:n_test]]
        self.x, self.y = x[order[n_test:]], y[order[n_test:]]
        self.fold_of = np.arange(len(self.x)) % self.folds
        self.n_classes = max(len(self.classes), int(y.max()) + 1)
        self.leaderboard = []  # finished candidates, best first
        self.current = None

    def start_candidate(self):
        c = random_candidate(self.rng, self.x.shape[1], self.n_classes)
        c.update(index=len(self.leaderboard) + 1, fold=0, epoch=0, fold_scores=[], test_probs=[], model=None)
        self.current = c

    def advance(self):
        """A few epochs of the current candidate on the current fold; a fold or a candidate may finish."""
        c = self.current
        if c is None:
            self.start_candidate()
            c = self.current
        train = self.fold_of != c["fold"]
        x, y = self.x[train], self.y[train]
        if c["model"] is None:
            c["model"] = build(c["spec"])
        model = c["model"]
        for _ in range(EPOCHS_PER_STEP):
            order = model.rng.permutation(len(x))
            for i in range(0, len(x), c["batch_size"]):
                idx = order[i:i + c["batch_size"]]
                model.train_step(x[idx], y[idx])
        c["epoch"] += EPOCHS_PER_STEP
        if c["epoch"] < self.epochs:
            return
        val = ~train
        c["fold_scores"].append(model.evaluate(self.x[val], self.y[val])["accuracy"])
        c["test_probs"].append(model.predict(self.xt))
        c["fold"] += 1
        c["epoch"], c["model"] = 0, None
        if c["fold"] == self.folds:
            probs = np.mean(c["test_probs"], axis=0)
            self.leaderboard.append({"index": c["index"], "description": c["description"],
                                     "cv_accuracy": float(np.mean(c["fold_scores"])),
                                     "cv_folds": c["fold_scores"], "test_probs": probs,
                                     "test_accuracy": float((probs.argmax(1) == self.yt).mean())})
            self.leaderboard.sort(key=lambda e: -e["cv_accuracy"])
            self.current = None

    def ensemble(self):
        best = self.leaderboard[:self.ensemble_size]
        if not best:
            return None
        probs = np.mean([e["test_probs"] for e in best], axis=0)
        return float((probs.argmax(1) == self.yt).mean())

    def view(self):
        board = [{k: v for k, v in e.items() if k != "test_probs"} for e in self.leaderboard[:15]]
        tests = [e["test_accuracy"] for e in self.leaderboard]
        c = self.current
        return {"source": self.source, "features": self.features, "classes": self.classes,
                "rows": {"train": len(self.x), "test": len(self.xt)}, "folds": self.folds,
                "leaderboard": board, "candidates": len(self.leaderboard),
                "ensemble_size": min(self.ensemble_size, len(self.leaderboard)),
                "ensemble_test_accuracy": self.ensemble(),
                "median_test_accuracy": float(np.median(tests)) if tests else None,
                "best_cv_test_accuracy": tests[0] if tests else None,
                "current": None if c is None else {"index": c["index"], "description": c["description"],
                                                   "fold": c["fold"] + 1, "epoch": c["epoch"]}}
