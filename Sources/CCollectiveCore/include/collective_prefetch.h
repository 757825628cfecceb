// A software prefetch hint, which Swift cannot express itself: for the send/receive matcher
// (CollectiveCore) and the event engine (CollectiveSim), whose records are touched in no
// particular order. Header-only: the function is `static inline`, so a hot loop gets one prefetch
// instruction where it calls it. With a compiler that has no __builtin_prefetch it does nothing.

#ifndef COLLECTIVE_PREFETCH_H
#define COLLECTIVE_PREFETCH_H

/// Asks the CPU to bring the cache line holding `address` into every cache level for reading.
/// Never faults, whatever the address; has no effect on results.
static inline __attribute__((always_inline)) void collective_prefetch(const void *address) {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(address, 0, 3);
#else
    (void)address;
#endif
}

#endif
