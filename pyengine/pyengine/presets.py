"""Named model specs shared by the tests, the benchmarks and (later) the UI's presets.

Each function returns a fresh dict, so callers may edit their copy.
"""


def convnetjs_mnist():
    """ConvNetJS's MNIST demo network, exactly as the engine's normative spec example writes it."""
    return {
        "input": [24, 24, 1],
        "layers": [
            {"type": "conv2d", "filters": 8, "kernel_size": 5, "strides": 1, "padding": 2, "activation": "relu",
             "name": "conv1"},
            {"type": "maxpool2d", "pool_size": 2, "strides": 2},
            {"type": "conv2d", "filters": 16, "kernel_size": 5, "padding": 2, "activation": "relu"},
            {"type": "maxpool2d", "pool_size": 3, "strides": 3},
            {"type": "flatten"},
            {"type": "dense", "units": 10}],
        "loss": "softmax_cross_entropy",
        "optimizer": {"type": "adadelta", "lr": 1.0, "rho": 0.95, "eps": 1e-6},
        "seed": 0,
    }


def convnetjs_cifar10():
    """ConvNetJS's CIFAR-10 demo network: three conv 5x5 (16, 20, 20 filters, pad 2) relu + maxpool 2."""
    layers = []
    for filters in (16, 20, 20):
        layers += [{"type": "conv2d", "filters": filters, "kernel_size": 5, "padding": 2, "activation": "relu"},
                   {"type": "maxpool2d", "pool_size": 2, "strides": 2}]
    return {
        "input": [32, 32, 3],
        "layers": layers + [{"type": "flatten"}, {"type": "dense", "units": 10}],
        "loss": "softmax_cross_entropy",
        "optimizer": {"type": "adadelta", "lr": 1.0, "rho": 0.95, "eps": 1e-6},
        "seed": 0,
    }


def vgg_block(prefix, filters, convs=2):
    """VGG's unit: `convs` 3x3 convolutions ('same', relu), then a 2x2 max pool. Two 3x3 convs see a
    5x5 window (three see 7x7) with fewer weights than one 5x5 (7x7) conv and one more nonlinearity."""
    layers = [{"type": "conv2d", "name": f"{prefix}_conv{i + 1}", "filters": filters, "kernel_size": 3,
               "padding": "same", "activation": "relu"} for i in range(convs)]
    return layers + [{"type": "maxpool2d", "name": f"{prefix}_pool", "pool_size": 2}]


def inception_block(prefix, source, b1, b3_reduce, b3, b5_reduce, b5, pool_proj):
    """GoogLeNet's inception module on the layer `source`: four parallel branches joined by concat along
    the channels: a 1x1 conv (b1 filters); 1x1 (b3_reduce) then 3x3 (b3); 1x1 (b5_reduce) then 5x5 (b5);
    a 3x3 max pool (stride 1) then 1x1 (pool_proj). The 1x1 "reduce" convs keep the 3x3 and 5x5 cheap.
    The block's output is the layer f"{prefix}_concat" with b1 + b3 + b5 + pool_proj channels."""
    def conv(name, filters, k, inputs):
        return {"type": "conv2d", "name": f"{prefix}_{name}", "filters": filters, "kernel_size": k,
                "padding": "same", "activation": "relu", "inputs": [inputs]}
    return [
        conv("1x1", b1, 1, source),
        conv("3x3_reduce", b3_reduce, 1, source), conv("3x3", b3, 3, f"{prefix}_3x3_reduce"),
        conv("5x5_reduce", b5_reduce, 1, source), conv("5x5", b5, 5, f"{prefix}_5x5_reduce"),
        {"type": "maxpool2d", "name": f"{prefix}_pool", "pool_size": 3, "strides": 1, "padding": "same",
         "inputs": [source]},
        conv("pool_proj", pool_proj, 1, f"{prefix}_pool"),
        {"type": "concat", "name": f"{prefix}_concat",
         "inputs": [f"{prefix}_1x1", f"{prefix}_3x3", f"{prefix}_5x5", f"{prefix}_pool_proj"]}]


def vgg_mnist():
    """A small VGG-style net for 28x28 digits: two blocks of two 3x3 convs and a pool, then a classifier."""
    return {"input": [28, 28, 1],
            "layers": vgg_block("block1", 8) + vgg_block("block2", 16)
            + [{"type": "flatten"}, {"type": "dense", "units": 10}],
            "loss": "softmax_cross_entropy", "optimizer": {"type": "adam", "lr": 0.002}, "seed": 0}


