// GRU step k forward, one thread per (n, j). Gates r, z, n along the 3U axis; XW = x W_ih + b_ih
// (batch-major (N*T, 3U)), HW = h_prev W_hh + b_hh (N, 3U):
//   r = sigmoid(XW_r + HW_r), z = sigmoid(XW_z + HW_z), n = tanh(XW_n + r HW_n), h = n + z (h_prev - n).
// Writes GH = [r | z | n | HW_n] (N, 4U, kept for the gradient), H, HS[n, k + 1] = h and, with seq, Y[n, k] = h.
@group(0) @binding(0) var<storage, read> XW: array<f32>;
@group(0) @binding(1) var<storage, read> HW: array<f32>;
@group(0) @binding(2) var<storage, read> H_PREV: array<f32>;
@group(0) @binding(3) var<storage, read_write> GH: array<f32>;
@group(0) @binding(4) var<storage, read_write> H: array<f32>;
@group(0) @binding(5) var<storage, read_write> HS: array<f32>;
@group(0) @binding(6) var<storage, read_write> Y: array<f32>;
@group(0) @binding(7) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = flat_index(gid, groups);
  if (idx >= P.N * P.U) { return; }
  let n = idx / P.U;
  let j = idx % P.U;
  let u = P.U;
  let row = n * P.T + P.k;
  let zx = row * 3u * u + j;
  let zh = n * 3u * u + j;
  let r = sigmoid(XW[zx] + HW[zh]);
  let z = sigmoid(XW[zx + u] + HW[zh + u]);
  let hn = HW[zh + 2u * u];
  let nn = tanh(clamp(XW[zx + 2u * u] + r * hn, -15.0, 15.0));
  let h = nn + z * (H_PREV[idx] - nn);
  let g = n * 4u * u + j;
  GH[g] = r;
  GH[g + u] = z;
  GH[g + 2u * u] = nn;
  GH[g + 3u * u] = hn;
  H[idx] = h;
  if (P.k + 1u < P.T) { HS[(row + 1u) * u + j] = h; }
  if (P.seq != 0u) { Y[row * u + j] = h; }
}
