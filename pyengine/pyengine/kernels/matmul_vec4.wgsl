// Batched matmul C[b] = act(A[b] . B[b] + bias) with vec4 global loads: A (M, K) and B (K, N)
// row-major, K % 4 == 0 and N % 4 == 0 (the caller checks). Rows/columns past M/N are zero-filled.
struct Params {
  M: u32, N: u32, K: u32, trans_a: u32,
  trans_b: u32, stride_a: u32, stride_b: u32, has_bias: u32,
}
@group(0) @binding(0) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> B: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
@group(0) @binding(4) var<uniform> P: Params;

fn gemm_dims() -> vec3<u32> { return vec3<u32>(P.M, P.N, P.K); }

fn load_tiles(b: u32, m0: u32, n0: u32, k0: u32, li: u32) {
  let threads = TX * TY;
  // A tile TILE_M x 16 = 16 TY vec4 along k.
  for (var e = li; e < 16u * TY; e += threads) {
    let ma = e / 4u;
    let kq = e % 4u;
    var a = vec4<f32>(0.0);
    if (m0 + ma < P.M && k0 + kq * 4u < P.K) {
      a = A[(b * P.stride_a + (m0 + ma) * P.K + k0) / 4u + kq];
    }
    let col = ma / 4u;
    let lane = ma % 4u;
    tile_a[(kq * 4u + 0u) * TY + col][lane] = a.x;
    tile_a[(kq * 4u + 1u) * TY + col][lane] = a.y;
    tile_a[(kq * 4u + 2u) * TY + col][lane] = a.z;
    tile_a[(kq * 4u + 3u) * TY + col][lane] = a.w;
  }
  // B tile 16 x TILE_N = 16 TX vec4 along n, stored as is.
  for (var e = li; e < 16u * TX; e += threads) {
    let kb = e / TX;
    let nq = e % TX;
    var bv = vec4<f32>(0.0);
    if (k0 + kb < P.K && n0 + nq * 4u < P.N) {
      bv = B[(b * P.stride_b + (k0 + kb) * P.N + n0) / 4u + nq];
    }
    tile_b[kb * TX + nq] = bv;
  }
}

fn store_c(b: u32, m: u32, n: u32, v: f32) {
  var z = v;
  if (P.has_bias != 0u) { z += bias[n]; }
  C[(b * P.M + m) * P.N + n] = activate(z);
}
