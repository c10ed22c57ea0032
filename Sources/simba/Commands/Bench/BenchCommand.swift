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
        subcommands: [GenerateBenchCommand.self, TrainBenchCommand.self, ConvBenchCommand.self, AllreduceBenchCommand.self, ScalingBenchCommand.self, PlanBenchCommand.self])
}

/// Parsing shared by the benchmarks that build a model.
enum ModelShapeArguments {
    /// "64x64x64" → [64, 64, 64].
    static func grid(_ text: String) throws -> [Int] {
        let sizes = text.lowercased().split(separator: "x").map { Int($0) }
        guard sizes.count == 3, let grid = sizes as? [Int], grid.allSatisfy({ $0 >= 1 }) else {
            throw ValidationError("--input must be XxYxZ with positive sizes, got '\(text)'")
        }
        return grid
    }

    /// "32,64,128" → [32, 64, 128].
    static func widths(_ text: String) throws -> [Int] {
        let widths = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !widths.isEmpty, let list = widths as? [Int], list.allSatisfy({ $0 >= 1 }) else {
            throw ValidationError("--widths must be positive integers separated by commas, got '\(text)'")
        }
        return list
    }
}
