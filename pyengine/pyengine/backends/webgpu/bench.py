"""Timing functions for benchmarks (python3 build.py bench calls these inside the worker).

Each uploads random float32 inputs once, records one program holding `reps` dispatches of the
kernel, runs it once to warm up (pipeline compiled, buffers resident) and then times one more
submission including its completion; returns {"seconds": per run, "gflops": GFLOP/s}.
FLOPs count 2 per multiply-add, as TensorFlow.js's benchmarks do. `shape=(TX, TY, SPLITS)` forces
gemm_core's tile shape and split-K ((16, 16, 1): the fixed 64 x 64 tiles of before); by default
kernels.gemm_shape() picks them. `matmul_gflops` / `conv2d_gflops` are what bench/engine_bench.py calls.
"""
import time

import numpy as np

from .device import get_device
from .kernels import Eager


def _time(eager, ops, out, reps):
    prog = eager.dev.program(ops * reps)
    try:
        eager.dev.run(prog, read=out, count=1)  # warm-up
        t0 = time.perf_counter()
        eager.dev.run(prog, read=out, count=1)  # waits for completion (1-float readback)
        return (time.perf_counter() - t0) / reps
    finally:
        eager.dev.release_program(prog)


def time_matmul(n, reps=5, m=None, k=None, shape=None):
    """(m x k) . (k x n) with m = k = n by default."""
    m, k = m or n, k or n
    e = Eager(get_device())
    try:
        rng = np.random.default_rng(0)
        a, b = e.upload(rng.standard_normal((m, k))), e.upload(rng.standard_normal((k, n)))
        out = e.empty(m * n)
        seconds = _time(e, e.k.matmul_op(a, b, out, m, n, k, shape=shape), out, reps)
        return {"seconds": seconds, "gflops": 2 * m * n * k / seconds / 1e9}
    finally:
        e.release()


def time_conv2d(input_shape, filters, kernel=3, stride=1, pad=0, reps=5, shape=None, grad=None):
    """conv2d on NHWC `input_shape` with `filters` kernel x kernel filters: the forward pass, or with
    grad="input" | "weight" that backward GEMM (the same FLOPs)."""
    n, h, w, c = input_shape
    kh = kw = kernel
    strides, pads = (stride, stride), ((pad, pad), (pad, pad))
    e = Eager(get_device())
    try:
        rng = np.random.default_rng(0)
        x, wt = e.upload(rng.standard_normal(input_shape)), e.upload(rng.standard_normal((kh, kw, c, filters)))
        ohw = Eager.conv_out_hw(input_shape, (kh, kw, c, filters), strides, pads, (1, 1))
        y = e.upload(rng.standard_normal((n, *ohw, filters)))  # the output, or dy for the gradients
        geo = (input_shape, (kh, kw, c, filters), ohw, strides, pads, (1, 1))
        if grad == "weight":
            out = e.empty(kh * kw * c * filters)
            ops = e.k.conv2d_grad_weight_op(x, y, out, *geo, shape=shape)
        elif grad == "input":
            out = e.empty(n * h * w * c)
            ops = e.k.conv2d_grad_input_op(y, wt, out, *geo, shape=shape)
        else:
            ops = e.k.conv2d_op(x, wt, None, y, *geo, shape=shape)
            out = y
        seconds = _time(e, ops, out, reps)
        flops = 2 * n * ohw[0] * ohw[1] * filters * kh * kw * c
        return {"seconds": seconds, "gflops": flops / seconds / 1e9}
    finally:
        e.release()


def _reps(flops, min_time):
    """Dispatches per timed program: about min_time on a ~0.5 GFLOP/s device (SwiftShader), 1 to 50."""
    return max(1, min(50, round(min_time * 0.5e9 / flops)))


def matmul_gflops(n, min_time=0.5):
    """GFLOP/s of an n x n x n matmul (bench/engine_bench.py's interface)."""
    return time_matmul(n, reps=_reps(2 * n ** 3, min_time))["gflops"]


def conv2d_gflops(s, min_time=0.5):
    """GFLOP/s of the conv2d forward for bench/engine_bench.py's shape dict {n, h, w, c, f, k}
    ('same' padding, stride 1)."""
    flops = 2 * s["n"] * s["h"] * s["w"] * s["f"] * s["k"] ** 2 * s["c"]
    return time_conv2d((s["n"], s["h"], s["w"], s["c"]), s["f"], s["k"], 1, s["k"] // 2, _reps(flops, min_time))["gflops"]
