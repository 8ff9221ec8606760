// Average pooling forward: the mean over each window's real cells (padding is not counted, as
// TensorFlow's "same"). Global average pooling is this kernel with the window = the whole image.
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = flat_index(gid, groups);
  if (i >= P.total) { return; }
  let c = i % P.C;
  let ow = (i / P.C) % P.OW;
  let oh = (i / (P.C * P.OW)) % P.OH;
  let n = i / (P.C * P.OW * P.OH);
  var sum = 0.0;
  var count = 0.0;
  for (var kh = 0u; kh < P.KH; kh++) {
    let ih = i32(oh * P.SH + kh) - i32(P.PT);
    if (ih < 0 || ih >= i32(P.H)) { continue; }
    for (var kw = 0u; kw < P.KW; kw++) {
      let iw = i32(ow * P.SW + kw) - i32(P.PL);
      if (iw < 0 || iw >= i32(P.W)) { continue; }
      sum += X[((n * P.H + u32(ih)) * P.W + u32(iw)) * P.C + c];
      count += 1.0;
    }
  }
  Y[i] = sum / max(count, 1.0);
}
