// Batchnorm on (M, C) row-major data with STATS from batchnorm_stats.wgsl, one thread per element.
// MODE 0 (forward): XHAT = (X - mean) * inv_std, Y = XHAT * gamma + beta.
// MODE 1 (backward; X holds dy, Y receives dx, DB / DG the column sums from norm_reduce.wgsl):
//   training (batch statistics): dx = gamma * inv_std / M * (M * dy - DB - XHAT * DG)
//   evaluation (running statistics, e.g. a frozen layer): dx = dy * gamma * inv_std.
override MODE: u32 = 0u;
struct Params { n: u32, C: u32, training: u32, M: u32 }
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> STATS: array<f32>;
@group(0) @binding(2) var<storage, read> GAMMA: array<f32>;
@group(0) @binding(3) var<storage, read> BETA: array<f32>;
@group(0) @binding(4) var<storage, read> DB: array<f32>;
@group(0) @binding(5) var<storage, read> DG: array<f32>;
@group(0) @binding(6) var<storage, read_write> XHAT: array<f32>;
@group(0) @binding(7) var<storage, read_write> Y: array<f32>;
@group(0) @binding(8) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = flat_index(gid, groups);
  if (i >= P.n) { return; }
  let c = i % P.C;
  let inv_std = STATS[P.C + c];
  if (MODE == 1u) {
    if (P.training != 0u) {
      let m = f32(P.M);
      Y[i] = (GAMMA[c] * inv_std / m) * (m * X[i] - DB[c] - XHAT[i] * DG[c]);
    } else {
      Y[i] = X[i] * (GAMMA[c] * inv_std);
    }
    return;
  }
  let xhat = (X[i] - STATS[c]) * inv_std;
  XHAT[i] = xhat;
  Y[i] = xhat * GAMMA[c] + BETA[c];
}
