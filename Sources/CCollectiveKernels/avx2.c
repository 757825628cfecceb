// The AVX2 (+ F16C) loops of collective_kernels_cpu.h. Each function is compiled for that
// instruction set alone (clang's per-function target attribute), so the rest of the package
// keeps the default x86-64 target; CollectiveKernels calls them only on a CPU that has it.
//
// Each loop is the Swift vector body of `ReductionKernels._reduce` (CollectiveKernels) at twice
// the SSE2 register width, with the same operations in the same order, so that the results
// are the same bits:
// - float, double: `a + b`, `a * b`; minimum and maximum with the selects of
//   `_ieeeMinimumLanes` / `_ieeeMaximumLanes` (Float+ReductionElement.swift): IEEE 754-2019
//   (NaN wins, -0 < +0), not what VMINPS/VMAXPS alone return.
// - int32: wrapping add and multiply (low 32 bits), signed min and max.
// - half: VCVTPH2PS widens exactly, the operator runs in binary32 as for float, and VCVTPS2PH
//   with immediate 0 rounds to nearest even once (NaN stays NaN, quiet, with its sign and top
//   payload bits): what the portable conversions of HalfPrecisionConversion.swift compute.
// - bfloat16: widened by a shift or a mask (even elements in the low halves of the 32-bit
//   lanes, odd ones in the high halves, as the Swift loops load them), rounded with the integer
//   round-to-nearest-even of `_floatToBFloat16HighBits` (NaN lanes get the quiet bit instead).
//
// Open MPI's ompi/mca/op/avx (op_avx_functions.c) is the model for the run-time choice; its
// floating-point min/max are the hardware's, whose NaN and signed-zero answers depend on the
// operand order, which is why these are not.
#include "collective_kernels_cpu.h"
#include "ck_entry.h"

#if defined(__x86_64__) && defined(__clang__)

#include <immintrin.h>
#include <stdint.h>

#define CK_AVX2 __attribute__((target("avx2,f16c")))
#define CK_INLINE static inline __attribute__((always_inline, target("avx2,f16c")))

// MARK: - Lanes

CK_INLINE __m256 ck_load_ps(const char *p) { return _mm256_loadu_ps((const float *)p); }
CK_INLINE __m256d ck_load_pd(const char *p) { return _mm256_loadu_pd((const double *)p); }
CK_INLINE __m256i ck_load_si(const char *p) { return _mm256_loadu_si256((const __m256i *)p); }

/// IEEE 754-2019 minimum: `(a < b ? a : b) | (a == b or unordered ? a : 0)` (bits).
CK_INLINE __m256 ck_minimum_ps(__m256 a, __m256 b) {
    __m256 less = _mm256_cmp_ps(a, b, _CMP_LT_OQ);
    __m256 fix = _mm256_cmp_ps(a, b, _CMP_EQ_UQ);
    return _mm256_or_ps(_mm256_blendv_ps(b, a, less), _mm256_and_ps(fix, a));
}

/// IEEE 754-2019 maximum: `((a > b ? a : b) & (a == b ? a : ~0)) | (a is NaN ? a : 0)` (bits).
CK_INLINE __m256 ck_maximum_ps(__m256 a, __m256 b) {
    __m256 greater = _mm256_cmp_ps(a, b, _CMP_GT_OQ);
    __m256 equal = _mm256_cmp_ps(a, b, _CMP_EQ_OQ);
    __m256 aIsNaN = _mm256_cmp_ps(a, a, _CMP_UNORD_Q);
    __m256 notEqualOrA = _mm256_or_ps(_mm256_andnot_ps(equal, _mm256_castsi256_ps(_mm256_set1_epi32(-1))), a);
    return _mm256_or_ps(_mm256_and_ps(_mm256_blendv_ps(b, a, greater), notEqualOrA), _mm256_and_ps(aIsNaN, a));
}

CK_INLINE __m256d ck_minimum_pd(__m256d a, __m256d b) {
    __m256d less = _mm256_cmp_pd(a, b, _CMP_LT_OQ);
    __m256d fix = _mm256_cmp_pd(a, b, _CMP_EQ_UQ);
    return _mm256_or_pd(_mm256_blendv_pd(b, a, less), _mm256_and_pd(fix, a));
}

CK_INLINE __m256d ck_maximum_pd(__m256d a, __m256d b) {
    __m256d greater = _mm256_cmp_pd(a, b, _CMP_GT_OQ);
    __m256d equal = _mm256_cmp_pd(a, b, _CMP_EQ_OQ);
    __m256d aIsNaN = _mm256_cmp_pd(a, a, _CMP_UNORD_Q);
    __m256d notEqualOrA = _mm256_or_pd(_mm256_andnot_pd(equal, _mm256_castsi256_pd(_mm256_set1_epi64x(-1))), a);
    return _mm256_or_pd(_mm256_and_pd(_mm256_blendv_pd(b, a, greater), notEqualOrA), _mm256_and_pd(aIsNaN, a));
}

