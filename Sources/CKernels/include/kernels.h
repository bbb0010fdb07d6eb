// Elementwise kernels that need what Swift cannot say: `restrict` pointers and vector square roots.
#include <stdint.h>

/// Which vector clones the kernels below (and the normals) run: 2 AVX-512, 1 AVX2, 0 neither.
int ssl_vector_level(void);
/// For tests: the kernels use clones of at most `level` from now on (−1: the best this CPU has), so each clone can be
/// checked against the others for the same bits.
void ssl_cap_vector_level(int level);

/// The Adam update of n parameters (Kingma & Ba 2015, with bias correction factors c1 = 1/(1−β₁ᵗ), c2 = 1/(1−β₂ᵗ)):
///   g ← clamp(scale·g, −clip, clip)          (clip ≤ 0: no element-wise clipping)
///   m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,  θ ← θ − lr·(c₁m)/(√(c₂v) + ε)
///   a ← d·a + (1−d)·θ                          (when `average` is not NULL: an exponential moving average)
/// The arrays must not overlap. Every lane is computed the same way whatever the vector width, so the result does
/// not depend on the CPU's instruction set.
void ssl_adam_update(const float *restrict g, float *restrict p, float *restrict m, float *restrict v, int64_t n,
                     float scale, float clip, float lr, float beta1, float beta2, float c1, float c2, float eps,
                     float *restrict average, float decay);

/// Flush denormal results to zero and read denormal inputs as zero (x86: MXCSR's FTZ and DAZ; aarch64: FPCR.FZ) on
/// the calling thread; threads it creates afterwards (oneDNN's and OpenBLAS's) inherit the setting. A classifier that
/// has fit its labels gives some classes probabilities of 1e-40 and below, and every product with such a denormal
/// takes a microcode assist: without this, an M2 step on Fashion-MNIST became 4-5x slower by epoch 10.
void ssl_flush_denormals(void);

/// Batch normalisation's loops over a row-major block of `rows` rows of h features (see SSLCore's BatchNorm). Sums
/// are per feature, in double, in row order; vectorised across features only, so every CPU gives the same bits.
///   sums:          s1[j] += Σ_r x[r,j],  s2[j] += Σ_r x[r,j]²
///   normalize:     nr = (x − mean)·invStd,  y = γ·nr + β             (y may be x)
///   infer:         y = γ·((x − mean)/sd) + β                         (y may be x; sd = √(running σ² + ε))
///   backward sums: s1[j] += Σ_r dy[r,j],  s2[j] += Σ_r (dy·nr)[r,j]   (the product rounded to float first)
///   backward dx:   dx = c·(dy − a − nr·b)                             (dx may be dy)
void ssl_bn_sums(const float *restrict x, int64_t rows, int64_t h, double *restrict s1, double *restrict s2);
void ssl_bn_normalize(const float *x, float *y, float *restrict nr, int64_t rows, int64_t h,
                      const float *restrict mean, const float *restrict invStd,
                      const float *restrict gamma, const float *restrict beta);
/// normalize followed by ReLU in one pass (x, act and nr distinct): nr as in normalize, act = y > 0 ? y : 0 (y itself
/// is not kept: the backward needs only act and nr).
void ssl_bn_normalize_relu(const float *restrict x, float *restrict act, float *restrict nr, int64_t rows,
                           int64_t h, const float *restrict mean, const float *restrict invStd,
                           const float *restrict gamma, const float *restrict beta);
void ssl_bn_infer(const float *x, float *y, int64_t rows, int64_t h, const float *restrict mean,
                  const float *restrict sd, const float *restrict gamma, const float *restrict beta);
void ssl_bn_backward_sums(const float *restrict dy, const float *restrict nr, int64_t rows, int64_t h,
                          double *restrict s1, double *restrict s2);
/// ReLU's backward then backward sums, in one pass: dy ← (act > 0 ? dy : 0) in place, then the sums of that dy.
void ssl_bn_backward_sums_relu(float *restrict dy, const float *restrict act, const float *restrict nr, int64_t rows,
                               int64_t h, double *restrict s1, double *restrict s2);
void ssl_bn_backward_dx(const float *dy, float *dx, const float *restrict nr, int64_t rows, int64_t h,
                        const float *restrict c, const float *restrict a, const float *restrict b);

/// One row of the Bernoulli likelihood and its gradient, element by element (see SSLCore's `bernoulliNLL`, which sums
/// `loss` in its own fixed order): for logits l and targets x,
///   loss[j] = max(l, 0) + log(1 + e^{−|l|}) − x·l,   g[j] = w·(σ(l) − x)
/// with e^· and log(1 + ·) the polynomial forms of SSLCore's `fastExp` and `log1pSmall`, step for step and without
/// fused multiply-adds, so the bits equal the Swift code's on every CPU.
void ssl_bernoulli_row(const float *restrict l, const float *restrict x, int64_t d, float w, float *restrict loss,
                       float *restrict g);

/// Adam's direction without the step, for LAMB: g as in `ssl_adam_update` (scaled, clipped), m and v updated the same
/// way, and out = (c₁m)/(√(c₂v) + ε); the parameters are left to the caller (a trust ratio per tensor).
void ssl_adam_direction(const float *restrict g, float *restrict m, float *restrict v, int64_t n, float scale, float clip,
                        float beta1, float beta2, float c1, float c2, float eps, float *restrict out);

/// Rounds n floats to bf16 (nearest, ties to even; SSLCore's `convertToBF16`, bit for bit), vectorised.
void ssl_round_bf16(const float *restrict src, uint16_t *restrict dst, int64_t n);
