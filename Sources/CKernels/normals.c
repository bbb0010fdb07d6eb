#include "normals.h"
// Products and sums round separately (no fused multiply-add), so every path gives the same bits.
#pragma STDC FP_CONTRACT OFF
#include <math.h>
#include "two_atanh.h"
#include "vector_level.h"

// Philox4x32-10 (SSLCore's `Philox.block`), one block.
#define PHILOX_BLOCK(x0, x1, x2, x3, key0, key1)                                            \
    do {                                                                                    \
        uint32_t rk0 = (key0), rk1 = (key1);                                                \
        for (int round = 0; round < 10; round++) {                                          \
            uint64_t p0 = (uint64_t)0xD2511F53u * x0, p1 = (uint64_t)0xCD9E8D57u * x2;      \
            uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;                        \
            uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;                        \
            uint32_t y0 = hi1 ^ x1 ^ rk0, y2 = hi0 ^ x3 ^ rk1;                              \
            x0 = y0; x1 = lo1; x2 = y2; x3 = lo0;                                           \
            rk0 += 0x9E3779B9u; rk1 += 0xBB67AE85u;                                         \
        }                                                                                   \
    } while (0)

// SSLCore's `unitFloat`: 24 random bits, in (0, 1).
static inline float unit_float(uint32_t u) { return ((float)(u >> 8) + 0.5f) * (1.0f / 16777216.0f); }

// ln x for a positive normal x: x = m·2^e with m in [√½, √2), ln m = 2 atanh s with s = (m − 1)/(m + 1), |s| ≤ 0.172,
// whose series to s¹³ leaves an error below 2e-11.
static inline float log_positive(float x) {
    uint32_t b;
    __builtin_memcpy(&b, &x, 4);
    int32_t e = (int32_t)(b >> 23) - 127;
    uint32_t mb = (b & 0x7FFFFFu) | 0x3F800000u;
    float m;
    __builtin_memcpy(&m, &mb, 4);
    int big = m > 1.41421356f;
    m = big ? m * 0.5f : m;
    e = big ? e + 1 : e;
    float fe = (float)e;
    return fe * 0.693359375f + (fe * -2.12194440e-4f + two_atanh_series((m - 1.0f) / (m + 1.0f)));
}

// (cos 2πt, sin 2πt) for t in (0, 1): t = (k + f)/4 with k = round(4t) and f in [−½, ½], so 2πt = k·π/2 + φ with
// |φ| ≤ π/4, where the Taylor series to φ⁹ (sin) and φ¹⁰ (cos) are within 1e-9; the quadrant k mod 4 rotates them.
static inline void cos_sin_turn(float t, float *c, float *s) {
    float q = t * 4.0f;
    float kf = rintf(q);
    float phi = (q - kf) * 1.57079637f, p2 = phi * phi;
    float sp = -1.0f / 5040.0f + p2 * (1.0f / 362880.0f);
    sp = 1.0f / 120.0f + p2 * sp;
    sp = -1.0f / 6.0f + p2 * sp;
    sp = phi + phi * (p2 * sp);
    float cp = 1.0f / 40320.0f + p2 * (-1.0f / 3628800.0f);
    cp = -1.0f / 720.0f + p2 * cp;
    cp = 1.0f / 24.0f + p2 * cp;
    cp = -0.5f + p2 * cp;
    cp = 1.0f + p2 * cp;
    int k = (int)kf & 3;
    float co = (k & 1) ? sp : cp, si = (k & 1) ? cp : sp;
    *c = (k == 1 || k == 2) ? -co : co;
    *s = (k >= 2) ? -si : si;
}

// 16 blocks (64 values) at a time into `chunk`, a whole vector of AVX-512 lanes, so no block runs in a scalar remainder.
// `__builtin_elementwise_sqrt` is sqrtf without errno (its argument is never negative), which lets the loop vectorise.
#define CHUNK_BLOCKS 16
#define NORMALS_CHUNK_BODY                                                                  \
    for (int i = 0; i < CHUNK_BLOCKS; i++) {                                                \
        uint32_t x0 = block0 + (uint32_t)i, x1 = c1, x2 = c2, x3 = c3;                      \
        PHILOX_BLOCK(x0, x1, x2, x3, k0, k1);                                               \
        float r1 = __builtin_elementwise_sqrt(-2.0f * log_positive(unit_float(x0)));        \
        float r2 = __builtin_elementwise_sqrt(-2.0f * log_positive(unit_float(x2)));        \
        float ca, sa, cb, sb;                                                               \
        cos_sin_turn(unit_float(x1), &ca, &sa);                                             \
        cos_sin_turn(unit_float(x3), &cb, &sb);                                             \
        chunk[4 * i] = r1 * ca;                                                             \
        chunk[4 * i + 1] = r1 * sa;                                                         \
        chunk[4 * i + 2] = r2 * cb;                                                         \
        chunk[4 * i + 3] = r2 * sb;                                                         \
    }

static void normals_scalar(uint32_t k0, uint32_t k1, uint32_t block0, uint32_t c1, uint32_t c2, uint32_t c3,
                           float *restrict chunk) { NORMALS_CHUNK_BODY }
#if defined(__x86_64__)
__attribute__((target("avx512f,avx512dq"), min_vector_width(512)))
static void normals_avx512(uint32_t k0, uint32_t k1, uint32_t block0, uint32_t c1, uint32_t c2, uint32_t c3,
                           float *restrict chunk) { NORMALS_CHUNK_BODY }
__attribute__((target("avx2")))
static void normals_avx2(uint32_t k0, uint32_t k1, uint32_t block0, uint32_t c1, uint32_t c2, uint32_t c3,
                         float *restrict chunk) { NORMALS_CHUNK_BODY }
#endif

void ssl_philox_normals(uint32_t k0, uint32_t k1, uint32_t block0, uint32_t c1, uint32_t c2, uint32_t c3,
                        float *out, int64_t n, int level) {
    if (level < 0 || level > vector_level()) level = vector_level();
    float chunk[4 * CHUNK_BLOCKS] __attribute__((aligned(64)));
    for (int64_t done = 0; done < n; done += 4 * CHUNK_BLOCKS, block0 += CHUNK_BLOCKS) {
        int64_t take = n - done < 4 * CHUNK_BLOCKS ? n - done : 4 * CHUNK_BLOCKS;
        float *to = take == 4 * CHUNK_BLOCKS ? out + done : chunk;
#if defined(__x86_64__)
        if (level == 2) normals_avx512(k0, k1, block0, c1, c2, c3, to);
        else if (level == 1) normals_avx2(k0, k1, block0, c1, c2, c3, to);
        else
#endif
            normals_scalar(k0, k1, block0, c1, c2, c3, to);
        if (to == chunk) for (int64_t j = 0; j < take; j++) out[done + j] = chunk[j];
    }
}
