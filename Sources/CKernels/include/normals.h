// N(0, 1) draws from Philox4x32-10 blocks, in Float (SSLCore's `NormalDraw.float`).
#include <stdint.h>

/// Fills out[0..<n] with standard normals from the Philox blocks (block0 + i, c1, c2, c3) under key (k0, k1), four
/// values per block: for the block's words (a, b, c, d), u = (w >> 8 + ½)/2²⁴ and Box–Muller
///   r₁ = √(−2 ln uₐ),  (out[4i], out[4i+1]) = r₁·(cos 2πu_b, sin 2πu_b),  likewise r₂ from c and d.
/// ln, sin and cos are polynomials evaluated in a fixed order without fused multiply-adds, so every path (AVX-512,
/// AVX2, scalar) gives the same bits; they agree with the exact functions to a few units in the last place.
/// `level` forces a path for tests: 2 AVX-512, 1 AVX2, 0 scalar, −1 the best this CPU has.
void ssl_philox_normals(uint32_t k0, uint32_t k1, uint32_t block0, uint32_t c1, uint32_t c2, uint32_t c3,
                        float *out, int64_t n, int level);
