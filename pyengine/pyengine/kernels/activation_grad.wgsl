// dx = dy * act'(z) with z the activation's input and y its output (y suffices except for gelu;
// for fused epilogues, where z is not kept, the caller binds y as z).
struct Params { n: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<storage, read> Z: array<f32>;
@group(0) @binding(1) var<storage, read> Yv: array<f32>;
@group(0) @binding(2) var<storage, read> DY: array<f32>;
@group(0) @binding(3) var<storage, read_write> DX: array<f32>;
@group(0) @binding(4) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = flat_index(gid, groups);
  if (i < P.n) { DX[i] = DY[i] * activate_grad(Z[i], Yv[i]); }
}
