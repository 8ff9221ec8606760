// nnplay's WebAssembly SIMD kernels: the hot loops of pyengine's NumPy engine under Pyodide.
//
// Built as a wasm32 shared library (build.py: clang -msimd128, wasm-ld -shared) that the worker writes
// into Pyodide's file system and pyengine.backends.simd opens with ctypes.CDLL. Every function works in
// place on NumPy's own memory (array.ctypes.data pointers); strides are in elements and may be any
// value (transposed and sliced views need no copy). Freestanding: no libc, no allocation.
//
// The matrix product follows the Goto/BLIS structure: C is computed in NC-column, KC-deep, MC-row
// blocks; each block of B is first packed into NR-column micro-panels (contiguous, zero-padded at the
// edge) so the MR x NR micro-kernel streams it with unit stride and keeps its MR*NR/4 accumulators in
// registers.
#include <wasm_simd128.h>

#define EXPORT __attribute__((visibility("default")))

#define MR 4   // rows of the micro-tile: 4 x 8 = 8 f32x4 accumulators + 2 B vectors + 1 splat, no spills
               // (6 x 8 needs 15 of x64's 16 xmm registers and ran slower in Chromium)
#define NR 8   // columns of the micro-tile (two f32x4)
#define KC 256 // depth of a packed block: a KC x NR panel of B is 8 KiB (L1)
#define MC 128 // rows of A per block (a multiple of MR): with KC, 128 KiB of A stays in L2 across B's panels
#define NC 2048 // columns of a packed block of B: 2 MiB at most

EXPORT int nnp_version(void) { return 1; }

// Floats of scratch memory nnp_sgemm needs for its packed blocks (the caller owns it: a side module's
// zero-initialised static arrays would be stored in full in the .so).
EXPORT int nnp_sgemm_work_floats(void) { return KC * NC; }

// B (kc x nc, strides rs/cs) -> NR-column micro-panels: panel p holds B[k, p*NR + j] at p*NR*kc + k*NR + j.
static void pack_b(int kc, int nc, const float *b, int rs, int cs, float *out) {
  for (int j = 0; j < nc; j += NR) {
    int cols = nc - j < NR ? nc - j : NR;
    const float *src = b + (long)j * cs;
    if (cols == NR && cs == 1) {  // rows of B contiguous: two vector loads per k
      for (int k = 0; k < kc; k++, out += NR) {
        const float *s = src + (long)k * rs;
        wasm_v128_store(out, wasm_v128_load(s));
        wasm_v128_store(out + 4, wasm_v128_load(s + 4));
      }
    } else {
      for (int k = 0; k < kc; k++, out += NR) {
        int c = 0;
        for (; c < cols; c++) out[c] = src[(long)k * rs + (long)c * cs];
        for (; c < NR; c++) out[c] = 0.0f;
      }
    }
  }
}

// The MR x NR micro-kernel: acc = A (rows x kc, read in place: element (r, k) at a[r*ars + k*acs]) times
// pb (a packed kc x NR panel of B); then C tile (= or +=) acc for the rows x cols that exist. Rows past
// `rows` read row 0 again (never outside A) and are not stored.
static void micro_kernel(int kc, const float *a, int ars, int acs, int rows, const float *pb, float *c, int ldc,
                         int cols, int accumulate) {
  const float *ar[MR];
#pragma clang loop unroll(full)
  for (int r = 0; r < MR; r++) ar[r] = a + (long)(r < rows ? r : 0) * ars;
  v128_t acc[MR][2];
#pragma clang loop unroll(full)
  for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = wasm_f32x4_splat(0.0f);
  for (int k = 0; k < kc; k++, pb += NR) {
    v128_t b0 = wasm_v128_load(pb), b1 = wasm_v128_load(pb + 4);
    long off = (long)k * acs;
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++) {
      v128_t a = wasm_v128_load32_splat(ar[r] + off);
      acc[r][0] = wasm_f32x4_add(acc[r][0], wasm_f32x4_mul(a, b0));
      acc[r][1] = wasm_f32x4_add(acc[r][1], wasm_f32x4_mul(a, b1));
    }
  }
  if (rows == MR && cols == NR) {
    for (int r = 0; r < MR; r++) {
      float *cr = c + (long)r * ldc;
      if (accumulate) {
        acc[r][0] = wasm_f32x4_add(acc[r][0], wasm_v128_load(cr));
        acc[r][1] = wasm_f32x4_add(acc[r][1], wasm_v128_load(cr + 4));
      }
      wasm_v128_store(cr, acc[r][0]);
      wasm_v128_store(cr + 4, acc[r][1]);
    }
    return;
  }
  float tile[MR * NR] __attribute__((aligned(16)));
  for (int r = 0; r < MR; r++) {
    wasm_v128_store(tile + r * NR, acc[r][0]);
    wasm_v128_store(tile + r * NR + 4, acc[r][1]);
  }
  for (int r = 0; r < rows; r++) {
    float *cr = c + (long)r * ldc;
    for (int j = 0; j < cols; j++) cr[j] = accumulate ? cr[j] + tile[r * NR + j] : tile[r * NR + j];
  }
}

