import Foundation
import XCTest
@testable import Network

/// The exchanges of a spatial group, between threads of one process: every
/// part posts what it sends, all wait, then each reads what was sent to it.
final class ThreadedSlabHub: @unchecked Sendable {
    let parts: Int
    private let condition = NSCondition()
    private var arrived = 0, generation = 0
    /// mailbox[part]: what was sent to that part, by sender.
    private var mailbox: [[Int: [Float]]]
    private var gathered: [[Float]]
    private var summands: [[Double]]

    init(parts: Int) {
        self.parts = parts
        mailbox = Array(repeating: [:], count: parts)
        gathered = Array(repeating: [], count: parts)
        summands = Array(repeating: [], count: parts)
    }

    private func barrier() {
        condition.lock()
        let mine = generation
        arrived += 1
        if arrived == parts {
            arrived = 0
            generation += 1
            condition.broadcast()
        } else {
            while generation == mine { condition.wait() }
        }
        condition.unlock()
    }

    private func locked<T>(_ body: () -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        return body()
    }

    func exchange(for part: Int) -> SlabExchange { Exchange(hub: self, part: part) }

    private final class Exchange: SlabExchange {
        let hub: ThreadedSlabHub, part: Int
        init(hub: ThreadedSlabHub, part: Int) { self.hub = hub; self.part = part; receiving = (nil, nil) }

        /// Where the swap in flight delivers.
        private var receiving: (lower: UnsafeMutableBufferPointer<Float>?, upper: UnsafeMutableBufferPointer<Float>?)

        func startSwap(toLower: UnsafeBufferPointer<Float>?, toUpper: UnsafeBufferPointer<Float>?,
                       fromLower: UnsafeMutableBufferPointer<Float>?, fromUpper: UnsafeMutableBufferPointer<Float>?) {
            hub.locked {
                if let toLower { hub.mailbox[part - 1][part] = Array(toLower) }
                if let toUpper { hub.mailbox[part + 1][part] = Array(toUpper) }
            }
            receiving = (fromLower, fromUpper)
        }

        func progressSwap() {}

        func finishSwap() {
            hub.barrier()
            hub.locked {
                for (buffer, sender) in [(receiving.lower, part - 1), (receiving.upper, part + 1)] {
                    guard let buffer else { continue }
                    let sent = hub.mailbox[part][sender]!
                    precondition(sent.count == buffer.count, "part \(sender) sent \(sent.count) floats, part \(part) expected \(buffer.count)")
                    _ = buffer.update(fromContentsOf: sent)
                }
            }
            receiving = (nil, nil)
            hub.barrier()
        }

        func sumOverGroup(_ values: inout [Double]) {
            let mine = values
            hub.locked { hub.summands[part] = mine }
            hub.barrier()
            values = hub.locked { (0..<hub.parts).reduce(into: [Double](repeating: 0, count: mine.count)) { total, sender in
                for i in total.indices { total[i] += hub.summands[sender][i] }
            } }
            hub.barrier()
        }

        func gatherParts(_ local: UnsafePointer<Float>, into all: UnsafeMutablePointer<Float>, counts: [Int]) {
            hub.locked { hub.gathered[part] = Array(UnsafeBufferPointer(start: local, count: counts[part])) }
            hub.barrier()
            hub.locked {
                var offset = 0
                for sender in 0..<hub.parts {
                    (all + offset).update(from: hub.gathered[sender], count: counts[sender])
                    offset += counts[sender]
                }
            }
            hub.barrier()
        }
    }
}

