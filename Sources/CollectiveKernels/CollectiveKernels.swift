// CollectiveKernels: SIMD reduction kernels for allreduce.
//
// The module documentation (types, operators, forms, the semantics users can rely on, and why
// floating-point sums depend on the summation order) is the DocC article
// CollectiveKernels.docc/CollectiveKernels.md. In short:
//
// - `Reducer(dataType:op:)` runs a reduction chosen at run time on raw memory (in place, out of
//   place, fused k-way, and avg's final division); `ReductionKernels` is the typed, @inlinable
//   API over buffers. Both run the same SIMD loops (`ReductionKernels._reduceInPlace` & co.).
// - Integer sum and prod wrap everywhere (Open MPI's AVX path saturates 8/16-bit sums in its
//   vector body and wraps in its tail; this module never saturates).
// - Floating-point min/max are IEEE 754-2019 minimum/maximum (NaN wins, -0 < +0); sums and
//   products round to nearest even; half and bfloat16 accumulate in binary32 and round once at
//   the store.
// - Element types conform to `ReductionElement` (Int+, Float+, Float16+ReductionElement.swift);
//   operators are the `ReductionKernels.Sum/Product/Minimum/Maximum` types.
