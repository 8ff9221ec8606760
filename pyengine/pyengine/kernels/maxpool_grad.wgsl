// Max pooling backward, gathered per input cell (no atomics): dx[n, h, w, c] = the sum of
// dy over the windows whose winner (idx) is this cell.
@group(0) @binding(0) var<storage, read> DY: array<f32>;
@group(0) @binding(1) var<storage, read> IDX: array<u32>;
@group(0) @binding(2) var<storage, read_write> DX: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = flat_index(gid, groups);
  if (i >= P.total) { return; }
  let c = i % P.C;
  let w = (i / P.C) % P.W;
  let h = (i / (P.C * P.W)) % P.H;
  let n = i / (P.C * P.W * P.H);
  var sum = 0.0;
  let oh_end = min(P.OH, (h + P.PT) / P.SH + 1u);
  let ow_end = min(P.OW, (w + P.PL) / P.SW + 1u);
  for (var oh = first_window(h, P.PT, P.KH, P.SH); oh < oh_end; oh++) {
    let kh = h + P.PT - oh * P.SH;
    for (var ow = first_window(w, P.PL, P.KW, P.SW); ow < ow_end; ow++) {
      let kw = w + P.PL - ow * P.SW;
      let o = ((n * P.OH + oh) * P.OW + ow) * P.C + c;
      if (IDX[o] == kh * P.KW + kw) { sum += DY[o]; }
    }
  }
  DX[i] = sum;
}