final class SlabTests: XCTestCase {
    func testPartitionsKeepPoolingWindowsInsideSlabsAndGatherThinBlocks() throws {
        let simba = SimbaCNNConfiguration.simba()
        // 173 → 87 → 44 → 22 → 11 → 6 planes: on 2 ranks even the fifth
        // block's slabs (6 and 5 planes, Winograd tiles over 6) cost less than its 11.
        let two = try SlabPartition(configuration: simba, parts: 2, index: 1)
        XCTAssertEqual(two.splitBlocks, 5)
        // Each level dealt evenly: 86 and 87 planes, then 44 and 43 (rank 0
        // pools 43 and takes 2 planes of rank 1's pooled slab with its halo).
        XCTAssertEqual(two.ranges[0], [0..<86, 86..<173])
        XCTAssertEqual(two.ranges[1], [0..<44, 44..<87])
        let upper = try SlabPartition(configuration: simba, parts: 2, index: 1).transfers(level: 1)
        XCTAssertEqual(upper.owned, 43..<87)
        XCTAssertEqual(upper.toLower, 43..<45)
        XCTAssertEqual(upper.fromLower.count, 0)
        XCTAssertEqual(two.ranges[4], [0..<6, 6..<11])
        XCTAssertEqual(two.ranges[5], [0..<3, 3..<6])
        // On 16 ranks three blocks split (the third's 44 planes in slabs of
        // 2–4); a fourth would need its 11 pooled planes dealt to 16 ranks.
        let sixteen = try SlabPartition(configuration: simba, parts: 16, index: 0)
        XCTAssertEqual(sixteen.splitBlocks, 3)
        XCTAssertEqual(sixteen.ranges[2].map(\.count).max(), 4)
        XCTAssertEqual(sixteen.ranges[2].map(\.count).min(), 2)
        for parts in 1...5 {
            for split in 1...5 {
                guard let partition = try? SlabPartition(configuration: simba, parts: parts, index: 0, splitBlocks: split) else {
                    continue
                }
                for (level, ranges) in partition.ranges.enumerated() {
                    XCTAssertEqual(ranges.first?.lowerBound, 0)
                    XCTAssertEqual(ranges.last?.upperBound, SimbaCNNShapes(simba).convolutionGrids.map(\.x)[safe: level]
                                   ?? SimbaCNNShapes(simba).pooledGrids[level - 1].x)
                    for (lower, upper) in zip(ranges, ranges.dropFirst()) {
                        XCTAssertEqual(lower.upperBound, upper.lowerBound)
                        XCTAssertFalse(lower.isEmpty)
                        // Boundaries inside the volume fall on even planes of every split level.
                        if level < split { XCTAssertEqual(lower.upperBound % 2, 0) }
                    }
                }
            }
        }
        XCTAssertThrowsError(try SlabPartition(configuration: SimbaCNNConfiguration(input: Grid3(3, 8, 8), widths: [4, 8]),
                                               parts: 3, index: 0))
    }

