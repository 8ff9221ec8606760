"""Recurrent layers, each ONE Function with a hand-written backprop-through-time.

x is (N, T, F); the input projection of all steps is one GEMM up front, and the weight gradients
are one GEMM each after the backward loop, so the per-step Python work is a single small GEMM.
Internally arrays are time-major (T, N, ...) so that each step's slice is contiguous.
Initial states are zero. Output: (N, T, U) with return_sequences, else the last state (N, U).
"""
import numpy as np

from ..backends import numpy_backend as kernels
from ..tensor import Function
from .elementwise import ACTIVATIONS, DEFAULT_ALPHA, _sigmoid


def _project_inputs(gemm, x, w_ih, bias):
    n, t, f = x.shape
    x2 = x.transpose(1, 0, 2).reshape(t * n, f)  # (N, T, F) -> (T*N, F), time-major
    xw = gemm(x2, w_ih) + bias  # (T*N, F) x (F, G) -> (T*N, G)
    return x2, xw.reshape(t, n, -1)


def _time_major_grad(g, return_sequences):
    """Per-step output grads as (T, N, U) (None entries when only the last step is used)."""
    return g.transpose(1, 0, 2) if return_sequences else None


def _finish(gemm, ctx, x2, dz, w_ih, n, t):
    """Grads of the input projection from all per-step pre-activation grads dz (T, N, G)."""
    dz2 = dz.reshape(t * n, -1)
    nx, nw = ctx.needs_input_grad[:2]
    dx = gemm(dz2, w_ih.T).reshape(t, n, -1).transpose(1, 0, 2) if nx else None  # -> (N, T, F)
    dw_ih = gemm(x2.T, dz2) if nw else None  # (F, T*N) x (T*N, G)
    return dx, dw_ih, dz2.sum(axis=0)


class RNN(Function):
    """h_t = act(x_t W_ih + h_{t-1} W_hh + b)."""

    @staticmethod
    def forward(ctx, x, w_ih, w_hh, bias, activation="tanh", return_sequences=False):
        gemm = kernels.gemm
        act, ctx.dact = ACTIVATIONS[activation or "linear"]
        ctx.alpha = DEFAULT_ALPHA.get(activation)
        n, t, _ = x.shape
        u = w_hh.shape[0]
        x2, xw = _project_inputs(gemm, x, w_ih, bias)
        hs = np.zeros((t + 1, n, u), dtype=xw.dtype)  # hs[k] = state after k steps
        for k in range(t):
            xw[k] += gemm(hs[k], w_hh)  # xw now holds the pre-activations
            hs[k + 1] = act(xw[k], ctx.alpha)
        ctx.save_for_backward(x2, w_ih, w_hh, xw, hs)
        ctx.return_sequences = return_sequences
        return hs[1:].transpose(1, 0, 2) if return_sequences else hs[t]

    @staticmethod
    def backward(ctx, g):
        x2, w_ih, w_hh, pre, hs = ctx.saved_tensors
        gemm = kernels.gemm
        t, n, u = pre.shape
        gseq = _time_major_grad(g, ctx.return_sequences)
        dz = np.empty_like(pre)
        dh = np.zeros((n, u), dtype=pre.dtype) if ctx.return_sequences else g
        w_hh_t = w_hh.T
        for k in range(t - 1, -1, -1):
            if gseq is not None:
                dh = dh + gseq[k]
            dz[k] = ctx.dact(pre[k], hs[k + 1], dh, ctx.alpha)
            dh = gemm(dz[k], w_hh_t)  # to the previous state
        dw_hh = gemm(hs[:t].reshape(t * n, u).T, dz.reshape(t * n, u))  # one GEMM over all steps
        dx, dw_ih, db = _finish(gemm, ctx, x2, dz, w_ih, n, t)
        return dx, dw_ih, dw_hh, db


class LSTM(Function):
    """Gates i, f, g, o (in that order along the 4U axis): c_t = f c_{t-1} + i g, h_t = o tanh(c_t)."""

    @staticmethod
    def forward(ctx, x, w_ih, w_hh, bias, return_sequences=False):
        gemm = kernels.gemm
        n, t, _ = x.shape
        u = w_hh.shape[0]
        x2, gates = _project_inputs(gemm, x, w_ih, bias)  # (T, N, 4U); becomes the activated gates
        hs = np.zeros((t + 1, n, u), dtype=gates.dtype)
        cs = np.zeros((t + 1, n, u), dtype=gates.dtype)
        tanh_c = np.empty((t, n, u), dtype=gates.dtype)
        for k in range(t):
            z = gates[k]
            z += gemm(hs[k], w_hh)
            z[:, :2 * u] = _sigmoid(z[:, :2 * u])  # i, f
            z[:, 2 * u:3 * u] = np.tanh(z[:, 2 * u:3 * u])  # g
            z[:, 3 * u:] = _sigmoid(z[:, 3 * u:])  # o
            cs[k + 1] = z[:, u:2 * u] * cs[k] + z[:, :u] * z[:, 2 * u:3 * u]
            tanh_c[k] = np.tanh(cs[k + 1])
            hs[k + 1] = z[:, 3 * u:] * tanh_c[k]
        ctx.save_for_backward(x2, w_ih, w_hh, gates, hs, cs, tanh_c)
        ctx.return_sequences = return_sequences
        return hs[1:].transpose(1, 0, 2) if return_sequences else hs[t]

    @staticmethod
    def backward(ctx, g):
        x2, w_ih, w_hh, gates, hs, cs, tanh_c = ctx.saved_tensors
        gemm = kernels.gemm
        t, n, u4 = gates.shape
        u = u4 // 4
        gseq = _time_major_grad(g, ctx.return_sequences)
        dz = np.empty_like(gates)
        dh = np.zeros((n, u), dtype=gates.dtype) if ctx.return_sequences else g
        dc = np.zeros((n, u), dtype=gates.dtype)
        w_hh_t = w_hh.T
        for k in range(t - 1, -1, -1):
            if gseq is not None:
                dh = dh + gseq[k]
            gk = gates[k]
            i, f, gg, o = gk[:, :u], gk[:, u:2 * u], gk[:, 2 * u:3 * u], gk[:, 3 * u:]
            tc = tanh_c[k]
            dc = dc + dh * o * (1 - tc * tc)
            d = dz[k]
            d[:, :u] = dc * gg * i * (1 - i)  # through the sigmoid of i
            d[:, u:2 * u] = dc * cs[k] * f * (1 - f)
            d[:, 2 * u:3 * u] = dc * i * (1 - gg * gg)
            d[:, 3 * u:] = dh * tc * o * (1 - o)
            dc = dc * f
            dh = gemm(d, w_hh_t)
        dw_hh = gemm(hs[:t].reshape(t * n, u).T, dz.reshape(t * n, u4))
        dx, dw_ih, db = _finish(gemm, ctx, x2, dz, w_ih, n, t)
        return dx, dw_ih, dw_hh, db


