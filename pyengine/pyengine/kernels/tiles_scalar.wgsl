// Scalar tile loader for gemm_core.wgsl: any layout, through the kernel's load_a(b, m, k) and
// load_b(b, k, n), which return 0 outside the matrix (that is also how edges are handled).
fn load_tiles(b: u32, m0: u32, n0: u32, k0: u32, li: u32) {
  for (var i = 0u; i < 4u; i++) {
    let e = li + i * 256u;
    // A tile 64 (m) x 16 (k): neighbouring threads take neighbouring k (contiguous in row-major A).
    let ka = e % 16u;
    let ma = e / 16u;
    tile_a[ka * 16u + ma / 4u][ma % 4u] = load_a(b, m0 + ma, k0 + ka);
    // B tile 16 (k) x 64 (n): neighbouring threads take neighbouring n.
    let nb = e % 64u;
    let kb = e / 64u;
    tile_b[kb * 16u + nb / 4u][nb % 4u] = load_b(b, k0 + kb, n0 + nb);
  }
}
