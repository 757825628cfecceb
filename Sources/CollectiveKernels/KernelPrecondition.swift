/// Stops the process with `message` when `condition` is false, in every build configuration.
///
/// `precondition` drops its message in optimised builds (`-O`): a release binary would stop
/// with SIGILL and no text. `fatalError` keeps it (only `-Ounchecked` drops it), so the
/// documented messages reach standard error wherever the kernels run.
@inlinable @inline(__always)
internal func _kernelPrecondition(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    if _slowPath(!condition()) {
        _kernelPreconditionFailure(message(), file: file, line: line)
    }
}

/// The out-of-line failure of ``_kernelPrecondition(_:_:file:line:)``.
@usableFromInline @inline(never)
internal func _kernelPreconditionFailure(_ message: String, file: StaticString, line: UInt) -> Never {
    fatalError(message, file: file, line: line)
}
