import CMPI
import Foundation

/// A group of ranks that take part in collectives together.
///
/// Every collective method must be called by all ranks of the communicator in
/// the same order (never inside `if rank == 0`), or the job hangs.
public struct Communicator: @unchecked Sendable {
    let handle: MPI_Comm
    public let rank: Int
    public let size: Int

    init(handle: MPI_Comm) throws {
        self.handle = handle
        var rank: Int32 = 0, size: Int32 = 0
        try check(MPI_Comm_rank(handle, &rank), "MPI_Comm_rank")
        try check(MPI_Comm_size(handle, &size), "MPI_Comm_size")
        self.rank = Int(rank)
        self.size = Int(size)
    }

    static func world() throws -> Communicator {
        guard Cluster.isRunning else {
            throw MPIError(operation: "world", message: "MPI is not running (call Cluster.start() first)")
        }
        return try Communicator(handle: simba_mpi_comm_world())
    }

    /// The raw MPI handle, for the Storage layer (MPI-IO file access).
    public var mpiHandle: MPI_Comm { handle }

    public var isRoot: Bool { rank == 0 }

    public func barrier() throws {
        try CollectiveSections.enter("MPI_Barrier", on: handle)
        try check(MPI_Barrier(handle), "MPI_Barrier")
    }

    /// Splits the communicator: ranks with the same `color` form a new
    /// communicator, ordered by `key` (ties by old rank). A rank passing a nil
    /// color takes part in the call but joins none and gets nil back.
    public func split(color: Int?, key: Int) throws -> Communicator? {
        try CollectiveSections.enter("MPI_Comm_split", on: handle)
        if let color, color < 0 {
            throw MPIError(operation: "MPI_Comm_split", message: "color must be non-negative, got \(color)")
        }
        var newHandle: MPI_Comm? = nil
        let mpiColor = color.map { Int32($0) } ?? simba_mpi_undefined()
        try check(MPI_Comm_split(handle, mpiColor, Int32(key), &newHandle), "MPI_Comm_split")
        guard let newHandle, newHandle != simba_mpi_comm_null() else { return nil }
        return try Communicator(handle: newHandle)
    }

    /// Releases a communicator made by `split`. The world is never freed.
    public func free() throws {
        guard handle != simba_mpi_comm_world(), handle != simba_mpi_comm_self() else { return }
        var mutableHandle: MPI_Comm? = handle
        try check(MPI_Comm_free(&mutableHandle), "MPI_Comm_free")
    }

    /// Ends the whole job: prints `message` (one line, prefixed with the rank
    /// when there is more than one) on stderr and calls MPI_Abort, which makes
    /// the launcher kill every rank. For failures that the other ranks cannot
    /// learn about because they may be waiting inside a collective.
    public func abort(message: String, code: Int32 = 1) -> Never {
        let prefix = size > 1 ? "simba: error (rank \(rank)): " : "simba: error: "
        FileHandle.standardError.write(Data((prefix + message + "\n").utf8))
        MPI_Abort(handle, code)
        exit(code)
    }
}
