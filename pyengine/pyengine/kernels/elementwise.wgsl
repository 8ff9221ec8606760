// Two-operand elementwise ops: OP 0 Y = A + B (add joins, gradient accumulation), 1 Y = A * B
// (dropout's mask, forward and backward).
override OP: u32 = 0u;
struct Params { n: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = flat_index(gid, groups);
  if (i >= P.n) { return; }
  if (OP == 1u) { Y[i] = A[i] * B[i]; } else { Y[i] = A[i] + B[i]; }
}
