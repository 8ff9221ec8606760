// Pooling geometry, channels-last x (N, H, W, C) -> y (N, OH, OW, C); window KH x KW, no dilation.
struct Params {
  N: u32, H: u32, W: u32, C: u32,
  OH: u32, OW: u32, KH: u32, KW: u32,
  SH: u32, SW: u32, PT: u32, PL: u32,
  total: u32, pad0: u32, pad1: u32, pad2: u32,
}
@group(0) @binding(3) var<uniform> P: Params;

// First output row whose window covers input row/col `i` (pad p, window k, stride s).
fn first_window(i: u32, p: u32, k: u32, s: u32) -> u32 {
  if (i + p + 1u < k) { return 0u; }
  return (i + p + 1u - k + s - 1u) / s;
}
