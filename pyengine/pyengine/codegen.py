"""A network as source code: pyengine Python, PyTorch and Keras (pure functions of a NormalizedSpec).

The playground's Python view and its export buttons show these. pyengine is channels-last (NHWC);
the PyTorch code is channels-first, so it permutes at the input and before a flatten of an image,
which keeps the weights' meaning when they are copied across.
"""
from __future__ import annotations

import json
import pprint

__all__ = ["export", "to_python", "to_pytorch", "to_keras"]


def export(nspec, kind):
    makers = {"python": to_python, "pytorch": to_pytorch, "keras": to_keras}
    if kind not in makers:
        raise ValueError(f"unknown code kind {kind!r}; choose python, pytorch or keras")
    return makers[kind](nspec)


def to_python(nspec):
    spec = nspec.to_spec()
    body = pprint.pformat(json.loads(json.dumps(spec)), indent=1, width=100, sort_dicts=False)
    body = body.replace("True", "True").replace("None", "None")
    return ("import pyengine\n\n"
            f"spec = {body}\n\n"
            "model = pyengine.build(spec)\n"
            "print(model.summary())\n")


_ACT_TORCH = {"relu": "F.relu({x})", "sigmoid": "torch.sigmoid({x})", "tanh": "torch.tanh({x})",
              "gelu": "F.gelu({x}, approximate='tanh')", "elu": "F.elu({x})", "leaky_relu": "F.leaky_relu({x}, 0.01)",
              "softmax": "F.softmax({x}, dim=-1)", "linear": "{x}", None: "{x}"}


def _pair(v):
    return tuple(v) if v[0] != v[1] else v[0]


