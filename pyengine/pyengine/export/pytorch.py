"""A pyengine network as PyTorch code that computes the same thing, and its weights in PyTorch's layout.

The generated module keeps every tensor channels-last (N, H, W, C), as pyengine does; only a conv or
a pool permutes to PyTorch's NCHW and back around its own call. So concat and softmax axes, flatten
order, maxout groups and image-shaped outputs mean what they mean in pyengine, with no bookkeeping.
Where PyTorch has no exact equivalent the code carries a small module of its own (and says why):
nnplay's rnn (one bias, any activation), batchnorm over any rank with the biased variance in the
running statistics, average pooling that leaves padding out of the mean, hinge, BCE on
probabilities, and momentum with an lr schedule.

Everything here only builds text and NumPy arrays: pyengine never imports torch.
"""
from __future__ import annotations

import numpy as np

from .. import layertypes
from .common import ExportError, attr_names, py, weight_decayed

__all__ = ["model_code", "to_torch_state", "from_torch_state", "torch_param_names"]

TORCH_VERSION = "2.13.0"


def _act(name, x, alpha=None):
    """PyTorch expression for pyengine's activation `name` (alpha: leaky_relu / elu) applied to x."""
    if name in (None, "linear"):
        return x
    alpha = {"leaky_relu": 0.01, "elu": 1.0}.get(name) if alpha is None else alpha
    return {"relu": f"F.relu({x})", "sigmoid": f"torch.sigmoid({x})", "tanh": f"torch.tanh({x})",
            "gelu": f"F.gelu({x}, approximate='tanh')", "leaky_relu": f"F.leaky_relu({x}, {py(alpha)})",
            "elu": f"F.elu({x}, {py(alpha)})", "softmax": f"F.softmax({x}, dim=-1)"}[name]


_HELPERS = {
    "Momentum": '''
class Momentum(torch.optim.Optimizer):
    """nnplay's momentum: v = mu v - lr g; w += v (nesterov: w += mu v - lr g). torch's SGD keeps the
    velocity without the lr, which is the same only while the lr stays constant; with a schedule it
    is not, so this keeps nnplay's form."""

    def __init__(self, params, lr, momentum, nesterov=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, nesterov=nesterov))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                v = self.state[p].setdefault("velocity", torch.zeros_like(p))
                v.mul_(group["momentum"]).sub_(group["lr"] * p.grad)
                if group["nesterov"]:
                    p.add_(group["momentum"] * v - group["lr"] * p.grad)
                else:
                    p.add_(v)
''',
}


class _Plan:
    """What one network becomes in PyTorch: module lines, forward lines, parameter mapping."""

    def __init__(self, nspec):
        self.nspec = nspec
        self.attrs = attr_names([c["name"] for c in nspec.layers])
        self.init, self.fwd, self.helpers = [], [], {}  # helpers: name -> code, in order of first use
        self.params = []  # (torch key, layer name, nnplay param or None, to_torch(a), from_torch(t))
        self.frozen = []  # torch keys kept at zero and out of training (lstm's second bias)
        names = {"input": "x"}
        for cfg in nspec.layers:
            out = self.attrs[cfg["name"]]
            self._layer(cfg, [names[i] for i in cfg["inputs"]], out)
            names[cfg["name"]] = out
        self.output = names[nspec.layers[-1]["name"]]

    # What a layer record's pytorch hook builds with (pyengine/layertypes): attrs, init and fwd lines,
    # param(), helper(), frozen, and the expression helpers act() and py().
    act = staticmethod(_act)
    py = staticmethod(py)

    def helper(self, name, code=None):
        """Put a helper definition (a class or function the code needs) in the file once."""
        if name not in self.helpers:
            self.helpers[name] = _HELPERS[name] if code is None else code

    def param(self, key, layer, pname, to_torch=None, from_torch=None):
        self.params.append((key, layer, pname, to_torch or (lambda a: a), from_torch or (lambda t: t)))

    def _layer(self, cfg, ins, out):
        hook = layertypes.get(cfg["type"]).pytorch
        if hook is None:
            raise ExportError(f"layer {cfg['index']} '{cfg['name']}': type {cfg['type']!r} has no PyTorch translation")
        hook(self, cfg, ins, out)


