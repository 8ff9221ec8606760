"""Backpropagation one step at a time, on a 2-2-1 network with sigmoid units and one training example.

Each Step performs one operation with pyengine itself and shows its numbers: the forward pass layer by
layer (pyengine's dense and sigmoid ops), the squared-error loss, then the backward pass one layer at a
time, and the SGD update. The backward pass is the engine's autograd, stopped at every layer: each
layer's input is a fresh leaf Tensor, so `output.backward(upstream gradient)` of one layer yields exactly
that layer's gradients (for its weights and for its input, which the next backward step takes as its
upstream gradient). That is the chain rule, applied by the engine one link at a time; the page prints
each link's formula with the numbers, and the update stage compares every gradient with a finite
difference of the loss. Play keeps repeating the cycle, so the net fits the target and the loss falls."""
import re

import numpy as np

from .. import layertypes
from ..model import build
from ..tensor import Tensor, no_grad
from . import Demo, fail, option, register

# name, pyengine layer type: the network as the picture draws it
LAYERS = (("hidden", "dense"), ("hidden_sigmoid", "sigmoid"), ("output", "dense"), ("output_sigmoid", "sigmoid"))
STAGES = ("forward: hidden layer", "forward: hidden sigmoid", "forward: output layer", "forward: output sigmoid",
          "loss", "backward: loss", "backward: output sigmoid", "backward: output layer",
          "backward: hidden sigmoid", "backward: hidden layer", "update")
FD_EPS = 1e-3  # finite-difference step for the check at the update stage


def net(lr, seed):
    return {"input": [2], "layers": [
        {"type": "dense", "units": 2, "name": "hidden"}, {"type": "sigmoid", "name": "hidden_sigmoid"},
        {"type": "dense", "units": 1, "name": "output"}, {"type": "sigmoid", "name": "output_sigmoid"}],
        "loss": "mse", "optimizer": {"type": "sgd", "lr": lr}, "seed": seed, "backend": "numpy"}


class _Eval:
    """The context a layer's forward reads (no dropout or batch norm here: nothing random)."""
    training, rng = False, None


def nums(array):
    """A small array as nested lists of floats (for the page)."""
    return np.asarray(array, dtype=np.float64).tolist()


def f(v):
    return f"{float(v):.4g}"


def tidy(text):
    """Negative operands in parentheses, and true minus signs: "0.7·-0.5" -> "0.7·(−0.5)"."""
    text = re.sub(r"([·+−(] ?)-(\d[\d.]*(?:e[+-]?\d+)?)", r"\1(−\2)", text)
    return text.replace("-", "−")


