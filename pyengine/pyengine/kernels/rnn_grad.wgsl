// Simple RNN step k backward, one thread per (n, j): dh = DH + DY[n, k] (with seq),
// dz = dh act'(PRE, H) -> DZ (N, U) for the GEMM to step k - 1 and DZB[n, k] (batch-major).
// ACT 7 (softmax over the units, thread j = 0 for the row): dz = h (dh - sum(dh h)).
@group(0) @binding(0) var<storage, read> PRE: array<f32>;
@group(0) @binding(1) var<storage, read> H: array<f32>;
@group(0) @binding(2) var<storage, read> DH: array<f32>;
@group(0) @binding(3) var<storage, read> DY: array<f32>;
@group(0) @binding(4) var<storage, read_write> DZ: array<f32>;
@group(0) @binding(5) var<storage, read_write> DZB: array<f32>;
@group(0) @binding(6) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = flat_index(gid, groups);
  if (idx >= P.N * P.U) { return; }
  let n = idx / P.U;
  let j = idx % P.U;
  let row = n * P.T + P.k;
  if (ACT == 7u) {
    if (j != 0u) { return; }
    let base = n * P.U;
    var gy = 0.0;
    for (var jj = 0u; jj < P.U; jj++) {
      var d = DH[base + jj];
      if (P.seq != 0u) { d += DY[row * P.U + jj]; }
      gy += d * H[base + jj];
    }
    for (var jj = 0u; jj < P.U; jj++) {
      var d = DH[base + jj];
      if (P.seq != 0u) { d += DY[row * P.U + jj]; }
      let dz = H[base + jj] * (d - gy);
      DZ[base + jj] = dz;
      DZB[row * P.U + jj] = dz;
    }
    return;
  }
  var dh = DH[idx];
  if (P.seq != 0u) { dh += DY[row * P.U + j]; }
  let dz = dh * activate_grad(PRE[idx], H[idx]);
  DZ[idx] = dz;
  DZB[row * P.U + j] = dz;
}
