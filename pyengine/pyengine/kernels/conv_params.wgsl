// Geometry shared by the conv2d kernels. Layout is channels-last: x (N, H, W, C),
// weight (KH, KW, C, F), y (N, OH, OW, F). PT/PL are the top/left padding.
struct Params {
  N: u32, H: u32, W: u32, C: u32,
  OH: u32, OW: u32, F: u32, KH: u32,
  KW: u32, SH: u32, SW: u32, PT: u32,
  PL: u32, DH: u32, DW: u32, has_bias: u32,
}
@group(0) @binding(4) var<uniform> P: Params;
