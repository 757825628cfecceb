// CCollectiveKernels: the reduction loops that need instructions beyond the default x86-64
// target (SSE2), compiled per function for that instruction set and chosen at run time.
//
// Swift has no per-function target attribute, and building the whole module for a newer CPU
// needs a build flag (`-Xswiftc -target-cpu`) that a package depending on this one never gets.
// These functions carry clang's `target("avx2,f16c")` (or AVX-512) attribute instead, the way Open MPI's
// op/avx component compiles its AVX2 and AVX-512 loops and picks one from the CPU's features at
// run time (docs/Sources.md section 3). `CollectiveKernels` calls them only after
// `ck_default_instruction_set()` (or the caller's choice, see `KernelInstructionSet`) says the
// CPU has those instructions.
//
// Every loop computes, bit for bit, what the Swift vector body computes for the same block of
// elements (`ReductionKernels._reduce` in CollectiveKernels): IEEE 754 sums and products
// rounded to nearest even, IEEE 754-2019 minimum/maximum with the same selects, and the 16-bit
// types widened exactly to binary32 and rounded to nearest even once at the store. The caller
// passes whole Swift vector blocks (a multiple of the type's `_laneCount`), so every element
// takes the same path (vector body or scalar tail) whichever instruction set runs.
#ifndef COLLECTIVE_KERNELS_CPU_H
#define COLLECTIVE_KERNELS_CPU_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The instruction sets of the loops, in increasing order.
enum {
    /// The Swift loops, built for whatever target the package is built for (SSE2 by default).
    CK_INSTRUCTION_SET_PORTABLE = 0,
    /// AVX2 with F16C (x86-64): the loops of avx2.c.
    CK_INSTRUCTION_SET_AVX2 = 1,
    /// AVX-512 F, BW, VL and DQ, with AVX2 and F16C (x86-64): the bfloat16 loop of avx512.c,
    /// the AVX2 loops for the other types.
    CK_INSTRUCTION_SET_AVX512 = 2,
    /// The same and AVX-512 BF16, whose conversion the bfloat16 sum uses.
    CK_INSTRUCTION_SET_AVX512_BF16 = 3,
};

/// The operators, as the loops take them.
enum {
    CK_OP_SUM = 0,
    CK_OP_PROD = 1,
    CK_OP_MIN = 2,
    CK_OP_MAX = 3,
};

/// The best instruction set this CPU (and its operating system, which must save the AVX
/// registers) supports.
int ck_cpu_instruction_set(void);

/// The instruction set the kernels use unless told otherwise: `ck_cpu_instruction_set()`,
/// lowered to the set named by the environment variable COLLECTIVE_KERNELS_INSTRUCTION_SET
/// (`portable`, `avx2`, `avx512` or `avx512bf16`) when that names a lower one. Read once,
/// when first asked; later calls return the same value.
int ck_default_instruction_set(void);

/// `dst[i] = a[i] op b[i]` for `count` elements with AVX2 (and F16C for the halves). `dst` may
/// be `a` or `b` (every vector is loaded before it is stored) but must not partially overlap
/// them; any alignment. `count` must be a multiple of 16 (float, int32), 8 (double) or 32
/// (half, bfloat16), and the CPU must have AVX2 and F16C.
void ck_avx2_reduce_f32(int op, void *dst, const void *a, const void *b, size_t count);
void ck_avx2_reduce_f64(int op, void *dst, const void *a, const void *b, size_t count);
void ck_avx2_reduce_i32(int op, void *dst, const void *a, const void *b, size_t count);
void ck_avx2_reduce_f16(int op, void *dst, const void *a, const void *b, size_t count);
void ck_avx2_reduce_bf16(int op, void *dst, const void *a, const void *b, size_t count);

/// The bfloat16 loop with AVX-512 (F, BW, VL, DQ), same preconditions on `count`; the CPU
/// must have those instructions. The other types keep the AVX2 loops at the AVX-512 levels
/// (avx512.c says why).
void ck_avx512_reduce_bf16(int op, void *dst, const void *a, const void *b, size_t count);

/// The bfloat16 loop for a CPU that also has AVX-512 BF16: the sum rounds with VCVTNE2PS2BF16
/// (the same bits, see avx512.c); the other operators are `ck_avx512_reduce_bf16`.
void ck_avx512bf16_reduce_bf16(int op, void *dst, const void *a, const void *b, size_t count);

#ifdef __cplusplus
}
#endif

#endif