// C (m x n, row stride ldc, unit column stride) = A (m x k; strides a_rs, a_cs) . B (k x n; b_rs, b_cs).
// work: nnp_sgemm_work_floats() floats. B is packed in KC x NC blocks; A is read in place (packing it
// cost as much as the product itself for the narrow N of conv layers, and its reads are unit-stride
// along k or across the MR rows in every layout the engine uses).
EXPORT void nnp_sgemm(int m, int n, int k, const float *a, int a_rs, int a_cs, const float *b, int b_rs,
                      int b_cs, float *c, int ldc, float *work) {
  float *packed_b = work;
  if (k == 0) {
    for (int i = 0; i < m; i++)
      for (int j = 0; j < n; j++) c[(long)i * ldc + j] = 0.0f;
    return;
  }
  for (int jc = 0; jc < n; jc += NC) {
    int nc = n - jc < NC ? n - jc : NC;
    for (int pc = 0; pc < k; pc += KC) {
      int kc = k - pc < KC ? k - pc : KC;
      pack_b(kc, nc, b + (long)pc * b_rs + (long)jc * b_cs, b_rs, b_cs, packed_b);
      for (int ic = 0; ic < m; ic += MC) {
        int mc = m - ic < MC ? m - ic : MC;
        for (int jr = 0; jr < nc; jr += NR) {
          const float *pb = packed_b + (long)jr * kc;
          int cols = nc - jr < NR ? nc - jr : NR;
          for (int ir = 0; ir < mc; ir += MR) {
            int rows = mc - ir < MR ? mc - ir : MR;
            micro_kernel(kc, a + (long)(ic + ir) * a_rs + (long)pc * a_cs, a_rs, a_cs, rows, pb,
                         c + (long)(ic + ir) * ldc + jc + jr, ldc, cols, pc > 0);
          }
        }
      }
    }
  }
}

// ---- pooling and im2col on channels-last (N, H, W, C) C-contiguous float32 ---------------------------
// Geometry as numpy_backend: window (ph, pw), strides (sh, sw), top/left padding (pt, pl); the output is
// (N, OH, OW, C). Cells outside the input are padding: -inf for max pooling, 0 for im2col.

// y = the max of each window, idx = its index within the window (i * pw + j; the first maximum wins, as
// np.argmax, and a NaN wins over numbers). Vectorised over channels four at a time.
EXPORT void nnp_maxpool_forward(const float *x, int n, int h, int w, int c, int ph, int pw, int sh, int sw, int pt,
                                int pl, int oh, int ow, float *y, int *idx) {
  const float neg_inf = -__builtin_inff();
  for (int b = 0; b < n; b++)
    for (int r = 0; r < oh; r++)
      for (int q = 0; q < ow; q++) {
        float *yo = y + (((long)b * oh + r) * ow + q) * c;
        int *io = idx + (((long)b * oh + r) * ow + q) * c;
        int ch = 0;
        for (; ch + 4 <= c; ch += 4) {
          v128_t best = wasm_f32x4_splat(neg_inf), arg = wasm_i32x4_splat(0);
          for (int i = 0; i < ph; i++) {
            int yy = r * sh + i - pt;
            if (yy < 0 || yy >= h) continue;
            for (int j = 0; j < pw; j++) {
              int xx = q * sw + j - pl;
              if (xx < 0 || xx >= w) continue;
              v128_t v = wasm_v128_load(x + (((long)b * h + yy) * w + xx) * c + ch);
              // take v where v > best, or v is NaN and best is not (NaN != NaN)
              v128_t take = wasm_v128_or(wasm_f32x4_gt(v, best),
                                         wasm_v128_andnot(wasm_f32x4_ne(v, v), wasm_f32x4_ne(best, best)));
              best = wasm_v128_bitselect(v, best, take);
              arg = wasm_v128_bitselect(wasm_i32x4_splat(i * pw + j), arg, take);
            }
          }
          wasm_v128_store(yo + ch, best);
          wasm_v128_store(io + ch, arg);
        }
        for (; ch < c; ch++) {
          float best = neg_inf;
          int arg = 0;
          for (int i = 0; i < ph; i++) {
            int yy = r * sh + i - pt;
            if (yy < 0 || yy >= h) continue;
            for (int j = 0; j < pw; j++) {
              int xx = q * sw + j - pl;
              if (xx < 0 || xx >= w) continue;
              float v = x[(((long)b * h + yy) * w + xx) * c + ch];
              if (v > best || (v != v && best == best)) {
                best = v;
                arg = i * pw + j;
              }
            }
          }
          yo[ch] = best;
          io[ch] = arg;
        }
      }
}