class GRU(Function):
    """Gates r, z, n (along the 3U axis), PyTorch/Keras-v2 form with two biases:
    r = s(x W_ir + b_ir + h W_hr + b_hr), z likewise, n = tanh(x W_in + b_in + r (h W_hn + b_hn)),
    h_t = (1 - z) n + z h_{t-1}."""

    @staticmethod
    def forward(ctx, x, w_ih, w_hh, bias_ih, bias_hh, return_sequences=False):
        gemm = kernels.gemm
        n, t, _ = x.shape
        u = w_hh.shape[0]
        x2, xw = _project_inputs(gemm, x, w_ih, bias_ih)  # (T, N, 3U)
        hs = np.zeros((t + 1, n, u), dtype=xw.dtype)
        gates = np.empty_like(xw)  # activated r, z, n
        hn = np.empty((t, n, u), dtype=xw.dtype)  # h W_hn + b_hn, needed for r's grad
        for k in range(t):
            hw = gemm(hs[k], w_hh) + bias_hh  # (N, 3U)
            gk = gates[k]
            gk[:, :2 * u] = _sigmoid(xw[k, :, :2 * u] + hw[:, :2 * u])
            hn[k] = hw[:, 2 * u:]
            gk[:, 2 * u:] = np.tanh(xw[k, :, 2 * u:] + gk[:, :u] * hn[k])
            z, nn = gk[:, u:2 * u], gk[:, 2 * u:]
            hs[k + 1] = nn + z * (hs[k] - nn)
        ctx.save_for_backward(x2, w_ih, w_hh, gates, hn, hs)
        ctx.return_sequences = return_sequences
        return hs[1:].transpose(1, 0, 2) if return_sequences else hs[t]

    @staticmethod
    def backward(ctx, g):
        x2, w_ih, w_hh, gates, hn, hs = ctx.saved_tensors
        gemm = kernels.gemm
        t, n, u3 = gates.shape
        u = u3 // 3
        gseq = _time_major_grad(g, ctx.return_sequences)
        dxw = np.empty_like(gates)  # grads of the input-side pre-activations
        dhw = np.empty_like(gates)  # grads of h W_hh + b_hh
        dh = np.zeros((n, u), dtype=gates.dtype) if ctx.return_sequences else g
        w_hh_t = w_hh.T
        for k in range(t - 1, -1, -1):
            if gseq is not None:
                dh = dh + gseq[k]
            gk = gates[k]
            r, z, nn = gk[:, :u], gk[:, u:2 * u], gk[:, 2 * u:]
            dn = dh * (1 - z) * (1 - nn * nn)  # grad of n's pre-activation
            dr = dn * hn[k] * r * (1 - r)
            dzp = dh * (hs[k] - nn) * z * (1 - z)
            dxw[k, :, :u], dxw[k, :, u:2 * u], dxw[k, :, 2 * u:] = dr, dzp, dn
            dhw[k, :, :u], dhw[k, :, u:2 * u], dhw[k, :, 2 * u:] = dr, dzp, dn * r
            dh = dh * z + gemm(dhw[k], w_hh_t)
        dhw2 = dhw.reshape(t * n, u3)
        dw_hh = gemm(hs[:t].reshape(t * n, u).T, dhw2)
        dx, dw_ih, db_ih = _finish(gemm, ctx, x2, dxw, w_ih, n, t)
        return dx, dw_ih, dw_hh, db_ih, dhw2.sum(axis=0)


def rnn(x, weight_ih, weight_hh, bias, activation="tanh", return_sequences=False):
    return RNN.apply(x, weight_ih, weight_hh, bias, activation=activation, return_sequences=return_sequences)


def lstm(x, weight_ih, weight_hh, bias, return_sequences=False):
    return LSTM.apply(x, weight_ih, weight_hh, bias, return_sequences=return_sequences)


def gru(x, weight_ih, weight_hh, bias_ih, bias_hh, return_sequences=False):
    return GRU.apply(x, weight_ih, weight_hh, bias_ih, bias_hh, return_sequences=return_sequences)
