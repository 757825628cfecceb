// The target's functions are all `static inline` in include/collective_kernels_prefetch.h; this
// file only gives the target a translation unit.
#include "collective_kernels_prefetch.h"
