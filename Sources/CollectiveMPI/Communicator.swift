#if MPI
import CMPI

/// The MPI library's lifetime in this process.
public enum MPIProcess {
    /// Initialises MPI once (`MPI_Init`); works under `mpirun` and as a singleton.
    public static func initialize() {
        var flag: Int32 = 0
        MPI_Initialized(&flag)
        if flag == 0 { MPI_Init(nil, nil) }
    }

    /// Finalises MPI if it was initialised and not yet finalised.
    public static func finalize() {
        var initialized: Int32 = 0
        var finalized: Int32 = 0
        MPI_Initialized(&initialized)
        MPI_Finalized(&finalized)
        if initialized != 0 && finalized == 0 { MPI_Finalize() }
    }

    /// Ends every rank of the job with `code` (`MPI_Abort` on MPI_COMM_WORLD).
    public static func abortJob(code: Int32) -> Never {
        _ = cmpi_abort_world(code)
        fatalError("MPI_Abort returned")
    }

    /// Seconds since an arbitrary origin (`MPI_Wtime`).
    @inline(__always)
    public static func wallTimeSeconds() -> Double { MPI_Wtime() }

    /// The Open MPI version string (`MPI_Get_library_version`'s first line).
    public static var libraryVersion: String {
        var buffer = [CChar](repeating: 0, count: Int(MPI_MAX_LIBRARY_VERSION_STRING) + 1)
        var length: Int32 = 0
        MPI_Get_library_version(&buffer, &length)
        let text = String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.split(separator: ",").first.map(String.init) ?? text
    }
}

/// Calls an MPI function and ends the job if it fails. MPI_COMM_WORLD's default error handler
/// (MPI_ERRORS_ARE_FATAL) already aborts on errors; this catches any handle that returns them.
@inline(__always)
@usableFromInline
func mpiCheck(_ code: Int32, _ function: StaticString) {
    if code != MPI_SUCCESS {
        var stderr = _StandardErrorStream()
        print("allreduce: error: \(function) failed with MPI error \(code)", to: &stderr)
        MPIProcess.abortJob(code: 1)
    }
}

/// Writes `message` as one error line and ends every rank of the job (`MPI_Abort`): for
/// failures inside a collective, where the peers would otherwise wait forever.
public func mpiFail(_ message: String) -> Never {
    var stderr = _StandardErrorStream()
    print("allreduce: error: \(message)", to: &stderr)
    MPIProcess.abortJob(code: 1)
}

/// A communicator handle with the few collectives the runner needs for its own bookkeeping.
/// Value type over MPI's handle; ``free()`` releases communicators this process created.
public struct Communicator: @unchecked Sendable {
    public let handle: MPI_Comm
    public let rank: Int
    public let size: Int

    public init(_ handle: MPI_Comm) {
        self.handle = handle
        var r: Int32 = 0
        var s: Int32 = 0
        mpiCheck(MPI_Comm_rank(handle, &r), "MPI_Comm_rank")
        mpiCheck(MPI_Comm_size(handle, &s), "MPI_Comm_size")
        rank = Int(r)
        size = Int(s)
    }

    /// MPI_COMM_WORLD.
    public static var world: Communicator { Communicator(cmpi_comm_world()) }

    /// A private copy (`MPI_Comm_dup`): its messages never match anyone else's.
    public func duplicate() -> Communicator {
        var out: MPI_Comm? = nil
        mpiCheck(MPI_Comm_dup(handle, &out), "MPI_Comm_dup")
        return Communicator(out!)
    }

    /// The ranks that share memory with this one (`MPI_Comm_split_type`, MPI_COMM_TYPE_SHARED),
    /// ordered by rank here.
    public func splitShared() -> Communicator {
        var out: MPI_Comm? = nil
        mpiCheck(MPI_Comm_split_type(handle, cmpi_comm_type_shared(), Int32(rank), cmpi_info_null(), &out), "MPI_Comm_split_type")
        return Communicator(out!)
    }

    /// The ranks that pass the same `color` (`MPI_Comm_split`), ordered by rank here; nil for a
    /// rank that passes nil (it joins none). Collective: every rank calls it.
    public func split(color: Int?) -> Communicator? {
        var out: MPI_Comm? = nil
        mpiCheck(MPI_Comm_split(handle, color.map(Int32.init) ?? cmpi_undefined(), Int32(rank), &out), "MPI_Comm_split")
        guard color != nil, let out else { return nil }
        return Communicator(out)
    }

    /// Releases a communicator made by ``duplicate()``, ``splitShared()`` or ``split(color:)``.
    public func free() {
        var h: MPI_Comm? = handle
        mpiCheck(MPI_Comm_free(&h), "MPI_Comm_free")
    }

    public func barrier() { mpiCheck(MPI_Barrier(handle), "MPI_Barrier") }

