import ArgumentParser
import Cluster
import Network
import Foundation
import Limits

struct AllreduceBenchCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "allreduce",
        abstract: "Time an in-place float allreduce of several sizes (the gradient exchange of training).",
        discussion: """
            Reports the median seconds per allreduce and the bus bandwidth \
            2(n-1)/n × bytes / time, comparable across rank counts.

            Example:
              mpirun -q -np 2 simba bench allreduce --mib 1,19,64 --repeats 10
            """)

    @OptionGroup var runtime: RuntimeOptions
    @Option(help: "Buffer sizes in MiB, comma-separated (19 MiB ≈ the SimBA CNN's gradient).")
    var mib: String = "1,19,64"
    @Option(help: "Timed repetitions per size (after one warm-up).") var repeats: Int = 10

    var parts: [Double?] {
        mib.split(separator: ",", omittingEmptySubsequences: false).map { Double($0.trimmingCharacters(in: .whitespaces)) }
    }
    var sizes: [Double] { parts.compactMap { $0 } }

    func validate() throws {
        guard !sizes.isEmpty, sizes.allSatisfy({ $0 > 0 }), sizes.count == parts.count else {
            throw ValidationError("--mib must be positive numbers separated by commas, got '\(mib)'")
        }
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
    }

    func run(world: Communicator) throws {
        var seconds: [Double] = []
        var bandwidth: [Double] = []
        for size in sizes {
            let count = Int(size * 1_048_576) / MemoryLayout<Float>.stride
            var buffer = [Float](repeating: 1, count: count)
            try world.allreduce(&buffer, op: .sum)  // warm-up: connections, page faults
            var times: [Double] = []
            for _ in 0..<repeats {
                try world.barrier()
                let start = DispatchTime.now().uptimeNanoseconds
                try world.allreduce(&buffer, op: .sum)
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                times.append(try world.allreduce(elapsed, op: .max))
            }
            let time = TrainBenchmark.median(times)
            seconds.append(time)
            let ranks = Double(world.size)
            bandwidth.append(ranks > 1 ? 2 * (ranks - 1) / ranks * Double(count * 4) / time / 1e9 : 0)
        }
        guard world.rank == 0 else { return }
        let object: [String: Any] = [
            "benchmark": "allreduce", "ranks": world.size, "mib": sizes, "repeats": repeats,
            "seconds": seconds, "bus_gb_per_s": bandwidth, "peak_rss_mib": PeakMemory.peakMiB(),
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
