#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Memory that MPI messages are sent from and received into: the benchmark's input and output,
/// the runner's receive scratch and the calibration's probes. Page-aligned, as the OSU
/// micro-benchmarks align theirs (`allocate_memory` aligns to `getpagesize()`).
///
/// An alignment of 64 bytes is not enough: glibc places a large 64-byte-aligned block (one it
/// maps on its own, from 128 KiB) 64 bytes into a page, and on the 2-vCPU virtual machine this
/// was written on Open MPI's TCP transport moved 1 MiB messages between buffers 64 or 80 bytes
/// into a page at 2.8 GB/s, against 7-8.5 GB/s from any other offset tried (0, 16, 32, 48, 96 ...
/// 4032; the shared-memory transport did not care). Which offset a buffer got then depended on
/// the allocator's history, and the same collective measured up to 2.5 x apart.
enum MessageBuffer {
    /// The system's page size, bytes (at least 4096).
    static let pageBytes = Swift.max(4096, Int(sysconf(Int32(_SC_PAGESIZE))))

    /// `bytes` (at least 64) of uninitialized memory at the start of a page; free it with
    /// `deallocate()`.
    static func allocate(bytes: Int) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer.allocate(byteCount: Swift.max(bytes, 64), alignment: pageBytes)
    }
}
