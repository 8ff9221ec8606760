// Average pooling backward, gathered per input cell: each covering window gives dy / its count.
@group(0) @binding(0) var<storage, read> DY: array<f32>;
@group(0) @binding(1) var<storage, read_write> DX: array<f32>;

fn real_cells(o: u32, s: u32, p: u32, k: u32, size: u32) -> u32 {
  let start = i32(o * s) - i32(p);
  let end = min(start + i32(k), i32(size));
  return u32(end - max(start, 0));
}

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
    let rows = real_cells(oh, P.SH, P.PT, P.KH, P.H);
    for (var ow = first_window(w, P.PL, P.KW, P.SW); ow < ow_end; ow++) {
      let cols = real_cells(ow, P.SW, P.PL, P.KW, P.W);
      sum += DY[((n * P.OH + oh) * P.OW + ow) * P.C + c] / f32(rows * cols);
    }
  }
  DX[i] = sum;
}
