// The step's only readback: metrics[0] = mean row loss, metrics[1] = correct count (one workgroup).
struct Params { N: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<storage, read> ROWS: array<f32>;
@group(0) @binding(1) var<storage, read_write> METRICS: array<f32>;
@group(0) @binding(2) var<uniform> P: Params;
var<workgroup> loss_part: array<f32, 256>;
var<workgroup> hit_part: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) li: u32) {
  var loss = 0.0;
  var hits = 0.0;
  for (var n = li; n < P.N; n += 256u) {
    loss += ROWS[2u * n];
    hits += ROWS[2u * n + 1u];
  }
  loss_part[li] = loss;
  hit_part[li] = hits;
  workgroupBarrier();
  for (var width = 128u; width > 0u; width /= 2u) {
    if (li < width) {
      loss_part[li] += loss_part[li + width];
      hit_part[li] += hit_part[li + width];
    }
    workgroupBarrier();
  }
  if (li == 0u) {
    METRICS[0] = loss_part[0] / f32(P.N);
    METRICS[1] = hit_part[0];
  }
}
