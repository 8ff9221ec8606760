// Tiled GEMM core shared by matmul and the three conv2d kernels (implicit GEMM).
// C[b] (M x N) = A[b] (M x K) . B[b] (K x N), one 64 x 64 tile of C per workgroup of 16 x 16
// threads; each thread keeps a 4 x 4 register block. Tiles of A and B (64 x 16, 16 x 64) are
// staged in workgroup memory as vec4 columns, so the inner loop is 2 vec4 loads per 16 FMAs.
// The kernel file in front of this one defines:
//   gemm_dims() -> vec3<u32>            (M, N, K) of one batch entry
//   load_tiles(b, m0, n0, k0, li)       fill tile_a / tile_b (bounds-checked, zero outside)
//   store_c(b, m, n, value)             the epilogue (bias, activation, layout), called in bounds
const TILE_M: u32 = 64u;
const TILE_N: u32 = 64u;
const TILE_K: u32 = 16u;
var<workgroup> tile_a: array<vec4<f32>, 256>;  // [k][m / 4], TILE_K x TILE_M
var<workgroup> tile_b: array<vec4<f32>, 256>;  // [k][n / 4], TILE_K x TILE_N

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let dims = gemm_dims();
  let b = wg.z;
  let m0 = wg.y * TILE_M;
  let n0 = wg.x * TILE_N;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < dims.z; k0 += TILE_K) {
    load_tiles(b, m0, n0, k0, li);
    workgroupBarrier();
    for (var kk = 0u; kk < TILE_K; kk++) {
      let a = tile_a[kk * 16u + lid.y];  // rows m0 + 4 ly .. + 3
      let bv = tile_b[kk * 16u + lid.x]; // cols n0 + 4 lx .. + 3
      acc0 += a.x * bv;
      acc1 += a.y * bv;
      acc2 += a.z * bv;
      acc3 += a.w * bv;
    }
    workgroupBarrier();
  }
  let m = m0 + lid.y * 4u;
  let n = n0 + lid.x * 4u;
  let rows = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    if (m + i >= dims.x) { break; }
    for (var j = 0u; j < 4u; j++) {
      if (n + j < dims.y) { store_c(b, m + i, n + j, rows[i][j]); }
    }
  }
}
