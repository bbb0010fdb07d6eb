// Which vector clones of the kernels this CPU runs, decided once per process: 2 AVX-512 (F, BW and DQ, which every
// AVX-512 clone here may use), 1 AVX2, 0 neither. Every clone computes the same operations lane by lane, so the
// choice changes the speed, never the bits.
#pragma once

/// `ssl_cap_vector_level`'s cap (kernels.c); −1: none.
extern int ssl_vector_level_cap;

static inline int vector_level(void) {
#if defined(__x86_64__)
    static int level = -1;
    if (level < 0) {
        __builtin_cpu_init();
        level = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") ? 2
              : __builtin_cpu_supports("avx2") ? 1 : 0;
    }
    int cap = ssl_vector_level_cap;
    return cap >= 0 && cap < level ? cap : level;
#else
    return 0;
#endif
}
