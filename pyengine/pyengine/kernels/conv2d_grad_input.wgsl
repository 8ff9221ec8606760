// conv2d backward for the input as implicit GEMM:
//   dx (N*H*W, C) = dy-patches (N*H*W, KH*KW*F) . w^T (KH*KW*F, C)
// where the patch of input pixel (h, w) holds dy[oh, ow] for every kernel tap (kh, kw) with
// oh*SH + kh*DH - PT == h (and the same for w): taps that hit between strides read 0.
@group(0) @binding(0) var<storage, read> DY: array<f32>;
@group(0) @binding(1) var<storage, read> Wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> DX: array<f32>;

fn gemm_dims() -> vec3<u32> { return vec3<u32>(P.N * P.H * P.W, P.C, P.KH * P.KW * P.F); }

fn load_a(b: u32, m: u32, k: u32) -> f32 {
  if (m >= P.N * P.H * P.W || k >= P.KH * P.KW * P.F) { return 0.0; }
  let x = m % P.W;
  let t = m / P.W;
  let y = t % P.H;
  let n = t / P.H;
  let f = k % P.F;
  let s = k / P.F;
  let kw = s % P.KW;
  let kh = s / P.KW;
  let ph = i32(y + P.PT) - i32(kh * P.DH);
  let pw = i32(x + P.PL) - i32(kw * P.DW);
  if (ph < 0 || pw < 0) { return 0.0; }
  if (u32(ph) % P.SH != 0u || u32(pw) % P.SW != 0u) { return 0.0; }
  let oh = u32(ph) / P.SH;
  let ow = u32(pw) / P.SW;
  if (oh >= P.OH || ow >= P.OW) { return 0.0; }
  return DY[((n * P.OH + oh) * P.OW + ow) * P.F + f];
}

fn load_b(b: u32, k: u32, c: u32) -> f32 {
  if (k >= P.KH * P.KW * P.F || c >= P.C) { return 0.0; }
  let f = k % P.F;
  let s = k / P.F;  // kh * KW + kw
  return Wt[(s * P.C + c) * P.F + f];
}

fn store_c(b: u32, m: u32, c: u32, v: f32) {
  DX[m * P.C + c] = v;
}
