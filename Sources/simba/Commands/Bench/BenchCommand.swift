import ArgumentParser

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure simba's speed; each benchmark prints one JSON line.",
        discussion: """
            Benchmarks are for comparing runs on the same machine; run them \
            on a quiet machine and compare ratios measured side by side.

            Example:
              mpirun -q -np 2 simba bench allreduce --mib 1,16,64
            """,
        subcommands: [GenerateBenchCommand.self, TrainBenchCommand.self, AllreduceBenchCommand.self, ScalingBenchCommand.self])
}

/// Median of a non-empty sample.
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/// Peak resident memory of this process (VmHWM), in MiB.
func peakResidentMiB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kilobytes = line.split(separator: " ").compactMap({ Double($0) }).first else { return 0 }
    return kilobytes / 1024
}
