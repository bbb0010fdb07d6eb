#include "peak.h"
#include <immintrin.h>

// 16 independent accumulators cover the FMA latency (4 cycles) times the FMA pipes (2) with room to spare.
#define CHAINS 16

__attribute__((target("avx512f")))
static double fp32_512(int64_t n, float *sink) {
    __m512 acc[CHAINS];
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_set1_ps(0.001f * (float)i);
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (int64_t it = 0; it < n; it++) {
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    }
    __m512 s = acc[0];
    for (int i = 1; i < CHAINS; i++) s = _mm512_add_ps(s, acc[i]);
    *sink = _mm512_reduce_add_ps(s);
    return 2.0 * 16 * CHAINS * (double)n;
}

__attribute__((target("avx2,fma")))
static double fp32_256(int64_t n, float *sink) {
    __m256 acc[CHAINS];
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_set1_ps(0.001f * (float)i);
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (int64_t it = 0; it < n; it++) {
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    }
    __m256 s = acc[0];
    for (int i = 1; i < CHAINS; i++) s = _mm256_add_ps(s, acc[i]);
    float out[8];
    _mm256_storeu_ps(out, s);
    *sink = out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
    return 2.0 * 8 * CHAINS * (double)n;
}

__attribute__((target("avx512f,avx512bf16")))
static double bf16_512(int64_t n, float *sink) {
    __m512 acc[CHAINS];
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_set1_ps(0.001f * (float)i);
    const __m512bh a = (__m512bh)_mm512_set1_epi16(0x3F80), b = (__m512bh)_mm512_set1_epi16(0x2F80);  // 1.0, ~2e-10
    for (int64_t it = 0; it < n; it++) {
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
    }
    __m512 s = acc[0];
    for (int i = 1; i < CHAINS; i++) s = _mm512_add_ps(s, acc[i]);
    *sink = _mm512_reduce_add_ps(s);
    return 2.0 * 32 * CHAINS * (double)n;  // 16 lanes × 2 pairs per lane
}

int ssl_peak_has_fp32(int width) {
    __builtin_cpu_init();
    if (width == 512) return __builtin_cpu_supports("avx512f");
    if (width == 256) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return 0;
}

int ssl_peak_has_bf16(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16");
}

double ssl_peak_fp32(int width, int64_t n, float *sink) {
    if (!ssl_peak_has_fp32(width)) { *sink = 0; return 0; }
    return width == 512 ? fp32_512(n, sink) : fp32_256(n, sink);
}

double ssl_peak_bf16(int64_t n, float *sink) {
    if (!ssl_peak_has_bf16()) { *sink = 0; return 0; }
    return bf16_512(n, sink);
}
