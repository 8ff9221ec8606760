// Loss and its gradient, one thread per example. LOSS 0: softmax cross-entropy on logits with
// target probabilities (one-hot for labels); LOSS 1: mse (mean over every element).
// Writes grad (already divided by the batch: every loss is a batch mean) and, per row,
// rows[2n] = its loss, rows[2n + 1] = 1 if argmax(out) == argmax(target) else 0.
override LOSS: u32 = 0u;
struct Params { N: u32, K: u32, p0: u32, p1: u32 }
@group(0) @binding(0) var<storage, read> OUT: array<f32>;
@group(0) @binding(1) var<storage, read> T: array<f32>;
@group(0) @binding(2) var<storage, read_write> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> ROWS: array<f32>;
@group(0) @binding(4) var<uniform> P: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n = gid.x;
  if (n >= P.N) { return; }
  let base = n * P.K;
  var top = OUT[base];
  var top_at = 0u;
  var t_top = T[base];
  var t_at = 0u;
  for (var k = 1u; k < P.K; k++) {
    if (OUT[base + k] > top) { top = OUT[base + k]; top_at = k; }
    if (T[base + k] > t_top) { t_top = T[base + k]; t_at = k; }
  }
  var loss = 0.0;
  if (LOSS == 0u) {
    var z = 0.0;
    for (var k = 0u; k < P.K; k++) { z += exp(OUT[base + k] - top); }
    let log_z = log(z);
    for (var k = 0u; k < P.K; k++) {
      let log_p = OUT[base + k] - top - log_z;
      loss -= T[base + k] * log_p;
      G[base + k] = (exp(log_p) - T[base + k]) / f32(P.N);
    }
  } else {
    for (var k = 0u; k < P.K; k++) {
      let d = OUT[base + k] - T[base + k];
      loss += d * d / f32(P.K);
      G[base + k] = 2.0 * d / f32(P.N * P.K);
    }
  }
  ROWS[2u * n] = loss;
  ROWS[2u * n + 1u] = select(0.0, 1.0, top_at == t_at);
}