    /// Parts on threads against the whole model: the same precise-batch-norm
    /// statistics, the same logits and, summed over the parts, the same
    /// gradients (eval-mode batch norm; training's synchronised statistics
    /// are tested under mpirun).
    func testSlabsComputeWhatTheWholeModelComputes() throws {
        let cases: [(SimbaCNNConfiguration, Conv3DAlgorithm?, [Int])] = [
            (SimbaCNNConfiguration(input: Grid3(21, 6, 5), widths: [4, 8, 8]), nil, [2, 3]),
            (SimbaCNNConfiguration(input: Grid3(24, 7, 6), widths: [8, 8]), .winograd, [2, 3, 4]),
            (SimbaCNNConfiguration(input: Grid3(33, 5, 6), widths: [3, 4, 5, 6]), .im2col, [2, 4]),
            // The presets' networks: quickstart and whole brain, and SimBA's
            // five blocks (narrower, so that the test stays fast).
            (SimbaCNNConfiguration(input: Grid3(26, 6, 5), widths: [8, 16, 32]), nil, [2, 3]),
            (SimbaCNNConfiguration(input: Grid3(36, 5, 4), widths: [8, 8, 16, 16, 32]), nil, [2]),
        ]
        var checked: [String] = []
        // Planes sent to a neighbour in one exchange: 1 is a halo plane;
        // evenly dealt levels also move planes of a slab's own.
        var largestMove = 0
        for (configuration, algorithm, partCounts) in cases {
            let batch = 2
            let samples = randomValues(batch * configuration.input.voxels, seed: 3)
            let labels = [0, 1]
            let whole = try SimbaCNN(configuration: configuration, maxBatch: batch, seed: 5, algorithm: algorithm)
            // Non-trivial batch-norm statistics, so that eval mode is not the identity.
            for (i, slice) in whole.layout.slices.enumerated() where slice.role == .batchNormMovingMean || slice.role == .batchNormMovingVariance {
                for j in slice.range { whole.parameters[j] = slice.role == .batchNormMovingMean ? 0.01 * Float(i + j % 3) : 0.5 + 0.1 * Float(j % 4) }
            }
            whole.beginBatchNormCalibration()
            whole.forward(samples, batch: batch, mode: .calibrate)
            let expectedCalibration = whole.batchNormCalibrationSums.map { Float($0) }
            let expectedLogits = whole.forward(samples, batch: batch, mode: .eval)
            whole.backward(labels: labels)
            let expected = whole.gradients.array
            let wholeBatchNorm = Set(whole.layout.slices.filter { [.convolutionBias, .batchNormScale, .batchNormShift].contains($0.role) }
                .flatMap { Array($0.range) })

            for parts in partCounts {
                for split in 1...configuration.widths.count {
                    guard let first = try? SlabPartition(configuration: configuration, parts: parts, index: 0, splitBlocks: split) else { continue }
                    let hub = ThreadedSlabHub(parts: parts)
                    let models = try (0..<parts).map { index in
                        let model = try SimbaCNN(configuration: configuration, maxBatch: batch, seed: 5, algorithm: algorithm,
                                                 slab: SlabPartition(configuration: configuration, parts: parts, index: index, splitBlocks: split))
                        try model.load(parameters: whole.parameters.array)
                        model.slabExchange = hub.exchange(for: index)
                        return model
                    }
                    let run = PartsRun(models: models)
                    // One thread per part (a pool of as many threads as cores would deadlock at the first exchange).
                    let finished = DispatchGroup()
                    for index in 0..<parts {
                        finished.enter()
                        Thread {
                            // Twice: the second pass must not see anything the first left behind.
                            for _ in 0..<2 { run.pass(index, samples: samples, labels: labels) }
                            finished.leave()
                        }.start()
                    }
                    finished.wait()
                    let (logits, gradients) = (run.logits, run.gradients)
                    let label = "\(configuration.widths) at \(configuration.input), \(parts) parts, \(split) split (\(first.ranges[0]))"
                    for index in 0..<parts {
                        let partition = try SlabPartition(configuration: configuration, parts: parts, index: index, splitBlocks: split)
                        for level in 1..<split {
                            let moves = partition.transfers(level: level)
                            largestMove = max(largestMove, moves.toLower.count, moves.toUpper.count)
                        }
                    }
                    for index in 0..<parts {
                        assertClose(logits[index], expectedLogits, tolerance: 1e-5, "logits of part \(index), \(label)")
                        // Precise batch norm: the batch's statistics, summed over the slabs.
                        assertClose(run.calibration[index].map { Float($0) }, expectedCalibration, tolerance: 1e-5,
                                    "calibration statistics of part \(index), \(label)")
                    }
                    var summed = [Float](repeating: 0, count: expected.count)
                    for index in 0..<parts {
                        for i in summed.indices {
                            // Eval-mode batch-norm gradients of whole blocks are each part's whole ones.
                            if wholeBatchNorm.contains(i) && !first.splits(block: blockOf(i, whole.layout)) {
                                if index == 0 { summed[i] = gradients[index][i] }
                            } else {
                                summed[i] += gradients[index][i]
                            }
                        }
                    }
                    assertClose(summed, expected, tolerance: 1e-5, "gradients, \(label)")
                    checked.append(label)
                }
            }
        }
        // Every block count that can be split, with exchanges between 2, 3 and 4 parts.
        XCTAssertEqual(checked.count, 30, "\(checked)")
        XCTAssertGreaterThanOrEqual(largestMove, 2)
    }

    private func blockOf(_ index: Int, _ layout: ParameterLayout) -> Int {
        let slice = layout.slices.first { $0.range.contains(index) }!
        guard slice.name.hasPrefix("block") else { return Int.max }
        return Int(slice.name.dropFirst(5).prefix { $0.isNumber })! - 1
    }
}

/// The parts' models and what each computed, shared with their threads.
private final class PartsRun: @unchecked Sendable {
    let models: [SimbaCNN]
    var logits: [[Float]], gradients: [[Float]]
    private let lock = NSLock()

    init(models: [SimbaCNN]) {
        self.models = models
        logits = Array(repeating: [], count: models.count)
        gradients = Array(repeating: [], count: models.count)
        calibration = Array(repeating: [], count: models.count)
    }

    var calibration: [[Double]]

    func pass(_ index: Int, samples: [Float], labels: [Int]) {
        let model = models[index]
        model.beginBatchNormCalibration()
        model.forward(samples, batch: labels.count, mode: .calibrate)
        let sums = model.batchNormCalibrationSums
        lock.withLock { calibration[index] = sums }
        let out = model.forward(samples, batch: labels.count, mode: .eval)
        model.backward(labels: labels)
        let gradient = model.gradients.array
        lock.withLock { logits[index] = out; gradients[index] = gradient }
    }
}

private extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
