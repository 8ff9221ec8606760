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
