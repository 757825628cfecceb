// Which instruction set the CPU offers, found once (see collective_kernels_cpu.h).
#include "collective_kernels_cpu.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int ck_cpu_instruction_set(void) {
#if defined(__x86_64__) && defined(__clang__)  // as avx2.c and avx512.c, whose loops need clang
    // __builtin_cpu_supports reads CPUID and, for AVX and AVX-512, checks with XGETBV that the
    // operating system saves the YMM and ZMM registers (compiler-rt's cpu model).
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c"))) {
        return CK_INSTRUCTION_SET_PORTABLE;
    }
    if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))) {
        return CK_INSTRUCTION_SET_AVX2;
    }
    if (!__builtin_cpu_supports("avx512bf16")) {
        return CK_INSTRUCTION_SET_AVX512;
    }
    return CK_INSTRUCTION_SET_AVX512_BF16;
#else
    return CK_INSTRUCTION_SET_PORTABLE;
#endif
}

/// The set an environment value names, or -1.
static int ck_instruction_set_named(const char *name) {
    static const char *const names[] = {"portable", "avx2", "avx512", "avx512bf16"};
    for (int level = 0; level < (int)(sizeof names / sizeof names[0]); level++) {
        if (strcasecmp(name, names[level]) == 0) return level;
    }
    return -1;
}

int ck_default_instruction_set(void) {
    static int cached = -1;
    int level = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (level < 0) {
        level = ck_cpu_instruction_set();
        const char *forced = getenv("COLLECTIVE_KERNELS_INSTRUCTION_SET");
        int named = forced != NULL ? ck_instruction_set_named(forced) : -1;
        if (named >= 0 && named < level) {
            level = named;
        }
        // Every thread computes the same value, so a race only repeats the work.
        __atomic_store_n(&cached, level, __ATOMIC_RELAXED);
    }
    return level;
}
