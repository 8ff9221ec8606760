// One thread per element for the elementwise kernels: a 2-D grid of 256-thread workgroups
// (x up to 65535 groups) covers any length; index() flattens it.
fn flat_index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
  return gid.y * groups.x * 256u + gid.x;
}
