// Max pooling forward: y = max over each window (padding never wins); idx = the winning cell's
// position kh * KW + kw in its window, the first maximum on ties (as NumPy's argmax).
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
@group(0) @binding(2) var<storage, read_write> IDX: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = flat_index(gid, groups);
  if (i >= P.total) { return; }
  let c = i % P.C;
  let ow = (i / P.C) % P.OW;
  let oh = (i / (P.C * P.OW)) % P.OH;
  let n = i / (P.C * P.OW * P.OH);
  var best = -3.402823e38;
  var best_at = 0u;
  var found = false;
  for (var kh = 0u; kh < P.KH; kh++) {
    let ih = i32(oh * P.SH + kh) - i32(P.PT);
    if (ih < 0 || ih >= i32(P.H)) { continue; }
    for (var kw = 0u; kw < P.KW; kw++) {
      let iw = i32(ow * P.SW + kw) - i32(P.PL);
      if (iw < 0 || iw >= i32(P.W)) { continue; }
      let v = X[((n * P.H + u32(ih)) * P.W + u32(iw)) * P.C + c];
      if (!found || v > best) {
        best = v;
        best_at = kh * P.KW + kw;
        found = true;
      }
    }
  }
  Y[i] = best;
  IDX[i] = best_at;
}
