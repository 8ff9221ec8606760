// GRU step k backward, one thread per (n, j): with dh = DH + DY[n, k] (seq),
//   dn = dh (1 - z)(1 - n^2), dr = dn HW_n r (1 - r), dz = dh (h_prev - n) z (1 - z);
// DXWB[n, k] = [dr, dz, dn] (input-side pre-activation grads, batch-major), DHW = [dr, dz, dn r]
// (grads of h W_hh + b_hh: this step's GEMM to step k - 1) and DHWB[n, k] the same batch-major,
// DHZ = dh z (the direct path to h_prev; the plan adds DHW W_hh^T to it).
@group(0) @binding(0) var<storage, read> GH: array<f32>;
@group(0) @binding(1) var<storage, read> H_PREV: array<f32>;
@group(0) @binding(2) var<storage, read> DH: array<f32>;
@group(0) @binding(3) var<storage, read> DY: array<f32>;
@group(0) @binding(4) var<storage, read_write> DXWB: array<f32>;
@group(0) @binding(5) var<storage, read_write> DHW: array<f32>;
@group(0) @binding(6) var<storage, read_write> DHWB: array<f32>;
@group(0) @binding(7) var<storage, read_write> DHZ: array<f32>;
@group(0) @binding(8) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = flat_index(gid, groups);
  if (idx >= P.N * P.U) { return; }
  let n = idx / P.U;
  let j = idx % P.U;
  let u = P.U;
  let row = n * P.T + P.k;
  var dh = DH[idx];
  if (P.seq != 0u) { dh += DY[row * u + j]; }
  let g = n * 4u * u + j;
  let r = GH[g];
  let z = GH[g + u];
  let nn = GH[g + 2u * u];
  let hn = GH[g + 3u * u];
  let dn = dh * (1.0 - z) * (1.0 - nn * nn);
  let dr = dn * hn * r * (1.0 - r);
  let dz = dh * (H_PREV[idx] - nn) * z * (1.0 - z);
  let zb = row * 3u * u + j;
  let zh = n * 3u * u + j;
  DXWB[zb] = dr;
  DXWB[zb + u] = dz;
  DXWB[zb + 2u * u] = dn;
  DHW[zh] = dr;
  DHW[zh + u] = dz;
  DHW[zh + 2u * u] = dn * r;
  DHWB[zb] = dr;
  DHWB[zb + u] = dz;
  DHWB[zb + 2u * u] = dn * r;
  DHZ[idx] = dh * z;
}
