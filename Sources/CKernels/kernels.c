#include "kernels.h"
// Products and sums round separately everywhere (no fused multiply-add), so every path gives the same bits.
#pragma STDC FP_CONTRACT OFF
#include <math.h>
#include "two_atanh.h"
#include "vector_level.h"
#if defined(__x86_64__)
#include <immintrin.h>
#endif

int ssl_vector_level_cap = -1;
void ssl_cap_vector_level(int level) { ssl_vector_level_cap = level; }
int ssl_vector_level(void) { return vector_level(); }

static inline float clampf(float x, float c) { return c > 0 ? (x > c ? c : (x < -c ? -c : x)) : x; }

static void adam_scalar(const float *restrict g, float *restrict p, float *restrict m, float *restrict v, int64_t i0,
                        int64_t n, float scale, float clip, float lr, float b1, float b2, float c1, float c2, float eps,
                        float *restrict a, float d) {
    for (int64_t i = i0; i < n; i++) {
        float gi = clampf(g[i] * scale, clip);
        float mi = b1 * m[i] + (1 - b1) * gi;
        float vi = b2 * v[i] + (1 - b2) * gi * gi;
        m[i] = mi; v[i] = vi;
        float pi = p[i] - lr * (mi * c1) / (sqrtf(vi * c2) + eps);
        p[i] = pi;
        if (a) a[i] = d * a[i] + (1 - d) * pi;
    }
}

#if defined(__x86_64__)
// No FMA contraction: the products and sums round as in the scalar code, so both give the same bits.
__attribute__((target("avx2")))
static int64_t adam_avx2(const float *restrict g, float *restrict p, float *restrict m, float *restrict v, int64_t n,
                         float scale, float clip, float lr, float b1, float b2, float c1, float c2, float eps,
                         float *restrict a, float d) {
    const __m256 vs = _mm256_set1_ps(scale), vb1 = _mm256_set1_ps(b1), vb2 = _mm256_set1_ps(b2);
    const __m256 va1 = _mm256_set1_ps(1 - b1), va2 = _mm256_set1_ps(1 - b2), vc1 = _mm256_set1_ps(c1);
    const __m256 vc2 = _mm256_set1_ps(c2), vlr = _mm256_set1_ps(lr), veps = _mm256_set1_ps(eps);
    const __m256 hi = _mm256_set1_ps(clip), lo = _mm256_set1_ps(-clip), vd = _mm256_set1_ps(d), vd1 = _mm256_set1_ps(1 - d);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 gi = _mm256_mul_ps(_mm256_loadu_ps(g + i), vs);
        if (clip > 0) gi = _mm256_max_ps(_mm256_min_ps(gi, hi), lo);
        __m256 mi = _mm256_add_ps(_mm256_mul_ps(vb1, _mm256_loadu_ps(m + i)), _mm256_mul_ps(va1, gi));
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(vb2, _mm256_loadu_ps(v + i)), _mm256_mul_ps(_mm256_mul_ps(va2, gi), gi));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        __m256 step = _mm256_div_ps(_mm256_mul_ps(vlr, _mm256_mul_ps(mi, vc1)),
                                    _mm256_add_ps(_mm256_sqrt_ps(_mm256_mul_ps(vi, vc2)), veps));
        __m256 pi = _mm256_sub_ps(_mm256_loadu_ps(p + i), step);
        _mm256_storeu_ps(p + i, pi);
        if (a) _mm256_storeu_ps(a + i, _mm256_add_ps(_mm256_mul_ps(vd, _mm256_loadu_ps(a + i)), _mm256_mul_ps(vd1, pi)));
    }
    return i;
}
#endif