def _loss_code(loss):
    t = loss["type"]
    head = "def loss_fn(out, target):\n    \"\"\"nnplay's " + t + " loss (mean over the batch).\"\"\"\n"
    if t == "softmax_cross_entropy":
        body = ("    k = out.shape[-1]\n"
                "    if not target.is_floating_point():  # class labels, over every position of a sequence too\n"
                "        return F.cross_entropy(out.reshape(-1, k), target.reshape(-1))\n"
                "    return -(target * F.log_softmax(out, -1)).sum() / (out.numel() // k)\n")
    elif t == "binary_cross_entropy" and loss["from_logits"]:
        body = "    return F.binary_cross_entropy_with_logits(out, target.reshape(out.shape).to(out.dtype))\n"
    elif t == "binary_cross_entropy":
        body = ("    # outputs are probabilities: clip to [eps, 1 - eps] as nnplay does (torch's BCE clamps the log)\n"
                "    eps = torch.finfo(out.dtype).eps\n"
                "    p = out.clamp(eps, 1 - eps)\n"
                "    t = target.reshape(out.shape).to(out.dtype)\n"
                "    return -(t * torch.log(p) + (1 - t) * torch.log1p(-p)).mean()\n")
    elif t == "mse":
        body = "    return F.mse_loss(out, target.reshape(out.shape).to(out.dtype))\n"
    elif t == "huber":
        body = f"    return F.huber_loss(out, target.reshape(out.shape).to(out.dtype), delta={py(loss['delta'])})\n"
    elif t == "hinge":
        body = ("    # multiclass SVM: sum over wrong classes of max(0, s_j - s_y + margin), mean over positions\n"
                "    # (torch's MultiMarginLoss also divides by the number of classes)\n"
                "    k = out.shape[-1]\n"
                "    labels = target.argmax(-1) if target.is_floating_point() else target\n"
                "    scores = out.reshape(-1, k)\n"
                "    labels = labels.reshape(-1, 1).long()\n"
                f"    margins = (scores - scores.gather(1, labels) + {py(loss['margin'])}).clamp(min=0)\n"
                "    margins = margins.scatter(1, labels, 0.0)\n"
                "    return margins.sum() / scores.shape[0]\n")
    else:
        raise ExportError(f"loss {t!r} has no PyTorch translation")
    return head + body


def _predict_code(loss):
    t = loss["type"]
    if t == "softmax_cross_entropy":
        body = "    return F.softmax(out, dim=-1)\n"
    elif t == "binary_cross_entropy" and loss["from_logits"]:
        body = "    return torch.sigmoid(out)\n"
    else:
        body = "    return out\n"
    return ("def probabilities(out):\n    \"\"\"What nnplay's model.predict returns for these outputs.\"\"\"\n" + body)


def _accuracy_code(loss):
    t = loss["type"]
    head = "def accuracy(out, target):\n    \"\"\"nnplay's accuracy (None for regression losses).\"\"\"\n"
    if t in ("softmax_cross_entropy", "hinge"):
        body = ("    labels = target.argmax(-1) if target.is_floating_point() else target\n"
                "    return (out.argmax(-1) == labels).float().mean().item()\n")
    elif t == "binary_cross_entropy":
        cut = "0.0" if loss["from_logits"] else "0.5"
        body = f"    return ((out > {cut}) == (target.reshape(out.shape) >= 0.5)).float().mean().item()\n"
    else:
        body = "    return None\n"
    return head + body


