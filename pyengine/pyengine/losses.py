"""Losses: each is a fused Function (stable forward, direct backward) returning the batch mean.

Conventions: classification losses (softmax_cross_entropy, hinge) sum over the class axis and
average over every other position (the batch; batch*time for sequence outputs). Elementwise losses
(binary_cross_entropy, mse, huber) average over all elements, as Keras does.
"""
import numpy as np

from .ops.elementwise import _sigmoid
from .tensor import Function

# name -> default extra fields of the loss config.
LOSSES = {
    "softmax_cross_entropy": {},
    "binary_cross_entropy": {"from_logits": True},
    "mse": {},
    "huber": {"delta": 1.0},
    "hinge": {"margin": 1.0},
}
CLASSIFICATION_LOSSES = ("softmax_cross_entropy", "hinge", "binary_cross_entropy")


def _as_labels_or_probs(target, scores):
    """int labels (...,) when the target lacks the class axis, else float (..., K) in the scores' dtype."""
    target = np.asarray(target)
    if target.ndim == scores.ndim - 1:
        return target.astype(np.intp, copy=False), True
    if target.shape != scores.shape:
        raise ValueError(f"target shape {target.shape} does not fit output shape {scores.shape}: "
                         "give int labels (N,) or one-hot/probabilities (N, K)")
    return target.astype(scores.dtype, copy=False), False


def _onehot(labels, k, dtype):
    return (labels[..., None] == np.arange(k)).astype(dtype)


class SoftmaxCrossEntropy(Function):
    @staticmethod
    def forward(ctx, logits, target):
        k = logits.shape[-1]
        z = logits - logits.max(axis=-1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))  # stable log-softmax
        target, is_labels = _as_labels_or_probs(target, logits)
        t = _onehot(target, k, logits.dtype) if is_labels else target
        count = logp.size // k
        ctx.save_for_backward(logp, t)
        ctx.count = count
        return np.asarray(-(t * logp).sum() / count, dtype=logits.dtype)

    @staticmethod
    def backward(ctx, g):
        logp, t = ctx.saved_tensors
        # d/dz of -sum(t log softmax(z)) = softmax(z) * sum(t) - t  (sum(t) = 1 for proper targets)
        return g * (np.exp(logp) * t.sum(axis=-1, keepdims=True) - t) / logp.dtype.type(ctx.count), None


class BinaryCrossEntropy(Function):
    @staticmethod
    def forward(ctx, out, target, from_logits=True):
        t = np.asarray(target, dtype=out.dtype).reshape(out.shape)
        if from_logits:
            # log(1 + e^z) - t z, written so neither exp overflows.
            loss = np.maximum(out, 0) - out * t + np.log1p(np.exp(-np.abs(out)))
        else:
            eps = np.finfo(out.dtype).eps
            p = np.clip(out, eps, 1 - eps)
            loss = -(t * np.log(p) + (1 - t) * np.log1p(-p))
        ctx.save_for_backward(out, t)
        ctx.from_logits = from_logits
        return np.asarray(loss.mean(), dtype=out.dtype)

    @staticmethod
    def backward(ctx, g):
        out, t = ctx.saved_tensors
        scale = g / out.dtype.type(out.size)
        if ctx.from_logits:
            return scale * (_sigmoid(out) - t), None
        eps = np.finfo(out.dtype).eps
        p = np.clip(out, eps, 1 - eps)
        inside = (out > eps) & (out < 1 - eps)  # the clip has zero gradient outside
        return scale * (p - t) / (p * (1 - p)) * inside, None


class MSE(Function):
    @staticmethod
    def forward(ctx, out, target):
        diff = out - np.asarray(target, dtype=out.dtype).reshape(out.shape)
        ctx.save_for_backward(diff)
        return np.asarray((diff * diff).mean(), dtype=out.dtype)

    @staticmethod
    def backward(ctx, g):
        (diff,) = ctx.saved_tensors
        return g * 2 * diff / diff.dtype.type(diff.size), None


