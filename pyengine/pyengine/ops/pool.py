"""Pooling (channels-last): max, average (padding excluded from the count) and global average."""
import numpy as np

from ..backends import numpy_backend as kernels
from ..tensor import Function
from .conv import _pads, _pair


class MaxPool2d(Function):
    @staticmethod
    def forward(ctx, x, pool_size, strides, pads):
        y, idx = kernels.maxpool2d_forward(x, pool_size, strides, pads)
        ctx.idx, ctx.geom = idx, (x.shape, pool_size, strides, pads)
        return y

    @staticmethod
    def backward(ctx, g):
        return kernels.maxpool2d_backward(g, ctx.idx, *ctx.geom)


class AvgPool2d(Function):
    @staticmethod
    def forward(ctx, x, pool_size, strides, pads):
        y, counts = kernels.avgpool2d_forward(x, pool_size, strides, pads)
        ctx.counts, ctx.geom = counts, (x.shape, pool_size, strides, pads)
        return y

    @staticmethod
    def backward(ctx, g):
        return kernels.avgpool2d_backward(g, ctx.counts, *ctx.geom)


class GlobalAvgPool2d(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.shape = x.shape
        return x.mean(axis=(1, 2))  # (N, H, W, C) -> (N, C)

    @staticmethod
    def backward(ctx, g):
        n, h, w, c = ctx.shape
        return np.broadcast_to((g / g.dtype.type(h * w))[:, None, None, :], ctx.shape)


def _geometry(pool_size, strides, pads):
    pool_size = _pair(pool_size)
    return pool_size, (pool_size if strides is None else _pair(strides)), _pads(pads)


def maxpool2d(x, pool_size=2, strides=None, pads=0):
    """Max pooling; padded cells count as -inf. `strides` defaults to `pool_size`."""
    p, s, pd = _geometry(pool_size, strides, pads)
    return MaxPool2d.apply(x, pool_size=p, strides=s, pads=pd)


def avgpool2d(x, pool_size=2, strides=None, pads=0):
    """Average pooling; padded cells are left out of each window's count (TF "same" style)."""
    p, s, pd = _geometry(pool_size, strides, pads)
    return AvgPool2d.apply(x, pool_size=p, strides=s, pads=pd)


def global_avgpool2d(x):
    return GlobalAvgPool2d.apply(x)
