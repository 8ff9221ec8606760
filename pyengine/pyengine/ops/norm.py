"""Normalisation: batchnorm (over every axis but the last) and layernorm (over the last axis)."""
import numpy as np

from ..tensor import Function


class BatchNorm(Function):
    """Training: normalise with the batch's mean and biased variance and update the running stats
    in place (running = momentum * running + (1 - momentum) * batch). Evaluation: use running stats."""

    @staticmethod
    def forward(ctx, x, gamma, beta, running_mean, running_var, momentum=0.99, eps=1e-3, training=False):
        c = x.shape[-1]
        x2 = x.reshape(-1, c)  # (N, ..., C) -> (M, C)
        if training:
            mean = x2.mean(axis=0)
            xc = x2 - mean
            var = (xc * xc).mean(axis=0)
            running_mean *= momentum
            running_mean += (1 - momentum) * mean
            running_var *= momentum
            running_var += (1 - momentum) * var
        else:
            mean, var = running_mean, running_var
            xc = x2 - mean
        inv_std = 1 / np.sqrt(var + eps)
        xhat = xc * inv_std
        ctx.save_for_backward(xhat, gamma, inv_std)
        ctx.training, ctx.shape = training, x.shape
        return (xhat * gamma + beta).reshape(x.shape)

    @staticmethod
    def backward(ctx, g):
        xhat, gamma, inv_std = ctx.saved_tensors
        g2 = g.reshape(xhat.shape)
        dbeta = g2.sum(axis=0)
        dgamma = (g2 * xhat).sum(axis=0)
        if ctx.training:
            # d/dx of gamma * (x - mean) / std with mean and var depending on the batch itself.
            m = xhat.shape[0]
            dx = (gamma * inv_std / m) * (m * g2 - dbeta - xhat * dgamma)
        else:
            dx = g2 * (gamma * inv_std)
        return dx.reshape(ctx.shape), dgamma, dbeta, None, None


class LayerNorm(Function):
    @staticmethod
    def forward(ctx, x, gamma, beta, eps=1e-3):
        mean = x.mean(axis=-1, keepdims=True)
        xc = x - mean
        inv_std = 1 / np.sqrt((xc * xc).mean(axis=-1, keepdims=True) + eps)  # (..., 1)
        xhat = xc * inv_std
        ctx.save_for_backward(xhat, gamma, inv_std)
        return xhat * gamma + beta

    @staticmethod
    def backward(ctx, g):
        xhat, gamma, inv_std = ctx.saved_tensors
        c = xhat.shape[-1]
        lead = tuple(range(xhat.ndim - 1))
        dgamma = (g * xhat).sum(axis=lead)
        dbeta = g.sum(axis=lead)
        dxhat = g * gamma
        dx = inv_std * (dxhat - dxhat.mean(axis=-1, keepdims=True)
                        - xhat * (dxhat * xhat).sum(axis=-1, keepdims=True) / c)
        return dx, dgamma, dbeta


def batchnorm(x, gamma, beta, running_mean, running_var, momentum=0.99, eps=1e-3, training=False):
    return BatchNorm.apply(x, gamma, beta, running_mean, running_var,
                           momentum=momentum, eps=eps, training=training)


def layernorm(x, gamma, beta, eps=1e-3):
    return LayerNorm.apply(x, gamma, beta, eps=eps)
