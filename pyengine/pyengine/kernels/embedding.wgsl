// Embedding: IDS holds token ids as floats (truncated to integers, as NumPy's astype does).
// MODE 0, one thread per output element: Y[p, d] = W[ids[p], d].
// MODE 1, one thread per weight element (W holds dy, Y receives dw): dw[v, d] = sum over the
// positions p with ids[p] == v of dy[p, d], in position order (repeated ids accumulate).
override MODE: u32 = 0u;
struct Params { n: u32, D: u32, positions: u32, p0: u32 }
@group(0) @binding(0) var<storage, read> IDS: array<f32>;
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = flat_index(gid, groups);
  if (i >= P.n) { return; }
  let d = i % P.D;
  if (MODE == 1u) {
    let v = i / P.D;
    var s = 0.0;
    for (var p = 0u; p < P.positions; p++) {
      if (u32(IDS[p]) == v) { s += W[p * P.D + d]; }
    }
    Y[i] = s;
    return;
  }
  Y[i] = W[u32(IDS[i / P.D]) * P.D + d];
}
