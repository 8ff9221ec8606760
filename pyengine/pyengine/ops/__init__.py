"""Functional, differentiable ops on Tensors (one module per family), re-exported here.

Each op is a `Function` subclass with forward and backward side by side plus a small wrapper
function; heavy array work goes through `pyengine.backends.numpy_backend` (gemm, im2col, pools; its
`use_simd` / `use_einsum` rebind those names). The WebGPU backend is not an op-level swap: it runs a
whole model's step as one plan (backends/webgpu/plan.py).
"""
from .conv import Conv2d, conv2d
from .elementwise import (
    ACTIVATIONS, Activation, Add, Div, Exp, Log, LogSoftmax, Maxout, Mul, Neg, Pow, Softmax, Sub,
    add, div, dropout, elu, exp, gelu, leaky_relu, log, log_softmax, maxout, mul, neg, pow, relu,
    sigmoid, softmax, sub, tanh,
)
from .gemm import Dense, MatMul, dense, matmul
from .norm import BatchNorm, LayerNorm, batchnorm, layernorm
from .pool import AvgPool2d, GlobalAvgPool2d, MaxPool2d, avgpool2d, global_avgpool2d, maxpool2d
from .recurrent import GRU, LSTM, RNN, gru, lstm, rnn
from .reduce import Mean, Sum, mean, sum
from .shape import Concat, Embedding, GetItem, Reshape, Transpose, concat, embedding, flatten, getitem, reshape, transpose

__all__ = [
    "ACTIVATIONS", "conv2d", "add", "sub", "mul", "div", "neg", "pow", "exp", "log", "relu", "leaky_relu",
    "elu", "gelu", "sigmoid", "tanh", "softmax", "log_softmax", "maxout", "dropout", "matmul", "dense",
    "batchnorm", "layernorm", "maxpool2d", "avgpool2d", "global_avgpool2d", "rnn", "lstm", "gru",
    "sum", "mean", "reshape", "flatten", "transpose", "getitem", "concat", "embedding",
]
