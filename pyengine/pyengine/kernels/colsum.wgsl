// Bias gradient: db[f] = sum over rows m of dy[m, f], dy (M, F) row-major. One workgroup per
// column: 256 threads stride over the rows, then a tree reduction in workgroup memory.
struct Params { M: u32, F: u32, p0: u32, p1: u32 }
@group(0) @binding(0) var<storage, read> DY: array<f32>;
@group(0) @binding(1) var<storage, read_write> DB: array<f32>;
@group(0) @binding(2) var<uniform> P: Params;
var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let f = wg.x;
  var sum = 0.0;
  for (var m = li; m < P.M; m += 256u) { sum += DY[m * P.F + f]; }
  partial[li] = sum;
  workgroupBarrier();
  for (var width = 128u; width > 0u; width /= 2u) {
    if (li < width) { partial[li] += partial[li + width]; }
    workgroupBarrier();
  }
  if (li == 0u) { DB[f] = partial[0]; }
}
