"""Matrix products: matmul and dense (x @ w + b, optionally with a fused relu)."""
import numpy as np

from ..backends import numpy_backend as kernels
from ..tensor import Function, unbroadcast


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return kernels.gemm(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        gemm = kernels.gemm
        na, nb = ctx.needs_input_grad
        ga = unbroadcast(gemm(g, np.swapaxes(b, -1, -2)), a.shape) if na else None
        gb = unbroadcast(gemm(np.swapaxes(a, -1, -2), g), b.shape) if nb else None
        return ga, gb


class Dense(Function):
    """y = x @ w + b over the last axis of x (any leading axes), relu fused when asked."""

    @staticmethod
    def forward(ctx, x, w, b=None, relu=False):
        x2 = x.reshape(-1, x.shape[-1])  # (N, ..., in) -> (N*..., in)
        y = kernels.gemm(x2, w)  # (M, in) x (in, units) -> (M, units)
        if b is not None:
            y += b
        if relu:
            np.maximum(y, 0, out=y)
        ctx.save_for_backward(x2, w, y if relu else None)
        ctx.x_shape, ctx.has_bias = x.shape, b is not None
        return y.reshape(x.shape[:-1] + (w.shape[1],))

    @staticmethod
    def backward(ctx, g):
        x2, w, y = ctx.saved_tensors
        gemm = kernels.gemm
        g2 = g.reshape(-1, w.shape[1])
        if y is not None:
            g2 = g2 * (y > 0)
        nx, nw = ctx.needs_input_grad[:2]
        dx = gemm(g2, w.T).reshape(ctx.x_shape) if nx else None  # (M, units) x (units, in)
        dw = gemm(x2.T, g2) if nw else None  # (in, M) x (M, units)
        db = g2.sum(axis=0) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return dx, dw, db


def matmul(a, b):
    return MatMul.apply(a, b)


def dense(x, w, b=None, relu=False):
    if b is None:
        return Dense.apply(x, w, relu=relu)
    return Dense.apply(x, w, b, relu=relu)
