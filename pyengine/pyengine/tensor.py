"""Reverse-mode autograd on NumPy arrays (tinygrad-2021 style).

A `Tensor` wraps an ndarray. Calling `SomeFunction.apply(...)` runs the Function's forward on the
arrays and, when any input needs a gradient, records the Function instance (which doubles as the
backward context) on the result. `Tensor.backward()` walks that tape in reverse topological order.
Gradients of leaves accumulate in `.grad`; intermediate gradients are dropped as soon as used.
"""
import numpy as np


class _GradMode:
    enabled = True


class no_grad:
    """Context manager: no graph is recorded inside (inference, evaluation, optimizer steps)."""

    def __enter__(self):
        self._prev = _GradMode.enabled
        _GradMode.enabled = False
        return self

    def __exit__(self, *exc):
        _GradMode.enabled = self._prev
        return False


def unbroadcast(grad, shape):
    """Sum `grad` down to `shape`, undoing NumPy broadcasting (leading axes, then size-1 axes)."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def _as_array(data):
    if isinstance(data, np.ndarray):
        return data
    arr = np.asarray(data)
    # Python floats and lists of them become float32, the engine's working precision.
    return arr.astype(np.float32) if arr.dtype == np.float64 and not isinstance(data, np.generic) else arr


class Tensor:
    """An ndarray plus what autograd needs: `.grad`, `.requires_grad` and the Function that made it."""

    __array_priority__ = 100  # so `ndarray + Tensor` calls Tensor.__radd__

    def __init__(self, data, requires_grad=False):
        self.data = _as_array(data.data if isinstance(data, Tensor) else data)
        self.grad = None
        self.requires_grad = requires_grad
        self._ctx = None  # the Function instance that produced this tensor (None for leaves)

    # ---- array-like ----------------------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    size = property(lambda self: self.data.size)

    def __len__(self):
        return len(self.data)

    def numpy(self):
        return self.data

    def item(self):
        return self.data.item()

    def detach(self):
        return Tensor(self.data)

    def __repr__(self):
        return f"Tensor(shape={self.data.shape}, dtype={self.data.dtype}, requires_grad={self.requires_grad})"

    # ---- autograd ------------------------------------------------------------------------
    def backward(self, grad=None):
        """Accumulate d(self)/d(leaf) into every leaf's `.grad`. `grad` defaults to 1 for scalars."""
        if grad is None:
            if self.data.size != 1:
                raise ValueError(f"backward() without a gradient needs a scalar, got shape {self.data.shape}")
            grad = np.ones_like(self.data)
        else:
            grad = np.asarray(grad, dtype=self.data.dtype).reshape(self.data.shape)
        if self._ctx is None:
            self._accumulate(grad)
            return
        grads = {id(self): grad}
        for node in reversed(self._topological_order()):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            ctx = node._ctx
            parent_grads = ctx.backward(ctx, g)
            if not isinstance(parent_grads, tuple):
                parent_grads = (parent_grads,)
            for parent, pg, needed in zip(ctx.parents, parent_grads, ctx.needs_input_grad):
                if pg is None or not needed:
                    continue
                if parent._ctx is None:
                    parent._accumulate(pg)
                else:
                    key = id(parent)
                    prev = grads.get(key)
                    grads[key] = pg if prev is None else prev + pg

    def _accumulate(self, g):
        if g.shape != self.data.shape:  # e.g. a 0-d grad for a (1,)-shaped scalar
            g = g.reshape(self.data.shape)
        # Copy on first store: `g` may be a read-only broadcast view or shared with other grads.
        self.grad = np.array(g, dtype=self.data.dtype) if self.grad is None else self.grad + g

    def _topological_order(self):
        """Non-leaf nodes reachable from self, parents before children (iterative DFS: no recursion limit)."""
        order, visited = [], set()
        stack = [(self, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, True))
            for parent, needed in zip(node._ctx.parents, node._ctx.needs_input_grad):
                if needed and parent._ctx is not None and id(parent) not in visited:
                    stack.append((parent, False))
        return order

    # ---- operators (implemented in pyengine.ops) -----------------------------------------
    def __add__(self, other):
        return _ops.add(self, other)

    def __radd__(self, other):
        return _ops.add(other, self)

    def __sub__(self, other):
        return _ops.sub(self, other)

    def __rsub__(self, other):
        return _ops.sub(other, self)

    def __mul__(self, other):
        return _ops.mul(self, other)

    def __rmul__(self, other):
        return _ops.mul(other, self)

    def __truediv__(self, other):
        return _ops.div(self, other)

    def __rtruediv__(self, other):
        return _ops.div(other, self)

    def __neg__(self):
        return _ops.neg(self)

    def __pow__(self, exponent):
        return _ops.pow(self, exponent)

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(other, self)

    def __getitem__(self, index):
        return _ops.getitem(self, index)

    def sum(self, axis=None, keepdims=False):
        return _ops.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return _ops.mean(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape):
        return _ops.reshape(self, shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)

    def transpose(self, *axes):
        return _ops.transpose(self, axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes or None)

    @property
    def T(self):
        return _ops.transpose(self, None)

    def exp(self):
        return _ops.exp(self)

    def log(self):
        return _ops.log(self)

    def relu(self):
        return _ops.relu(self)


class Parameter(Tensor):
    """A trainable leaf. `name` is "<layer>.<param>"; `trainable` False for frozen layers and running
    statistics (no gradient is recorded then); `decay` says whether L1/L2 apply (weights only)."""

    def __init__(self, data, name="", trainable=True, decay=True):
        super().__init__(data, requires_grad=trainable)
        self.name = name
        self._trainable = trainable
        self.decay = decay

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        self.requires_grad = bool(value)

    def __repr__(self):
        return f"Parameter({self.name!r}, shape={self.data.shape}, trainable={self._trainable})"


class Function:
    """Base class of differentiable ops. Subclasses define, side by side:

        @staticmethod forward(ctx, *arrays, **kwargs) -> ndarray
        @staticmethod backward(ctx, grad) -> ndarray | tuple (one entry per positional input, None allowed)

    The instance is the context: `ctx.save_for_backward(...)`, `ctx.saved_tensors`, any attribute,
    and `ctx.needs_input_grad` (known already in forward, so ops can skip saving what is not needed).
    """

    saved_tensors = ()

    def save_for_backward(self, *arrays):
        self.saved_tensors = arrays

    @classmethod
    def apply(cls, *inputs, **kwargs):
        ctx = cls()
        arrays, needs = [], []
        for t in inputs:
            if isinstance(t, Tensor):
                arrays.append(t.data)
                needs.append(t.requires_grad)
            else:
                arrays.append(t)
                needs.append(False)
        track = _GradMode.enabled and any(needs)
        ctx.needs_input_grad = needs if track else [False] * len(needs)
        out = Tensor(cls.forward(ctx, *arrays, **kwargs), requires_grad=track)
        if track:
            ctx.parents = inputs
            out._ctx = ctx
        return out


from . import ops as _ops  # noqa: E402  (ops import Tensor/Function from here: import last)
