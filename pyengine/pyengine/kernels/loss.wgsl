// Every loss of pyengine/losses.py and its gradient, one thread per row of K outputs (K = the
// last axis; rows = every other position: the batch, or batch x time). Writes G (already divided
// by the loss's count: every loss is a mean) and ROWS[r] = the row's share of the mean loss times
// the row count, so metrics.wgsl's mean over rows is the loss.
//   LOSS 0 softmax cross-entropy (T: probabilities / one-hot), mean over rows
//   LOSS 1 mse, 2 huber (A = delta), 3 binary cross-entropy on logits, 4 on probabilities:
//          means over every element
//   LOSS 5 hinge (multiclass SVM, A = margin; the class is argmax T), mean over rows
override LOSS: u32 = 0u;
struct Params { N: u32, K: u32, A: f32, p0: u32 }
@group(0) @binding(0) var<storage, read> OUT: array<f32>;
@group(0) @binding(1) var<storage, read> T: array<f32>;
@group(0) @binding(2) var<storage, read_write> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> ROWS: array<f32>;
@group(0) @binding(4) var<uniform> P: Params;

const EPS: f32 = 1.1920928955078125e-07;  // float32 machine epsilon, the clip of losses.py

fn log_1p(x: f32) -> f32 {
  let u = 1.0 + x;
  if (u == 1.0) { return x; }
  return log(u) * x / (u - 1.0);  // corrects the rounding of 1 + x
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n = gid.x;
  if (n >= P.N) { return; }
  let base = n * P.K;
  let k_f = f32(P.K);
  let all = f32(P.N * P.K);
  var loss = 0.0;
  switch LOSS {
    case 0u: {
      var top = OUT[base];
      var t_sum = 0.0;
      for (var k = 0u; k < P.K; k++) { top = max(top, OUT[base + k]); t_sum += T[base + k]; }
      var z = 0.0;
      for (var k = 0u; k < P.K; k++) { z += exp(OUT[base + k] - top); }
      let log_z = log(z);
      for (var k = 0u; k < P.K; k++) {
        let log_p = OUT[base + k] - top - log_z;
        loss -= T[base + k] * log_p;
        G[base + k] = (exp(log_p) * t_sum - T[base + k]) / f32(P.N);
      }
    }
    case 1u: {
      for (var k = 0u; k < P.K; k++) {
        let d = OUT[base + k] - T[base + k];
        loss += d * d;
        G[base + k] = 2.0 * d / all;
      }
      loss /= k_f;
    }
    case 2u: {
      for (var k = 0u; k < P.K; k++) {
        let d = OUT[base + k] - T[base + k];
        let a = abs(d);
        loss += select(P.A * (a - 0.5 * P.A), 0.5 * d * d, a <= P.A);
        G[base + k] = clamp(d, -P.A, P.A) / all;
      }
      loss /= k_f;
    }
    case 3u: {
      for (var k = 0u; k < P.K; k++) {
        let z = OUT[base + k];
        let t = T[base + k];
        loss += max(z, 0.0) - z * t + log_1p(exp(-abs(z)));
        let e = exp(-abs(z));
        let s = select(e / (1.0 + e), 1.0 / (1.0 + e), z >= 0.0);  // sigmoid(z), no overflow
        G[base + k] = (s - t) / all;
      }
      loss /= k_f;
    }
    case 4u: {
      for (var k = 0u; k < P.K; k++) {
        let o = OUT[base + k];
        let t = T[base + k];
        let p = clamp(o, EPS, 1.0 - EPS);
        loss -= t * log(p) + (1.0 - t) * log_1p(-p);
        let inside = o > EPS && o < 1.0 - EPS;
        G[base + k] = select(0.0, (p - t) / (p * (1.0 - p)) / all, inside);
      }
      loss /= k_f;
    }
    default: {  // hinge
      var t_top = T[base];
      var y = 0u;
      for (var k = 1u; k < P.K; k++) { if (T[base + k] > t_top) { t_top = T[base + k]; y = k; } }
      let correct = OUT[base + y];
      var n_active = 0.0;
      for (var k = 0u; k < P.K; k++) {
        let on = k != y && OUT[base + k] - correct + P.A > 0.0;
        if (on) { loss += OUT[base + k] - correct + P.A; n_active += 1.0; }
        G[base + k] = select(0.0, 1.0, on) / f32(P.N);
      }
      G[base + y] = -n_active / f32(P.N);
    }
  }
  ROWS[n] = loss;
}