def inception_mnist():
    """A 3x3 conv stem and a pool, one inception module (8 + 8 + 4 + 4 = 24 channels), a pool, a classifier."""
    return {"input": [28, 28, 1], "layers": [
        {"type": "conv2d", "name": "stem", "filters": 8, "kernel_size": 3, "padding": "same", "activation": "relu"},
        {"type": "maxpool2d", "name": "stem_pool", "pool_size": 2}]
        + inception_block("inception", "stem_pool", 8, 4, 8, 2, 4, 4)
        + [{"type": "maxpool2d", "name": "pool", "pool_size": 2}, {"type": "flatten"},
           {"type": "dense", "units": 10}],
        "loss": "softmax_cross_entropy", "optimizer": {"type": "adam", "lr": 0.002}, "seed": 0}


# --- the playground's presets (web UI): name -> (title, dataset it trains on, spec) ---------------


def playground_presets():
    """The UI's preset networks, each with the dataset it is meant for."""
    mlp = {"input": [2], "layers": [
        {"type": "dense", "units": 16, "activation": "tanh"},
        {"type": "dense", "units": 16, "activation": "tanh"},
        {"type": "dense", "units": 2}],
        "loss": "softmax_cross_entropy", "optimizer": {"type": "adam", "lr": 0.01}, "seed": 0}
    lenet = {"input": [28, 28, 1], "layers": [
        {"type": "conv2d", "filters": 6, "kernel_size": 5, "padding": "same", "activation": "relu"},
        {"type": "maxpool2d", "pool_size": 2},
        {"type": "conv2d", "filters": 16, "kernel_size": 5, "activation": "relu"},
        {"type": "maxpool2d", "pool_size": 2},
        {"type": "flatten"},
        {"type": "dense", "units": 120, "activation": "relu"},
        {"type": "dense", "units": 84, "activation": "relu"},
        {"type": "dense", "units": 10}],
        "loss": "softmax_cross_entropy", "optimizer": {"type": "adam", "lr": 0.001}, "seed": 0}
    resnet = {"input": [28, 28, 1], "layers": [
        {"type": "conv2d", "name": "stem", "filters": 8, "kernel_size": 3, "strides": 2, "padding": "same",
         "activation": "relu"},
        {"type": "conv2d", "name": "block1_a", "filters": 8, "kernel_size": 3, "padding": "same", "activation": "relu"},
        {"type": "conv2d", "name": "block1_b", "filters": 8, "kernel_size": 3, "padding": "same"},
        {"type": "add", "name": "block1_add", "inputs": ["stem", "block1_b"]},
        {"type": "relu", "name": "block1_out"},
        {"type": "conv2d", "name": "block2_a", "filters": 8, "kernel_size": 3, "padding": "same", "activation": "relu"},
        {"type": "conv2d", "name": "block2_b", "filters": 8, "kernel_size": 3, "padding": "same"},
        {"type": "add", "name": "block2_add", "inputs": ["block1_out", "block2_b"]},
        {"type": "relu", "name": "block2_out"},
        {"type": "globalavgpool2d"},
        {"type": "dense", "units": 10}],
        # lr 0.01: 59 / 82 / 88% after epochs 1-3 on the page's 4,000 digits (0.003: 42% after one); scripts/check_defaults.py
        "loss": "softmax_cross_entropy", "optimizer": {"type": "adam", "lr": 0.01}, "seed": 0}
    lstm = {"input": [28, 28], "layers": [
        {"type": "lstm", "units": 32},
        {"type": "dense", "units": 10}],
        "loss": "softmax_cross_entropy", "optimizer": {"type": "adam", "lr": 0.005}, "seed": 0}
    regression = {"input": [1], "layers": [
        {"type": "dense", "units": 32, "activation": "tanh"},
        {"type": "dense", "units": 32, "activation": "tanh"},
        {"type": "dense", "units": 1}],
        "loss": "mse", "optimizer": {"type": "adam", "lr": 0.01}, "seed": 0}
    return {
        "mlp": {"title": "MLP (2-D spiral)", "dataset": "spiral", "spec": mlp},
        "regression": {"title": "MLP (1-D regression)", "dataset": "regression1d", "spec": regression},
        "mnist": {"title": "ConvNetJS MNIST net", "dataset": "mnist", "spec": convnetjs_mnist()},
        "lenet": {"title": "LeNet-like (MNIST)", "dataset": "mnist", "spec": lenet},
        "resnet": {"title": "Small ResNet (MNIST)", "dataset": "mnist", "spec": resnet},
        "lstm": {"title": "LSTM over rows (MNIST)", "dataset": "mnist", "spec": lstm},
        "vgg": {"title": "VGG-style 3x3 stacks (MNIST)", "dataset": "mnist", "spec": vgg_mnist()},
        "inception": {"title": "Inception module (MNIST)", "dataset": "mnist", "spec": inception_mnist()},
    }