def to_pytorch(nspec):
    init, fwd = [], []
    names = {"input": "x"}
    image_nchw = set()  # variables currently channels-first

    def var(name):
        return names[name]

    fwd.append("x = x.permute(0, 3, 1, 2)  # NHWC (pyengine) -> NCHW" if len(nspec.input) == 3 else "")
    if len(nspec.input) == 3:
        image_nchw.add("x")
    for cfg in nspec.layers:
        t, n = cfg["type"], cfg["name"]
        ident = "l_" + "".join(c if c.isalnum() else "_" for c in n)
        ins = [var(i) for i in cfg["inputs"]]
        x, out = ins[0], ident
        shape_in = cfg["input_shapes"][0]
        act = cfg.get("activation")
        if t == "dense":
            init.append(f"self.{ident} = nn.Linear({shape_in[-1]}, {cfg['units']}, bias={cfg['use_bias']})")
            fwd.append(f"{out} = " + _ACT_TORCH[act].format(x=f"self.{ident}({x})"))
        elif t == "conv2d":
            (pt, pb), (pl, pr) = cfg["pads"]
            pad = f"padding={(pt, pl)}" if (pt, pl) == (pb, pr) else "padding=0"
            if (pt, pl) != (pb, pr):  # TensorFlow's uneven "same" padding: pad explicitly first
                fwd.append(f"{ident}_in = F.pad({x}, ({pl}, {pr}, {pt}, {pb}))")
                x = f"{ident}_in"
            init.append(f"self.{ident} = nn.Conv2d({shape_in[-1]}, {cfg['filters']}, "
                        f"kernel_size={_pair(cfg['kernel_size'])}, stride={_pair(cfg['strides'])}, {pad}, "
                        f"dilation={_pair(cfg['dilation_rate'])}, bias={cfg['use_bias']})")
            fwd.append(f"{out} = " + _ACT_TORCH[act].format(x=f"self.{ident}({x})"))
            image_nchw.add(out)
        elif t in ("maxpool2d", "avgpool2d"):
            (pt, pb), (pl, pr) = cfg["pads"]
            cls = "MaxPool2d" if t == "maxpool2d" else "AvgPool2d"
            if (pt, pb, pl, pr) != (0, 0, 0, 0):
                fill = "float('-inf')" if t == "maxpool2d" else "0.0"
                fwd.append(f"{ident}_in = F.pad({x}, ({pl}, {pr}, {pt}, {pb}), value={fill})")
                x = f"{ident}_in"
            init.append(f"self.{ident} = nn.{cls}({_pair(cfg['pool_size'])}, stride={_pair(cfg['strides'])})")
            fwd.append(f"{out} = self.{ident}({x})")
            image_nchw.add(out)
        elif t == "globalavgpool2d":
            fwd.append(f"{out} = {x}.mean(dim=(2, 3))")
        elif t == "flatten":
            src = f"{x}.permute(0, 2, 3, 1)" if x in image_nchw else x  # flatten in pyengine's NHWC order
            fwd.append(f"{out} = {src}.flatten(1)")
        elif t == "reshape":
            src = f"{x}.permute(0, 2, 3, 1)" if x in image_nchw else x
            fwd.append(f"{out} = {src}.reshape(-1, {', '.join(map(str, cfg['target_shape']))})")
            if len(cfg["target_shape"]) == 3:
                fwd.append(f"{out} = {out}.permute(0, 3, 1, 2)")
                image_nchw.add(out)
        elif t == "dropout":
            init.append(f"self.{ident} = nn.Dropout({cfg['rate']})")
            fwd.append(f"{out} = self.{ident}({x})")
            if x in image_nchw:
                image_nchw.add(out)
        elif t == "batchnorm":
            dim = "2d" if x in image_nchw else "1d"
            init.append(f"self.{ident} = nn.BatchNorm{dim}({shape_in[-1]}, eps={cfg['epsilon']}, "
                        f"momentum={round(1 - cfg['momentum'], 6)})")
            fwd.append(f"{out} = self.{ident}({x})")
            if x in image_nchw:
                image_nchw.add(out)
        elif t == "layernorm":
            init.append(f"self.{ident} = nn.LayerNorm({shape_in[-1]}, eps={cfg['epsilon']})")
            src = f"{x}.permute(0, 2, 3, 1)" if x in image_nchw else x
            fwd.append(f"{out} = self.{ident}({src})" + (".permute(0, 3, 1, 2)" if x in image_nchw else ""))
            if x in image_nchw:
                image_nchw.add(out)
        elif t == "embedding":
            init.append(f"self.{ident} = nn.Embedding({cfg['input_dim']}, {cfg['output_dim']})")
            fwd.append(f"{out} = self.{ident}({x}.long())")
        elif t in ("rnn", "lstm", "gru"):
            cls = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}[t]
            extra = f", nonlinearity='{cfg['activation']}'" if t == "rnn" else ""
            init.append(f"self.{ident} = nn.{cls}({shape_in[-1]}, {cfg['units']}, batch_first=True{extra})")
            fwd.append(f"{out} = self.{ident}({x})[0]" + ("" if cfg["return_sequences"] else "[:, -1]"))
        elif t == "add":
            fwd.append(f"{out} = " + " + ".join(ins))
            if all(i in image_nchw for i in ins):
                image_nchw.add(out)
        elif t == "concat":
            axis = cfg["axis"]
            if all(i in image_nchw for i in ins) and axis in (-1, 2):
                fwd.append(f"{out} = torch.cat([{', '.join(ins)}], dim=1)")
                image_nchw.add(out)
            else:
                fwd.append(f"{out} = torch.cat([{', '.join(ins)}], dim={axis if axis < 0 else axis + 1})")
        elif t in ("relu", "sigmoid", "tanh", "gelu"):
            fwd.append(f"{out} = " + _ACT_TORCH[t].format(x=x))
            if x in image_nchw:
                image_nchw.add(out)
        elif t in ("leaky_relu", "elu"):
            fn = "F.leaky_relu" if t == "leaky_relu" else "F.elu"
            fwd.append(f"{out} = {fn}({x}, {cfg['alpha']})")
            if x in image_nchw:
                image_nchw.add(out)
        elif t == "softmax":
            dim = 1 if x in image_nchw and cfg["axis"] == -1 else cfg["axis"]
            fwd.append(f"{out} = F.softmax({x}, dim={dim})")
        elif t == "maxout":
            src = f"{x}.permute(0, 2, 3, 1)" if x in image_nchw else x
            fwd.append(f"{out} = {src}.unflatten(-1, (-1, {cfg['pieces']})).amax(-1)")
        else:  # pragma: no cover - every spec type is handled above
            raise ValueError(f"no PyTorch translation for {t!r}")
        names[n] = out
    last = names[nspec.layers[-1]["name"]]
    if last in image_nchw:
        fwd.append(f"{last} = {last}.permute(0, 2, 3, 1)  # back to NHWC")
    lines = ["import torch", "import torch.nn as nn", "import torch.nn.functional as F", "", "",
             "class Net(nn.Module):", "    \"\"\"Input: (N, " + ", ".join(map(str, nspec.input)) + ") as in pyengine.\"\"\"",
             "", "    def __init__(self):", "        super().__init__()"]
    lines += [f"        {s}" for s in init] or ["        pass"]
    lines += ["", "    def forward(self, x):"] + [f"        {s}" for s in fwd if s] + [f"        return {last}", "", "",
                                                                                 "model = Net()",
                                                                                 _torch_loss(nspec), ""]
    return "\n".join(lines)


