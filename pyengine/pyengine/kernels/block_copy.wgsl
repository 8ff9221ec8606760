// Copies `rows` blocks of `width` floats between strided layouts:
//   DST[r * dst_stride + dst_off + c] = SRC[r * src_stride + src_off + c].
// concat's forward (each input into its slice of the output), its backward (each slice of the
// gradient out again) and copying a step's output next to its loss for the one readback.
struct Params { rows: u32, width: u32, src_stride: u32, src_off: u32, dst_stride: u32, dst_off: u32, p0: u32, p1: u32 }
@group(0) @binding(0) var<storage, read> SRC: array<f32>;
@group(0) @binding(1) var<storage, read_write> DST: array<f32>;
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = flat_index(gid, groups);
  if (i >= P.rows * P.width) { return; }
  let r = i / P.width;
  let c = i % P.width;
  DST[r * P.dst_stride + P.dst_off + c] = SRC[r * P.src_stride + P.src_off + c];
}
