// Tiled GEMM core shared by matmul and the three conv2d kernels (implicit GEMM).
// C[b] (M x N) = A[b] (M x K) . B[b] (K x N). A workgroup of TX x TY threads computes one
// TILE_M x TILE_N = 4 TY x 4 TX tile of C; each thread keeps a 4 x 4 register block. Tiles of A
// and B (TILE_M x 16, 16 x TILE_N) are staged in workgroup memory as vec4 columns, so the inner
// loop is 2 vec4 loads per 16 FMAs. The tile shape is chosen per problem (kernels.py gemm_shape):
// a 64 x 64 tile over an 8-column output would compute 8x more than it keeps.
// Split-K: with SPLITS > 1, workgroup z = batch * SPLITS + split sums only its share of K and
// writes the partial tile to PARTIAL[split]; splitk_reduce.wgsl then adds the shares and applies
// the kernel's epilogue. It keeps a long-K, small-output GEMM (a conv weight gradient: K = N*OH*OW)
// from running on one or two workgroups.
// The kernel file in front of this one defines:
//   gemm_dims() -> vec3<u32>            (M, N, K) of one batch entry
//   load_tiles(b, m0, n0, k0, li)       fill tile_a / tile_b (bounds-checked, zero outside)
//   store_c(b, m, n, value)             the epilogue (bias, activation, layout), called in bounds
override TX: u32 = 16u;      // threads along n; TILE_N = 4 TX (TX, TY in 2, 4, 8, 16)
override TY: u32 = 16u;      // threads along m; TILE_M = 4 TY
override SPLITS: u32 = 1u;
const TILE_K: u32 = 16u;
var<workgroup> tile_a: array<vec4<f32>, 256>;  // [k][m / 4], TILE_K x TILE_M (at most 64)
var<workgroup> tile_b: array<vec4<f32>, 256>;  // [k][n / 4], TILE_K x TILE_N (at most 64)
@group(0) @binding(5) var<storage, read_write> PARTIAL: array<f32>;  // SPLITS x batch x M x N

@compute @workgroup_size(TX, TY, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32, @builtin(num_workgroups) groups: vec3<u32>) {
  let dims = gemm_dims();
  let b = wg.z / SPLITS;
  let split = wg.z % SPLITS;
  let m0 = wg.y * 4u * TY;
  let n0 = wg.x * 4u * TX;
  // This split's K range, in whole TILE_K steps.
  let chunk = (dims.z + TILE_K * SPLITS - 1u) / (TILE_K * SPLITS) * TILE_K;
  let k_begin = split * chunk;
  let k_end = min(dims.z, k_begin + chunk);
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k0 = k_begin; k0 < k_end; k0 += TILE_K) {
    load_tiles(b, m0, n0, k0, li);
    workgroupBarrier();
    for (var kk = 0u; kk < TILE_K; kk++) {
      let a = tile_a[kk * TY + lid.y];  // rows m0 + 4 ly .. + 3
      let bv = tile_b[kk * TX + lid.x]; // cols n0 + 4 lx .. + 3
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
  let batches = groups.z / SPLITS;
  for (var i = 0u; i < 4u; i++) {
    if (m + i >= dims.x) { break; }
    for (var j = 0u; j < 4u; j++) {
      if (n + j >= dims.y) { break; }
      if (SPLITS == 1u) {
        store_c(b, m + i, n + j, rows[i][j]);
      } else {
        PARTIAL[((split * batches + b) * dims.x + m + i) * dims.y + n + j] = rows[i][j];
      }
    }
  }
}
