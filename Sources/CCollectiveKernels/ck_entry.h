// The entry points of the instruction-set loops (avx2.c, avx512.c), shared: one function per
// element type that switches once on the operator and runs a loop whose operator is a constant,
// so the compiler specialises the loop's combine for each operator. Private to the target.
#ifndef CK_ENTRY_H
#define CK_ENTRY_H

#include "collective_kernels_cpu.h"

/// Defines `void name(int op, void *dst, const void *a, const void *b, size_t count)` with the
/// target attribute `attributes`, calling `loop(op, dst, a, b, count)` (char pointers) with the
/// operator as a constant.
#define CK_DEFINE_ENTRY(attributes, name, loop)                                                \
    attributes void name(int op, void *dst, const void *a, const void *b, size_t count) {      \
        char *d = (char *)dst;                                                                 \
        const char *x = (const char *)a, *y = (const char *)b;                                 \
        switch (op) {                                                                          \
        case CK_OP_SUM: loop(CK_OP_SUM, d, x, y, count); break;                                \
        case CK_OP_PROD: loop(CK_OP_PROD, d, x, y, count); break;                              \
        case CK_OP_MIN: loop(CK_OP_MIN, d, x, y, count); break;                                \
        default: loop(CK_OP_MAX, d, x, y, count); break;                                       \
        }                                                                                      \
    }

#endif
