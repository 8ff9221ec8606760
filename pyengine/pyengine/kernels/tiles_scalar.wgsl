// Scalar tile loader for gemm_core.wgsl: any layout, through the kernel's load_a(b, m, k) and
// load_b(b, k, n), which return 0 outside the matrix (that is also how edges are handled).
fn load_tiles(b: u32, m0: u32, n0: u32, k0: u32, li: u32) {
  let threads = TX * TY;
  // A tile TILE_M (m) x 16 (k): neighbouring threads take neighbouring k (contiguous in row-major A).
  for (var e = li; e < 64u * TY; e += threads) {
    let ka = e % 16u;
    let ma = e / 16u;
    tile_a[ka * TY + ma / 4u][ma % 4u] = load_a(b, m0 + ma, k0 + ka);
  }
  // B tile 16 (k) x TILE_N (n): neighbouring threads take neighbouring n.
  for (var e = li; e < 64u * TX; e += threads) {
    let nb = e % (4u * TX);
    let kb = e / (4u * TX);
    tile_b[kb * TX + nb / 4u][nb % 4u] = load_b(b, k0 + kb, n0 + nb);
  }
}
