// LSTM step k forward, one thread per (n, j) of N x U. Gates i, f, g, o along the 4U axis:
//   z = XW[n, k] + HW (XW = x W_ih + b for all steps, batch-major (N*T, 4U); HW = h_k W_hh)
//   c = sigmoid(f) c_prev + sigmoid(i) tanh(g),  h = sigmoid(o) tanh(c).
// Writes the activated gates, CT = [c | tanh(c)] (each N x U), H = h (the next step's GEMM input),
// HS[n, k + 1] = h (batch-major states before each step, for the W_hh gradient) and, with seq, Y[n, k] = h.
@group(0) @binding(0) var<storage, read> XW: array<f32>;
@group(0) @binding(1) var<storage, read> HW: array<f32>;
@group(0) @binding(2) var<storage, read> CT_PREV: array<f32>;
@group(0) @binding(3) var<storage, read_write> GATES: array<f32>;
@group(0) @binding(4) var<storage, read_write> CT: array<f32>;
@group(0) @binding(5) var<storage, read_write> H: array<f32>;
@group(0) @binding(6) var<storage, read_write> HS: array<f32>;
@group(0) @binding(7) var<storage, read_write> Y: array<f32>;
@group(0) @binding(8) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = flat_index(gid, groups);
  if (idx >= P.N * P.U) { return; }
  let n = idx / P.U;
  let j = idx % P.U;
  let u = P.U;
  let row = n * P.T + P.k;
  let zx = row * 4u * u + j;
  let zh = n * 4u * u + j;
  let i = sigmoid(XW[zx] + HW[zh]);
  let f = sigmoid(XW[zx + u] + HW[zh + u]);
  let g = tanh(clamp(XW[zx + 2u * u] + HW[zh + 2u * u], -15.0, 15.0));
  let o = sigmoid(XW[zx + 3u * u] + HW[zh + 3u * u]);
  GATES[zh] = i;
  GATES[zh + u] = f;
  GATES[zh + 2u * u] = g;
  GATES[zh + 3u * u] = o;
  let c = f * CT_PREV[idx] + i * g;
  let tc = tanh(clamp(c, -15.0, 15.0));
  let h = o * tc;
  CT[idx] = c;
  CT[P.N * u + idx] = tc;
  H[idx] = h;
  if (P.k + 1u < P.T) { HS[(row + 1u) * u + j] = h; }
  if (P.seq != 0u) { Y[row * u + j] = h; }
}
