// conv2d forward as implicit GEMM: y (N*OH*OW, F) = patches (N*OH*OW, KH*KW*C) . w (KH*KW*C, F),
// with bias and activation fused into the epilogue. Patch values are gathered from x on the fly
// (no im2col buffer); padding and edges read as 0.
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> Wt: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;

fn gemm_dims() -> vec3<u32> { return vec3<u32>(P.N * P.OH * P.OW, P.F, P.KH * P.KW * P.C); }

fn load_a(b: u32, m: u32, k: u32) -> f32 {
  if (m >= P.N * P.OH * P.OW || k >= P.KH * P.KW * P.C) { return 0.0; }
  let ow = m % P.OW;
  let t = m / P.OW;
  let oh = t % P.OH;
  let n = t / P.OH;
  let c = k % P.C;
  let s = k / P.C;
  let kw = s % P.KW;
  let kh = s / P.KW;
  let ih = i32(oh * P.SH + kh * P.DH) - i32(P.PT);
  let iw = i32(ow * P.SW + kw * P.DW) - i32(P.PL);
  if (ih < 0 || iw < 0 || ih >= i32(P.H) || iw >= i32(P.W)) { return 0.0; }
  return X[((n * P.H + u32(ih)) * P.W + u32(iw)) * P.C + c];
}

fn load_b(b: u32, k: u32, n: u32) -> f32 {
  if (k >= P.KH * P.KW * P.C || n >= P.F) { return 0.0; }
  return Wt[k * P.F + n];
}

fn store_c(b: u32, m: u32, n: u32, v: f32) {
  var z = v;
  if (P.has_bias != 0u) { z += bias[n]; }
  Y[m * P.F + n] = activate(z);
}
