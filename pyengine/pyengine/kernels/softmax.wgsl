// Softmax over one axis of length K, with `inner` elements after it (inner = 1 for the last axis):
// one thread per (outer, inner) lane. MODE 0: Y = softmax(X). MODE 1 (backward): X holds the
// softmax output y, G the gradient dy, and Y receives dx = y * (dy - sum(dy * y)).
override MODE: u32 = 0u;
struct Params { lanes: u32, K: u32, inner: u32, p0: u32 }
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let r = flat_index(gid, groups);
  if (r >= P.lanes) { return; }
  let base = (r / P.inner) * P.K * P.inner + r % P.inner;
  let s = P.inner;
  if (MODE == 1u) {
    var gy = 0.0;
    for (var k = 0u; k < P.K; k++) { gy += G[base + k * s] * X[base + k * s]; }
    for (var k = 0u; k < P.K; k++) { Y[base + k * s] = X[base + k * s] * (G[base + k * s] - gy); }
    return;
  }
  var top = X[base];
  for (var k = 1u; k < P.K; k++) { top = max(top, X[base + k * s]); }
  var z = 0.0;
  for (var k = 0u; k < P.K; k++) { z += exp(X[base + k * s] - top); }
  for (var k = 0u; k < P.K; k++) { Y[base + k * s] = exp(X[base + k * s] - top) / z; }
}
