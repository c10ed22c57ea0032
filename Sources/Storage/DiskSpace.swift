import Cluster
import Foundation

/// Not enough disk space for what comes next; the job stops before writing it.
public struct InsufficientSpace: Error, CustomStringConvertible, Sendable {
    public let directory: String
    public let free: Double, needed: Double
    /// What needs the space ("the next checkpoint") and what the job did about it.
    public let purpose: String, consequence: String

    public var description: String {
        "disk full: " + String(format: "%.1f", free / 1_048_576) + " MiB free in \(directory), \(purpose) needs "
            + String(format: "%.1f", needed / 1_048_576) + " MiB; \(consequence)"
    }
}

/// Free space on the disk of an output, checked before writing to it.
public enum DiskSpace {
    /// Bytes an unprivileged writer may still use in `directory`; nil when unknown.
    public static func available(in directory: String) -> Double? {
        var status = statvfs()
        guard statvfs(directory, &status) == 0 else { return nil }
        return Double(status.f_bavail) * Double(status.f_frsize)
    }

    /// Throws `InsufficientSpace` on every rank alike when the folder of
    /// `output` has less than `needed` bytes free (collective: rank 0
    /// looks and tells the others).
    public static func ensure(_ needed: Double, for output: String, world: Communicator, purpose: String,
                              consequence: String) throws {
        let free = try world.broadcast(world.rank == 0 ? available(in: folder(of: output)) ?? -1 : -1, root: 0)
        try refuse(needed, free: free, for: output, purpose: purpose, consequence: consequence)
    }

    /// The same check on this rank alone (for a rank that speaks for the
    /// others inside an agreement).
    public static func check(_ needed: Double, for output: String, purpose: String, consequence: String) throws {
        try refuse(needed, free: available(in: folder(of: output)) ?? -1, for: output, purpose: purpose,
                   consequence: consequence)
    }

    private static func refuse(_ needed: Double, free: Double, for output: String, purpose: String,
                               consequence: String) throws {
        if free >= 0 && free < needed {
            throw InsufficientSpace(directory: folder(of: output), free: free, needed: needed, purpose: purpose,
                                    consequence: consequence)
        }
    }

    private static func folder(of output: String) -> String {
        let folder = (output as NSString).deletingLastPathComponent
        return folder.isEmpty ? "." : folder
    }
}