def _optimizer_code(plan, opt):
    t, lr = opt["type"], py(opt["lr"])
    decay = [k for k, layer, p, _, _ in plan.params if p is not None and weight_decayed(p)]
    sched = opt.get("schedule")
    groups = "param_groups(model)"
    if t == "sgd":
        make = f"torch.optim.SGD({groups}, lr={lr})"
    elif t in ("momentum", "nesterov"):
        nest = ", nesterov=True" if t == "nesterov" else ""
        if sched:
            make = f"Momentum({groups}, lr={lr}, momentum={py(opt['momentum'])}{nest})"
            plan.helper("Momentum")
        else:  # torch's form (velocity without the lr) is the same update while the lr is constant
            make = f"torch.optim.SGD({groups}, lr={lr}, momentum={py(opt['momentum'])}{nest})"
    elif t == "adagrad":
        make = f"torch.optim.Adagrad({groups}, lr={lr}, eps={py(opt['eps'])})"
    elif t == "rmsprop":
        make = f"torch.optim.RMSprop({groups}, lr={lr}, alpha={py(opt['rho'])}, eps={py(opt['eps'])})"
    elif t == "adadelta":
        make = f"torch.optim.Adadelta({groups}, lr={lr}, rho={py(opt['rho'])}, eps={py(opt['eps'])})"
    elif t in ("adam", "adamw"):
        cls = "Adam" if t == "adam" else "AdamW"
        make = (f"torch.optim.{cls}({groups}, lr={lr}, betas=({py(opt['beta1'])}, {py(opt['beta2'])}), "
                f"eps={py(opt['eps'])})")
    else:
        raise ExportError(f"optimizer {t!r} has no PyTorch translation")
    wd = py(opt.get("weight_decay", 0.0)) if t == "adamw" else "0.0"
    lines = [
        "# nnplay decays (L1, L2, AdamW's weight_decay) the weights only, never biases or norm scales",
        f"DECAY = {decay!r}",
        f"FROZEN = {plan.frozen!r}  # kept at zero, not trained",
        "",
        "",
        "def param_groups(model):",
        "    named = [(k, p) for k, p in model.named_parameters() if p.requires_grad]",
        f"    return [{{\"params\": [p for k, p in named if k in DECAY], \"weight_decay\": {wd}}},",
        "            {\"params\": [p for k, p in named if k not in DECAY], \"weight_decay\": 0.0}]",
        "",
        "",
        "def make_optimizer(model):",
        f"    \"\"\"nnplay's {t} with every hyper-parameter of the run.\"\"\"",
        f"    return {make}",
        "",
        "",
        "def lr_at(step):",
        "    \"\"\"The learning rate of the update after `step` completed steps (nnplay's schedule).\"\"\"",
    ]
    if not sched:
        lines.append(f"    return {lr}")
    elif sched["type"] == "step":
        lines.append(f"    return {lr} * {py(sched['gamma'])} ** (step // {sched['step_size']})")
    else:
        lines += [f"    progress = min(step, {sched['total_steps']}) / {sched['total_steps']}",
                  f"    return {py(sched['min_lr'])} + ({lr} - {py(sched['min_lr'])}) * 0.5 * "
                  "(1.0 + math.cos(math.pi * progress))"]
    l1, l2, cv, cn = opt["l1"], opt["l2"], opt["clipvalue"], opt["clipnorm"]
    lines += ["", "", "def train_step(model, optimizer, x, y, step):",
              "    \"\"\"One nnplay training step: gradient, + L2 w + L1 sign(w) on the weights, clip each value,",
              "    clip the global norm, then the update with the scheduled lr. Returns the loss.\"\"\"",
              "    model.train()",
              "    optimizer.zero_grad()",
              "    loss = loss_fn(model(x), y)",
              "    loss.backward()",
              "    with torch.no_grad():",
              "        grads = [(k, p) for k, p in model.named_parameters() if p.grad is not None]"]
    if l1 or l2:
        lines += ["        for k, p in grads:", "            if k in DECAY:"]
        if l2:
            lines.append(f"                p.grad += {py(l2)} * p")
        if l1:
            lines.append(f"                p.grad += {py(l1)} * torch.sign(p)")
    if cv is not None:
        lines += ["        for k, p in grads:", f"            p.grad.clamp_(-{py(cv)}, {py(cv)})"]
    if cn is not None:
        lines += ["        total = math.sqrt(sum(float((p.grad * p.grad).sum()) for k, p in grads))",
                  f"        if total > {py(cn)}:  # one norm over all gradients keeps the update's direction",
                  "            for k, p in grads:",
                  f"                p.grad *= {py(cn)} / total"]
    lines += ["    for group in optimizer.param_groups:", "        group[\"lr\"] = lr_at(step)",
              "    optimizer.step()", "    return loss.item()"]
    return "\n".join(lines) + "\n"


LOADER = '''
def load_safetensors(path):
    """{name: tensor} from a .safetensors file (8-byte header length, JSON header, raw little-endian
    data), read with the standard library so no extra package is needed."""
    dtypes = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "I64": torch.int64,
              "I32": torch.int32, "U8": torch.uint8, "BOOL": torch.bool}
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    body = bytearray(data[8 + n:])
    out = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        t = torch.frombuffer(body[begin:end], dtype=dtypes[info["dtype"]]) if end > begin else \\
            torch.zeros(0, dtype=dtypes[info["dtype"]])
        out[name] = t.reshape(info["shape"]).clone()
    return out


def save_safetensors(tensors, path):
    """Write {name: tensor} as .safetensors (what nnplay's 'Load weights' reads back)."""
    names = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.int64: "I64",
             torch.int32: "I32", torch.uint8: "U8", torch.bool: "BOOL"}
    header, chunks, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        raw = t.detach().cpu().contiguous().numpy().tobytes()
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def load_model(path="weights.safetensors"):
    """Net() with the trained weights from `path`, in evaluation mode."""
    model = Net()
    model.load_state_dict(load_safetensors(path))
    return model.eval()
'''


