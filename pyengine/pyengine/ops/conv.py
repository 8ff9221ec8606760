"""2-D convolution (channels-last), im2col + one GEMM in the backend."""
from ..backends import numpy_backend as kernels
from ..tensor import Function


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _pads(p):
    """int, (ph, pw) or ((top, bottom), (left, right)) -> ((top, bottom), (left, right))."""
    if isinstance(p, int):
        return ((p, p), (p, p))
    a, b = p
    return (_pair(a), _pair(b))


class Conv2d(Function):
    @staticmethod
    def forward(ctx, x, w, b=None, strides=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1), relu=False):
        y, cols = kernels.conv2d_forward(x, w, b, strides, pads, dilation, relu)
        # cols are only needed for the weight grad; y only for the fused relu's mask.
        ctx.save_for_backward(cols if ctx.needs_input_grad[1] else None, w, y if relu else None)
        ctx.geom = (x.shape, strides, pads, dilation)
        ctx.has_bias = b is not None
        return y

    @staticmethod
    def backward(ctx, g):
        cols, w, y = ctx.saved_tensors
        if y is not None:
            g = g * (y > 0)
        x_shape, strides, pads, dilation = ctx.geom
        nx, nw = ctx.needs_input_grad[:2]
        dx = kernels.conv2d_backward_input(g, w, x_shape, strides, pads, dilation) if nx else None
        dw = kernels.conv2d_backward_weight(g, cols, w.shape) if nw else None
        db = g.sum(axis=(0, 1, 2)) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return dx, dw, db


def conv2d(x, w, b=None, strides=1, pads=0, dilation=1, relu=False):
    """x (N, H, W, C), w (KH, KW, C, F), b (F,) -> (N, OH, OW, F). `relu` fuses the activation."""
    kw = dict(strides=_pair(strides), pads=_pads(pads), dilation=_pair(dilation), relu=relu)
    return Conv2d.apply(x, w, **kw) if b is None else Conv2d.apply(x, w, b, **kw)
