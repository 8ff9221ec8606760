"""NumPy array kernels: the one matrix-product helper, conv2d (im2col + GEMM) and pooling.

Layout is channels-last: x (N, H, W, C), conv weight (KH, KW, C, F). `pads` is
((top, bottom), (left, right)); strides and dilation are (sh, sw) and (dh, dw) pairs.
Every function works on plain arrays and keeps the input dtype (float32 on hot paths).
"""
import sys

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import simd

name = "numpy"

# Pyodide's NumPy has no BLAS: there `a @ b` runs a naive loop while einsum's own kernel is ~4x faster.
ON_PYODIDE = sys.platform == "emscripten"


def gemm_einsum(a, b):
    """Matrix product via einsum (the fast path without BLAS); 2-D or batched (..., M, K) x (..., K, N).

    einsum's speed depends on its innermost loop running long and contiguous (measured in Pyodide on
    this convnet's products: 2-5x over plain 'mk,kn->mn', which itself beats BLAS-less `@`),
    so 2-D products are arranged for that; the small operand is the one that gets copied:
      - A rows contiguous, N >= K: axpy form, C[m, :] += A[m, k] * B[k, :] over long rows of B;
      - A rows contiguous, K > N: dot-product form over k with B transposed to (N, K) (conv forward);
      - A a transposed view (A.T contiguous, as cols.T in weight grads): run along A's m axis.
    """
    if a.ndim != 2 or b.ndim != 2:
        return np.einsum("...mk,...kn->...mn", a, b, optimize=False)
    m, k = a.shape
    n = b.shape[1]
    if m * k * n > EINSUM_MAX_ITER:
        return _gemm_einsum_blocked(a, b, m, k, n)
    if not a.flags.c_contiguous and a.T.flags.c_contiguous:
        return np.einsum("nk,km->mn", np.ascontiguousarray(b.T), a.T, optimize=False)
    if b.shape[1] >= b.shape[0]:
        return np.einsum("mk,kn->mn", a, np.ascontiguousarray(b), optimize=False)
    return np.einsum("mk,nk->mn", a, np.ascontiguousarray(b.T), optimize=False)


# einsum iterates over all M*K*N terms with one iterator, whose size must fit wasm32's signed index:
# Pyodide refuses a 2048^3 product ("iterator is too large"). Larger products go in blocks.
EINSUM_MAX_ITER = 2**30