@register
class Backprop(Demo):
    name = "backprop"
    view_seconds = 0.2

    async def setup(self, x1=1.0, x2=-0.5, target=0.9, lr=1.0, seed=3, **unknown):
        if unknown:
            fail(f"unknown option(s) {', '.join(sorted(unknown))}: backprop takes x1, x2, target, lr, seed",
                 "BadParams")
        opts = {"x1": x1, "x2": x2, "target": target, "lr": lr, "seed": seed}
        self.x = np.array([[option(opts, "x1", 1.0, -10.0, 10.0), option(opts, "x2", -0.5, -10.0, 10.0)]],
                          np.float32)
        # The output is a sigmoid, so only targets inside (0, 1) can be met.
        self.target = np.array([[option(opts, "target", 0.9, 0.0, 1.0)]], np.float32)
        self.lr = option(opts, "lr", 1.0, 1e-4, 20.0)
        self.model = build(net(self.lr, option(opts, "seed", 3, 0, 2**31 - 1, int)))
        self.cfgs = {cfg["name"]: cfg for cfg in self.model.nspec.layers}
        self.iteration, self.stage = 0, 0
        self.losses = []
        self.clear()

    def clear(self):
        """Forget the last pass: a new forward pass starts from the current weights."""
        self.inputs, self.outputs = {}, {}  # layer name -> leaf Tensor fed in / Tensor it gave
        self.grads = {}  # "loss", layer name -> dL/d(that layer's output), "x" -> dL/dx
        self.loss = None
        self.param_grads = {}
        self.previous_weights = None
        self.finite_differences = None
        self.formula = "Press Step to run the hidden layer on the input."

    def params(self, layer):
        return self.model.params.get(layer, {})

    def advance(self):
        stage = STAGES[self.stage]
        if self.stage == 0:
            self.clear()
        if stage.startswith("forward"):
            self.forward_layer(LAYERS[self.stage][0], LAYERS[self.stage][1])
        elif stage == "loss":
            y = Tensor(self.outputs["output_sigmoid"].data, requires_grad=True)
            self.inputs["loss"] = y
            self.loss = self.model.loss_fn(y, self.target)
            yhat, t = float(y.data[0, 0]), float(self.target[0, 0])
            self.formula = f"L = (ŷ − t)² = ({f(yhat)} − {f(t)})² = {f(self.loss.data)}"
        elif stage == "backward: loss":
            self.loss.backward()
            g = self.inputs["loss"].grad
            self.grads["output_sigmoid"] = g
            yhat, t = float(self.inputs["loss"].data[0, 0]), float(self.target[0, 0])
            self.formula = f"∂L/∂ŷ = 2(ŷ − t) = 2({f(yhat)} − {f(t)}) = {f(g[0, 0])}"
        elif stage.startswith("backward"):
            index = 9 - self.stage  # stages 6..9 walk the layers from the output back
            self.backward_layer(*LAYERS[index])
        else:
            self.update()
        self.stage = (self.stage + 1) % len(STAGES)
        if self.stage == 0:
            self.iteration += 1

    def forward_layer(self, name, kind):
        before = LAYERS[[n for n, _ in LAYERS].index(name) - 1][0] if name != "hidden" else None
        a = Tensor(self.x if before is None else self.outputs[before].data, requires_grad=True)  # a leaf
        out = layertypes.get(kind).forward(self.cfgs[name], self.params(name), [a], _Eval())
        self.inputs[name], self.outputs[name] = a, out
        self.formula = self.forward_formula(name, a.data[0], out.data[0])

    def forward_formula(self, name, v, o):
        """What the forward step computed, in the picture's symbols (u, h, z, ŷ; weights w, b, v, c)."""
        if name in ("hidden_sigmoid", "output_sigmoid"):
            sym, src = (("h", "u"), range(1, 3)) if name == "hidden_sigmoid" else (("ŷ", "z"), [""])
            return "; ".join(f"{sym[0]}{j} = σ({sym[1]}{j}) = 1 / (1 + e^({f(-v[i])})) = {f(o[i])}"
                             for i, j in enumerate(src))
        w, b = self.params(name)["weight"].data, self.params(name)["bias"].data  # (in, out), (out,)
        if name == "hidden":
            return "; ".join(f"u{j + 1} = w1{j + 1}·x1 + w2{j + 1}·x2 + b{j + 1} = {f(w[0, j])}·{f(v[0])} + "
                             f"{f(w[1, j])}·{f(v[1])} + {f(b[j])} = {f(o[j])}" for j in range(2))
        return (f"z = v1·h1 + v2·h2 + c = {f(w[0, 0])}·{f(v[0])} + {f(w[1, 0])}·{f(v[1])} + {f(b[0])} = "
                f"{f(o[0])}")

    def backward_layer(self, name, kind):
        """Backprop through one layer: its output's gradient in, its input's (and weights') out."""
        upstream = self.grads[name]
        for p in self.params(name).values():
            p.grad = None
        a = self.inputs[name]
        a.grad = None
        self.outputs[name].backward(upstream)
        layer_index = [n for n, _ in LAYERS].index(name)
        below = LAYERS[layer_index - 1][0] if layer_index else "x"
        self.grads[below] = a.grad
        if name in ("hidden", "output"):
            p = self.params(name)
            self.param_grads[name] = {"weight": p["weight"].grad.copy(), "bias": p["bias"].grad.copy()}
        self.formula = self.backward_formula(name, a.data[0], upstream[0], a.grad[0])

    def backward_formula(self, name, v, g_up, g_in):
        """The chain rule link this backward step applied, with its numbers."""
        out = self.outputs[name].data[0]
        if name == "output_sigmoid":
            return f"∂L/∂z = ∂L/∂ŷ · ŷ(1 − ŷ) = {f(g_up[0])} · {f(out[0])}·(1 − {f(out[0])}) = {f(g_in[0])}"
        if name == "hidden_sigmoid":
            return "; ".join(f"∂L/∂u{j + 1} = ∂L/∂h{j + 1} · h{j + 1}(1 − h{j + 1}) = {f(g_up[j])} · "
                             f"{f(out[j])}·(1 − {f(out[j])}) = {f(g_in[j])}" for j in range(2))
        g = self.param_grads[name]
        w = self.params(name)["weight"].data
        if name == "output":
            return "; ".join([f"∂L/∂v{j + 1} = h{j + 1} · ∂L/∂z = {f(v[j])} · {f(g_up[0])} = {f(g['weight'][j, 0])}"
                              for j in range(2)]
                             + [f"∂L/∂c = ∂L/∂z = {f(g['bias'][0])}"]
                             + [f"∂L/∂h{j + 1} = v{j + 1} · ∂L/∂z = {f(w[j, 0])} · {f(g_up[0])} = {f(g_in[j])}"
                                for j in range(2)])
        return "; ".join([f"∂L/∂w{i + 1}{j + 1} = x{i + 1} · ∂L/∂u{j + 1} = {f(v[i])} · {f(g_up[j])} = "
                          f"{f(g['weight'][i, j])}" for j in range(2) for i in range(2)]
                         + [f"∂L/∂b{j + 1} = ∂L/∂u{j + 1} = {f(g['bias'][j])}" for j in range(2)])

    def update(self):
        """The SGD step (pyengine's optimizer) with the gradients of this pass, after a finite-difference check."""
        self.finite_differences = self.check_gradients()
        self.previous_weights = {name: {k: nums(p.data) for k, p in self.params(name).items()}
                                 for name in ("hidden", "output")}
        params = []
        for name in ("hidden", "output"):
            for key, p in self.params(name).items():
                p.grad = self.param_grads[name][key]
                params.append(p)
        self.model.optimizer.step(params)
        self.losses.append(float(self.loss.data))
        v = self.params("output")["weight"].data
        self.formula = (f"every weight w ← w − η·∂L/∂w (η = {f(self.lr)}), e.g. v1 ← "
                        f"{f(self.previous_weights['output']['weight'][0][0])} − {f(self.lr)}·"
                        f"{f(self.param_grads['output']['weight'][0, 0])} = {f(v[0, 0])}")

    def loss_at(self):
        with no_grad():
            out = self.model.forward(self.x, training=False)
            return float(self.model.loss_fn(out, self.target).data)

    def check_gradients(self):
        """Central differences (L(w + ε) − L(w − ε)) / 2ε of the loss, for every weight and bias."""
        out = {}
        for name in ("hidden", "output"):
            out[name] = {}
            for key, p in self.params(name).items():
                fd = np.zeros(p.data.shape)
                for idx in np.ndindex(p.data.shape):
                    keep = p.data[idx]
                    p.data[idx] = keep + FD_EPS
                    up = self.loss_at()
                    p.data[idx] = keep - FD_EPS
                    down = self.loss_at()
                    p.data[idx] = keep
                    fd[idx] = (up - down) / (2 * FD_EPS)
                out[name][key] = nums(fd)
        return out

    def view(self):
        def value(t):
            return None if t is None else nums(t.data[0])

        def grad(key):
            g = self.grads.get(key)
            return None if g is None else nums(g[0])
        weights = {name: {k: nums(p.data) for k, p in self.params(name).items()} for name in ("hidden", "output")}
        return {
            "stage": self.stage, "stages": list(STAGES), "next": STAGES[self.stage], "iteration": self.iteration,
            "x": nums(self.x[0]), "target": float(self.target[0, 0]), "lr": self.lr,
            "weights": weights, "previous_weights": self.previous_weights,
            "z": value(self.outputs.get("hidden")), "h": value(self.outputs.get("hidden_sigmoid")),
            "z2": value(self.outputs.get("output")), "yhat": value(self.outputs.get("output_sigmoid")),
            "loss": None if self.loss is None else float(self.loss.data),
            "grad": {"yhat": grad("output_sigmoid"), "z2": grad("output"), "h": grad("hidden_sigmoid"),
                     "z": grad("hidden"), "x": grad("x")},
            "param_grads": {name: {k: nums(v) for k, v in g.items()} for name, g in self.param_grads.items()},
            "finite_differences": self.finite_differences, "formula": tidy(self.formula),
            "losses": self.losses[-400:], "losses_from": max(0, len(self.losses) - 400)}
