// y = act(x), elementwise (for activations that are not fused into a GEMM epilogue).
struct Params { n: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = flat_index(gid, groups);
  if (i < P.n) { Y[i] = activate(X[i]); }
}