def _gemm_einsum_blocked(a, b, m, k, n):
    """gemm_einsum over row blocks of `a` (and column blocks of `b` when one row is already too big)."""
    out = np.empty((m, n), dtype=np.result_type(a, b))
    cols = n if k * n <= EINSUM_MAX_ITER else max(1, EINSUM_MAX_ITER // k)
    rows = max(1, EINSUM_MAX_ITER // (k * cols))
    for j in range(0, n, cols):
        bj = b[:, j:j + cols]
        for i in range(0, m, rows):
            out[i:i + rows, j:j + cols] = gemm_einsum(a[i:i + rows], bj)
    return out


def gemm_matmul(a, b):
    return a @ b


def gemm_simd(a, b):
    """gemm through the WebAssembly SIMD kernel (2-D float32, any strides, no copies); einsum otherwise."""
    if simd.sgemm_fits(a, b):
        return simd.sgemm(a, b)
    return gemm_einsum(a, b)


# gemm(a, b): THE matrix-product helper, (M, K) x (K, N) -> (M, N), batched over leading axes.
# Bound once at import (and by use_simd) so the hot path pays no dispatch.
gemm = gemm_einsum if ON_PYODIDE else gemm_matmul

# What runs the hot paths: the worker calls use_simd() at boot; tests switch with use_einsum().
SIMD_STATUS = {"active": False, "reason": "not loaded (the browser's worker loads it; CPython uses BLAS)"}


def use_simd(path):
    """Route the matrix products through the SIMD kernel library at `path` (dist/simd/nnplay_simd.so,
    written into Pyodide's file system by the worker). On any failure the einsum path stays and
    SIMD_STATUS says why. Returns SIMD_STATUS."""
    try:
        version = simd.load(path)
        rng = np.random.default_rng(0)  # a self-check on an odd shape with a transposed operand
        a, b = rng.standard_normal((7, 13), dtype=np.float32), rng.standard_normal((5, 13), dtype=np.float32).T
        if not np.allclose(simd.sgemm(a, b), gemm_einsum(a, b), rtol=1e-5, atol=1e-5):
            raise OSError("its matrix product disagrees with NumPy's")
    except (OSError, AttributeError) as e:  # AttributeError: a library without the expected functions
        _route(NUMPY_ROUTES)
        SIMD_STATUS.update(active=False, reason=f"{path} could not be used: {e}")
        return SIMD_STATUS
    _route(SIMD_ROUTES)
    SIMD_STATUS.update(active=True, reason=None, path=path, version=version)
    return SIMD_STATUS


def use_einsum():
    """Back to the pure-NumPy path (the fallback); use_simd(path) switches the kernels on again."""
    _route(NUMPY_ROUTES)
    SIMD_STATUS.update(active=False, reason="switched off (use_einsum)")
    return SIMD_STATUS


def _route(routes):
    globals().update(routes)


# ---- padding and windows --------------------------------------------------------------------
def pad_hw(x, pads, value=0.0):
    """Pad H and W of (N, H, W, C); zeros + one slice copy is cheaper than np.pad's generic path."""
    (pt, pb), (pl, pr) = pads
    if not (pt or pb or pl or pr):
        return x
    n, h, w, c = x.shape
    xp = np.full((n, h + pt + pb, w + pl + pr, c), value, dtype=x.dtype)  # (N, H+pt+pb, W+pl+pr, C)
    xp[:, pt:pt + h, pl:pl + w, :] = x
    return xp


def out_size(size, pad_total, k, stride, dilation):
    return (size + pad_total - (k - 1) * dilation - 1) // stride + 1


def windows(xp, kh, kw, oh, ow, strides, dilation=(1, 1), writeable=False):
    """A strided VIEW (no copy) of every KHxKW window: (N, Hp, Wp, C) -> (N, OH, OW, KH, KW, C)."""
    n, _, _, c = xp.shape
    s0, s1, s2, s3 = xp.strides
    (sh, sw), (dh, dw) = strides, dilation
    return as_strided(xp, (n, oh, ow, kh, kw, c), (s0, s1 * sh, s2 * sw, s1 * dh, s2 * dw, s3),
                      writeable=writeable)


def im2col_numpy(x, kh, kw, strides, pads, dilation):
    """(N, H, W, C) -> cols (N*OH*OW, KH*KW*C) with one contiguous copy, plus (OH, OW)."""
    n, h, w, c = x.shape
    oh = out_size(h, pads[0][0] + pads[0][1], kh, strides[0], dilation[0])
    ow = out_size(w, pads[1][0] + pads[1][1], kw, strides[1], dilation[1])
    if kh == kw == 1 and strides == (1, 1) and oh == h and ow == w:
        return x.reshape(n * h * w, c), oh, ow  # 1x1 conv: the input already is the matrix
    xp = pad_hw(x, pads)
    win = windows(xp, kh, kw, oh, ow, strides, dilation)  # view (N, OH, OW, KH, KW, C)
    if c <= 2:
        # Few channels (e.g. a grayscale input): copying in (KH*KW*C, N*OH*OW) order runs the inner
        # loop along OW instead of along C (=1), ~4x faster; the returned .T view is the same matrix,
        # and gemm's einsum path likes its long contiguous rows too.
        return win.transpose(3, 4, 5, 0, 1, 2).reshape(kh * kw * c, n * oh * ow).T, oh, ow
    return win.reshape(n * oh * ow, kh * kw * c), oh, ow  # one contiguous copy


def col2im_numpy(dcols, x_shape, kh, kw, oh, ow, strides, pads, dilation):
    """Adjoint of im2col: (N*OH*OW, KH*KW*C) -> (N, H, W, C), a KHxKW loop of strided +=."""
    n, h, w, c = x_shape
    (pt, pb), (pl, pr) = pads
    (sh, sw), (dh, dw) = strides, dilation
    if kh == kw == 1 and (sh, sw) == (1, 1) and oh == h and ow == w:
        return dcols.reshape(x_shape)
    d6 = dcols.reshape(n, oh, ow, kh, kw, c)  # (N*OH*OW, KH*KW*C) -> (N, OH, OW, KH, KW, C)
    dxp = np.zeros((n, h + pt + pb, w + pl + pr, c), dtype=dcols.dtype)  # (N, Hp, Wp, C)
    for i in range(kh):
        r = i * dh
        for j in range(kw):
            q = j * dw
            dxp[:, r:r + sh * (oh - 1) + 1:sh, q:q + sw * (ow - 1) + 1:sw, :] += d6[:, :, :, i, j, :]
    return dxp[:, pt:pt + h, pl:pl + w, :]


# ---- conv2d ---------------------------------------------------------------------------------
def conv2d_forward(x, w, b, strides, pads, dilation, relu=False):
    """y = conv(x, w) + b (optionally relu'd in place). Returns (y (N, OH, OW, F), cols for backward)."""
    kh, kw, c, f = w.shape
    n = x.shape[0]
    cols, oh, ow = im2col(x, kh, kw, strides, pads, dilation)  # (N*OH*OW, KH*KW*C)
    y = gemm(cols, w.reshape(kh * kw * c, f))  # (N*OH*OW, KH*KW*C) x (KH*KW*C, F) -> (N*OH*OW, F)
    if b is not None:
        y += b
    if relu:
        np.maximum(y, 0, out=y)
    return y.reshape(n, oh, ow, f), cols


def conv2d_backward_input(gy, w, x_shape, strides, pads, dilation):
    kh, kw, c, f = w.shape
    n, oh, ow, _ = gy.shape
    (pt, pb), (pl, pr) = pads
    ekh, ekw = (kh - 1) * dilation[0] + 1, (kw - 1) * dilation[1] + 1
    full_pads = ((ekh - 1 - pt, ekh - 1 - pb), (ekw - 1 - pl, ekw - 1 - pr))
    if strides == (1, 1) and min(full_pads[0] + full_pads[1]) >= 0 and kh * kw > 1:
        # Stride 1: the input grad is the "full" convolution of gy with the flipped kernel (in/out
        # channels swapped): one im2col + GEMM, ~4x faster than col2im's KH*KW strided adds.
        w_flip = w[::-1, ::-1].transpose(0, 1, 3, 2)  # (KH, KW, C, F) -> (KH, KW, F, C)
        return conv2d_forward(gy, np.ascontiguousarray(w_flip), None, strides, full_pads, dilation)[0]
    dcols = gemm(gy.reshape(n * oh * ow, f), w.reshape(kh * kw * c, f).T)  # (N*OH*OW, F) x (F, KH*KW*C)
    return col2im(dcols, x_shape, kh, kw, oh, ow, strides, pads, dilation)


def conv2d_backward_weight(gy, cols, w_shape):
    f = w_shape[3]
    g2 = gy.reshape(-1, f)  # (N, OH, OW, F) -> (N*OH*OW, F)
    return gemm(cols.T, g2).reshape(w_shape)  # (KH*KW*C, N*OH*OW) x (N*OH*OW, F) -> (KH, KW, C, F)


# ---- pooling --------------------------------------------------------------------------------
def _pool_geometry(x_shape, pool_size, strides, pads):
    _, h, w, _ = x_shape
    (ph, pw), (sh, sw) = pool_size, strides
    oh = out_size(h, pads[0][0] + pads[0][1], ph, sh, 1)
    ow = out_size(w, pads[1][0] + pads[1][1], pw, sw, 1)
    return oh, ow


def _scatter_windows(dwin, x_shape, pool_size, strides, pads, oh, ow):
    """Sum per-window grads (N, OH, OW, PH, PW, C) back onto the input grid (N, H, W, C)."""
    n, h, w, c = x_shape
    (ph, pw), (sh, sw) = pool_size, strides
    (pt, pb), (pl, pr) = pads
    dxp = np.zeros((n, h + pt + pb, w + pl + pr, c), dtype=dwin.dtype)
    if sh >= ph and sw >= pw:
        # Windows do not overlap: write them all through one strided view, no loop.
        windows(dxp, ph, pw, oh, ow, strides, writeable=True)[...] = dwin
    else:
        for i in range(ph):
            for j in range(pw):
                dxp[:, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw, :] += dwin[:, :, :, i, j, :]
    return dxp[:, pt:pt + h, pl:pl + w, :]


def maxpool2d_forward_numpy(x, pool_size, strides, pads):
    """Returns (y (N, OH, OW, C), argmax index within each window (N, OH, OW, C)). Padding is -inf."""
    n, _, _, c = x.shape
    ph, pw = pool_size
    oh, ow = _pool_geometry(x.shape, pool_size, strides, pads)
    xp = pad_hw(x, pads, value=-np.inf)
    win = windows(xp, ph, pw, oh, ow, strides).reshape(n, oh, ow, ph * pw, c)  # copy: (N, OH, OW, PH*PW, C)
    idx = win.argmax(axis=3)  # first maximum wins ties (e.g. all-zero windows after relu): one grad each
    y = np.take_along_axis(win, idx[:, :, :, None, :], axis=3)[:, :, :, 0, :]
    return y, idx


def maxpool2d_backward_numpy(gy, idx, x_shape, pool_size, strides, pads):
    n, oh, ow, c = gy.shape
    ph, pw = pool_size
    onehot = idx[:, :, :, None, :] == np.arange(ph * pw).reshape(ph * pw, 1)  # (N, OH, OW, PH*PW, C)
    dwin = (onehot * gy[:, :, :, None, :]).reshape(n, oh, ow, ph, pw, c)
    return _scatter_windows(dwin, x_shape, pool_size, strides, pads, oh, ow)


def _avgpool_counts(x_shape, pool_size, strides, pads, oh, ow, dtype):
    """Real (non-padded) cells per window, (OH, OW, 1): padding is excluded from the mean (TF "same")."""
    _, h, w, _ = x_shape
    ones = pad_hw(np.ones((1, h, w, 1), dtype=dtype), pads)
    return windows(ones, pool_size[0], pool_size[1], oh, ow, strides).sum(axis=(3, 4))[0]


def avgpool2d_forward(x, pool_size, strides, pads):
    """Returns (y (N, OH, OW, C), counts (OH, OW, 1))."""
    oh, ow = _pool_geometry(x.shape, pool_size, strides, pads)
    xp = pad_hw(x, pads)
    counts = _avgpool_counts(x.shape, pool_size, strides, pads, oh, ow, x.dtype)
    y = windows(xp, pool_size[0], pool_size[1], oh, ow, strides).sum(axis=(3, 4))  # (N, OH, OW, C)
    y /= counts
    return y, counts


def avgpool2d_backward(gy, counts, x_shape, pool_size, strides, pads):
    n, oh, ow, c = gy.shape
    ph, pw = pool_size
    share = gy / counts  # (N, OH, OW, C): each window cell gets an equal share
    dwin = np.broadcast_to(share[:, :, :, None, None, :], (n, oh, ow, ph, pw, c))
    return _scatter_windows(dwin, x_shape, pool_size, strides, pads, oh, ow)


# ---- the WebAssembly SIMD kernels (issue 14): same contracts, float32 only ------------------------
def im2col_simd(x, kh, kw, strides, pads, dilation):
    n, h, w, c = x.shape
    if not simd.nhwc_fits(x) or c <= 2 or (kh == kw == 1 and strides == (1, 1) and not any(pads[0] + pads[1])):
        # C <= 2 (a grayscale input): NumPy's copy in (KH*KW*C, N*OH*OW) order is faster than one
        # that moves C floats at a time, and the transposed view it returns suits nnp_sgemm as well
        return im2col_numpy(x, kh, kw, strides, pads, dilation)
    oh = out_size(h, pads[0][0] + pads[0][1], kh, strides[0], dilation[0])
    ow = out_size(w, pads[1][0] + pads[1][1], kw, strides[1], dilation[1])
    return simd.im2col(x, kh, kw, strides, pads, dilation, oh, ow), oh, ow


def col2im_simd(dcols, x_shape, kh, kw, oh, ow, strides, pads, dilation):
    n, h, w, c = x_shape
    if dcols.dtype != np.float32 or dcols.size > simd._INT_MAX or n * h * w * c > simd._INT_MAX:
        return col2im_numpy(dcols, x_shape, kh, kw, oh, ow, strides, pads, dilation)
    return simd.col2im(dcols, x_shape, kh, kw, strides, pads, dilation, oh, ow)


def maxpool2d_forward_simd(x, pool_size, strides, pads):
    if not simd.nhwc_fits(x):
        return maxpool2d_forward_numpy(x, pool_size, strides, pads)
    oh, ow = _pool_geometry(x.shape, pool_size, strides, pads)
    return simd.maxpool_forward(x, pool_size, strides, pads, oh, ow)


def maxpool2d_backward_simd(gy, idx, x_shape, pool_size, strides, pads):
    if gy.dtype != np.float32 or not simd.nhwc_fits(gy):
        return maxpool2d_backward_numpy(gy, idx, x_shape, pool_size, strides, pads)
    return simd.maxpool_backward(gy, idx, x_shape, pool_size, strides, pads)


# What use_simd / use_einsum bind: the names the ops (pyengine.ops) and conv2d here call.
NUMPY_ROUTES = {"gemm": gemm, "im2col": im2col_numpy, "col2im": col2im_numpy,
                "maxpool2d_forward": maxpool2d_forward_numpy, "maxpool2d_backward": maxpool2d_backward_numpy}
SIMD_ROUTES = {"gemm": gemm_simd, "im2col": im2col_simd, "col2im": col2im_simd,
               "maxpool2d_forward": maxpool2d_forward_simd, "maxpool2d_backward": maxpool2d_backward_simd}
_route(NUMPY_ROUTES)
