import CMPI

/// A failure reported by MPI (the communicator's error handler is
/// MPI_ERRORS_RETURN, so MPI hands errors back instead of aborting) or by
/// simba's own cluster-level checks.
public struct MPIError: Error, CustomStringConvertible, Sendable {
    /// The MPI error code, or nil for errors raised by simba itself.
    public let code: Int32?
    /// The MPI call (or operation) that failed.
    public let operation: String
    public let message: String

    public init(operation: String, message: String, code: Int32? = nil) {
        self.operation = operation
        self.message = message
        self.code = code
    }

    public var description: String { "\(operation): \(message)" }

    /// MPI's own text for an error code.
    static func text(for code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: Int(simba_mpi_max_error_string()) + 1)
        var length: Int32 = 0
        guard MPI_Error_string(code, &buffer, &length) == MPI_SUCCESS else {
            return "MPI error \(code)"
        }
        return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Turns an MPI return code into a thrown `MPIError` carrying MPI's message.
@inline(__always)
func check(_ code: Int32, _ operation: @autoclosure () -> String) throws {
    if code != MPI_SUCCESS {
        throw MPIError(operation: operation(), message: MPIError.text(for: code), code: code)
    }
}
