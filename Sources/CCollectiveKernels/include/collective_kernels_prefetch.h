// Software prefetch hints for the reduction kernels (CollectiveKernels), which Swift cannot
// express itself. Header-only: the functions are `static inline`, so the kernels' loops get a
// single PREFETCHT0 instruction where they call one. With a compiler that has no
// __builtin_prefetch they do nothing.

#ifndef COLLECTIVE_KERNELS_PREFETCH_H
#define COLLECTIVE_KERNELS_PREFETCH_H

/// Asks the CPU to bring the cache line holding `address` into all cache levels for reading.
/// Never faults, whatever the address.
static inline __attribute__((always_inline)) void collective_kernels_prefetch_read(const void *address) {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(address, 0, 3);
#else
    (void)address;
#endif
}

#endif
