// Peak arithmetic probes of this CPU: independent FMA chains in registers, no memory traffic, so the rate is
// what the core's vector units can do. Each is compiled for its instruction set and chosen at run time.
#include <stdint.h>

/// 1 when the CPU has fp32 FMAs of `width` bits (256: AVX2+FMA, 512: AVX-512F), else 0.
int ssl_peak_has_fp32(int width);
/// 1 when the CPU has AVX512-BF16 (vdpbf16ps), else 0.
int ssl_peak_has_bf16(void);
/// Runs `iterations` rounds of fp32 FMAs `width` bits wide; returns the FLOPs done (2 per FMA lane), 0 when the
/// CPU lacks them. `sink` receives a value so the work cannot be elided. (Some cores split 512-bit operations
/// in two, so the wider one is not always faster: measure both.)
double ssl_peak_fp32(int width, int64_t iterations, float *sink);
/// Runs `iterations` rounds of bf16 dot products (vdpbf16ps, fp32 accumulation); returns the FLOPs done
/// (2 per bf16 pair). 0 when the CPU has no AVX512-BF16.
double ssl_peak_bf16(int64_t iterations, float *sink);
/// 1 when the CPU has AMX tiles with bf16 (TDPBF16PS) and Linux granted this process the tile registers, else 0.
int ssl_peak_has_amx_bf16(void);
/// Runs `iterations` rounds of four AMX bf16 tile products (16 x 16 x 32 each, fp32 accumulation, registers only);
/// returns the FLOPs done. 0 without AMX.
double ssl_peak_amx_bf16(int64_t iterations, float *sink);