def _torch_loss(nspec):
    loss = nspec.loss["type"]
    table = {"softmax_cross_entropy": "nn.CrossEntropyLoss()", "binary_cross_entropy": "nn.BCEWithLogitsLoss()",
             "mse": "nn.MSELoss()", "huber": f"nn.HuberLoss(delta={nspec.loss.get('delta', 1.0)})",
             "hinge": f"nn.MultiMarginLoss(margin={nspec.loss.get('margin', 1.0)})"}
    opt = nspec.optimizer
    optimizers = {"sgd": f"torch.optim.SGD(model.parameters(), lr={opt['lr']})",
                  "momentum": f"torch.optim.SGD(model.parameters(), lr={opt['lr']}, momentum={opt.get('momentum')})",
                  "nesterov": f"torch.optim.SGD(model.parameters(), lr={opt['lr']}, momentum={opt.get('momentum')}, nesterov=True)",
                  "adagrad": f"torch.optim.Adagrad(model.parameters(), lr={opt['lr']})",
                  "rmsprop": f"torch.optim.RMSprop(model.parameters(), lr={opt['lr']}, alpha={opt.get('rho')})",
                  "adadelta": f"torch.optim.Adadelta(model.parameters(), lr={opt['lr']}, rho={opt.get('rho')})",
                  "adam": f"torch.optim.Adam(model.parameters(), lr={opt['lr']}, betas=({opt.get('beta1')}, {opt.get('beta2')}))",
                  "adamw": f"torch.optim.AdamW(model.parameters(), lr={opt['lr']}, weight_decay={opt.get('weight_decay')})"}
    return f"loss_fn = {table[loss]}\noptimizer = {optimizers.get(opt['type'], 'None')}"


_KERAS = {"maxpool2d": "MaxPooling2D", "avgpool2d": "AveragePooling2D", "globalavgpool2d": "GlobalAveragePooling2D",
          "flatten": "Flatten", "dropout": "Dropout", "batchnorm": "BatchNormalization",
          "layernorm": "LayerNormalization", "embedding": "Embedding", "rnn": "SimpleRNN", "lstm": "LSTM",
          "gru": "GRU", "add": "Add", "concat": "Concatenate", "softmax": "Softmax", "reshape": "Reshape"}


