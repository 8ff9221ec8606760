"""Elementwise ops: arithmetic, activations, softmax, maxout, dropout."""
import math

import numpy as np

from ..tensor import Function, Tensor, unbroadcast


def _like(value, ref):
    """Python/NumPy scalars take the tensor's dtype, so float32 never silently becomes float64."""
    if isinstance(value, (Tensor, np.ndarray)):
        return value
    dtype = ref.dtype if isinstance(ref, (Tensor, np.ndarray)) else np.float32
    return np.asarray(value, dtype=dtype)


# ---- arithmetic ----------------------------------------------------------------------------
class Add(Function):
    @staticmethod
    def forward(ctx, *xs):
        ctx.shapes = [np.shape(x) for x in xs]
        out = xs[0] + xs[1]
        for x in xs[2:]:
            out = out + x
        return out

    @staticmethod
    def backward(ctx, g):
        return tuple(unbroadcast(g, s) if need else None for s, need in zip(ctx.shapes, ctx.needs_input_grad))


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = np.shape(a), np.shape(b)
        return a - b

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        return (unbroadcast(g, ctx.shapes[0]) if na else None), (unbroadcast(-g, ctx.shapes[1]) if nb else None)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        return (unbroadcast(g * b, np.shape(a)) if na else None), (unbroadcast(g * a, np.shape(b)) if nb else None)


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        ga = unbroadcast(g / b, np.shape(a)) if na else None
        gb = unbroadcast(-g * a / (b * b), np.shape(b)) if nb else None
        return ga, gb


class Neg(Function):
    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, g):
        return -g


class Pow(Function):
    """x ** p for a constant scalar p."""

    @staticmethod
    def forward(ctx, x, p):
        ctx.save_for_backward(x)
        ctx.p = p
        return x ** p

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * ctx.p * x ** (ctx.p - 1)


class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        y = np.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        return g * ctx.saved_tensors[0]


class Log(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, g):
        return g / ctx.saved_tensors[0]


def add(*xs):
    if len(xs) == 1 and isinstance(xs[0], (list, tuple)):
        xs = tuple(xs[0])
    ref = next((x for x in xs if isinstance(x, (Tensor, np.ndarray))), None)
    return Add.apply(*[_like(x, ref) for x in xs])


def sub(a, b):
    return Sub.apply(_like(a, b), _like(b, a))


def mul(a, b):
    return Mul.apply(_like(a, b), _like(b, a))


def div(a, b):
    return Div.apply(_like(a, b), _like(b, a))


def neg(x):
    return Neg.apply(x)


def pow(x, p):  # noqa: A001 (mirrors the operator)
    return Pow.apply(x, p=p)


def exp(x):
    return Exp.apply(x)


def log(x):
    return Log.apply(x)


# ---- activations ---------------------------------------------------------------------------
# name -> (forward(x, alpha) -> y, backward(x, y, g, alpha) -> dx). Shared by the Activation op and
# the recurrent cells, so an rnn can use any pointwise activation with no extra code.
def _sigmoid(x):
    e = np.exp(-np.abs(x))  # never overflows: exponent <= 0
    return np.where(x >= 0, 1, e) / (1 + e)


_GELU_C = math.sqrt(2.0 / math.pi)


def _gelu_f(x, a):
    return 0.5 * x * (1 + np.tanh(_GELU_C * (x + 0.044715 * x * x * x)))


def _gelu_b(x, y, g, a):
    t = np.tanh(_GELU_C * (x + 0.044715 * x * x * x))
    return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _GELU_C * (1 + 3 * 0.044715 * x * x))


def _elu_f(x, a):
    return np.where(x > 0, x, a * np.expm1(np.minimum(x, 0)))


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