CK_INLINE __m256 ck_combine_ps(int op, __m256 a, __m256 b) {
    switch (op) {
    case CK_OP_SUM: return _mm256_add_ps(a, b);
    case CK_OP_PROD: return _mm256_mul_ps(a, b);
    case CK_OP_MIN: return ck_minimum_ps(a, b);
    default: return ck_maximum_ps(a, b);
    }
}

CK_INLINE __m256d ck_combine_pd(int op, __m256d a, __m256d b) {
    switch (op) {
    case CK_OP_SUM: return _mm256_add_pd(a, b);
    case CK_OP_PROD: return _mm256_mul_pd(a, b);
    case CK_OP_MIN: return ck_minimum_pd(a, b);
    default: return ck_maximum_pd(a, b);
    }
}

CK_INLINE __m256i ck_combine_epi32(int op, __m256i a, __m256i b) {
    switch (op) {
    case CK_OP_SUM: return _mm256_add_epi32(a, b);
    case CK_OP_PROD: return _mm256_mullo_epi32(a, b);
    case CK_OP_MIN: return _mm256_min_epi32(a, b);
    default: return _mm256_max_epi32(a, b);
    }
}

/// Eight halves, widened exactly.
CK_INLINE __m256 ck_load_ph(const char *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }

/// Eight floats rounded to halves (to nearest even) and stored.
CK_INLINE void ck_store_ph(char *p, __m256 x) {
    _mm_storeu_si128((__m128i *)p, _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT));
}

/// Bfloat16 rounding of the floats in `x` into the high 16 bits of each lane (the low 16 bits
/// are left over): `bits + 0x7FFF + bit 16`, except in NaN lanes, which get the quiet bit.
CK_INLINE __m256i ck_round_bf16_high(__m256 x) {
    __m256i bits = _mm256_castps_si256(x);
    __m256i ordered = _mm256_castps_si256(_mm256_cmp_ps(x, x, _CMP_ORD_Q));
    __m256i bias = _mm256_and_si256(
        _mm256_add_epi32(_mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1)), _mm256_set1_epi32(0x7FFF)),
        ordered);
    __m256i quiet = _mm256_andnot_si256(ordered, _mm256_set1_epi32(0x00400000));
    return _mm256_add_epi32(_mm256_or_si256(bits, quiet), bias);
}

/// The same for lanes that hold no NaN (every lane of a sum of two bfloat16 vectors, see
/// `_bfloat16SumPair`).
CK_INLINE __m256i ck_round_bf16_high_not_nan(__m256 x) {
    __m256i bits = _mm256_castps_si256(x);
    return _mm256_add_epi32(bits, _mm256_add_epi32(_mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1)),
                                                   _mm256_set1_epi32(0x7FFF)));
}

/// Sixteen bfloat16 `a op b` (eight 32-bit lanes: even elements low, odd ones high).
CK_INLINE __m256i ck_combine_bf16(int op, __m256i a, __m256i b) {
    const __m256i high = _mm256_set1_epi32((int)0xFFFF0000u);
    __m256 even = ck_combine_ps(op, _mm256_castsi256_ps(_mm256_slli_epi32(a, 16)), _mm256_castsi256_ps(_mm256_slli_epi32(b, 16)));
    __m256 odd = ck_combine_ps(op, _mm256_castsi256_ps(_mm256_and_si256(a, high)), _mm256_castsi256_ps(_mm256_and_si256(b, high)));
    if (op == CK_OP_SUM) {
        return _mm256_or_si256(_mm256_srli_epi32(ck_round_bf16_high_not_nan(even), 16),
                               _mm256_and_si256(ck_round_bf16_high_not_nan(odd), high));
    }
    return _mm256_or_si256(_mm256_srli_epi32(ck_round_bf16_high(even), 16), _mm256_and_si256(ck_round_bf16_high(odd), high));
}

// MARK: - Loops (`count` covers whole 64-byte steps)

