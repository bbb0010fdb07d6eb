#include "peak.h"
#include <cpuid.h>
#include <immintrin.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

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

// AMX: the tile unit of Intel Sapphire Rapids and later. Linux hands out the tile registers only on request
// (arch_prctl ARCH_REQ_XCOMP_PERM for XTILEDATA), as oneDNN also does before its AMX kernels.
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

int ssl_peak_has_amx_bf16(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    const int tile = (d >> 24) & 1, bf16 = (d >> 22) & 1;
    if (!tile || !bf16) return 0;
    return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
}

/// The 64-byte tile configuration of palette 1: 16 rows of 64 bytes in each of tiles 0-7.
struct tile_config {
    uint8_t palette, start_row, reserved[14];
    uint16_t bytes_per_row[16];
    uint8_t rows[16];
};

__attribute__((target("amx-tile,amx-bf16")))
static double bf16_amx(int64_t n, float *sink) {
    struct tile_config config;
    memset(&config, 0, sizeof config);
    config.palette = 1;
    for (int t = 0; t < 8; t++) { config.bytes_per_row[t] = 64; config.rows[t] = 16; }
    _tile_loadconfig(&config);
    uint16_t sources[16 * 32];
    for (int i = 0; i < 16 * 32; i++) sources[i] = i % 2 ? 0x2F80 : 0x3F80;  // ~2e-10, 1.0
    float out[16 * 16];
    _tile_loadd(4, sources, 64);
    _tile_loadd(5, sources, 64);
    _tile_loadd(6, sources, 64);
    _tile_loadd(7, sources, 64);
    _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
    // Four independent accumulators (tiles 0-3) from two A tiles and two B tiles, all in registers.
    for (int64_t it = 0; it < n; it++) {
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    _tile_stored(0, out, 64);
    *sink = out[0];
    _tile_stored(3, out, 64);
    *sink += out[255];
    _tile_release();
    return 2.0 * 16 * 16 * 32 * 4 * (double)n;  // each product: 16 x 16 outputs, 32 bf16 pairs each
}

double ssl_peak_amx_bf16(int64_t n, float *sink) {
    if (!ssl_peak_has_amx_bf16()) { *sink = 0; return 0; }
    return bf16_amx(n, sink);
}
