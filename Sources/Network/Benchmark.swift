import Limits
import Randomness
import CBLAS
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `TrainBenchmark.run` measured.
public struct TrainBenchmarkResult: Sendable {
    public var input: Grid3
    public var batch: Int
    public var threads: Int
    /// Training samples per second: forward(train) + backward + Adam, median step.
    public var trainSamplesPerS: Double
    /// Inference samples per second: forward(eval), median pass.
    public var inferSamplesPerS: Double
    /// Training FLOP rate, with 3 × forward FLOPs per training sample counted
    /// as the direct convolution (the PyTorch peer's count): an effective rate.
    public var trainGflops: Double
    /// The same with the multiplications the chosen algorithms perform
    /// (Winograd blocks do fewer): the arithmetic rate actually reached.
    public var trainExecutedGflops: Double
    /// Peak resident set (VmHWM) of the process so far, MiB.
    public var peakRssMib: Double
    /// Best of square sgemm at 1024 and 2048 with the same thread count.
    public var sgemmGflops: Double
    /// Seconds of each timed training step, in order.
    public var stepSeconds: [Double]

    /// trainGflops as a fraction of sgemmGflops.
    public var sgemmShare: Double { trainGflops / sgemmGflops }
    /// trainExecutedGflops as a fraction of sgemmGflops.
    public var executedSgemmShare: Double { trainExecutedGflops / sgemmGflops }

    public var json: String {
        func number(_ v: Double) -> String { String(Double(Int((v * 10_000).rounded())) / 10_000) }
        return "{\"train_samples_per_s\": \(number(trainSamplesPerS)), \"infer_samples_per_s\": \(number(inferSamplesPerS)), "
            + "\"train_gflops\": \(number(trainGflops)), \"peak_rss_mib\": \(number(peakRssMib)), "
            + "\"sgemm_gflops\": \(number(sgemmGflops)), \"sgemm_share\": \(number(sgemmShare)), "
            + "\"train_executed_gflops\": \(number(trainExecutedGflops)), \"executed_sgemm_share\": \(number(executedSgemmShare)), "
            + "\"input\": [\(input.x), \(input.y), \(input.z)], \"batch\": \(batch), \"threads\": \(threads)}"
    }
}

/// Times SimBA CNN training on random data, the way `simba bench train`
/// reports it. Uses OpenBLAS's current thread count (set it before calling).
public enum TrainBenchmark {
    public static func run(input: [Int], batch: Int, widths: [Int], steps: Int, warmup: Int,
                           seed: UInt64) -> TrainBenchmarkResult {
        let grid = Grid3(input)
        let configuration = SimbaCNNConfiguration(input: grid, widths: widths)
        let model = try! SimbaCNN(configuration: configuration, maxBatch: batch, seed: seed)
        let optimizer = Adam(layout: model.layout)
        var generator = SeededGenerator(seed: seed &+ 1)
        let samples = (0..<(batch * grid.voxels)).map { _ in generator.symmetric(limit: 1) }
        let labels = (0..<batch).map { $0 % configuration.classes }

        var stepSeconds: [Double] = []
        for step in 0..<(warmup + steps) {
            let seconds = time { model.trainStep(samples, labels: labels, optimizer: optimizer) }
            if step >= warmup { stepSeconds.append(seconds) }
        }
        var inferSeconds: [Double] = []
        for _ in 0..<Swift.max(steps, 1) {
            inferSeconds.append(time { model.forward(samples, batch: batch, mode: .eval) })
        }
        let trainStep = median(stepSeconds), inferPass = median(inferSeconds)
        let flops = model.shapes.trainingFlopsPerSample * Double(batch)
        return TrainBenchmarkResult(
            input: grid, batch: batch, threads: BLASThreads.count,
            trainSamplesPerS: Double(batch) / trainStep, inferSamplesPerS: Double(batch) / inferPass,
            trainGflops: flops / trainStep / 1e9,
            trainExecutedGflops: model.executedTrainingFlopsPerSample * Double(batch) / trainStep / 1e9,
            peakRssMib: PeakMemory.peakMiB(),
            sgemmGflops: measureSgemmGflops(), stepSeconds: stepSeconds)
    }

    /// Best rate of square sgemm at 1024 and 2048 (median of 3 runs each).
    public static func measureSgemmGflops() -> Double {
        [1024, 2048].map { n -> Double in
            let a = Tensor(shape: [n * n]), b = Tensor(shape: [n * n]), c = Tensor(shape: [n * n])
            a.fill(0.5); b.fill(0.25)
            let seconds = median((0..<3).map { _ in
                time {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n),
                                1, a.data, Int32(n), b.data, Int32(n), 0, c.data, Int32(n))
                }
            })
            return 2 * Double(n) * Double(n) * Double(n) / seconds / 1e9
        }.max()!
    }

    /// Seconds body takes on `clock` (wall time by default).
    public static func time(_ body: () -> Void, clock: clockid_t = CLOCK_MONOTONIC) -> Double {
        var start = timespec(), end = timespec()
        clock_gettime(clock, &start)
        body()
        clock_gettime(clock, &end)
        return Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) * 1e-9
    }

    /// Median of a non-empty sample (benchmarks report medians).
    public static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2]
            : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}
