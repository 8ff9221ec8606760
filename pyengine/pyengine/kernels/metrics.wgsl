// The step's loss: METRICS[0] = the mean of the per-row losses ROWS (one workgroup).
struct Params { N: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<storage, read> ROWS: array<f32>;
@group(0) @binding(1) var<storage, read_write> METRICS: array<f32>;
@group(0) @binding(2) var<uniform> P: Params;
var<workgroup> loss_part: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) li: u32) {
  var loss = 0.0;
  for (var n = li; n < P.N; n += 256u) { loss += ROWS[n]; }
  loss_part[li] = loss;
  workgroupBarrier();
  for (var width = 128u; width > 0u; width /= 2u) {
    if (li < width) { loss_part[li] += loss_part[li + width]; }
    workgroupBarrier();
  }
  if (li == 0u) { METRICS[0] = loss_part[0] / f32(P.N); }
}