class Huber(Function):
    @staticmethod
    def forward(ctx, out, target, delta=1.0):
        diff = out - np.asarray(target, dtype=out.dtype).reshape(out.shape)
        a = np.abs(diff)
        loss = np.where(a <= delta, 0.5 * diff * diff, delta * (a - 0.5 * delta))
        ctx.save_for_backward(diff)
        ctx.delta = delta
        return np.asarray(loss.mean(), dtype=out.dtype)

    @staticmethod
    def backward(ctx, g):
        (diff,) = ctx.saved_tensors
        return g * np.clip(diff, -ctx.delta, ctx.delta) / diff.dtype.type(diff.size), None


class Hinge(Function):
    """Multiclass SVM: mean over positions of sum_{j != y} max(0, s_j - s_y + margin)."""

    @staticmethod
    def forward(ctx, scores, target, margin=1.0):
        k = scores.shape[-1]
        target, is_labels = _as_labels_or_probs(target, scores)
        labels = target if is_labels else target.argmax(axis=-1)
        correct = np.take_along_axis(scores, labels[..., None], axis=-1)  # (..., 1)
        margins = np.maximum(scores - correct + margin, 0)
        is_y = labels[..., None] == np.arange(k)
        margins[is_y] = 0
        count = scores.size // k
        ctx.active, ctx.is_y, ctx.count = margins > 0, is_y, count
        return np.asarray(margins.sum() / count, dtype=scores.dtype)

    @staticmethod
    def backward(ctx, g):
        active = ctx.active.astype(g.dtype)
        # each active wrong class pushes its own score up and the true class's score down
        d = active - ctx.is_y * active.sum(axis=-1, keepdims=True)
        return g * d / g.dtype.type(ctx.count), None


def softmax_cross_entropy(out, target):
    return SoftmaxCrossEntropy.apply(out, np.asarray(target))


def binary_cross_entropy(out, target, from_logits=True):
    return BinaryCrossEntropy.apply(out, np.asarray(target), from_logits=from_logits)


def mse(out, target):
    return MSE.apply(out, np.asarray(target))


def huber(out, target, delta=1.0):
    return Huber.apply(out, np.asarray(target), delta=float(delta))


def hinge(out, target, margin=1.0):
    return Hinge.apply(out, np.asarray(target), margin=float(margin))


_LOSS_FNS = {
    "softmax_cross_entropy": softmax_cross_entropy,
    "binary_cross_entropy": binary_cross_entropy,
    "mse": mse,
    "huber": huber,
    "hinge": hinge,
}


def _normalize(cfg):
    if isinstance(cfg, str):
        cfg = {"type": cfg}
    name = cfg.get("type")
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of: {', '.join(LOSSES)}")
    extra = {**LOSSES[name], **{k: v for k, v in cfg.items() if k != "type"}}
    unknown = set(extra) - set(LOSSES[name])
    if unknown:
        raise ValueError(f"loss {name!r} has no field(s) {sorted(unknown)}; it takes {sorted(LOSSES[name]) or 'none'}")
    return name, extra


def get_loss(cfg):
    """cfg: a name or {"type": name, **fields} -> callable(output Tensor, target array) -> scalar Tensor."""
    name, extra = _normalize(cfg)
    fn = _LOSS_FNS[name]
    if not extra:
        return fn
    return lambda out, target: fn(out, target, **extra)


# Losses whose output is a class score vector and whose targets are class labels.
CLASS_LOSSES = ("softmax_cross_entropy", "hinge")
# Losses that make the network a classifier (accuracy, confusion matrices, probabilities).
CLASSIFIER_LOSSES = CLASS_LOSSES + ("binary_cross_entropy",)


def accuracy(output, target, loss_type):
    """Fraction correct for classification losses, None for regression (mse, huber).

    Multiclass: argmax of the scores vs the int label (or the argmax of a one-hot target).
    Binary: threshold 0 on logits (from_logits, the default) or 0.5 on probabilities, vs target >= 0.5.
    `loss_type` is a loss name or config dict."""
    name, extra = _normalize(loss_type)
    out = np.asarray(getattr(output, "data", output))
    target = np.asarray(target)
    if name in ("softmax_cross_entropy", "hinge"):
        labels = target if target.ndim == out.ndim - 1 else target.argmax(axis=-1)
        return float((out.argmax(axis=-1) == labels).mean())
    if name == "binary_cross_entropy":
        predicted = out > (0.0 if extra["from_logits"] else 0.5)
        return float((predicted == (target.reshape(out.shape) >= 0.5)).mean())
    return None
