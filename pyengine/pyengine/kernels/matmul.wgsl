// Batched matmul with optional transposes, bias and activation:
//   C[b] = act(op(A[b]) . op(B[b]) + bias),  op(X) = X or X^T (the stored matrix is row-major).
// A batch stride of 0 broadcasts that operand over the batch. Loads are scalar (any shape);
// matmul_vec4.wgsl is the vec4-load variant used when shapes allow.
struct Params {
  M: u32, N: u32, K: u32, trans_a: u32,
  trans_b: u32, stride_a: u32, stride_b: u32, has_bias: u32,
}
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
@group(0) @binding(4) var<uniform> P: Params;

fn gemm_dims() -> vec3<u32> { return vec3<u32>(P.M, P.N, P.K); }

fn load_a(b: u32, m: u32, k: u32) -> f32 {
  if (m >= P.M || k >= P.K) { return 0.0; }
  if (P.trans_a != 0u) { return A[b * P.stride_a + k * P.M + m]; }  // stored (K, M)
  return A[b * P.stride_a + m * P.K + k];
}

fn load_b(b: u32, k: u32, n: u32) -> f32 {
  if (k >= P.K || n >= P.N) { return 0.0; }
  if (P.trans_b != 0u) { return B[b * P.stride_b + n * P.K + k]; }  // stored (N, K)
  return B[b * P.stride_b + k * P.N + n];
}

fn store_c(b: u32, m: u32, n: u32, v: f32) {
  var z = v;
  if (P.has_bias != 0u) { z += bias[n]; }
  C[(b * P.M + m) * P.N + n] = activate(z);
}