def model_code(nspec, title="nnplay network"):
    """model.py: Net, the loss, accuracy, probabilities, the optimizer and one training step."""
    plan = _Plan(nspec)
    opt_code = _optimizer_code(plan, nspec.optimizer)
    shape = ", ".join(map(str, nspec.input))
    lines = [f'"""{title}, exported from nnplay for PyTorch (checked with torch {TORCH_VERSION}).',
             "",
             f"Input: (N, {shape}), channels-last as in nnplay; output: (N, "
             f"{', '.join(map(str, nspec.output_shape))}).",
             "load_model() gives the trained network; train_step() is one step of nnplay's training rule.",
             '"""',
             "import json", "import math", "import struct", "", "import torch", "import torch.nn as nn",
             "import torch.nn.functional as F", "", f"INPUT_SHAPE = {tuple(nspec.input)!r}",
             f"OUTPUT_SHAPE = {tuple(nspec.output_shape)!r}", ""]
    for code in plan.helpers.values():
        lines.append(code.rstrip("\n"))
        lines.append("")
    lines += ["", "class Net(nn.Module):", "    def __init__(self):", "        super().__init__()"]
    lines += [f"        {s}" for s in plan.init] or ["        pass"]
    lines += ["", "    def forward(self, x):"] + [f"        {s}" for s in plan.fwd] + [f"        return {plan.output}"]
    lines += ["", "", _loss_code(nspec.loss), "", _accuracy_code(nspec.loss), "", _predict_code(nspec.loss),
              "", opt_code.rstrip("\n"), "", LOADER.rstrip("\n"), ""]
    return "\n".join(lines)


def torch_param_names(nspec):
    return [k for k, *_ in _Plan(nspec).params]


def to_torch_state(nspec, state):
    """nnplay's {'layer.param': array} -> {torch key: float32 array} in the exported Net's layout."""
    out = {}
    for key, layer, pname, to_torch, _ in _Plan(nspec).params:
        if pname is None:  # lstm's second bias: zero
            out[key] = np.zeros_like(state[f"{layer}.bias"])
        else:
            out[key] = np.ascontiguousarray(to_torch(np.asarray(state[f"{layer}.{pname}"], np.float32)))
    return out


def from_torch_state(nspec, tensors):
    """A state_dict of the exported Net (as arrays) -> nnplay's {'layer.param': array}. Raises
    ExportError naming each tensor whose name or shape does not fit."""
    plan = _Plan(nspec)
    expected = {}
    for key, layer, pname, to_torch, from_torch in plan.params:
        cfg = nspec.layer(layer)
        if pname is not None:
            shape = to_torch(np.zeros(cfg["param_shapes"][pname], np.float32)).shape
        else:
            shape = (cfg["param_shapes"]["bias"][0],)
        expected[key] = (layer, pname, from_torch, tuple(shape))
    problems = []
    ignored = {k for k in tensors if k.endswith("num_batches_tracked")}
    for k in tensors:
        if k not in expected and k not in ignored:
            problems.append(f"tensor '{k}' is not a weight of this network (its weights are "
                            f"{', '.join(list(expected)[:8])}{', ...' if len(expected) > 8 else ''})")
    for k, (layer, pname, from_torch, shape) in expected.items():
        if k not in tensors:
            problems.append(f"tensor '{k}' is missing (layer '{layer}' needs shape {list(shape)})")
        elif tuple(np.shape(tensors[k])) != shape:
            problems.append(f"tensor '{k}' has shape {list(np.shape(tensors[k]))}, but layer '{layer}' needs "
                            f"{list(shape)}")
        elif not np.issubdtype(np.asarray(tensors[k]).dtype, np.floating):
            problems.append(f"tensor '{k}' holds {np.asarray(tensors[k]).dtype}, expected floats")
    if problems:
        raise ExportError("; ".join(problems))
    out = {}
    for k, (layer, pname, from_torch, shape) in expected.items():
        arr = np.asarray(tensors[k], np.float32)
        if pname is None:  # fold lstm's second bias into the one nnplay has (exact for the forward pass)
            out[f"{layer}.bias"] = out[f"{layer}.bias"] + arr
        else:
            out[f"{layer}.{pname}"] = np.ascontiguousarray(from_torch(arr))
    return out
