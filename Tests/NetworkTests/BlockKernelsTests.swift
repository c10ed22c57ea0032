import XCTest
@testable import Network

/// The AVX-512 C block kernels (Sources/CBlockFusion) against the Swift ones
/// they replace: the same arithmetic in the same order, so every output is
/// bitwise the same. The Swift kernels are tested against the composed plain
/// layers (PoolingTests) and finite differences elsewhere.
final class BlockKernelsTests: XCTestCase {
    func skipUnlessAVX512() throws {
        try XCTSkipUnless(ConvolutionProducts.avx512Available, "this CPU has no AVX-512F")
    }

    /// Everything the fused forward and backward write, run by `kernels`.
    struct BlockOutputs: Equatable {
        var pooled, winner, winnerInput, dConv, dGamma, dBeta, dConvBias: [Float]
        var sums: [Double]
    }

    func runBlock(_ kernels: BlockKernels, geometry: PoolGeometry, channels: Int, activation: Activation,
                  training: Bool, conv: [Float], seed: UInt64) -> BlockOutputs {
        let pooledCount = geometry.outputRows * channels
        let scale = randomValues(channels, seed: seed + 1, scale: 3), shift = randomValues(channels, seed: seed + 2)
        let mean = randomValues(channels, seed: seed + 3)
        let inverseStd = randomValues(channels, seed: seed + 4).map { 1 + $0 * 0.5 }
        let gamma = randomValues(channels, seed: seed + 5)
        let dPooled = randomValues(pooledCount, seed: seed + 6)
        var out = BlockOutputs(
            pooled: .init(repeating: 7, count: pooledCount), winner: .init(repeating: 7, count: pooledCount),
            winnerInput: .init(repeating: 7, count: pooledCount), dConv: .init(repeating: 7, count: conv.count),
            dGamma: .init(repeating: 0.5, count: channels), dBeta: .init(repeating: 0.5, count: channels),
            dConvBias: .init(repeating: 0.5, count: channels), sums: .init(repeating: 0, count: 2 * channels))
        var coefficients = [Float](repeating: 0, count: 3 * channels)
        withPointers(&out.pooled) { p in withPointers(&out.winner) { w in withPointers(&out.winnerInput) { wi in
            normalizeActivatePoolForward(pooled: p, winner: w, winnerInput: wi, conv: conv, scale: scale, shift: shift,
                                         activation: activation, geometry: geometry, channels: channels,
                                         kernels: kernels)
        }}}
        withPointers(&out.dConv) { d in withPointers(&out.dGamma) { dg in withPointers(&out.dBeta) { db in
            withPointers(&out.dConvBias) { dcb in withPointers(&coefficients) { co in
                out.sums.withUnsafeMutableBufferPointer { su in
                    normalizeActivatePoolBackward(
                        dConv: d, dGamma: dg, dBeta: db, dConvBias: dcb, dPooled: dPooled, pooled: out.pooled,
                        winner: out.winner, winnerInput: out.winnerInput, conv: conv, mean: mean,
                        inverseStd: inverseStd, gamma: gamma, activation: activation, geometry: geometry,
                        channels: channels, training: training, sums: su.baseAddress!, coefficients: co,
                        kernels: kernels)
                }
            }}
        }}}
        return out
    }

