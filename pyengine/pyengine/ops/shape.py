"""Shape ops: reshape, flatten, transpose, indexing, concat, and the embedding gather."""
import numpy as np

from ..tensor import Function


class Reshape(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape)


class Transpose(Function):
    @staticmethod
    def forward(ctx, x, axes=None):
        ctx.inverse = None if axes is None else tuple(np.argsort(axes))
        return x.transpose(axes)

    @staticmethod
    def backward(ctx, g):
        return g.transpose(ctx.inverse)


class GetItem(Function):
    @staticmethod
    def forward(ctx, x, index):
        ctx.shape, ctx.dtype, ctx.index = x.shape, x.dtype, index
        return x[index]

    @staticmethod
    def backward(ctx, g):
        dx = np.zeros(ctx.shape, dtype=ctx.dtype)
        np.add.at(dx, ctx.index, g)  # handles repeated indices; indexing is not a hot path
        return dx


class Concat(Function):
    @staticmethod
    def forward(ctx, *xs, axis=-1):
        ctx.axis = axis
        ctx.splits = np.cumsum([x.shape[axis] for x in xs])[:-1]
        return np.concatenate(xs, axis=axis)

    @staticmethod
    def backward(ctx, g):
        return tuple(np.split(g, ctx.splits, axis=ctx.axis))


class Embedding(Function):
    """out[..., :] = weight[ids[...]]; ids are not differentiable."""

    @staticmethod
    def forward(ctx, ids, weight):
        ids = ids.astype(np.intp, copy=False)  # float ids (from a float input array) are cast
        ctx.ids, ctx.wshape = ids, weight.shape
        return weight[ids]  # (N, T) -> (N, T, D)

    @staticmethod
    def backward(ctx, g):
        dw = np.zeros(ctx.wshape, dtype=g.dtype)
        np.add.at(dw, ctx.ids.reshape(-1), g.reshape(-1, ctx.wshape[1]))  # repeated ids accumulate
        return None, dw


def reshape(x, shape):
    return Reshape.apply(x, shape=tuple(shape))


def flatten(x):
    """(N, ...) -> (N, prod(...)): keeps the batch axis."""
    return Reshape.apply(x, shape=(x.shape[0], -1))


def transpose(x, axes=None):
    return Transpose.apply(x, axes=None if axes is None else tuple(axes))


def getitem(x, index):
    return GetItem.apply(x, index=index)


def concat(xs, axis=-1):
    return Concat.apply(*xs, axis=axis)


def embedding(ids, weight):
    return Embedding.apply(ids, weight)
