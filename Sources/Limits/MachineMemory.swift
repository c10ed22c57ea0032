import Foundation

#if canImport(Glibc)
import Glibc
private let RLIMIT_AS_VALUE = __rlimit_resource_t(RLIMIT_AS.rawValue)
#else
private let RLIMIT_AS_VALUE = RLIMIT_AS
#endif

/// How much memory this node gives one process, and the check that a
/// planned allocation fits it: a size from a file or a configuration that
/// would end in the out-of-memory killer is refused in one line instead.
public enum MachineMemory {
    /// Physical memory, or the cgroup's limit (Slurm and containers confine
    /// jobs with one) or the address-space limit (`ulimit -v`) when lower.
    public static let availableBytes: Int = {
        let physical = Int(clamping: ProcessInfo.processInfo.physicalMemory)
        let limit = ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"].lazy
            .compactMap { try? String(contentsOfFile: $0, encoding: .utf8) }
            .compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            .first
        var addressSpace = rlimit()
        let ulimit = getrlimit(RLIMIT_AS_VALUE, &addressSpace) == 0 && addressSpace.rlim_cur != rlim_t.max
            ? Int(clamping: addressSpace.rlim_cur) : physical
        return min(physical, limit ?? physical, ulimit)
    }()

    /// Ranks of this job on this node (mpirun says so to each of them).
    public static let ranksOnNode: Int = {
        let environment = ProcessInfo.processInfo.environment
        return ["OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"].lazy
            .compactMap { environment[$0].flatMap { Int($0) } }.first { $0 > 0 } ?? 1
    }()

    /// Throws `ResourceLimit` when `bytes` (nil: beyond counting) on every
    /// rank of this node exceed its memory: "`what` needs ~N GiB per rank;
    /// this node has M GiB (for K ranks)" and `remedy`.
    public static func require(_ bytes: Int?, for what: String, remedy: String) throws {
        if let bytes, bytes <= availableBytes / ranksOnNode { return }
        let needed = bytes.map { gibibytes(Double($0)) } ?? "more than 2^63 bytes"
        let ranks = ranksOnNode > 1 ? " for \(ranksOnNode) ranks" : ""
        throw ResourceLimit("\(what) needs ~\(needed) per rank; this node has \(gibibytes(Double(availableBytes)))\(ranks): \(remedy)")
    }

    /// "0.4 GiB", "17 GiB", "3.1e+06 GiB".
    static func gibibytes(_ bytes: Double) -> String {
        let value = bytes / 1_073_741_824
        if value >= 1e6 { return String(format: "%.1e GiB", value) }
        return String(format: value < 10 ? "%.1f GiB" : "%.0f GiB", value)
    }
}
