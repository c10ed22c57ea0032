/// Where the pipeline's words go: rank 0's result lines and the progress
/// of long stages. The executable writes them to the terminal (results on
/// stdout, progress on stderr); a library user may collect or drop them.
public protocol ExperimentLog: Sendable {
    /// One or more lines of results (called on rank 0 only).
    func say(_ text: String)
    /// A progress report for a stage of `total` units (called on every
    /// rank; `enabled` is true on the rank that should report).
    func progress(_ label: String, total: Int, unit: String, enabled: Bool) -> ProgressReport
}

/// Progress of one long stage.
public protocol ProgressReport {
    /// `done` of the total so far; `extra` is shown after the rate.
    func update(done: Int, extra: String)
}

/// A log that drops everything.
public struct SilentLog: ExperimentLog {
    public init() {}
    public func say(_ text: String) {}
    public func progress(_ label: String, total: Int, unit: String, enabled: Bool) -> ProgressReport { Silent() }
    private struct Silent: ProgressReport { func update(done: Int, extra: String) {} }
}
