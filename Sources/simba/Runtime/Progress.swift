import Experiment
import Foundation

/// Progress of a long stage, reported by rank 0 on stderr: a bar redrawn in
/// place on a terminal, plain periodic lines in a batch log.
final class Progress: ProgressReport {
    private let label: String
    private let total: Int
    private let unit: String
    private let enabled: Bool
    private let started = Date()
    private var lastReport = Date.distantPast
    private let isTerminal = isatty(STDERR_FILENO) != 0

    init(_ label: String, total: Int, unit: String, enabled: Bool) {
        self.label = label
        self.total = total
        self.unit = unit
        self.enabled = enabled
    }

    func update(done: Int, extra: String) {
        guard enabled else { return }
        let now = Date()
        let finished = done >= total
        guard finished || now.timeIntervalSince(lastReport) >= (isTerminal ? 0.2 : 10) else { return }
        lastReport = now
        let elapsed = now.timeIntervalSince(started)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let remaining = rate > 0 ? Double(total - done) / rate : 0
        var text = "\(label): \(done)/\(total) \(unit), \(String(format: "%.2f", rate)) \(unit)/s"
        text += finished ? ", \(Self.duration(elapsed))" : ", ETA \(Self.duration(remaining))"
        if !extra.isEmpty { text += ", " + extra }
        if isTerminal {
            let width = 24
            let filled = total > 0 ? width * min(done, total) / total : width
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            FileHandle.standardError.write(Data("\r[\(bar)] \(text)\u{1B}[K\(finished ? "\n" : "")".utf8))
        } else {
            FileHandle.standardError.write(Data("\(text)\n".utf8))
        }
    }

    static func duration(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded())
        if whole < 60 { return "\(whole) s" }
        if whole < 3600 { return "\(whole / 60) min \(whole % 60) s" }
        return "\(whole / 3600) h \(whole % 3600 / 60) min"
    }
}

/// The terminal face of the pipeline's log: results on stdout, progress on stderr.
struct TerminalLog: ExperimentLog {
    func say(_ text: String) { print(text) }

    func progress(_ label: String, total: Int, unit: String, enabled: Bool) -> ProgressReport {
        Progress(label, total: total, unit: unit, enabled: enabled)
    }
}
