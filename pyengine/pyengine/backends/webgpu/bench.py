"""Timing functions for benchmarks (python3 build.py bench calls these inside the worker).

Each uploads random float32 inputs once, records one program holding `reps` dispatches of the
kernel, runs it once to warm up (pipeline compiled, buffers resident) and then times one more
submission including its completion; returns {"seconds": per run, "gflops": GFLOP/s}.
FLOPs count 2 per multiply-add, as TensorFlow.js's benchmarks do.
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


def time_matmul(n, reps=5, m=None, k=None):
    """(m x k) . (k x n) with m = k = n by default."""
    m, k = m or n, k or n
    e = Eager(get_device())
    try:
        rng = np.random.default_rng(0)
        a, b = e.upload(rng.standard_normal((m, k))), e.upload(rng.standard_normal((k, n)))
        out = e.empty(m * n)
        seconds = _time(e, [e.k.matmul_op(a, b, out, m, n, k)], out, reps)
        return {"seconds": seconds, "gflops": 2 * m * n * k / seconds / 1e9}
    finally:
        e.release()


def time_conv2d(input_shape, filters, kernel=3, stride=1, pad=0, reps=5):
    """conv2d forward on NHWC `input_shape` with `filters` kernel x kernel filters."""
    n, h, w, c = input_shape
    kh = kw = kernel
    strides, pads = (stride, stride), ((pad, pad), (pad, pad))
    e = Eager(get_device())
    try:
        rng = np.random.default_rng(0)
        x, wt = e.upload(rng.standard_normal(input_shape)), e.upload(rng.standard_normal((kh, kw, c, filters)))
        ohw = Eager.conv_out_hw(input_shape, (kh, kw, c, filters), strides, pads, (1, 1))
        out = e.empty(n * ohw[0] * ohw[1] * filters)
        op = e.k.conv2d_op(x, wt, None, out, input_shape, (kh, kw, c, filters), ohw, strides, pads, (1, 1))
        seconds = _time(e, [op], out, reps)
        flops = 2 * n * ohw[0] * ohw[1] * filters * kh * kw * c
        return {"seconds": seconds, "gflops": flops / seconds / 1e9}
    finally:
        e.release()
