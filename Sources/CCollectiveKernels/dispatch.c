// Which instruction set the CPU offers, found once (see collective_kernels_cpu.h).
#include "collective_kernels_cpu.h"

#include <stdlib.h>
#include <string.h>

int ck_cpu_instruction_set(void) {
#if defined(__x86_64__) && defined(__clang__)  // as avx2.c, whose loops need clang
    // __builtin_cpu_supports reads CPUID and, for AVX, checks with XGETBV that the operating
    // system saves the YMM registers (libgcc / compiler-rt's cpu model).
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c")) {
        return CK_INSTRUCTION_SET_AVX2;
    }
#endif
    return CK_INSTRUCTION_SET_PORTABLE;
}

int ck_default_instruction_set(void) {
    static int cached = -1;
    int level = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (level < 0) {
        level = ck_cpu_instruction_set();
        const char *forced = getenv("COLLECTIVE_KERNELS_INSTRUCTION_SET");
        if (forced != NULL && strcmp(forced, "portable") == 0) {
            level = CK_INSTRUCTION_SET_PORTABLE;
        }
        // Every thread computes the same value, so a race only repeats the work.
        __atomic_store_n(&cached, level, __ATOMIC_RELAXED);
    }
    return level;
}