// float, double and int32 take four registers per operand and step, then two for a last 64
// bytes: on the Zen 4 core these were measured on, in-place float sums of 1-4 MiB (past L2)
// reached 146-147 GB/s four-wide against 139-140 two-wide and Open MPI's 138-144 (its AVX-512
// loop, same process, docs/Performance.md "Kernels: four registers a step"); the same in L1.
#define CK_LOOP_WIDE(NAME, T, LOAD, STORE, COMBINE)                                                  \
    CK_INLINE void NAME(int op, char *dst, const char *a, const char *b, size_t count) {          \
        size_t end = count * sizeof(T), at = 0;                                                    \
        for (; at + 128 <= end; at += 128) {                                                       \
            __typeof__(LOAD(a)) a0 = LOAD(a + at), a1 = LOAD(a + at + 32), a2 = LOAD(a + at + 64), \
                                a3 = LOAD(a + at + 96);                                            \
            __typeof__(LOAD(a)) b0 = LOAD(b + at), b1 = LOAD(b + at + 32), b2 = LOAD(b + at + 64), \
                                b3 = LOAD(b + at + 96);                                            \
            STORE(dst + at, COMBINE(op, a0, b0));                                                  \
            STORE(dst + at + 32, COMBINE(op, a1, b1));                                             \
            STORE(dst + at + 64, COMBINE(op, a2, b2));                                             \
            STORE(dst + at + 96, COMBINE(op, a3, b3));                                             \
        }                                                                                          \
        if (at < end) {                                                                            \
            __typeof__(LOAD(a)) a0 = LOAD(a + at), a1 = LOAD(a + at + 32);                         \
            __typeof__(LOAD(a)) b0 = LOAD(b + at), b1 = LOAD(b + at + 32);                         \
            STORE(dst + at, COMBINE(op, a0, b0));                                                  \
            STORE(dst + at + 32, COMBINE(op, a1, b1));                                             \
        }                                                                                          \
    }

CK_INLINE void ck_store_ps(char *p, __m256 v) { _mm256_storeu_ps((float *)p, v); }
CK_INLINE void ck_store_pd(char *p, __m256d v) { _mm256_storeu_pd((double *)p, v); }
CK_INLINE void ck_store_si(char *p, __m256i v) { _mm256_storeu_si256((__m256i *)p, v); }

CK_LOOP_WIDE(ck_loop_f32, float, ck_load_ps, ck_store_ps, ck_combine_ps)
CK_LOOP_WIDE(ck_loop_f64, double, ck_load_pd, ck_store_pd, ck_combine_pd)
CK_LOOP_WIDE(ck_loop_i32, int32_t, ck_load_si, ck_store_si, ck_combine_epi32)

CK_INLINE void ck_loop_f16(int op, char *dst, const char *a, const char *b, size_t count) {
    for (size_t at = 0, end = count * 2; at < end; at += 32) {
        __m256 a0 = ck_load_ph(a + at), a1 = ck_load_ph(a + at + 16);
        __m256 b0 = ck_load_ph(b + at), b1 = ck_load_ph(b + at + 16);
        ck_store_ph(dst + at, ck_combine_ps(op, a0, b0));
        ck_store_ph(dst + at + 16, ck_combine_ps(op, a1, b1));
    }
}

CK_INLINE void ck_loop_bf16(int op, char *dst, const char *a, const char *b, size_t count) {
    for (size_t at = 0, end = count * 2; at < end; at += 64) {
        __m256i a0 = ck_load_si(a + at), a1 = ck_load_si(a + at + 32);
        __m256i b0 = ck_load_si(b + at), b1 = ck_load_si(b + at + 32);
        _mm256_storeu_si256((__m256i *)(dst + at), ck_combine_bf16(op, a0, b0));
        _mm256_storeu_si256((__m256i *)(dst + at + 32), ck_combine_bf16(op, a1, b1));
    }
}

// MARK: - Entry points: one loop per operator, the operator a constant inside it

CK_DEFINE_ENTRY(CK_AVX2, ck_avx2_reduce_f32, ck_loop_f32)
CK_DEFINE_ENTRY(CK_AVX2, ck_avx2_reduce_f64, ck_loop_f64)
CK_DEFINE_ENTRY(CK_AVX2, ck_avx2_reduce_i32, ck_loop_i32)
CK_DEFINE_ENTRY(CK_AVX2, ck_avx2_reduce_f16, ck_loop_f16)
CK_DEFINE_ENTRY(CK_AVX2, ck_avx2_reduce_bf16, ck_loop_bf16)

#else

// Not x86-64 (or not clang): ck_cpu_instruction_set() never returns AVX2, so these are never
// called; they exist so that the Swift side links everywhere.
#include <stdlib.h>

void ck_avx2_reduce_f32(int op, void *dst, const void *a, const void *b, size_t count) { abort(); }
void ck_avx2_reduce_f64(int op, void *dst, const void *a, const void *b, size_t count) { abort(); }
void ck_avx2_reduce_i32(int op, void *dst, const void *a, const void *b, size_t count) { abort(); }
void ck_avx2_reduce_f16(int op, void *dst, const void *a, const void *b, size_t count) { abort(); }
void ck_avx2_reduce_bf16(int op, void *dst, const void *a, const void *b, size_t count) { abort(); }

#endif
