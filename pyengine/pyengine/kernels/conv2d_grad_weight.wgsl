// conv2d backward for the weights as implicit GEMM:
//   dw (KH*KW*C, F) = patches^T (KH*KW*C, N*OH*OW) . dy (N*OH*OW, F)
// Patches are gathered from x on the fly, as in the forward kernel.
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> DY: array<f32>;
@group(0) @binding(3) var<storage, read_write> DW: array<f32>;

fn gemm_dims() -> vec3<u32> { return vec3<u32>(P.KH * P.KW * P.C, P.F, P.N * P.OH * P.OW); }

fn load_a(b: u32, m: u32, k: u32) -> f32 {
  if (m >= P.KH * P.KW * P.C || k >= P.N * P.OH * P.OW) { return 0.0; }
  let c = m % P.C;
  let s = m / P.C;
  let kw = s % P.KW;
  let kh = s / P.KW;
  let ow = k % P.OW;
  let t = k / P.OW;
  let oh = t % P.OH;
  let n = t / P.OH;
  let ih = i32(oh * P.SH + kh * P.DH) - i32(P.PT);
  let iw = i32(ow * P.SW + kw * P.DW) - i32(P.PL);
  if (ih < 0 || iw < 0 || ih >= i32(P.H) || iw >= i32(P.W)) { return 0.0; }
  return X[((n * P.H + u32(ih)) * P.W + u32(iw)) * P.C + c];
}

fn load_b(b: u32, k: u32, f: u32) -> f32 {
  if (k >= P.N * P.OH * P.OW || f >= P.F) { return 0.0; }
  return DY[k * P.F + f];
}

fn store_c(b: u32, m: u32, f: u32, v: f32) {
  DW[m * P.F + f] = v;
}