// dx (N, H, W, C), zeroed here, += gy at each window's argmax cell (windows may overlap).
EXPORT void nnp_maxpool_backward(const float *gy, const int *idx, int n, int h, int w, int c, int pw, int sh,
                                 int sw, int pt, int pl, int oh, int ow, float *dx) {
  long total = (long)n * h * w * c;
  for (long e = 0; e < total; e++) dx[e] = 0.0f;
  for (int b = 0; b < n; b++)
    for (int r = 0; r < oh; r++)
      for (int q = 0; q < ow; q++) {
        long o = (((long)b * oh + r) * ow + q) * c;
        for (int ch = 0; ch < c; ch++) {
          int k = idx[o + ch], yy = r * sh + k / pw - pt, xx = q * sw + k % pw - pl;
          if (yy >= 0 && yy < h && xx >= 0 && xx < w) dx[(((long)b * h + yy) * w + xx) * c + ch] += gy[o + ch];
        }
      }
}

static void copy_floats(float *dst, const float *src, int count) {
  int e = 0;
  for (; e + 4 <= count; e += 4) wasm_v128_store(dst + e, wasm_v128_load(src + e));
  for (; e < count; e++) dst[e] = src[e];
}

static void zero_floats(float *dst, int count) {
  for (int e = 0; e < count; e++) dst[e] = 0.0f;
}

// cols (N*OH*OW, KH*KW*C): row (b, r, q) holds the window at (r, q), (i, j, ch)-ordered; dilation (dh, dw).
// Without column dilation one kernel row's in-bounds cells are one contiguous run of x (channels-last):
// copied in one go, the padding around it zeroed.
EXPORT void nnp_im2col(const float *x, int n, int h, int w, int c, int kh, int kw, int sh, int sw, int pt, int pl,
                       int dh, int dw, int oh, int ow, float *cols) {
  for (int b = 0; b < n; b++)
    for (int r = 0; r < oh; r++)
      for (int q = 0; q < ow; q++)
        for (int i = 0; i < kh; i++, cols += kw * c) {
          int yy = r * sh + i * dh - pt, x0 = q * sw - pl;
          if (yy < 0 || yy >= h) {
            zero_floats(cols, kw * c);
            continue;
          }
          const float *row = x + ((long)b * h + yy) * w * c;
          if (dw == 1) {
            int j0 = x0 < 0 ? -x0 : 0, j1 = x0 + kw > w ? w - x0 : kw;  // in-bounds j in [j0, j1)
            if (j0 > kw) j0 = kw;
            if (j1 < j0) j1 = j0;
            zero_floats(cols, j0 * c);
            copy_floats(cols + j0 * c, row + (long)(x0 + j0) * c, (j1 - j0) * c);
            zero_floats(cols + j1 * c, (kw - j1) * c);
            continue;
          }
          for (int j = 0; j < kw; j++) {
            int xx = x0 + j * dw;
            if (xx < 0 || xx >= w)
              zero_floats(cols + j * c, c);
            else
              copy_floats(cols + j * c, row + (long)xx * c, c);
          }
        }
}

// The adjoint of nnp_im2col: dx (N, H, W, C), zeroed here, += each cols row's cells at their input
// positions (cells in the padding are dropped). Overlapping windows add up.
EXPORT void nnp_col2im(const float *cols, int n, int h, int w, int c, int kh, int kw, int sh, int sw, int pt, int pl,
                       int dh, int dw, int oh, int ow, float *dx) {
  zero_floats(dx, n * h * w * c);
  for (int b = 0; b < n; b++)
    for (int r = 0; r < oh; r++)
      for (int q = 0; q < ow; q++)
        for (int i = 0; i < kh; i++) {
          int yy = r * sh + i * dh - pt;
          for (int j = 0; j < kw; j++, cols += c) {
            int xx = q * sw + j * dw - pl;
            if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
            float *dst = dx + (((long)b * h + yy) * w + xx) * c;
            int ch = 0;
            for (; ch + 4 <= c; ch += 4)
              wasm_v128_store(dst + ch, wasm_f32x4_add(wasm_v128_load(dst + ch), wasm_v128_load(cols + ch)));
            for (; ch < c; ch++) dst[ch] += cols[ch];
          }
        }
}
