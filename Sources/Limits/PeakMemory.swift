import Foundation

/// The most memory this process has held resident (the kernel's high-water
/// mark, VmHWM), measured stage by stage: `startStage()` lowers the mark to
/// what is resident now where the kernel allows it (Linux ≥ 4.0: "5" written
/// to /proc/self/clear_refs), so the peak read after a stage is that stage's
/// own rather than the process's so far.
public enum PeakMemory {
    /// Starts a new peak; false where the mark cannot be lowered (then the
    /// peak read later is the process's since it started: an upper bound).
    @discardableResult
    public static func startStage() -> Bool {
        guard let file = fopen("/proc/self/clear_refs", "w") else { return false }
        let written = fputs("5", file) >= 0
        return fclose(file) == 0 && written
    }

    /// The high-water mark in bytes; nil where there is no procfs.
    public static func peakBytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            // "VmHWM:     123456 kB"
            guard let kib = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return nil }
            return kib.multipliedReportingOverflow(by: 1024).overflow ? nil : kib * 1024
        }
        return nil
    }

    /// The high-water mark in MiB (0 where there is no procfs).
    public static func peakMiB() -> Double { Double(peakBytes() ?? 0) / 1_048_576 }
}
