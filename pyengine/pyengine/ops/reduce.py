"""Reductions: sum and mean over axes."""
import numpy as np

from ..tensor import Function


def _normalize_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    return tuple(a % ndim for a in axes)


class Sum(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.axes, ctx.keepdims = x.shape, _normalize_axes(axis, x.ndim), keepdims
        return np.asarray(x.sum(axis=ctx.axes, keepdims=keepdims))

    @staticmethod
    def backward(ctx, g):
        if not ctx.keepdims:
            g = np.expand_dims(g, ctx.axes)  # put the reduced axes back as size 1, then broadcast
        return np.broadcast_to(g, ctx.shape)


class Mean(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.axes, ctx.keepdims = x.shape, _normalize_axes(axis, x.ndim), keepdims
        ctx.count = int(np.prod([x.shape[a] for a in ctx.axes]))
        return np.asarray(x.mean(axis=ctx.axes, keepdims=keepdims))

    @staticmethod
    def backward(ctx, g):
        if not ctx.keepdims:
            g = np.expand_dims(g, ctx.axes)
        return np.broadcast_to(g / g.dtype.type(ctx.count), ctx.shape)


def sum(x, axis=None, keepdims=False):  # noqa: A001 (mirrors Tensor.sum)
    return Sum.apply(x, axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    return Mean.apply(x, axis=axis, keepdims=keepdims)
