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


# --- the playground's presets (web UI): name -> (title, dataset it trains on, spec) ---------------


def playground_presets():
    """The UI's preset networks, each with the dataset it is meant for."""
    mlp = {"input": [2], "layers": [
        {"type": "dense", "units": 16, "activation": "tanh"},
        {"type": "dense", "units": 16, "activation": "tanh"},
        {"type": "dense", "units": 2}],
        "loss": "softmax_cross_entropy", "optimizer": {"type": "adam", "lr": 0.03}, "seed": 0}
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
        "loss": "softmax_cross_entropy", "optimizer": {"type": "adam", "lr": 0.003}, "seed": 0}
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
    }
