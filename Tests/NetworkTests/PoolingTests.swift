import XCTest
@testable import Network

final class PoolingTests: XCTestCase {
    // Odd in every axis so each axis has a one-cell last window.
    let geometry = PoolGeometry(batch: 2, input: Grid3(5, 3, 7))
    let channels = 3
    lazy var x = randomValues(geometry.inputRows * channels, seed: 31)

    func maxPool(_ x: [Float]) -> (out: [Float], winner: [UInt8]) {
        var out = [Float](repeating: 0, count: geometry.outputRows * channels)
        var winner = [UInt8](repeating: 0, count: out.count)
        withPointers(&out) { o in winner.withUnsafeMutableBufferPointer { w in
            maxPoolForward(out: o, winner: w.baseAddress!, x: x, geometry: geometry, channels: channels)
        }}
        return (out, winner)
    }

    func averagePool(_ x: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: geometry.outputRows * channels)
        withPointers(&out) { averagePoolForward(out: $0, x: x, geometry: geometry, channels: channels) }
        return out
    }

    func testOutputSizeIsCeilingOfHalf() {
        XCTAssertEqual(geometry.output, Grid3(3, 2, 4))
        XCTAssertEqual(Grid3(173, 211, 155).halvedSame, Grid3(87, 106, 78))
    }

    func testMaxPoolMatchesNaiveIgnoringPadding() {
        // All-negative values: a pooling that counted padding as 0 would fail.
        let negative = x.map { -abs($0) - 0.1 }
        XCTAssertEqual(maxPool(negative).out,
                       referencePool(negative, batch: 2, grid: geometry.input, channels: channels, maximum: true))
    }

    func testAveragePoolCountsOnlyRealCells() {
        assertClose(averagePool(x), referencePool(x, batch: 2, grid: geometry.input, channels: channels, maximum: false),
                    tolerance: 1e-6, "average pool")
    }

    func testMaxPoolBackwardMatchesFiniteDifferences() {
        let projection = randomValues(geometry.outputRows * channels, seed: 32)
        let (_, winner) = maxPool(x)
        var dx = [Float](repeating: 0, count: x.count)
        withPointers(&dx) { maxPoolBackward(dx: $0, dOut: projection, winner: winner, geometry: geometry, channels: channels) }
        checkGradient(values: x, analytic: dx, step: 1e-4, "max pool backward") { project(self.maxPool($0).out, projection) }
    }

    func testAveragePoolBackwardMatchesFiniteDifferences() {
        let projection = randomValues(geometry.outputRows * channels, seed: 33)
        var dx = [Float](repeating: 0, count: x.count)
        withPointers(&dx) { averagePoolBackward(dx: $0, dOut: projection, geometry: geometry, channels: channels) }
        checkGradient(values: x, analytic: dx, "average pool backward") { project(self.averagePool($0), projection) }
    }
}

/// The fused block kernel must equal batch norm → activation → max-pool
/// composed from the plain layers, forward and backward, in both modes.
final class BlockFusionTests: XCTestCase {
    let geometry = PoolGeometry(batch: 2, input: Grid3(3, 4, 5))

    /// 3 channels: one partial lane group; 8: one half-width group (its own
    /// load and store path); 19 and 24: a full group and a partial or half one.
    func testFusedBlockEqualsComposedLayers() {
        for channels in [3, 8, 19, 24] { checkFusedBlock(channels: channels) }
    }