ACTIVATIONS = {
    "linear": (lambda x, a: x, lambda x, y, g, a: g),
    "relu": (lambda x, a: np.maximum(x, 0), lambda x, y, g, a: g * (y > 0)),
    "leaky_relu": (lambda x, a: np.where(x > 0, x, x * a), lambda x, y, g, a: np.where(x > 0, g, g * a)),
    "elu": (_elu_f, lambda x, y, g, a: np.where(x > 0, g, g * (y + a))),
    "gelu": (_gelu_f, _gelu_b),
    "sigmoid": (lambda x, a: _sigmoid(x), lambda x, y, g, a: g * y * (1 - y)),
    "tanh": (lambda x, a: np.tanh(x), lambda x, y, g, a: g * (1 - y * y)),
    "softmax": (lambda x, a: _softmax(x), lambda x, y, g, a: y * (g - (g * y).sum(axis=-1, keepdims=True))),
}
DEFAULT_ALPHA = {"leaky_relu": 0.01, "elu": 1.0}


class Activation(Function):
    @staticmethod
    def forward(ctx, x, kind, alpha=None):
        f, ctx.df = ACTIVATIONS[kind]
        ctx.alpha = alpha = None if alpha is None else float(alpha)  # a NumPy float64 would upcast float32
        y = f(x, alpha)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return ctx.df(x, y, g, ctx.alpha)


def relu(x):
    return Activation.apply(x, kind="relu")


def leaky_relu(x, alpha=0.01):
    return Activation.apply(x, kind="leaky_relu", alpha=alpha)


def elu(x, alpha=1.0):
    return Activation.apply(x, kind="elu", alpha=alpha)


def gelu(x):
    """GELU, tanh approximation."""
    return Activation.apply(x, kind="gelu")


def sigmoid(x):
    return Activation.apply(x, kind="sigmoid")


def tanh(x):
    return Activation.apply(x, kind="tanh")


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, axis=-1):
        y = _softmax(x, axis)
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return y * (g - (g * y).sum(axis=ctx.axis, keepdims=True))


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, axis=-1):
        z = x - x.max(axis=axis, keepdims=True)
        y = z - np.log(np.exp(z).sum(axis=axis, keepdims=True))
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g - np.exp(y) * g.sum(axis=ctx.axis, keepdims=True)


def softmax(x, axis=-1):
    return Softmax.apply(x, axis=axis)


def log_softmax(x, axis=-1):
    return LogSoftmax.apply(x, axis=axis)


class Maxout(Function):
    """Last axis C -> C // pieces: max over consecutive groups of `pieces` channels."""

    @staticmethod
    def forward(ctx, x, pieces):
        xr = x.reshape(x.shape[:-1] + (x.shape[-1] // pieces, pieces))  # (..., C) -> (..., C/p, p)
        idx = xr.argmax(axis=-1)
        ctx.idx, ctx.pieces, ctx.shape = idx, pieces, x.shape
        return np.take_along_axis(xr, idx[..., None], axis=-1)[..., 0]

    @staticmethod
    def backward(ctx, g):
        onehot = ctx.idx[..., None] == np.arange(ctx.pieces)  # (..., C/p, p)
        return (onehot * g[..., None]).reshape(ctx.shape)


def maxout(x, pieces=2):
    return Maxout.apply(x, pieces=pieces)


class _MaskMul(Function):
    @staticmethod
    def forward(ctx, x, mask):
        ctx.mask = mask
        return x * mask

    @staticmethod
    def backward(ctx, g):
        return g * ctx.mask, None


def dropout(x, rate, training, rng=None, mask=None):
    """Inverted dropout: keep with prob 1 - rate and scale by 1 / (1 - rate) in training; identity
    in evaluation (so inference needs no rescaling). `mask` (already scaled) may be given for tests."""
    if not training or rate <= 0:
        return x
    if mask is None:
        xa = x.data if isinstance(x, Tensor) else np.asarray(x)
        keep = rng.random(xa.shape, dtype=np.float32) >= rate
        mask = keep * np.asarray(1.0 / (1.0 - rate), dtype=xa.dtype)
    return _MaskMul.apply(x, mask)
