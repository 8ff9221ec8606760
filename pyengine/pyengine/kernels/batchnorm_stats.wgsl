// Batchnorm statistics of X (M, C) over its rows, one workgroup per channel c. Training: the
// batch mean and biased variance, and the running statistics updated in place
// (running = momentum * running + (1 - momentum) * batch). Evaluation: the running statistics.
// STATS[c] = mean, STATS[C + c] = 1 / sqrt(var + eps).
struct Params { M: u32, C: u32, training: u32, p0: u32, momentum: f32, eps: f32, p1: u32, p2: u32 }
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> STATS: array<f32>;
@group(0) @binding(2) var<storage, read_write> RM: array<f32>;
@group(0) @binding(3) var<storage, read_write> RV: array<f32>;
@group(0) @binding(4) var<uniform> P: Params;
var<workgroup> part: array<f32, 256>;

fn column_sum(li: u32) -> f32 {
  workgroupBarrier();
  for (var width = 128u; width > 0u; width /= 2u) {
    if (li < width) { part[li] += part[li + width]; }
    workgroupBarrier();
  }
  let total = part[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let c = wg.x;
  var mean = RM[c];
  var v = RV[c];
  if (P.training != 0u) {
    var s = 0.0;
    for (var m = li; m < P.M; m += 256u) { s += X[m * P.C + c]; }
    part[li] = s;
    mean = column_sum(li) / f32(P.M);
    var q = 0.0;
    for (var m = li; m < P.M; m += 256u) {
      let d = X[m * P.C + c] - mean;
      q += d * d;
    }
    part[li] = q;
    v = column_sum(li) / f32(P.M);
  }
  if (li == 0u) {
    STATS[c] = mean;
    STATS[P.C + c] = 1.0 / sqrt(v + P.eps);
    if (P.training != 0u) {
      RM[c] = RM[c] * P.momentum + (1.0 - P.momentum) * mean;
      RV[c] = RV[c] * P.momentum + (1.0 - P.momentum) * v;
    }
  }
}
