import CMPI
import Foundation
import Synchronization

/// The MPI thread support levels, in increasing order.
public enum ThreadLevel: Int32, Comparable, Sendable, CustomStringConvertible {
    case single = 0, funneled, serialized, multiple

    init(mpi value: Int32) {
        switch Int(value) {
        case Int(MPI_THREAD_SINGLE): self = .single
        case Int(MPI_THREAD_FUNNELED): self = .funneled
        case Int(MPI_THREAD_SERIALIZED): self = .serialized
        default: self = .multiple
        }
    }

    var mpiValue: Int32 {
        switch self {
        case .single: return Int32(MPI_THREAD_SINGLE)
        case .funneled: return Int32(MPI_THREAD_FUNNELED)
        case .serialized: return Int32(MPI_THREAD_SERIALIZED)
        case .multiple: return Int32(MPI_THREAD_MULTIPLE)
        }
    }

    public static func < (a: ThreadLevel, b: ThreadLevel) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .single: return "MPI_THREAD_SINGLE"
        case .funneled: return "MPI_THREAD_FUNNELED"
        case .serialized: return "MPI_THREAD_SERIALIZED"
        case .multiple: return "MPI_THREAD_MULTIPLE"
        }
    }
}

/// The MPI runtime of this process: initialised exactly once, finalised
/// exactly once. MPI forbids a second MPI_Init and any MPI call after
/// MPI_Finalize, so both are guarded here rather than left to callers.
public enum Cluster {
    private struct State: Sendable {
        var started = false
        var finished = false
        var providedLevel: ThreadLevel = .single
    }
    private static let state = Mutex(State())

    /// Starts MPI (once per process; later calls return the same world) and
    /// makes errors on the world communicator return instead of abort.
    /// A process started without mpirun becomes a world of one (singleton).
    @discardableResult
    public static func start(threadLevel: ThreadLevel = .funneled) throws -> Communicator {
        try state.withLock { state in
            if state.finished {
                throw MPIError(operation: "MPI_Init_thread", message: "MPI was already finalized in this process")
            }
            if !state.started {
                var provided: Int32 = 0
                try check(MPI_Init_thread(nil, nil, threadLevel.mpiValue, &provided), "MPI_Init_thread")
                try check(MPI_Comm_set_errhandler(simba_mpi_comm_world(), simba_mpi_errors_return()),
                          "MPI_Comm_set_errhandler")
                state.started = true
                state.providedLevel = ThreadLevel(mpi: provided)
            }
        }
        return try Communicator.world()
    }

    /// Finalises MPI if it was started and not yet finalised. Safe to call on
    /// every exit path.
    public static func finish() {
        state.withLock { state in
            guard state.started, !state.finished else { return }
            state.finished = true
            MPI_Finalize()
        }
    }

    public static var isRunning: Bool { state.withLock { $0.started && !$0.finished } }

    /// The thread level MPI granted (may be lower than requested).
    public static var providedThreadLevel: ThreadLevel { state.withLock { $0.providedLevel } }

    /// The world communicator; MPI must have been started.
    public static var world: Communicator {
        get throws { try Communicator.world() }
    }

    /// The MPI library's own version string (first line), e.g. "Open MPI v4.1.4, ...".
    public static var libraryVersion: String {
        var buffer = [CChar](repeating: 0, count: Int(simba_mpi_max_library_version_string()) + 1)
        var length: Int32 = 0
        guard MPI_Get_library_version(&buffer, &length) == MPI_SUCCESS else { return "unknown" }
        let text = String(decoding: buffer.prefix(Int(length)).prefix { $0 != 0 }.map { UInt8(bitPattern: $0) },
                          as: UTF8.self)
        return text.split(separator: "\n").first.map(String.init)?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? text
    }

    /// The MPI standard version the library implements, e.g. "3.1".
    public static var standardVersion: String {
        var major: Int32 = 0, minor: Int32 = 0
        MPI_Get_version(&major, &minor)
        return "\(major).\(minor)"
    }

    /// This process's rank as announced by the launcher (mpirun, srun) in the
    /// environment, readable before MPI starts. Used so that errors found
    /// before MPI_Init (bad flags) are printed once, by rank 0, not by every rank.
    public static var launcherRank: Int {
        let environment = ProcessInfo.processInfo.environment
        for key in ["OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"] {
            if let value = environment[key], let rank = Int(value) { return rank }
        }
        return 0
    }

    /// The world size as announced by the launcher, readable before MPI starts.
    public static var launcherSize: Int {
        let environment = ProcessInfo.processInfo.environment
        for key in ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS"] {
            if let value = environment[key], let size = Int(value) { return size }
        }
        return 1
    }
}