    /// Elementwise allreduce of a few 64-bit integers.
    public func allreduce(_ values: [Int64], _ op: MPI_Op) -> [Int64] {
        var input = values
        var output = [Int64](repeating: 0, count: values.count)
        mpiCheck(MPI_Allreduce(&input, &output, Int32(values.count), cmpi_int64(), op, handle), "MPI_Allreduce")
        return output
    }

    /// Elementwise allreduce of a few 64-bit unsigned integers.
    public func allreduce(_ values: [UInt64], _ op: MPI_Op) -> [UInt64] {
        var input = values
        var output = [UInt64](repeating: 0, count: values.count)
        mpiCheck(MPI_Allreduce(&input, &output, Int32(values.count), cmpi_uint64(), op, handle), "MPI_Allreduce")
        return output
    }

    /// Elementwise allreduce of a few doubles.
    public func allreduce(_ values: [Double], _ op: MPI_Op) -> [Double] {
        var input = values
        var output = [Double](repeating: 0, count: values.count)
        mpiCheck(MPI_Allreduce(&input, &output, Int32(values.count), cmpi_double(), op, handle), "MPI_Allreduce")
        return output
    }

    /// Every rank's value, in rank order.
    public func allgather(_ value: Int64) -> [Int64] {
        var input = value
        var output = [Int64](repeating: 0, count: size)
        mpiCheck(MPI_Allgather(&input, 1, cmpi_int64(), &output, 1, cmpi_int64(), handle), "MPI_Allgather")
        return output
    }

    /// Every rank's value, in rank order.
    public func allgather(_ value: Double) -> [Double] {
        var input = value
        var output = [Double](repeating: 0, count: size)
        mpiCheck(MPI_Allgather(&input, 1, cmpi_double(), &output, 1, cmpi_double(), handle), "MPI_Allgather")
        return output
    }

    /// Every rank's `values`, concatenated in rank order, on `root` (empty on the other ranks):
    /// the counts with `MPI_Gather`, the elements as bytes with `MPI_Gatherv`. Collective. The
    /// bytes gathered must fit MPI's int count (callers bound them).
    public func gather<T: BitwiseCopyable>(_ values: [T], root: Int) -> [T] {
        let stride = MemoryLayout<T>.stride
        precondition(values.count * stride <= Int(Int32.max), "Communicator.gather: more than MPI's int count of bytes")
        var mine = Int32(values.count * stride)
        var counts = [Int32](repeating: 0, count: size)
        mpiCheck(MPI_Gather(&mine, 1, cmpi_int(), &counts, 1, cmpi_int(), Int32(root), handle), "MPI_Gather")
        var displacements = [Int32](repeating: 0, count: size)
        var total = 0
        if rank == root {
            for r in 0..<size {
                precondition(total + Int(counts[r]) <= Int(Int32.max), "Communicator.gather: more than MPI's int count of bytes")
                displacements[r] = Int32(total)
                total += Int(counts[r])
            }
        }
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(total, 64), alignment: Swift.max(MemoryLayout<T>.alignment, 16))
        defer { scratch.deallocate() }
        values.withUnsafeBytes { source in
            mpiCheck(MPI_Gatherv(source.baseAddress ?? UnsafeRawPointer(scratch), mine, cmpi_byte(), scratch, counts, displacements, cmpi_byte(),
                                 Int32(root), handle), "MPI_Gatherv")
        }
        guard rank == root else { return [] }
        return Array(UnsafeBufferPointer(start: scratch.bindMemory(to: T.self, capacity: total / stride), count: total / stride))
    }

    /// `root`'s text on every rank.
    public func broadcast(_ text: String, root: Int) -> String {
        var length = Int64(rank == root ? text.utf8.count : 0)
        mpiCheck(MPI_Bcast(&length, 1, cmpi_int64(), Int32(root), handle), "MPI_Bcast")
        var bytes = rank == root ? Array(text.utf8) : [UInt8](repeating: 0, count: Int(length))
        if length > 0 {
            mpiCheck(MPI_Bcast(&bytes, Int32(length), cmpi_byte(), Int32(root), handle), "MPI_Bcast")
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Collective agreement on failure: returns, on every rank, the message of the lowest rank
    /// that passed one (nil when no rank did).
    public func firstFailure(_ message: String?) -> String? {
        let mine = Int64(message == nil ? Int64.max : Int64(rank))
        let first = allreduce([mine], cmpi_op_min())[0]
        guard first != Int64.max else { return nil }
        return broadcast(message ?? "", root: Int(first))
    }
}

/// Standard error for messages written before the job aborts.
struct _StandardErrorStream: TextOutputStream {
    mutating func write(_ string: String) {
        let bytes = Array(string.utf8)
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = _cmpiWrite(buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
@inline(__always) func _cmpiWrite(_ p: UnsafeRawPointer, _ n: Int) -> Int { Glibc.write(2, p, n) }
#elseif canImport(Darwin)
import Darwin
@inline(__always) func _cmpiWrite(_ p: UnsafeRawPointer, _ n: Int) -> Int { Darwin.write(2, p, n) }
#endif
#endif
