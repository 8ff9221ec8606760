// One optimizer update of one parameter, the rules of pyengine/optim.py:
//   g = grad (+ l2 w + l1 sign(w) for weights) -> clipvalue -> clipnorm (global) -> update(w, g, lr)
// OPT 0 sgd, 1 momentum, 2 nesterov, 3 adagrad, 4 rmsprop, 5 adadelta, 6 adam, 7 adamw.
// OPT 99 (one workgroup, before the updates): METRICS[norm_at] = this parameter's sum of g^2, so
// each update can scale by clipnorm / ||all g|| when that norm exceeds clipnorm.
// S1/S2 are the rule's state slots (velocity | accum | mean_square | (Eg, Edx) | (m, v)).
// If this step's loss (metrics[0]) is not finite, nothing is updated: the weights stay as they were.
override OPT: u32 = 0u;
struct Params {
  n: u32, lr: f32, l1: f32, l2: f32,
  h1: f32, h2: f32, eps: f32, clip: f32,   // h1: momentum | rho | beta1, h2: beta2; clip 0 = off
  bc1: f32, bc2: f32, wd: f32, clipnorm: f32,  // adam bias corrections 1 - beta^t; adamw decay; 0 = off
  norm_at: u32, norms_from: u32, norms: u32, p0: u32,  // METRICS[norms_from ..+ norms]: every g^2 sum
}
@group(0) @binding(0) var<storage, read_write> Wt: array<f32>;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> S1: array<f32>;
@group(0) @binding(3) var<storage, read_write> S2: array<f32>;
@group(0) @binding(4) var<storage, read_write> METRICS: array<f32>;
@group(0) @binding(5) var<uniform> P: Params;

fn finite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

var<workgroup> part: array<f32, 256>;

fn clipped_grad(i: u32) -> f32 {
  let w = Wt[i];
  let g = G[i] + P.l2 * w + P.l1 * sign(w);
  if (P.clip > 0.0) { return clamp(g, -P.clip, P.clip); }
  return g;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  if (OPT == 99u) {
    var s = 0.0;
    for (var j = li; j < P.n; j += 256u) {
      let g = clipped_grad(j);
      s += g * g;
    }
    part[li] = s;
    workgroupBarrier();
    for (var width = 128u; width > 0u; width /= 2u) {
      if (li < width) { part[li] += part[li + width]; }
      workgroupBarrier();
    }
    if (li == 0u) { METRICS[P.norm_at] = part[0]; }
    return;
  }
  let i = flat_index(gid, groups);
  if (i >= P.n || !finite(METRICS[0])) { return; }
  var w = Wt[i];
  var g = clipped_grad(i);
  if (P.clipnorm > 0.0) {
    var total = 0.0;
    for (var j = 0u; j < P.norms; j++) { total += METRICS[P.norms_from + j]; }
    total = sqrt(total);
    if (total > P.clipnorm) { g *= P.clipnorm / total; }
  }
  switch OPT {
    case 1u: {  // momentum: v = mu v - lr g; w += v
      let v = P.h1 * S1[i] - P.lr * g;
      S1[i] = v;
      w += v;
    }
    case 2u: {  // nesterov: v = mu v - lr g; w += mu v - lr g
      let v = P.h1 * S1[i] - P.lr * g;
      S1[i] = v;
      w += P.h1 * v - P.lr * g;
    }
    case 3u: {  // adagrad
      let acc = S1[i] + g * g;
      S1[i] = acc;
      w -= P.lr * g / (sqrt(acc) + P.eps);
    }
    case 4u: {  // rmsprop
      let e = P.h1 * S1[i] + (1.0 - P.h1) * g * g;
      S1[i] = e;
      w -= P.lr * g / (sqrt(e) + P.eps);
    }
    case 5u: {  // adadelta (Zeiler), scaled by lr
      let eg = P.h1 * S1[i] + (1.0 - P.h1) * g * g;
      let dx = sqrt(S2[i] + P.eps) / sqrt(eg + P.eps) * g;  // -delta
      S1[i] = eg;
      S2[i] = P.h1 * S2[i] + (1.0 - P.h1) * dx * dx;
      w -= P.lr * dx;
    }
    case 6u, 7u: {  // adam / adamw (decoupled decay first)
      if (OPT == 7u) { w -= P.lr * P.wd * w; }
      let m = P.h1 * S1[i] + (1.0 - P.h1) * g;
      let v = P.h2 * S2[i] + (1.0 - P.h2) * g * g;
      S1[i] = m;
      S2[i] = v;
      w -= P.lr * (m / P.bc1) / (sqrt(v / P.bc2) + P.eps);
    }
    default: { w -= P.lr * g; }
  }
  Wt[i] = w;
}
