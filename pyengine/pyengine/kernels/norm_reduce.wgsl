// Per-channel sums over the rows of (M, C) row-major arrays, one workgroup per channel c:
//   DB[c] = sum_m G[m, c]   (beta's gradient),  DG[c] = sum_m G[m, c] * XHAT[m, c]   (gamma's).
// Shared by batchnorm and layernorm backward.
struct Params { M: u32, C: u32, p0: u32, p1: u32 }
@group(0) @binding(0) var<storage, read> G: array<f32>;
@group(0) @binding(1) var<storage, read> XHAT: array<f32>;
@group(0) @binding(2) var<storage, read_write> DB: array<f32>;
@group(0) @binding(3) var<storage, read_write> DG: array<f32>;
@group(0) @binding(4) var<uniform> P: Params;
var<workgroup> part_b: array<f32, 256>;
var<workgroup> part_g: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let c = wg.x;
  var sb = 0.0;
  var sg = 0.0;
  for (var m = li; m < P.M; m += 256u) {
    let g = G[m * P.C + c];
    sb += g;
    sg += g * XHAT[m * P.C + c];
  }
  part_b[li] = sb;
  part_g[li] = sg;
  workgroupBarrier();
  for (var width = 128u; width > 0u; width /= 2u) {
    if (li < width) {
      part_b[li] += part_b[li + width];
      part_g[li] += part_g[li + width];
    }
    workgroupBarrier();
  }
  if (li == 0u) {
    DB[c] = part_b[0];
    DG[c] = part_g[0];
  }
}