    func checkFusedBlock(channels: Int) {
        let rows = geometry.inputRows
        let conv = randomValues(rows * channels, seed: 41, scale: 2)
        let gamma = randomValues(channels, seed: 43, scale: 1.5), beta = randomValues(channels, seed: 44)
        let dPooled = randomValues(geometry.outputRows * channels, seed: 42)
        for activation in Activation.allCases {
            for training in [true, false] {
                var mean = [Float](repeating: 0, count: channels), variance = mean, inverseStd = mean
                var sums = [Double](repeating: 0, count: 2 * channels)
                if training {
                    withPointers(&mean) { m in withPointers(&variance) { v in withPointers(&inverseStd) { i in
                        sums.withUnsafeMutableBufferPointer {
                            batchNormStatistics(mean: m, variance: v, inverseStd: i, x: conv, rows: rows,
                                                channels: channels, epsilon: 1e-3, sums: $0.baseAddress!)
                        }
                    }}}
                } else {
                    mean = randomValues(channels, seed: 45)
                    inverseStd = randomValues(channels, seed: 46).map { 1 + $0 * 0.5 }
                }
                var scale = [Float](repeating: 0, count: channels), shift = scale
                withPointers(&scale) { sc in withPointers(&shift) { sh in
                    batchNormScaleShift(scale: sc, shift: sh, gamma: gamma, beta: beta, mean: mean,
                                        inverseStd: inverseStd, channels: channels)
                }}
                // Composed: normalised, activated, pooled; then the three backwards.
                var normalized = [Float](repeating: 0, count: conv.count), activated = normalized
                withPointers(&normalized) { batchNormForward(out: $0, x: conv, scale: scale, shift: shift, rows: rows, channels: channels) }
                withPointers(&activated) { activationForward(out: $0, x: normalized, count: conv.count, activation: activation) }
                var pooled = [Float](repeating: 0, count: geometry.outputRows * channels)
                var winner = [UInt8](repeating: 0, count: pooled.count)
                withPointers(&pooled) { p in winner.withUnsafeMutableBufferPointer {
                    maxPoolForward(out: p, winner: $0.baseAddress!, x: activated, geometry: geometry, channels: channels)
                }}
                var dActivated = [Float](repeating: 0, count: conv.count), dNormalized = dActivated, dConv = dActivated
                withPointers(&dActivated) { maxPoolBackward(dx: $0, dOut: dPooled, winner: winner, geometry: geometry, channels: channels) }
                withPointers(&dNormalized) { activationBackward(dx: $0, dOut: dActivated, out: activated, count: conv.count, activation: activation) }
                var dGamma = [Float](repeating: 0, count: channels), dBeta = dGamma
                var coefficients = [Float](repeating: 0, count: 3 * channels)
                withPointers(&dConv) { d in withPointers(&dGamma) { dg in withPointers(&dBeta) { db in
                    withPointers(&coefficients) { co in sums.withUnsafeMutableBufferPointer { su in
                        batchNormBackward(dx: d, dGamma: dg, dBeta: db, dy: dNormalized, x: conv, mean: mean,
                                          inverseStd: inverseStd, gamma: gamma, rows: rows, channels: channels,
                                          training: training, sums: su.baseAddress!, coefficients: co)
                    }}
                }}}
                // Fused.
                var fusedPooled = [Float](repeating: 0, count: pooled.count)
                var fusedWinner = [Float](repeating: 0, count: pooled.count), fusedWinnerInput = fusedWinner
                withPointers(&fusedPooled) { p in withPointers(&fusedWinner) { w in withPointers(&fusedWinnerInput) { wi in
                    normalizeActivatePoolForward(pooled: p, winner: w, winnerInput: wi, conv: conv, scale: scale,
                                                 shift: shift, activation: activation, geometry: geometry, channels: channels)
                }}}
                var fusedDConv = [Float](repeating: 0, count: conv.count)
                var fusedDGamma = [Float](repeating: 0, count: channels), fusedDBeta = fusedDGamma
                var fusedDConvBias = fusedDGamma
                withPointers(&fusedDConv) { d in withPointers(&fusedDGamma) { dg in withPointers(&fusedDBeta) { db in
                    withPointers(&coefficients) { co in sums.withUnsafeMutableBufferPointer { su in withPointers(&fusedDConvBias) { dcb in
                        normalizeActivatePoolBackward(
                            dConv: d, dGamma: dg, dBeta: db, dConvBias: dcb, dPooled: dPooled, pooled: fusedPooled,
                            winner: fusedWinner, winnerInput: fusedWinnerInput, conv: conv, mean: mean, inverseStd: inverseStd, gamma: gamma,
                            activation: activation, geometry: geometry, channels: channels, training: training,
                            sums: su.baseAddress!, coefficients: co)
                    }}}
                }}}
                let label = "\(activation) training=\(training) channels=\(channels)"
                XCTAssertEqual(fusedPooled, pooled, label)
                // Where relu outputs 0 for the whole window every cell ties; the
                // winner is then arbitrary and its gradient zero either way.
                let decisive = pooled.indices.filter { activation == .sigmoid || pooled[$0] > 0 }
                XCTAssertEqual(decisive.map { fusedWinner[$0] }, decisive.map { Float(winner[$0]) }, label)
                assertClose(fusedDConv, dConv, tolerance: 1e-5, "dConv " + label)
                assertClose(fusedDGamma, dGamma, tolerance: 1e-5, "dGamma " + label)
                assertClose(fusedDBeta, dBeta, tolerance: 1e-5, "dBeta " + label)
                let dConvSums = (0..<channels).map { c in stride(from: c, to: dConv.count, by: channels).reduce(0.0) { $0 + Double(dConv[$1]) } }
                let gradientScale = dBeta.map(abs).max()!
                for c in 0..<channels {
                    XCTAssertEqual(Double(fusedDConvBias[c]), dConvSums[c], accuracy: 1e-5 * Double(gradientScale), "dConvBias " + label)
                }
            }
        }
    }
}