def to_keras(nspec):
    lines = ["import keras", "from keras import layers", "",
             f"inputs = keras.Input(shape={tuple(nspec.input)})"]
    names = {"input": "inputs"}
    for cfg in nspec.layers:
        t, n = cfg["type"], cfg["name"]
        ident = "".join(c if c.isalnum() else "_" for c in n)
        ins = [names[i] for i in cfg["inputs"]]
        arg = ins[0] if len(ins) == 1 else "[" + ", ".join(ins) + "]"
        act = cfg.get("activation")
        act_s = f", activation={act!r}" if act not in (None, "linear") else ""
        if t == "dense":
            call = f"layers.Dense({cfg['units']}{act_s}, use_bias={cfg['use_bias']}"
        elif t == "conv2d":
            pad = cfg["padding"]
            if not isinstance(pad, str):
                (pt, pb), (pl, pr) = cfg["pads"]
                lines.append(f"{ident}_pad = layers.ZeroPadding2D((({pt}, {pb}), ({pl}, {pr})))({arg})")
                arg, pad = f"{ident}_pad", "valid"
            call = (f"layers.Conv2D({cfg['filters']}, {tuple(cfg['kernel_size'])}, strides={tuple(cfg['strides'])}, "
                    f"padding={pad!r}, dilation_rate={tuple(cfg['dilation_rate'])}{act_s}, use_bias={cfg['use_bias']}")
        elif t in ("maxpool2d", "avgpool2d"):
            pad = cfg["padding"] if isinstance(cfg["padding"], str) else "valid"
            call = f"layers.{_KERAS[t]}({tuple(cfg['pool_size'])}, strides={tuple(cfg['strides'])}, padding={pad!r}"
        elif t == "dropout":
            call = f"layers.Dropout({cfg['rate']}"
        elif t == "batchnorm":
            call = f"layers.BatchNormalization(momentum={cfg['momentum']}, epsilon={cfg['epsilon']}"
        elif t == "layernorm":
            call = f"layers.LayerNormalization(epsilon={cfg['epsilon']}"
        elif t == "embedding":
            call = f"layers.Embedding({cfg['input_dim']}, {cfg['output_dim']}"
        elif t in ("rnn", "lstm", "gru"):
            extra = f", activation={cfg['activation']!r}" if t == "rnn" else ""
            call = f"layers.{_KERAS[t]}({cfg['units']}, return_sequences={cfg['return_sequences']}{extra}"
        elif t == "concat":
            call = f"layers.Concatenate(axis={cfg['axis']}"
        elif t == "softmax":
            call = f"layers.Softmax(axis={cfg['axis']}"
        elif t == "reshape":
            call = f"layers.Reshape({tuple(cfg['target_shape'])}"
        elif t in ("relu", "sigmoid", "tanh", "gelu"):
            call = f"layers.Activation({t!r}"
        elif t == "leaky_relu":
            call = f"layers.LeakyReLU(negative_slope={cfg['alpha']}"
        elif t == "elu":
            call = f"layers.ELU(alpha={cfg['alpha']}"
        elif t == "maxout":
            lines.append(f"{ident} = layers.Lambda(lambda t: keras.ops.max(keras.ops.reshape(t, "
                         f"(-1, *t.shape[1:-1], t.shape[-1] // {cfg['pieces']}, {cfg['pieces']})), axis=-1), "
                         f"name={n!r})({arg})")
            names[n] = ident
            continue
        else:
            call = f"layers.{_KERAS[t]}("
        sep = "" if call.endswith("(") else ", "
        lines.append(f"{ident} = {call}{sep}name={n!r})({arg})")
        names[n] = ident
    loss = {"softmax_cross_entropy": "keras.losses.SparseCategoricalCrossentropy(from_logits=True)",
            "binary_cross_entropy": "keras.losses.BinaryCrossentropy(from_logits=True)", "mse": "'mse'",
            "huber": "keras.losses.Huber()", "hinge": "'categorical_hinge'"}[nspec.loss["type"]]
    opt = {"sgd": "SGD", "momentum": "SGD", "nesterov": "SGD", "adagrad": "Adagrad", "rmsprop": "RMSprop",
           "adadelta": "Adadelta", "adam": "Adam", "adamw": "AdamW"}[nspec.optimizer["type"]]
    extra = ""
    if nspec.optimizer["type"] in ("momentum", "nesterov"):
        extra = f", momentum={nspec.optimizer['momentum']}" + (", nesterov=True" if nspec.optimizer["type"] == "nesterov" else "")
    lines += ["", f"model = keras.Model(inputs, {names[nspec.layers[-1]['name']]})",
              f"model.compile(optimizer=keras.optimizers.{opt}(learning_rate={nspec.optimizer['lr']}{extra}), "
              f"loss={loss}, metrics=['accuracy'])", "model.summary()", ""]
    return "\n".join(lines)
