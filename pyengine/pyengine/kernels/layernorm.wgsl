// Layernorm over the last axis (rows of C), one thread per row.
// MODE 0: XHAT = (X - mean) * inv_std, INV[r] = inv_std, Y = XHAT * gamma + beta.
// MODE 1 (X holds dy, Y receives dx): with dxhat = dy * gamma,
//   dx = inv_std * (dxhat - mean(dxhat) - XHAT * sum(dxhat * XHAT) / C).
override MODE: u32 = 0u;
struct Params { rows: u32, C: u32, eps: f32, p0: u32 }
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> GAMMA: array<f32>;
@group(0) @binding(2) var<storage, read> BETA: array<f32>;
@group(0) @binding(3) var<storage, read_write> XHAT: array<f32>;
@group(0) @binding(4) var<storage, read_write> INV: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y: array<f32>;
@group(0) @binding(6) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let r = flat_index(gid, groups);
  if (r >= P.rows) { return; }
  let base = r * P.C;
  let c = f32(P.C);
  if (MODE == 1u) {
    var s1 = 0.0;
    var s2 = 0.0;
    for (var k = 0u; k < P.C; k++) {
      let d = X[base + k] * GAMMA[k];
      s1 += d;
      s2 += d * XHAT[base + k];
    }
    let inv = INV[r];
    for (var k = 0u; k < P.C; k++) {
      Y[base + k] = inv * (X[base + k] * GAMMA[k] - s1 / c - XHAT[base + k] * s2 / c);
    }
    return;
  }
  var mean = 0.0;
  for (var k = 0u; k < P.C; k++) { mean += X[base + k]; }
  mean /= c;
  var v = 0.0;
  for (var k = 0u; k < P.C; k++) {
    let d = X[base + k] - mean;
    v += d * d;
  }
  let inv = 1.0 / sqrt(v / c + P.eps);
  INV[r] = inv;
  for (var k = 0u; k < P.C; k++) {
    let xhat = (X[base + k] - mean) * inv;
    XHAT[base + k] = xhat;
    Y[base + k] = xhat * GAMMA[k] + BETA[k];
  }
}
