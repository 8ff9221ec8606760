// nnplay's WebAssembly SIMD kernels: the hot loops of pyengine's NumPy engine under Pyodide.
//
// Built as a wasm32 shared library (build.py: clang -msimd128, wasm-ld -shared) that the worker writes
// into Pyodide's file system and pyengine.backends.simd opens with ctypes.CDLL. Every function works in
// place on NumPy's own memory (array.ctypes.data pointers); strides are in elements and may be any
// value (transposed and sliced views need no copy). Freestanding: no libc, no allocation.
//
// The matrix product follows the usual Goto/BLIS structure: C is computed in NC-column, KC-deep,
// MC-row blocks; each block of A and B is first packed into MR-row / NR-column micro-panels
// (contiguous, zero-padded at the edges) so the MR x NR micro-kernel streams both with unit stride
// and keeps its MR*NR/4 accumulators in registers.
#include <wasm_simd128.h>

#define EXPORT __attribute__((visibility("default")))

#define MR 4   // rows of the micro-tile: 4 x 8 = 8 f32x4 accumulators + 2 B vectors + 1 splat, no spills
               // (6 x 8 needs 15 of x64's 16 xmm registers and ran slower in Chromium)
#define NR 8   // columns of the micro-tile (two f32x4)
#define KC 256 // depth of a packed block: a KC x NR panel of B is 8 KiB (L1)
#define MC 128 // rows of a packed block of A (a multiple of MR): 128 KiB
#define NC 2048 // columns of a packed block of B: 2 MiB at most

EXPORT int nnp_version(void) { return 1; }

// Floats of scratch memory nnp_sgemm needs for its packed blocks (the caller owns it: a side module's
// zero-initialised static arrays would be stored in full in the .so).
EXPORT int nnp_sgemm_work_floats(void) { return MC * KC + KC * NC; }

// A (mc x kc, strides rs/cs) -> MR-row micro-panels: panel p holds A[p*MR + r, k] at p*MR*kc + k*MR + r.
static void pack_a(int mc, int kc, const float *a, int rs, int cs, float *out) {
  for (int i = 0; i < mc; i += MR) {
    int rows = mc - i < MR ? mc - i : MR;
    const float *src = a + (long)i * rs;
    if (rows == MR && rs == 1) {  // A transposed in memory: each k's MR values are contiguous
      for (int k = 0; k < kc; k++, out += MR) {
        const float *s = src + (long)k * cs;
        for (int r = 0; r < MR; r++) out[r] = s[r];
      }
    } else {
      for (int k = 0; k < kc; k++, out += MR) {
        int r = 0;
        for (; r < rows; r++) out[r] = src[(long)r * rs + (long)k * cs];
        for (; r < MR; r++) out[r] = 0.0f;
      }
    }
  }
}

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

// The MR x NR micro-kernel: acc = pa (kc x MR) ^T . pb (kc x NR); C tile (= or +=) acc for the
// rows x cols that exist.
static void micro_kernel(int kc, const float *pa, const float *pb, float *c, int ldc, int rows, int cols,
                         int accumulate) {
  v128_t acc[MR][2];
#pragma clang loop unroll(full)
  for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = wasm_f32x4_splat(0.0f);
  for (int k = 0; k < kc; k++, pa += MR, pb += NR) {
    v128_t b0 = wasm_v128_load(pb), b1 = wasm_v128_load(pb + 4);
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++) {
      v128_t a = wasm_v128_load32_splat(pa + r);
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
// work: nnp_sgemm_work_floats() floats.
EXPORT void nnp_sgemm(int m, int n, int k, const float *a, int a_rs, int a_cs, const float *b, int b_rs,
                      int b_cs, float *c, int ldc, float *work) {
  float *packed_a = work, *packed_b = work + MC * KC;
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
        pack_a(mc, kc, a + (long)ic * a_rs + (long)pc * a_cs, a_rs, a_cs, packed_a);
        for (int jr = 0; jr < nc; jr += NR) {
          const float *pb = packed_b + (long)jr * kc;
          int cols = nc - jr < NR ? nc - jr : NR;
          for (int ir = 0; ir < mc; ir += MR) {
            int rows = mc - ir < MR ? mc - ir : MR;
            micro_kernel(kc, packed_a + (long)ir * kc, pb, c + (long)(ic + ir) * ldc + jc + jr, ldc, rows, cols,
                         pc > 0);
          }
        }
      }
    }
  }
}