    // Odd sizes (one-cell last windows on every axis), a slab inside a
    // buffer widened by halo planes, channel counts with partial vectors
    // (3, 8, 20, 33) and whole ones (16), both activations, train and eval
    // mode; inputs from −20 to 20, and the same rounded to integers so that
    // windows hold ties (the first of equal cells wins).
    func testAVX512BlockKernelsAreTheSwiftKernelsBitwise() throws {
        try skipUnlessAVX512()
        let slab = Grid3(4, 3, 5)
        let geometries = [
            PoolGeometry(batch: 2, input: Grid3(5, 3, 7)),
            PoolGeometry(batch: 2, input: slab, inputSampleStride: slab.voxels + 2 * 15, inputOffset: 15),
        ]
        var checked = 0
        for geometry in geometries {
            let bufferRows = geometry.inputIsWhole ? geometry.inputRows : geometry.batch * geometry.inputSampleStride
            for channels in [3, 8, 16, 20, 33] {
                for activation in Activation.allCases {
                    for (training, ties) in [(true, false), (false, false), (true, true), (false, true)] {
                        let seed = UInt64(100 * channels + checked)
                        let values = randomValues(bufferRows * channels, seed: seed, scale: 20)
                        let conv = ties ? values.map { ($0 / 10).rounded() } : values
                        let c = runBlock(.avx512, geometry: geometry, channels: channels, activation: activation,
                                         training: training, conv: conv, seed: seed)
                        let swift = runBlock(.swift, geometry: geometry, channels: channels, activation: activation,
                                             training: training, conv: conv, seed: seed)
                        XCTAssertEqual(c, swift, "\(geometry.input) \(channels) channels \(activation) "
                                       + "training=\(training) ties=\(ties)")
                        checked += 1
                    }
                }
            }
        }
        XCTAssertEqual(checked, 80)
    }

    // One-cell windows (a 1×1×1 grid), so the pooled output is the
    // activation of every input: −120 to 120 in steps of 0.37, zeros of
    // both signs, the clamp's bounds and infinities.
    func testAVX512ActivationsAreTheSwiftActivationsBitwise() throws {
        try skipUnlessAVX512()
        let channels = 16
        var inputs = Array(stride(from: Float(-120), through: 120, by: 0.37))
        inputs += [0, -0, 87, -87, 88, -88, 87.5, -87.5, 88.5, -88.5, .infinity, -.infinity,
                   .leastNonzeroMagnitude, -.greatestFiniteMagnitude]
        inputs += [Float](repeating: 1, count: (channels - inputs.count % channels) % channels)
        let geometry = PoolGeometry(batch: inputs.count / channels, input: Grid3(1, 1, 1))
        let scale = [Float](repeating: 1, count: channels), shift = [Float](repeating: 0, count: channels)
        for activation in Activation.allCases {
            func activated(_ kernels: BlockKernels) -> [Float] {
                var pooled = [Float](repeating: 7, count: inputs.count), winner = pooled, winnerInput = pooled
                withPointers(&pooled) { p in withPointers(&winner) { w in withPointers(&winnerInput) { wi in
                    normalizeActivatePoolForward(pooled: p, winner: w, winnerInput: wi, conv: inputs, scale: scale,
                                                 shift: shift, activation: activation, geometry: geometry,
                                                 channels: channels, kernels: kernels)
                }}}
                return pooled
            }
            let c = activated(.avx512), swift = activated(.swift)
            XCTAssertEqual(c.map(\.bitPattern), swift.map(\.bitPattern), "\(activation)")
        }
    }

    func testAVX512StatisticsAreTheSwiftStatisticsBitwise() throws {
        try skipUnlessAVX512()
        for (rows, channels) in [(1, 5), (64, 16), (200, 20), (131, 33)] {
            let x = randomValues(rows * channels, seed: UInt64(rows), scale: 50)
            let reference = Array(x[0..<channels])
            func statistics(_ kernels: BlockKernels) -> [Double] {
                var sums = [Double](repeating: 0.25, count: 2 * channels)
                sums.withUnsafeMutableBufferPointer {
                    batchNormAccumulateStatistics(sums: $0.baseAddress!, x: x, rows: rows, channels: channels,
                                                  reference: reference, kernels: kernels)
                }
                return sums
            }
            XCTAssertEqual(statistics(.avx512), statistics(.swift), "\(rows) rows, \(channels) channels")
        }
    }

