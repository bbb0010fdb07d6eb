// oneDNN (Debian: libdnnl-dev, oneDNN 2.x; no pkg-config file) and the OpenMP runtime it is built with.
// The matmul set-up uses C arrays (dnnl_dims_t) and macros (DNNL_ARG_*) that Swift imports badly, so the
// few calls ssl-dist needs are wrapped here as static inline functions.
#include <oneapi/dnnl/dnnl.h>
#include <stdint.h>
#include <string.h>

// libgomp (oneDNN's CPU runtime on Debian): threads per process.
extern void omp_set_num_threads(int);
extern int omp_get_max_threads(void);

/// One cached matmul: C(m×n) = alpha·op(A)(m×k)·op(B)(k×n) + beta·C, row-major with leading dimensions,
/// inputs of type `in_type` (f32 or bf16), output f32. The memory objects get new data handles per call.
typedef struct {
    dnnl_primitive_t prim;
    dnnl_memory_t a, b, c;
    const char *impl;
} ssl_dnnl_matmul;

static inline dnnl_status_t ssl_dnnl_md(dnnl_memory_desc_t *md, int64_t rows, int64_t cols, int64_t row_stride,
                                        int64_t col_stride, dnnl_data_type_t dt) {
    dnnl_dims_t dims, strides;
    memset(dims, 0, sizeof dims); memset(strides, 0, sizeof strides);
    dims[0] = rows; dims[1] = cols; strides[0] = row_stride; strides[1] = col_stride;
    return dnnl_memory_desc_init_by_strides(md, 2, dims, dt, strides);
}

static inline dnnl_status_t ssl_dnnl_matmul_create(dnnl_engine_t engine, int trans_a, int trans_b, int64_t m, int64_t n,
                                                   int64_t k, int64_t lda, int64_t ldb, int64_t ldc, float alpha, float beta,
                                                   dnnl_data_type_t in_type, ssl_dnnl_matmul *out) {
    dnnl_status_t st;
    dnnl_memory_desc_t a_md, b_md, c_md;
    // op(A) is m×k: A stored m×k (stride lda, 1) or, transposed, k×m (element (i, p) at p·lda + i).
    if ((st = ssl_dnnl_md(&a_md, m, k, trans_a ? 1 : lda, trans_a ? lda : 1, in_type)) != dnnl_success) return st;
    if ((st = ssl_dnnl_md(&b_md, k, n, trans_b ? 1 : ldb, trans_b ? ldb : 1, in_type)) != dnnl_success) return st;
    if ((st = ssl_dnnl_md(&c_md, m, n, ldc, 1, dnnl_f32)) != dnnl_success) return st;
    dnnl_matmul_desc_t desc;
    if ((st = dnnl_matmul_desc_init(&desc, &a_md, &b_md, NULL, &c_md)) != dnnl_success) return st;
    dnnl_primitive_attr_t attr;
    if ((st = dnnl_primitive_attr_create(&attr)) != dnnl_success) return st;
    if (alpha != 1.0f) dnnl_primitive_attr_set_output_scales(attr, 1, 0, &alpha);
    dnnl_post_ops_t ops = NULL;
    if (beta != 0.0f) {
        dnnl_post_ops_create(&ops);
        dnnl_post_ops_append_sum(ops, beta);
        dnnl_primitive_attr_set_post_ops(attr, ops);
    }
    dnnl_primitive_desc_t pd;
    st = dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL);
    dnnl_primitive_attr_destroy(attr);
    if (ops) dnnl_post_ops_destroy(ops);
    if (st != dnnl_success) return st;
    st = dnnl_primitive_create(&out->prim, pd);
    dnnl_primitive_desc_destroy(pd);
    if (st != dnnl_success) return st;
    // The implementation's name, owned by the primitive's own descriptor (alive as long as the primitive).
    const_dnnl_primitive_desc_t own;
    out->impl = "";
    if (dnnl_primitive_get_primitive_desc(out->prim, &own) == dnnl_success)
        dnnl_primitive_desc_query(own, dnnl_query_impl_info_str, 0, &out->impl);
    if ((st = dnnl_memory_create(&out->a, &a_md, engine, DNNL_MEMORY_NONE)) != dnnl_success) return st;
    if ((st = dnnl_memory_create(&out->b, &b_md, engine, DNNL_MEMORY_NONE)) != dnnl_success) return st;
    return dnnl_memory_create(&out->c, &c_md, engine, DNNL_MEMORY_NONE);
}

static inline dnnl_status_t ssl_dnnl_matmul_run(ssl_dnnl_matmul *mm, dnnl_stream_t stream, const void *a, const void *b, float *c) {
    dnnl_status_t st;
    if ((st = dnnl_memory_set_data_handle_v2(mm->a, (void *)a, stream)) != dnnl_success) return st;
    if ((st = dnnl_memory_set_data_handle_v2(mm->b, (void *)b, stream)) != dnnl_success) return st;
    if ((st = dnnl_memory_set_data_handle_v2(mm->c, c, stream)) != dnnl_success) return st;
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, mm->a}, {DNNL_ARG_WEIGHTS, mm->b}, {DNNL_ARG_DST, mm->c}};
    if ((st = dnnl_primitive_execute(mm->prim, stream, 3, args)) != dnnl_success) return st;
    return dnnl_stream_wait(stream);
}

static inline void ssl_dnnl_matmul_destroy(ssl_dnnl_matmul *mm) {
    if (mm->a) dnnl_memory_destroy(mm->a);
    if (mm->b) dnnl_memory_destroy(mm->b);
    if (mm->c) dnnl_memory_destroy(mm->c);
    if (mm->prim) dnnl_primitive_destroy(mm->prim);
}

/// Whether oneDNN multiplies bf16 faster than fp32 on this CPU, decided from the hardware alone (so every rank and
/// every run decides alike): with AMX tiles (Intel Sapphire Rapids and later, AMX enabled) it does; with AVX512-BF16
/// dot products it does on AMD (Zen 4/5 run vdpbf16ps at full width: bf16 products 1.9x fp32 measured) but not on
/// Intel cores without AMX (vdpbf16ps at a fraction of the FMA rate: 0.5x measured on a Xeon VM with AMX hidden).
static inline int ssl_dnnl_bf16_is_faster(void) {
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    if (isa == dnnl_cpu_isa_avx512_core_amx) return 1;
    if (isa != dnnl_cpu_isa_avx512_core_bf16) return 0;
#if defined(__x86_64__) || defined(__i386__)
    unsigned int eax = 0, ebx = 0, ecx = 0, edx = 0;
    __asm__ volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(0), "c"(0));
    return ebx == 0x68747541u && edx == 0x69746e65u && ecx == 0x444d4163u;  /* "AuthenticAMD" */
#else
    return 0;
#endif
}
