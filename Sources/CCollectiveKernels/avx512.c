// The AVX-512 loops of collective_kernels_cpu.h, for bfloat16: AVX-512 F, BW, VL and DQ
// (`ck_avx512_reduce_bf16`), and AVX-512 BF16 for the sum (`ck_avx512bf16_reduce_bf16`). Each
// function carries clang's per-function target attribute, as in avx2.c, so the rest of the
// package keeps the default x86-64 target and these run only on a CPU that has the
// instructions.
//
// Only bfloat16 has 512-bit loops. On the AMD Zen 4 core these were measured on, which runs a
// 512-bit operation as two 256-bit halves, the AVX2 loops of float, double and int32 were
// faster from L1 and from DRAM (and 5% slower in L2), and the 256-bit half conversions were
// faster than the 512-bit ones (docs/Performance.md, "Kernels: AVX-512 for bfloat16"), so
// those types keep the AVX2 loops at every level. Bfloat16 widens and rounds with integer
// operations, which 512-bit registers and masks do in fewer instructions.
//
// They compute what the AVX2 loop (avx2.c) and the Swift vector body compute, bit for bit:
// - every operator: widened by a shift or a mask, combined in binary32 (IEEE 754-2019 minimum
//   and maximum with the same selects as avx2.c, written with mask registers), and rounded
//   with the integer round-to-nearest-even of `_floatToBFloat16HighBits`.
// - bfloat16 sum with AVX-512 BF16 (`ck_avx512bf16_reduce_bf16`): VCVTNE2PS2BF16 rounds to
//   nearest even in one instruction, and for every binary32 sum that is not subnormal it gives
//   the integer rounding's bits (a NaN keeps its sign and top payload bits, quiet). It treats
//   a subnormal input as zero (Intel SDM vol. 2, VCVTNE2PS2BF16: "denormal inputs treated as
//   zero"), so a block holding a subnormal sum takes the integer rounding instead, found with
//   VFPCLASSPS: the one case where the two differ is checked, not trusted.
#include "collective_kernels_cpu.h"
#include "ck_entry.h"

#if defined(__x86_64__) && defined(__clang__)

#include <immintrin.h>
#include <stdint.h>

#define CK_AVX512_FEATURES "avx512f,avx512bw,avx512vl,avx512dq,avx2,f16c"
#define CK_AVX512 __attribute__((target(CK_AVX512_FEATURES)))
#define CK_INLINE static inline __attribute__((always_inline, target(CK_AVX512_FEATURES)))
#define CK_BF16 __attribute__((target(CK_AVX512_FEATURES ",avx512bf16")))
#define CK_BF16_INLINE static inline __attribute__((always_inline, target(CK_AVX512_FEATURES ",avx512bf16")))

// MARK: - Lanes

/// IEEE 754-2019 minimum: `(a < b ? a : b) | (a == b or unordered ? a : 0)` (bits).
CK_INLINE __m512 ck_minimum_ps(__m512 a, __m512 b) {
    __m512 chosen = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), b, a);
    return _mm512_or_ps(chosen, _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(a, b, _CMP_EQ_UQ), a));
}

/// IEEE 754-2019 maximum: `((a > b ? a : b) & (a == b ? a : ~0)) | (a is NaN ? a : 0)` (bits).
CK_INLINE __m512 ck_maximum_ps(__m512 a, __m512 b) {
    __m512 chosen = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_GT_OQ), b, a);
    chosen = _mm512_mask_and_ps(chosen, _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ), chosen, a);
    return _mm512_or_ps(chosen, _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q), a));
}

CK_INLINE __m512 ck_combine_ps(int op, __m512 a, __m512 b) {
    switch (op) {
    case CK_OP_SUM: return _mm512_add_ps(a, b);
    case CK_OP_PROD: return _mm512_mul_ps(a, b);
    case CK_OP_MIN: return ck_minimum_ps(a, b);
    default: return ck_maximum_ps(a, b);
    }
}

/// Bfloat16 rounding of the floats in `x` into the high 16 bits of each lane (the low 16 bits
/// are left over): `bits + 0x7FFF + bit 16`, except in NaN lanes, which get the quiet bit.
CK_INLINE __m512i ck_round_bf16_high(__m512 x) {
    __m512i bits = _mm512_castps_si512(x);
    __mmask16 ordered = _mm512_cmp_ps_mask(x, x, _CMP_ORD_Q);
    __m512i bias = _mm512_maskz_add_epi32(ordered, _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1)),
                                          _mm512_set1_epi32(0x7FFF));
    __m512i quieted = _mm512_mask_or_epi32(bits, (__mmask16)~ordered, bits, _mm512_set1_epi32(0x00400000));
    return _mm512_add_epi32(quieted, bias);
}

/// The same for lanes that hold no NaN (every lane of a sum of two bfloat16 vectors, see
/// `_bfloat16SumPair`).
CK_INLINE __m512i ck_round_bf16_high_not_nan(__m512 x) {
    __m512i bits = _mm512_castps_si512(x);
    return _mm512_add_epi32(bits, _mm512_add_epi32(_mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1)),
                                                   _mm512_set1_epi32(0x7FFF)));
}

/// `(even >> 16) | (odd & 0xFFFF0000)`: the rounded high halves back into sixteen-bit elements.
CK_INLINE __m512i ck_pack_bf16(__m512i even, __m512i odd) {
    // 0xF8 = A | (B & C).
    return _mm512_ternarylogic_epi32(_mm512_srli_epi32(even, 16), odd, _mm512_set1_epi32((int)0xFFFF0000u), 0xF8);
}

