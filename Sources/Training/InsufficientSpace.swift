import Foundation

/// Not enough disk space for the next checkpoint; the run stops before writing it.
public struct InsufficientSpace: Error, CustomStringConvertible, Sendable {
    public let directory: String
    public let free: Double, needed: Double
    public let lastCheckpoint: String?
    public var description: String {
        "disk full: " + String(format: "%.1f", free / 1_048_576) + " MiB free in \(directory), the next checkpoint needs "
            + String(format: "%.1f", needed / 1_048_576) + " MiB; stopped, "
            + (lastCheckpoint.map { "the last complete checkpoint /checkpoints/\($0) stays valid" } ?? "no checkpoint was written yet")
    }
}