void ssl_adam_update(const float *restrict g, float *restrict p, float *restrict m, float *restrict v, int64_t n,
                     float scale, float clip, float lr, float b1, float b2, float c1, float c2, float eps,
                     float *restrict a, float d) {
    int64_t done = 0;
#if defined(__x86_64__)
    // AVX2 on AVX-512 CPUs too: the pass is bound by its nine 4-byte streams a parameter, and a 16-wide clone measured
    // no faster (stop 39).
    if (vector_level() >= 1) done = adam_avx2(g, p, m, v, n, scale, clip, lr, b1, b2, c1, c2, eps, a, d);
#endif
    adam_scalar(g, p, m, v, done, n, scale, clip, lr, b1, b2, c1, c2, eps, a, d);
}

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
void ssl_flush_denormals(void) { _mm_setcsr(_mm_getcsr() | 0x8040); }
#elif defined(__aarch64__)
void ssl_flush_denormals(void) {
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    fpcr |= (uint64_t)1 << 24;
    __asm__ volatile("msr fpcr, %0" : : "r"(fpcr));
}
#else
void ssl_flush_denormals(void) {}
#endif

// MARK: - Batch normalisation
// Plain loops over features with `restrict` pointers, which the compiler vectorises; an output that may be its input
// gets a separate in-place loop (one pointer), so neither needs a run-time overlap check that would fall back to
// scalar code. Each loop is written once (`SSL_BODY`) and compiled as an AVX-512 and an AVX2 clone (`SSL_CLONES`),
// chosen by `vector_level()`: lanes run across features only, so every clone gives the same bits.
#define SSL_BODY static inline __attribute__((always_inline))
// `linkage`: `static` for a clone used only here, empty for one the header declares.
#if defined(__x86_64__)
#define SSL_CLONES(linkage, name, params, args)                                                              \
    __attribute__((target("avx512f,avx512bw,avx512dq"), min_vector_width(512))) static void name##_512 params \
    { name##_body args; }                                                                                    \
    __attribute__((target("avx2"))) static void name##_256 params { name##_body args; }                      \
    linkage void name params {                                                                               \
        int level = vector_level();                                                                          \
        if (level == 2) name##_512 args;                                                                     \
        else if (level == 1) name##_256 args;                                                                \
        else name##_body args;                                                                               \
    }
#else
#define SSL_CLONES(linkage, name, params, args) linkage void name params { name##_body args; }
#endif

SSL_BODY void ssl_bn_sums_body(const float *restrict x, int64_t rows, int64_t h, double *restrict s1, double *restrict s2) {
    for (int64_t r = 0; r < rows; r++) {
        const float *restrict xr = x + r * h;
        for (int64_t j = 0; j < h; j++) { double v = xr[j]; s1[j] += v; s2[j] += v * v; }
    }
}
SSL_CLONES(, ssl_bn_sums, (const float *restrict x, int64_t rows, int64_t h, double *restrict s1, double *restrict s2),
           (x, rows, h, s1, s2))

SSL_BODY void bn_normalize_out_body(const float *restrict x, float *restrict y, float *restrict nr, int64_t n, int64_t h,
                                    const float *restrict mean, const float *restrict invStd, const float *restrict g,
                                    const float *restrict b) {
    for (int64_t r = 0; r < n; r++) {
        const float *restrict xr = x + r * h;
        float *restrict yr = y + r * h, *restrict nrr = nr + r * h;
        for (int64_t j = 0; j < h; j++) { float v = (xr[j] - mean[j]) * invStd[j]; nrr[j] = v; yr[j] = g[j] * v + b[j]; }
    }
}
SSL_CLONES(static, bn_normalize_out, (const float *restrict x, float *restrict y, float *restrict nr, int64_t n, int64_t h,
                                      const float *restrict mean, const float *restrict invStd, const float *restrict g,
                                      const float *restrict b),
           (x, y, nr, n, h, mean, invStd, g, b))

SSL_BODY void bn_normalize_in_body(float *restrict xy, float *restrict nr, int64_t n, int64_t h, const float *restrict mean,
                                   const float *restrict invStd, const float *restrict g, const float *restrict b) {
    for (int64_t r = 0; r < n; r++) {
        float *restrict xr = xy + r * h, *restrict nrr = nr + r * h;
        for (int64_t j = 0; j < h; j++) { float v = (xr[j] - mean[j]) * invStd[j]; nrr[j] = v; xr[j] = g[j] * v + b[j]; }
    }
}
SSL_CLONES(static, bn_normalize_in, (float *restrict xy, float *restrict nr, int64_t n, int64_t h, const float *restrict mean,
                                     const float *restrict invStd, const float *restrict g, const float *restrict b),
           (xy, nr, n, h, mean, invStd, g, b))

void ssl_bn_normalize(const float *x, float *y, float *restrict nr, int64_t rows, int64_t h,
                      const float *restrict mean, const float *restrict invStd,
                      const float *restrict gamma, const float *restrict beta) {
    if (x == y) bn_normalize_in(y, nr, rows, h, mean, invStd, gamma, beta);
    else bn_normalize_out(x, y, nr, rows, h, mean, invStd, gamma, beta);
}

SSL_BODY void ssl_bn_normalize_relu_body(const float *restrict x, float *restrict act, float *restrict nr, int64_t n, int64_t h,
                                     const float *restrict mean, const float *restrict invStd, const float *restrict g,
                                     const float *restrict b) {
    for (int64_t r = 0; r < n; r++) {
        const float *restrict xr = x + r * h;
        float *restrict ar = act + r * h, *restrict nrr = nr + r * h;
        for (int64_t j = 0; j < h; j++) {
            float v = (xr[j] - mean[j]) * invStd[j];
            nrr[j] = v;
            float yv = g[j] * v + b[j];
            ar[j] = yv > 0 ? yv : 0;
        }
    }
}
SSL_CLONES(, ssl_bn_normalize_relu, (const float *restrict x, float *restrict act, float *restrict nr, int64_t n, int64_t h,
                                     const float *restrict mean, const float *restrict invStd, const float *restrict g,
                                     const float *restrict b),
           (x, act, nr, n, h, mean, invStd, g, b))

SSL_BODY void bn_infer_out_body(const float *restrict x, float *restrict y, int64_t n, int64_t h, const float *restrict mean,
                                const float *restrict sd, const float *restrict g, const float *restrict b) {
    for (int64_t r = 0; r < n; r++) {
        const float *restrict xr = x + r * h;
        float *restrict yr = y + r * h;
        for (int64_t j = 0; j < h; j++) yr[j] = g[j] * ((xr[j] - mean[j]) / sd[j]) + b[j];
    }
}
SSL_CLONES(static, bn_infer_out, (const float *restrict x, float *restrict y, int64_t n, int64_t h, const float *restrict mean,
                                  const float *restrict sd, const float *restrict g, const float *restrict b),
           (x, y, n, h, mean, sd, g, b))

SSL_BODY void bn_infer_in_body(float *restrict xy, int64_t n, int64_t h, const float *restrict mean, const float *restrict sd,
                               const float *restrict g, const float *restrict b) {
    for (int64_t r = 0; r < n; r++) {
        float *restrict xr = xy + r * h;
        for (int64_t j = 0; j < h; j++) xr[j] = g[j] * ((xr[j] - mean[j]) / sd[j]) + b[j];
    }
}
SSL_CLONES(static, bn_infer_in, (float *restrict xy, int64_t n, int64_t h, const float *restrict mean, const float *restrict sd,
                                 const float *restrict g, const float *restrict b),
           (xy, n, h, mean, sd, g, b))

void ssl_bn_infer(const float *x, float *y, int64_t rows, int64_t h, const float *restrict mean,
                  const float *restrict sd, const float *restrict gamma, const float *restrict beta) {
    if (x == y) bn_infer_in(y, rows, h, mean, sd, gamma, beta);
    else bn_infer_out(x, y, rows, h, mean, sd, gamma, beta);
}

SSL_BODY void ssl_bn_backward_sums_body(const float *restrict dy, const float *restrict nr, int64_t rows, int64_t h,
                                    double *restrict s1, double *restrict s2) {
    for (int64_t r = 0; r < rows; r++) {
        const float *restrict d = dy + r * h, *restrict nrr = nr + r * h;
        for (int64_t j = 0; j < h; j++) { float p = d[j] * nrr[j]; s1[j] += d[j]; s2[j] += p; }
    }
}
SSL_CLONES(, ssl_bn_backward_sums, (const float *restrict dy, const float *restrict nr, int64_t rows, int64_t h,
                                    double *restrict s1, double *restrict s2),
           (dy, nr, rows, h, s1, s2))

SSL_BODY void ssl_bn_backward_sums_relu_body(float *restrict dy, const float *restrict act, const float *restrict nr,
                                         int64_t rows, int64_t h, double *restrict s1, double *restrict s2) {
    for (int64_t r = 0; r < rows; r++) {
        float *restrict d = dy + r * h;
        const float *restrict ar = act + r * h, *restrict nrr = nr + r * h;
        for (int64_t j = 0; j < h; j++) {
            float v = ar[j] > 0 ? d[j] : 0;
            d[j] = v;
            float p = v * nrr[j];
            s1[j] += v;
            s2[j] += p;
        }
    }
}
SSL_CLONES(, ssl_bn_backward_sums_relu, (float *restrict dy, const float *restrict act, const float *restrict nr, int64_t rows,
                                         int64_t h, double *restrict s1, double *restrict s2),
           (dy, act, nr, rows, h, s1, s2))

SSL_BODY void bn_dx_out_body(const float *restrict dy, float *restrict dx, const float *restrict nr, int64_t n, int64_t h,
                             const float *restrict c, const float *restrict a, const float *restrict b) {
    for (int64_t r = 0; r < n; r++) {
        const float *restrict d = dy + r * h, *restrict nrr = nr + r * h;
        float *restrict o = dx + r * h;
        for (int64_t j = 0; j < h; j++) o[j] = c[j] * (d[j] - a[j] - nrr[j] * b[j]);
    }
}
SSL_CLONES(static, bn_dx_out, (const float *restrict dy, float *restrict dx, const float *restrict nr, int64_t n, int64_t h,
                               const float *restrict c, const float *restrict a, const float *restrict b),
           (dy, dx, nr, n, h, c, a, b))

SSL_BODY void bn_dx_in_body(float *restrict d, const float *restrict nr, int64_t n, int64_t h, const float *restrict c,
                            const float *restrict a, const float *restrict b) {
    for (int64_t r = 0; r < n; r++) {
        float *restrict dr = d + r * h;
        const float *restrict nrr = nr + r * h;
        for (int64_t j = 0; j < h; j++) dr[j] = c[j] * (dr[j] - a[j] - nrr[j] * b[j]);
    }
}
SSL_CLONES(static, bn_dx_in, (float *restrict d, const float *restrict nr, int64_t n, int64_t h, const float *restrict c,
                              const float *restrict a, const float *restrict b),
           (d, nr, n, h, c, a, b))

void ssl_bn_backward_dx(const float *dy, float *dx, const float *restrict nr, int64_t rows, int64_t h,
                        const float *restrict c, const float *restrict a, const float *restrict b) {
    if (dy == dx) bn_dx_in(dx, nr, rows, h, c, a, b);
    else bn_dx_out(dy, dx, nr, rows, h, c, a, b);
}

// SSLCore's fastExp and log1pSmall (Tensor/VectorMath.swift), operation for operation.
static inline float fast_exp(float x) {
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    const float magic = 12582912.0f;
    float t = x * 1.44269504f + magic;
    float n = t - magic;
    float r = (x - n * 0.693359375f) - n * -2.1219444e-4f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    uint32_t tb; __builtin_memcpy(&tb, &t, 4);
    uint32_t bits = (tb - 0x4B400000u + 127u) << 23;
    float scale; __builtin_memcpy(&scale, &bits, 4);
    return p * scale;
}

static inline float log1p_small(float e) { return two_atanh_series(e / (2.0f + e)); }

#define BERNOULLI_ROW_BODY                                                          \
    for (int64_t j = 0; j < d; j++) {                                               \
        float lj = l[j], xj = x[j];                                                 \
        float e = fast_exp(lj < 0 ? lj : -lj);                                      \
        float inv = 1.0f / (1.0f + e);                                              \
        float sig = lj >= 0 ? inv : e * inv;                                        \
        loss[j] = (lj > 0 ? lj : 0.0f) + log1p_small(e) - xj * lj;                  \
        g[j] = w * (sig - xj);                                                      \
    }

static void bernoulli_row_scalar(const float *restrict l, const float *restrict x, int64_t d, float w,
                                 float *restrict loss, float *restrict g) { BERNOULLI_ROW_BODY }
#if defined(__x86_64__)
__attribute__((target("avx512f"), min_vector_width(512)))
static void bernoulli_row_avx512(const float *restrict l, const float *restrict x, int64_t d, float w,
                                 float *restrict loss, float *restrict g) { BERNOULLI_ROW_BODY }
__attribute__((target("avx2")))
static void bernoulli_row_avx2(const float *restrict l, const float *restrict x, int64_t d, float w,
                               float *restrict loss, float *restrict g) { BERNOULLI_ROW_BODY }
#endif

void ssl_bernoulli_row(const float *restrict l, const float *restrict x, int64_t d, float w, float *restrict loss,
                       float *restrict g) {
#if defined(__x86_64__)
    int level = vector_level();
    if (level == 2) { bernoulli_row_avx512(l, x, d, w, loss, g); return; }
    if (level == 1) { bernoulli_row_avx2(l, x, d, w, loss, g); return; }
#endif
    bernoulli_row_scalar(l, x, d, w, loss, g);
}

void ssl_adam_direction(const float *restrict g, float *restrict m, float *restrict v, int64_t n, float scale, float clip,
                        float b1, float b2, float c1, float c2, float eps, float *restrict out) {
    for (int64_t i = 0; i < n; i++) {
        float gi = clampf(g[i] * scale, clip);
        float mi = b1 * m[i] + (1 - b1) * gi;
        float vi = b2 * v[i] + (1 - b2) * gi * gi;
        m[i] = mi; v[i] = vi;
        out[i] = (mi * c1) / (sqrtf(vi * c2) + eps);
    }
}

// MARK: - bf16 rounding
// SSLCore's `convertToBF16`: the upper 16 bits after adding 0x7FFF plus the lowest kept bit (nearest, ties to even), in
// integer arithmetic, so every path gives the same bits.
#define BF16_BODY                                                                   \
    for (int64_t i = 0; i < n; i++) {                                               \
        uint32_t bits;                                                              \
        __builtin_memcpy(&bits, src + i, 4);                                        \
        dst[i] = (uint16_t)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);          \
    }

static void bf16_scalar(const float *restrict src, uint16_t *restrict dst, int64_t n) { BF16_BODY }
#if defined(__x86_64__)
__attribute__((target("avx512f,avx512bw"), min_vector_width(512)))
static void bf16_avx512(const float *restrict src, uint16_t *restrict dst, int64_t n) { BF16_BODY }
__attribute__((target("avx2")))
static void bf16_avx2(const float *restrict src, uint16_t *restrict dst, int64_t n) { BF16_BODY }
#endif

void ssl_round_bf16(const float *restrict src, uint16_t *restrict dst, int64_t n) {
#if defined(__x86_64__)
    int level = vector_level();
    if (level == 2) { bf16_avx512(src, dst, n); return; }
    if (level == 1) { bf16_avx2(src, dst, n); return; }
#endif
    bf16_scalar(src, dst, n);
}