/// Thirty-two bfloat16 `a op b` (sixteen 32-bit lanes: even elements low, odd ones high).
CK_INLINE __m512i ck_combine_bf16(int op, __m512i a, __m512i b) {
    const __m512i high = _mm512_set1_epi32((int)0xFFFF0000u);
    __m512 even = ck_combine_ps(op, _mm512_castsi512_ps(_mm512_slli_epi32(a, 16)), _mm512_castsi512_ps(_mm512_slli_epi32(b, 16)));
    __m512 odd = ck_combine_ps(op, _mm512_castsi512_ps(_mm512_and_si512(a, high)), _mm512_castsi512_ps(_mm512_and_si512(b, high)));
    if (op == CK_OP_SUM) {
        return ck_pack_bf16(ck_round_bf16_high_not_nan(even), ck_round_bf16_high_not_nan(odd));
    }
    return ck_pack_bf16(ck_round_bf16_high(even), ck_round_bf16_high(odd));
}

// MARK: - Loops (two registers per step, then one; `count` covers whole Swift blocks)

/// `dst = combine(extra, a, b)` over `count` bfloat16, 64 bytes a register: two registers a
/// step, then one. `count` is a multiple of 32 (whole Swift blocks).
#define CK_LOOP_BF16(combine, extra, dst, a, b, count)                                            \
    do {                                                                                        \
        size_t at_ = 0, end_ = (count) * 2;                                                     \
        for (; at_ + 128 <= end_; at_ += 128) {                                                 \
            __m512i a0_ = _mm512_loadu_si512((a) + at_), a1_ = _mm512_loadu_si512((a) + at_ + 64); \
            __m512i b0_ = _mm512_loadu_si512((b) + at_), b1_ = _mm512_loadu_si512((b) + at_ + 64); \
            _mm512_storeu_si512((dst) + at_, combine(extra, a0_, b0_));                         \
            _mm512_storeu_si512((dst) + at_ + 64, combine(extra, a1_, b1_));                    \
        }                                                                                       \
        if (at_ < end_) {                                                                       \
            _mm512_storeu_si512((dst) + at_, combine(extra, _mm512_loadu_si512((a) + at_), _mm512_loadu_si512((b) + at_))); \
        }                                                                                       \
    } while (0)

CK_INLINE void ck_loop_bf16(int op, char *dst, const char *a, const char *b, size_t count) {
    CK_LOOP_BF16(ck_combine_bf16, op, dst, a, b, count);
}

// MARK: - Entry points: one loop per operator, the operator a constant inside it (ck_entry.h)

CK_DEFINE_ENTRY(CK_AVX512, ck_avx512_reduce_bf16, ck_loop_bf16)

// MARK: - The bfloat16 sum with AVX-512 BF16

/// `a + b` for thirty-two bfloat16 (even elements in the low halves of the 32-bit lanes, odd
/// ones in the high halves, as ``ck_combine_bf16`` widens them), rounded by VCVTNE2PS2BF16
/// unless a sum is subnormal. `interleave` is ``ck_bf16_interleave()``.
CK_BF16_INLINE __m512i ck_sum_bf16(__m512i interleave, __m512i a, __m512i b) {
    const __m512i high = _mm512_set1_epi32((int)0xFFFF0000u);
    __m512 even = _mm512_add_ps(_mm512_castsi512_ps(_mm512_slli_epi32(a, 16)), _mm512_castsi512_ps(_mm512_slli_epi32(b, 16)));
    __m512 odd = _mm512_add_ps(_mm512_castsi512_ps(_mm512_and_si512(a, high)), _mm512_castsi512_ps(_mm512_and_si512(b, high)));
    // VFPCLASSPS class 0x20: subnormal. The instruction would flush those, so a block with one
    // is rounded with integers instead.
    if (__builtin_expect((_mm512_fpclass_ps_mask(even, 0x20) | _mm512_fpclass_ps_mask(odd, 0x20)) != 0, 0)) {
        return ck_pack_bf16(ck_round_bf16_high_not_nan(even), ck_round_bf16_high_not_nan(odd));
    }
    // Converted: the even elements in the low 256 bits, the odd ones in the high; VPERMW
    // interleaves them back into element order.
    return _mm512_permutexvar_epi16(interleave, (__m512i)_mm512_cvtne2ps_pbh(odd, even));
}

/// VPERMW indices taking element i of the result from the low half (i even) or the high half
/// (i odd) of VCVTNE2PS2BF16's output.
CK_BF16_INLINE __m512i ck_bf16_interleave(void) {
    return _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                            23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
}

CK_BF16 void ck_avx512bf16_reduce_bf16(int op, void *dst, const void *a, const void *b, size_t count) {
    if (op != CK_OP_SUM) {
        ck_avx512_reduce_bf16(op, dst, a, b, count);
        return;
    }
    const __m512i interleave = ck_bf16_interleave();
    CK_LOOP_BF16(ck_sum_bf16, interleave, (char *)dst, (const char *)a, (const char *)b, count);
}

#else

// Not x86-64 (or not clang): ck_cpu_instruction_set() never returns an AVX-512 set, so these
// are never called; they exist so that the Swift side links everywhere.
#include <stdlib.h>

void ck_avx512_reduce_bf16(int op, void *dst, const void *a, const void *b, size_t count) { abort(); }
void ck_avx512bf16_reduce_bf16(int op, void *dst, const void *a, const void *b, size_t count) { abort(); }

#endif
