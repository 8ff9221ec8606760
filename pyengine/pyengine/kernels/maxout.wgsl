// Maxout: the last axis C -> C / PIECES, the max of each run of PIECES consecutive channels.
// MODE 0, one thread per output o: Y[o] = max_k X[o * PIECES + k], IDX[o] = the first k reaching it.
// MODE 1, one thread per input i (X holds dy, Y receives dx): dx[i] = dy[i / PIECES] where i is the max.
override MODE: u32 = 0u;
struct Params { n: u32, pieces: u32, p0: u32, p1: u32 }
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> IDX: array<u32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = flat_index(gid, groups);
  if (i >= P.n) { return; }
  if (MODE == 1u) {
    let o = i / P.pieces;
    Y[i] = select(0.0, X[o], IDX[o] == i % P.pieces);
    return;
  }
  var top = X[i * P.pieces];
  var at = 0u;
  for (var k = 1u; k < P.pieces; k++) {
    let v = X[i * P.pieces + k];
    if (v > top) { top = v; at = k; }
  }
  Y[i] = top;
  IDX[i] = at;
}