/// A slab's pooling runs in pieces of output planes (the planes its
/// neighbours need first, the rest while they travel): each window is
/// computed alone, so the pieces together must be the whole, bitwise.
final class PoolingByPlanesTests: XCTestCase {
    func testPoolingByOutputPlanesIsPoolingWhole() {
        let slab = Grid3(7, 3, 5)
        let geometries = [
            PoolGeometry(batch: 2, input: Grid3(9, 4, 3)),
            PoolGeometry(batch: 2, input: Grid3(8, 3, 3)),
            PoolGeometry(batch: 3, input: slab, inputSampleStride: slab.voxels + 2 * 15, inputOffset: 15),
        ]
        let kernels: [BlockKernels] = ConvolutionProducts.avx512Available ? [.swift, .avx512] : [.swift]
        var checked = 0
        for geometry in geometries {
            let channels = 19
            let bufferRows = geometry.inputIsWhole ? geometry.inputRows : geometry.batch * geometry.inputSampleStride
            // Integers: windows hold ties, which the first equal cell wins.
            let conv = randomValues(bufferRows * channels, seed: UInt64(checked), scale: 30).map { ($0 / 10).rounded() }
            let scale = randomValues(channels, seed: 1, scale: 3), shift = randomValues(channels, seed: 2)
            let outputCount = geometry.outputRows * channels
            func pool(_ kernel: BlockKernels, pieces: [Range<Int>]?) -> [[Float]] {
                var pooledValues = [Float](repeating: .nan, count: outputCount)
                var winners = pooledValues, winnerInputs = pooledValues
                withPointers(&pooledValues) { pooled in withPointers(&winners) { winner in withPointers(&winnerInputs) { winnerInput in
                    func run(_ part: PoolGeometry, row: Int) {
                        normalizeActivatePoolForward(pooled: pooled + row * channels, winner: winner + row * channels,
                                                     winnerInput: winnerInput + row * channels, conv: conv,
                                                     scale: scale, shift: shift, activation: .relu, geometry: part,
                                                     channels: channels, kernels: kernel)
                    }
                    guard let pieces else { return run(geometry, row: 0) }
                    for sample in 0..<geometry.batch {
                        for planes in pieces {
                            let part = geometry.outputPlanes(planes, sample: sample)
                            run(part.geometry, row: part.outputRow)
                        }
                    }
                }}}
                return [pooledValues, winners, winnerInputs]
            }
            let x = geometry.output.x
            for kernel in kernels {
                let whole = pool(kernel, pieces: nil)
                XCTAssertFalse(whole.joined().contains { $0.isNaN })
                // Out of order, and single planes including the last (a one-plane window when X is odd).
                for pieces in [[0..<x], [(x - 1)..<x, 0..<1, 1..<(x - 1)], (0..<x).map { $0..<($0 + 1) }.reversed()] {
                    XCTAssertEqual(pool(kernel, pieces: pieces), whole, "\(geometry.input) \(kernel) \(pieces)")
                    checked += 1
                }
            }
        }
        XCTAssertEqual(checked, 3 * 3 * kernels.count)
    }

    func testPlanesNeighboursNeedArePooledFirst() {
        typealias Order = (first: [Range<Int>], rest: [Range<Int>])
        func order(_ owned: Range<Int>, _ sent: [Range<Int>]) -> Order { SimbaCNN.poolingOrder(owned: owned, sent: sent) }
        // A middle part: one plane down, two up (evenly dealt levels move a plane of their own).
        var result = order(10..<22, [10..<11, 20..<22])
        XCTAssertEqual(result.first, [10..<11, 20..<22])
        XCTAssertEqual(result.rest, [11..<15, 15..<19, 19..<20])
        // Thin: the neighbours need every plane, overlapping.
        result = order(4..<6, [4..<6, 5..<6])
        XCTAssertEqual(result.first, [4..<6])
        XCTAssertEqual(result.rest, [])
        // The lowest part sends only up; empty ranges send nothing.
        result = order(0..<5, [0..<0, 4..<5])
        XCTAssertEqual(result.first, [4..<5])
        XCTAssertEqual(result.rest, [0..<4])
    }
}
