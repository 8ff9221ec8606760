// LSTM step k backward (steps run T-1 .. 0), one thread per (n, j):
//   dh = DH (dh from step k + 1 through W_hh, or the layer's dy at the last step) + DY[n, k] with seq
//   dc = DC + dh o (1 - tanh(c)^2);  pre-activation grads of i, f, g, o -> DZ (N, 4U) for the next
//   GEMM and DZB[n, k] (batch-major, for the weight and input gradients); DC = dc f for step k - 1.
@group(0) @binding(0) var<storage, read> GATES: array<f32>;
@group(0) @binding(1) var<storage, read> CT_PREV: array<f32>;
@group(0) @binding(2) var<storage, read> CT: array<f32>;
@group(0) @binding(3) var<storage, read> DH: array<f32>;
@group(0) @binding(4) var<storage, read> DY: array<f32>;
@group(0) @binding(5) var<storage, read_write> DC: array<f32>;
@group(0) @binding(6) var<storage, read_write> DZ: array<f32>;
@group(0) @binding(7) var<storage, read_write> DZB: array<f32>;
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
  let zh = n * 4u * u + j;
  let i = GATES[zh];
  let f = GATES[zh + u];
  let g = GATES[zh + 2u * u];
  let o = GATES[zh + 3u * u];
  let tc = CT[P.N * u + idx];
  var dc = select(DC[idx], 0.0, P.last != 0u);
  dc += dh * o * (1.0 - tc * tc);
  let di = dc * g * i * (1.0 - i);
  let df = dc * CT_PREV[idx] * f * (1.0 - f);
  let dg = dc * i * (1.0 - g * g);
  let d_o = dh * tc * o * (1.0 - o);
  DZ[zh] = di;
  DZ[zh + u] = df;
  DZ[zh + 2u * u] = dg;
  DZ[zh + 3u * u] = d_o;
  let zb = row * 4u * u + j;
  DZB[zb] = di;
  DZB[zb + u] = df;
  DZB[zb + 2u * u] = dg;
  DZB[zb + 3u * u] = d_o;
  DC[idx] = dc * f;
}
