// CMPI: the only file in swift-allreduce that includes <mpi.h>.
//
// Open MPI defines MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, MPI_IN_PLACE, ... as macros over the
// addresses of library globals, which Swift cannot import (docs/Sources.md section 3). This header
// returns them from small `static inline` functions with a `cmpi_` prefix, in the style of
// swift-nio's C shims.
//
// SwiftPM compiles trait-conditional targets even when the trait is off, so without <mpi.h> the
// header declares nothing and the (empty) module still builds.
#ifndef CMPI_SHIM_H
#define CMPI_SHIM_H

#if __has_include(<mpi.h>)
#include <mpi.h>
#include <stdint.h>
#define CMPI_AVAILABLE 1

// Communicators and special buffers.
static inline MPI_Comm cmpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm cmpi_comm_null(void) { return MPI_COMM_NULL; }
static inline void *cmpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Request cmpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Status *cmpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Status *cmpi_statuses_ignore(void) { return MPI_STATUSES_IGNORE; }
static inline int cmpi_any_source(void) { return MPI_ANY_SOURCE; }
static inline int cmpi_any_tag(void) { return MPI_ANY_TAG; }
static inline int cmpi_comm_type_shared(void) { return MPI_COMM_TYPE_SHARED; }
static inline MPI_Info cmpi_info_null(void) { return MPI_INFO_NULL; }
static inline MPI_Errhandler cmpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline int cmpi_success(void) { return MPI_SUCCESS; }
static inline int cmpi_thread_single(void) { return MPI_THREAD_SINGLE; }
static inline int cmpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }

// Datatypes, in nccl-tests' order: int8 uint8 int32 uint32 int64 uint64 half float double bfloat16.
// MPI has no half or bfloat16 type: callers move those as MPI_UINT16_T bytes and reduce them
// with their own kernels (or with a user op).
static inline MPI_Datatype cmpi_int8(void) { return MPI_INT8_T; }
static inline MPI_Datatype cmpi_uint8(void) { return MPI_UINT8_T; }
static inline MPI_Datatype cmpi_int32(void) { return MPI_INT32_T; }
static inline MPI_Datatype cmpi_uint32(void) { return MPI_UINT32_T; }
static inline MPI_Datatype cmpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype cmpi_uint64(void) { return MPI_UINT64_T; }
static inline MPI_Datatype cmpi_uint16(void) { return MPI_UINT16_T; }
static inline MPI_Datatype cmpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype cmpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype cmpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype cmpi_char(void) { return MPI_CHAR; }
static inline MPI_Datatype cmpi_int(void) { return MPI_INT; }
static inline MPI_Datatype cmpi_datatype_null(void) { return MPI_DATATYPE_NULL; }

// Built-in ops.
static inline MPI_Op cmpi_op_sum(void) { return MPI_SUM; }
static inline MPI_Op cmpi_op_prod(void) { return MPI_PROD; }
static inline MPI_Op cmpi_op_min(void) { return MPI_MIN; }
static inline MPI_Op cmpi_op_max(void) { return MPI_MAX; }
static inline MPI_Op cmpi_op_bor(void) { return MPI_BOR; }
static inline MPI_Op cmpi_op_band(void) { return MPI_BAND; }
static inline MPI_Op cmpi_op_null(void) { return MPI_OP_NULL; }

// One-sided windows (the shared-memory transport).
static inline MPI_Win cmpi_win_null(void) { return MPI_WIN_NULL; }
static inline int cmpi_mode_nocheck(void) { return MPI_MODE_NOCHECK; }
static inline int cmpi_lock_shared(void) { return MPI_LOCK_SHARED; }
static inline int cmpi_undefined(void) { return MPI_UNDEFINED; }

// Acquire/release atomics on plain memory, for flags that ranks share through an MPI-3 shared
// window (the window's memory model is "unified" on shared-memory nodes: loads and stores by
// one process are seen by the others, ordered by these fences).
static inline uint64_t cmpi_load_acquire_u64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void cmpi_store_release_u64(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline void cmpi_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

// The process aborts the whole job (every rank) with `code`: used when a rank must not wait for
// peers that will never answer.
static inline int cmpi_abort_world(int code) { return MPI_Abort(MPI_COMM_WORLD, code); }

#else
#define CMPI_AVAILABLE 0
#endif // __has_include(<mpi.h>)

#endif // CMPI_SHIM_H
