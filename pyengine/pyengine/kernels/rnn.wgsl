// Simple RNN step k forward, one thread per (n, j): PRE = XW[n, k] + HW, h = act(PRE) (ACT as in
// common.wgsl, or 7: softmax over the U units, where thread j = 0 does the whole row n).
// Writes PRE (kept for the gradient), H (the next step's GEMM input), HS[n, k + 1] = h and, with
// seq, Y[n, k] = h.
@group(0) @binding(0) var<storage, read> XW: array<f32>;
@group(0) @binding(1) var<storage, read> HW: array<f32>;
@group(0) @binding(2) var<storage, read_write> PRE: array<f32>;
@group(0) @binding(3) var<storage, read_write> H: array<f32>;
@group(0) @binding(4) var<storage, read_write> HS: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y: array<f32>;
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
    var top = XW[row * P.U] + HW[base];
    for (var jj = 0u; jj < P.U; jj++) {
      let z = XW[row * P.U + jj] + HW[base + jj];
      PRE[base + jj] = z;
      top = max(top, z);
    }
    var s = 0.0;
    for (var jj = 0u; jj < P.U; jj++) { s += exp(PRE[base + jj] - top); }
    for (var jj = 0u; jj < P.U; jj++) {
      let h = exp(PRE[base + jj] - top) / s;
      H[base + jj] = h;
      if (P.k + 1u < P.T) { HS[(row + 1u) * P.U + jj] = h; }
      if (P.seq != 0u) { Y[row * P.U + jj] = h; }
    }
    return;
  }
  let z = XW[row * P.U + j] + HW[idx];
  let h = activate(z);
  PRE[idx] = z;
  H[idx] = h;
  if (P.k + 1u < P.T) { HS[(row + 1u) * P.U + j] = h; }
  if (P.seq != 0u) { Y[row * P.U + j] = h; }
}
