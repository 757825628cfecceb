// The target's function is `static inline` in include/collective_prefetch.h; this file only
// gives the target a translation unit.
#include "collective_prefetch.h"
