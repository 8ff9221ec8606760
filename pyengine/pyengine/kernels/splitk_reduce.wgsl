// Split-K epilogue (see gemm_core.wgsl): OUT[i] = act(sum over splits s of PARTIAL[s][i] + bias[i % N])
// for OUT (batch, M, N) row-major, the layout every GEMM kernel stores. One thread per element.
struct Params { total: u32, N: u32, splits: u32, has_bias: u32 }
@group(0) @binding(0) var<storage, read> PARTIAL: array<f32>;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> OUT: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = flat_index(gid, groups);
  if (i >= P.total) { return; }
  var sum = 0.0;
  for (var s = 0u; s < P.splits; s++) { sum += PARTIAL[s * P.total + i]; }
  if (P.has_bias != 0u) { sum += bias[i % P.N]; }
  OUT[i] = activate(sum);
}