    // dConv a run of rows at a time (for a backward that reads it in chunks)
    // is bitwise dConv written whole, whatever the runs: single rows, runs
    // that end inside a line or a window, and all rows at once; on a slab,
    // zero on the padding rows (the model zeroes them before writing whole).
    func testInputGradientByRowsIsTheWholeOneBitwise() throws {
        try skipUnlessAVX512()
        let slab = Grid3(4, 3, 5)
        for geometry in [PoolGeometry(batch: 2, input: Grid3(5, 3, 7)),
                         PoolGeometry(batch: 2, input: slab, inputSampleStride: slab.voxels + 2 * 15, inputOffset: 15)] {
            let bufferRows = geometry.inputIsWhole ? geometry.inputRows : geometry.batch * geometry.inputSampleStride
            for channels in [3, 20, 33] {
                for activation in Activation.allCases {
                    let seed = UInt64(channels)
                    let conv = randomValues(bufferRows * channels, seed: seed, scale: 20)
                    let pooledCount = geometry.outputRows * channels
                    var pooled = [Float](repeating: 0, count: pooledCount), winner = pooled, winnerInput = pooled
                    let scale = randomValues(channels, seed: seed + 1, scale: 3), shift = randomValues(channels, seed: seed + 2)
                    withPointers(&pooled) { p in withPointers(&winner) { w in withPointers(&winnerInput) { wi in
                        normalizeActivatePoolForward(pooled: p, winner: w, winnerInput: wi, conv: conv, scale: scale,
                                                     shift: shift, activation: activation, geometry: geometry,
                                                     channels: channels, kernels: .avx512)
                    }}}
                    let dPooled = randomValues(pooledCount, seed: seed + 3)
                    let coefficients = randomValues(3 * channels, seed: seed + 4)
                    coefficients.withUnsafeBufferPointer { co in
                        let c = co.baseAddress!
                        let gradient = BlockInputGradient(
                            dPooled: dPooled, pooled: pooled, winner: winner, conv: conv, fromInput: c,
                            constant: c + channels, fromDy: c + 2 * channels, activation: activation, geometry: geometry,
                            channels: channels, kernels: .avx512)
                        XCTAssertTrue(gradient.writesRows)
                        var whole = [Float](repeating: 0, count: conv.count)
                        withPointers(&whole) { gradient.write(into: $0) }
                        for run in [1, 4, 9, 64, bufferRows] {
                            var byRows = [Float](repeating: 7, count: conv.count)
                            withPointers(&byRows) { out in
                                for first in stride(from: 0, to: bufferRows, by: run) {
                                    let count = Swift.min(run, bufferRows - first)
                                    gradient.write(rows: first, count: count, into: out + first * channels)
                                }
                            }
                            XCTAssertEqual(byRows, whole, "\(geometry.input) \(channels) channels, \(activation), runs of \(run)")
                        }
                    }
                }
            }
        }
    }

    // A whole network's gradients with the C kernels (and block 1's dConv
    // computed chunk by chunk inside its kernel gradient: 23·22·21 voxels
    // make more than one chunk) and with the Swift ones, where dConv is
    // written whole: bitwise the same.
    func testNetworkGradientsAreTheSameWithEitherBlockKernels() throws {
        try skipUnlessAVX512()
        let grid = Grid3(23, 22, 21)
        let samples = randomValues(2 * grid.voxels, seed: 91, scale: 2)
        for activation in Activation.allCases {
            let configuration = SimbaCNNConfiguration(input: grid, widths: [20, 6], activation: activation)
            func gradients(_ kernels: BlockKernels) throws -> [Float] {
                let model = try SimbaCNN(configuration: configuration, maxBatch: 2, seed: 5)
                model.blockKernels = kernels
                _ = model.forward(samples, batch: 2, mode: .train)
                _ = model.backward(labels: [1, 0])
                return Array(UnsafeBufferPointer(start: model.gradients.data, count: model.gradients.count))
            }
            let c = try gradients(.avx512), swift = try gradients(.swift)
            XCTAssertEqual(c, swift, "\(activation)")
            XCTAssertTrue(c.contains { $0 != 0 })
        }
    }
}
