// 2·atanh(s) = ln((1 + s)/(1 − s)) by its series to s¹³ (|s| ≤ 1/3 in both uses: kernels.c's log1p_small and
// normals.c's log_positive), evaluated in one fixed order without fused multiply-adds, so every instruction set gives
// the same bits.
#pragma once
#pragma STDC FP_CONTRACT OFF

static inline float two_atanh_series(float s) {
    float s2 = s * s;
    float q = 1.0f / 13.0f;
    q = q * s2 + 1.0f / 11.0f;
    q = q * s2 + 1.0f / 9.0f;
    q = q * s2 + 1.0f / 7.0f;
    q = q * s2 + 1.0f / 5.0f;
    q = q * s2 + 1.0f / 3.0f;
    q = q * s2 + 1.0f;
    return 2.0f * s * q;
}
