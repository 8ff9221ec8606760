"""The WebAssembly SIMD kernel library (pyengine/native/simd) through ctypes, for the NumPy engine in Pyodide.

The worker writes dist/simd/nnplay_simd.so into Pyodide's file system and calls
numpy_backend.use_simd(path), which calls load() here and routes the hot paths through these
wrappers. Each wrapper works on NumPy's own memory (no copies): pointers from `array.ctypes.data`,
strides in elements. CPython never loads it (BLAS is faster there); without it the einsum path runs.
"""
import ctypes

import numpy as np

lib = None  # the ctypes.CDLL once loaded
_work = None  # nnp_sgemm's scratch memory for packed blocks (float32, allocated once)
_F32 = np.dtype(np.float32)
_INT_MAX = 2**31 - 1


def load(path):
    """Open the library at `path` and declare its functions. Raises OSError when it cannot be loaded."""
    global lib, _work
    handle = ctypes.CDLL(path)
    i, p = ctypes.c_int, ctypes.c_void_p
    handle.nnp_version.restype = i
    handle.nnp_sgemm_work_floats.restype = i
    handle.nnp_sgemm.argtypes = [i, i, i, p, i, i, p, i, i, p, i, p]
    handle.nnp_sgemm.restype = None
    handle.nnp_maxpool_forward.argtypes = [p] + [i] * 12 + [p, p]
    handle.nnp_maxpool_backward.argtypes = [p, p] + [i] * 11 + [p]
    handle.nnp_im2col.argtypes = [p] + [i] * 14 + [p]
    handle.nnp_col2im.argtypes = [p] + [i] * 14 + [p]
    for name in ("nnp_maxpool_forward", "nnp_maxpool_backward", "nnp_im2col", "nnp_col2im"):
        getattr(handle, name).restype = None
    _work = np.empty(max(handle.nnp_sgemm_work_floats(), 256 * 2048 + 128 * 256), dtype=np.float32)
    lib = handle
    return handle.nnp_version()


def _elem_strides(x):
    """Strides of a float32 array in elements, or None when one is not a whole number of elements."""
    s0, s1 = x.strides
    if s0 % 4 or s1 % 4:
        return None
    return s0 // 4, s1 // 4


def sgemm_fits(a, b):
    """True when sgemm() can take (a, b): 2-D float32 with element strides, sizes within int32."""
    if a.ndim != 2 or b.ndim != 2 or a.dtype != _F32 or b.dtype != _F32 or a.shape[1] != b.shape[0]:
        return False
    if max(a.shape[0], a.shape[1], b.shape[1]) > _INT_MAX or a.size > _INT_MAX or b.size > _INT_MAX:
        return False
    return _elem_strides(a) is not None and _elem_strides(b) is not None


def sgemm(a, b, out=None):
    """(M, K) x (K, N) -> (M, N) float32, any strides (transposed/sliced views included): nnp_sgemm.
    The caller checks sgemm_fits(a, b) first; `out` (C-contiguous (M, N) float32) is overwritten."""
    m, k = a.shape
    n = b.shape[1]
    if out is None:
        out = np.empty((m, n), dtype=np.float32)
    if m and n:
        a_rs, a_cs = _elem_strides(a)
        b_rs, b_cs = _elem_strides(b)
        lib.nnp_sgemm(m, n, k, a.ctypes.data, a_rs, a_cs, b.ctypes.data, b_rs, b_cs, out.ctypes.data, n,
                      _work.ctypes.data)
    return out


def nhwc_fits(x):
    """True when x is a float32 (N, H, W, C) array the window kernels can take (after a C-order copy)."""
    return x.ndim == 4 and x.dtype == _F32 and x.size <= _INT_MAX


def maxpool_forward(x, pool_size, strides, pads, oh, ow):
    """(N, H, W, C) -> y (N, OH, OW, C) float32, idx (N, OH, OW, C) int32: each window's argmax (i * PW + j)."""
    x = np.ascontiguousarray(x)
    n, h, w, c = x.shape
    y = np.empty((n, oh, ow, c), dtype=np.float32)
    idx = np.empty((n, oh, ow, c), dtype=np.int32)
    if y.size:
        lib.nnp_maxpool_forward(x.ctypes.data, n, h, w, c, pool_size[0], pool_size[1], strides[0], strides[1],
                                pads[0][0], pads[1][0], oh, ow, y.ctypes.data, idx.ctypes.data)
    return y, idx


def maxpool_backward(gy, idx, x_shape, pool_size, strides, pads):
    """Scatter gy (N, OH, OW, C) onto each window's argmax cell: dx (N, H, W, C) float32."""
    gy = np.ascontiguousarray(gy, dtype=np.float32)
    idx = np.ascontiguousarray(idx, dtype=np.int32)
    n, h, w, c = x_shape
    dx = np.empty((n, h, w, c), dtype=np.float32)
    lib.nnp_maxpool_backward(gy.ctypes.data, idx.ctypes.data, n, h, w, c, pool_size[1], strides[0], strides[1],
                             pads[0][0], pads[1][0], gy.shape[1], gy.shape[2], dx.ctypes.data)
    return dx


def im2col(x, kh, kw, strides, pads, dilation, oh, ow):
    """(N, H, W, C) -> cols (N*OH*OW, KH*KW*C) float32, zero padding, in one pass."""
    x = np.ascontiguousarray(x)
    n, h, w, c = x.shape
    cols = np.empty((n * oh * ow, kh * kw * c), dtype=np.float32)
    if cols.size:
        lib.nnp_im2col(x.ctypes.data, n, h, w, c, kh, kw, strides[0], strides[1], pads[0][0], pads[1][0],
                       dilation[0], dilation[1], oh, ow, cols.ctypes.data)
    return cols


def col2im(dcols, x_shape, kh, kw, strides, pads, dilation, oh, ow):
    """The adjoint of im2col: dcols (N*OH*OW, KH*KW*C) -> dx (N, H, W, C) float32, overlaps summed."""
    dcols = np.ascontiguousarray(dcols, dtype=np.float32)
    n, h, w, c = x_shape
    dx = np.empty((n, h, w, c), dtype=np.float32)
    lib.nnp_col2im(dcols.ctypes.data, n, h, w, c, kh, kw, strides[0], strides[1], pads[0][0], pads[1][0],
                   dilation[0], dilation[1], oh, ow, dx.ctypes.data)
    return dx
