import XCTest
@testable import Network

final class Conv3DTests: XCTestCase {
    // Odd sizes, several channels, and a scratch holding 7 patch rows so
    // the 2·60 rows run in many chunks, the last one partial.
    let shape = Conv3DShape(batch: 2, grid: Grid3(5, 4, 3), inChannels: 3, outChannels: 4)
    lazy var scratch = ConvolutionScratch(capacity: shape.patchLength * 7)
    lazy var input = randomValues(shape.rows * shape.inChannels, seed: 1)
    lazy var kernel = randomValues(shape.kernelCount, seed: 2, scale: 0.5)
    lazy var bias = randomValues(shape.outChannels, seed: 3)

    func convolve(_ input: [Float], _ kernel: [Float], _ bias: [Float]) -> [Float] {
        convolve(input, kernel, bias, algorithm: .im2col)
    }

    func convolve(_ input: [Float], _ kernel: [Float], _ bias: [Float], algorithm: Conv3DAlgorithm) -> [Float] {
        var out = [Float](repeating: 0, count: shape.rows * shape.outChannels)
        withPointers(&out) { o in
            conv3dForward(out: o, input: input, kernel: kernel, bias: bias, shape: shape, scratch: scratch,
                          algorithm: algorithm)
        }
        return out
    }

    func testForwardMatchesNaiveSamePaddedConvolution() {
        let expected = referenceConvolution(input: input, kernel: kernel, bias: bias, batch: shape.batch,
                                            grid: shape.grid, inChannels: shape.inChannels,
                                            outChannels: shape.outChannels)
        assertClose(convolve(input, kernel, bias), expected, tolerance: 1e-5, "conv forward")
    }

    // The first layer's tap-major path (Conv3DSingleChannel.swift): odd
    // sizes, two samples, and a scratch of two lines of patches, so the 30
    // lines run in 15 chunks that cross from one sample into the next.
    let single = Conv3DShape(batch: 2, grid: Grid3(5, 3, 5), inChannels: 1, outChannels: 5)
    lazy var singleScratch = ConvolutionScratch(capacity: 27 * single.grid.z * 2)
    lazy var singleInput = randomValues(single.rows, seed: 4)
    lazy var singleKernel = randomValues(single.kernelCount, seed: 5)
    lazy var singleBias = randomValues(single.outChannels, seed: 6)

    func convolveSingle(_ input: [Float], _ kernel: [Float], _ bias: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: single.rows * single.outChannels)
        withPointers(&out) { o in
            conv3dForward(out: o, input: input, kernel: kernel, bias: bias, shape: single, scratch: singleScratch)
        }
        return out
    }

    func testSingleInputChannelMatchesNaive() {
        let expected = referenceConvolution(input: singleInput, kernel: singleKernel, bias: singleBias,
                                            batch: single.batch, grid: single.grid,
                                            inChannels: 1, outChannels: single.outChannels)
        assertClose(convolveSingle(singleInput, singleKernel, singleBias), expected, tolerance: 1e-5,
                    "1-channel conv")
    }

    // dOut given as computed rows (OutputGradient.computed, written a chunk
    // at a time into the scratch) gives bitwise the stored dOut's kernel
    // gradient; the writer sees each of the 15 chunks once, in order.
    func testSingleInputChannelKernelGradientFromComputedRowsIsTheStoredOne() {
        let dOut = randomValues(single.rows * single.outChannels, seed: 8)
        var stored = randomValues(single.kernelCount, seed: 9), computed = stored
        withPointers(&stored) {
            singleChannelConv3dKernelGradient(dKernel: $0, dOut: .stored(dOut), input: singleInput, shape: single,
                                              scratch: singleScratch)
        }
        var chunks: [Range<Int>] = []
        withPointers(&computed) {
            singleChannelConv3dKernelGradient(dKernel: $0, dOut: .computed { first, count, into in
                chunks.append(first..<(first + count))
                for i in 0..<(count * self.single.outChannels) { into[i] = dOut[first * self.single.outChannels + i] }
            }, input: singleInput, shape: single, scratch: singleScratch)
        }
        XCTAssertEqual(computed, stored)
        XCTAssertEqual(chunks.count, 15)
        XCTAssertEqual(chunks.map(\.count).reduce(0, +), single.rows)
        XCTAssertEqual(zip(chunks, chunks.dropFirst()).filter { $0.upperBound != $1.lowerBound }.count, 0)
    }

    func testSingleInputChannelKernelGradientMatchesFiniteDifferences() {
        // Without dInput, as in training, the tap-major path runs; it adds to
        // what dKernel and dBias already hold.
        let projection = randomValues(single.rows * single.outChannels, seed: 8)
        let heldKernel = randomValues(single.kernelCount, seed: 9), heldBias = randomValues(single.outChannels, seed: 10)
        var dKernel = heldKernel, dBias = heldBias
        withPointers(&dKernel) { dk in withPointers(&dBias) { db in
            conv3dBackward(dInput: nil, dKernel: dk, dBias: db, dOut: projection, input: singleInput,
                           kernel: singleKernel, shape: single, scratch: singleScratch)
        }}
        checkGradient(values: singleKernel, analytic: zip(dKernel, heldKernel).map { $0 - $1 }, "1-channel dKernel") {
            project(self.convolveSingle(self.singleInput, $0, self.singleBias), projection)
        }
        checkGradient(values: singleBias, analytic: zip(dBias, heldBias).map { $0 - $1 }, "1-channel dBias") {
            project(self.convolveSingle(self.singleInput, self.singleKernel, $0), projection)
        }
    }

    func testSingleInputChannelInputGradientMatchesFiniteDifferences() {
        // With dInput (saliency) the layer takes the im2col path.
        checkBackwardFromZero(shape: single, input: singleInput, kernel: singleKernel, bias: singleBias,
                              scratch: singleScratch, seed: 11, withBias: false, label: "1-channel",
                              convolve: convolveSingle)
    }

    /// dInput, dKernel (and dBias) from zeroed buffers against finite
    /// differences of the projected output of `convolve`.
    func checkBackwardFromZero(shape: Conv3DShape, input: [Float], kernel: [Float], bias: [Float],
                               scratch: ConvolutionScratch, seed: UInt64, withBias: Bool, label: String,
                               algorithm: Conv3DAlgorithm? = nil,
                               convolve: @escaping ([Float], [Float], [Float]) -> [Float]) {
        let projection = randomValues(shape.rows * shape.outChannels, seed: seed)
        var dInput = [Float](repeating: 0, count: input.count)
        var dKernel = [Float](repeating: 0, count: kernel.count)
        var dBias = [Float](repeating: 0, count: bias.count)
        withPointers(&dInput) { di in withPointers(&dKernel) { dk in withPointers(&dBias) { db in
            conv3dBackward(dInput: di, dKernel: dk, dBias: withBias ? db : nil, dOut: projection, input: input,
                           kernel: kernel, shape: shape, scratch: scratch, algorithm: algorithm)
        }}}
        checkGradient(values: input, analytic: dInput, "\(label) dInput") {
            project(convolve($0, kernel, bias), projection)
        }
        checkGradient(values: kernel, analytic: dKernel, "\(label) dKernel with dInput") {
            project(convolve(input, $0, bias), projection)
        }
        if withBias {
            checkGradient(values: bias, analytic: dBias, "\(label) dBias") {
                project(convolve(input, kernel, $0), projection)
            }
        }
    }

    func testBackwardMatchesFiniteDifferences() {
        checkBackwardFromZero(shape: shape, input: input, kernel: kernel, bias: bias, scratch: scratch,
                              seed: 7, withBias: true, label: "conv", algorithm: .im2col) {
            self.convolve($0, $1, $2, algorithm: .im2col)
        }
    }

    // Winograd F(2×2×2, 3×3×3) (Conv3DWinograd.swift) on the small odd shape:
    // every tile there touches the border.
    func testWinogradForwardMatchesNaive() {
        let expected = referenceConvolution(input: input, kernel: kernel, bias: bias, batch: shape.batch,
                                            grid: shape.grid, inChannels: shape.inChannels,
                                            outChannels: shape.outChannels)
        assertClose(convolve(input, kernel, bias, algorithm: .winograd), expected, tolerance: 1e-5, "Winograd forward")
    }

    func testWinogradBackwardMatchesFiniteDifferences() {
        checkBackwardFromZero(shape: shape, input: input, kernel: kernel, bias: bias, scratch: scratch,
                              seed: 12, withBias: true, label: "Winograd", algorithm: .winograd) {
            self.convolve($0, $1, $2, algorithm: .winograd)
        }
    }

    // A larger odd shape with interior tiles, 20 → 18 channels (two full
    // groups of 8 and a partial one), in chunks of five lines of 4 tiles
    // along z: chunks end inside slabs of 3 lines, and the chunk of lines
    // 10–14 crosses from the first sample into the second.
    let wide = Conv3DShape(batch: 2, grid: Grid3(7, 5, 8), inChannels: 20, outChannels: 18)
    lazy var wideScratch = ConvolutionScratch(capacity: wide.patchLength * 16, winogradChunkTiles: 20)
    lazy var wideInput = randomValues(wide.rows * wide.inChannels, seed: 13)
    lazy var wideKernel = randomValues(wide.kernelCount, seed: 14, scale: 0.2)

    func testWinogradMatchesNaiveLoopsInChunks() {
        XCTAssertEqual(WinogradTiling(wide, preferredChunkTiles: 20).linesPerChunk, 5)
        var out = [Float](repeating: .nan, count: wide.rows * wide.outChannels)
        var chunks: [Int] = []
        withPointers(&out) { o in
            conv3dForward(out: o, input: wideInput, kernel: wideKernel, bias: nil, shape: wide, scratch: wideScratch,
                          algorithm: .winograd) { first, count in chunks += [first, count] }
        }
        let zeroBias = [Float](repeating: 0, count: wide.outChannels)
        let expected = referenceConvolution(input: wideInput, kernel: wideKernel, bias: zeroBias, batch: 2,
                                            grid: wide.grid, inChannels: 20, outChannels: 18)
        assertClose(out, expected, tolerance: 1e-5, "Winograd forward in chunks")
        // Chunks end after lines 5, 10, 15, 20, 24, completing slabs 1, 3, 5,
        // 6, 8 (4 per sample, the last one plane thick): planes 0–1; 2–5;
        // plane 6 and the second sample's 0–1; its 2–3; its 4–6 — of 5·8 rows.
        XCTAssertEqual(chunks, [0, 80, 80, 160, 240, 120, 360, 80, 440, 120])

        let dOut = randomValues(wide.rows * wide.outChannels, seed: 15)
        let held = randomValues(wide.kernelCount, seed: 16)
        var dInput = [Float](repeating: .nan, count: wideInput.count), dKernel = held
        withPointers(&dInput) { di in withPointers(&dKernel) { dk in
            conv3dBackward(dInput: di, dKernel: dk, dBias: nil, dOut: dOut, input: wideInput, kernel: wideKernel,
                           shape: wide, scratch: wideScratch, algorithm: .winograd)
        }}
        let reference = referenceConvolutionGradients(input: wideInput, kernel: wideKernel, dOut: dOut, batch: 2,
                                                      grid: wide.grid, inChannels: 20, outChannels: 18)
        assertClose(dInput, reference.dInput, tolerance: 1e-5, "Winograd dInput in chunks")
        assertClose(zip(dKernel, held).map { $0 - $1 }, reference.dKernel, tolerance: 1e-4, "Winograd dKernel (+=)")
    }

    /// Blocks 1 and 2 at the whole-brain 4 mm grid (45×54×44, the size at
    /// which no model learned: README, "The whole brain"), with the scratch
    /// the model itself would size, so the chunking is the one training
    /// runs; forward and gradients against the naive loops.
    func testTheFirstTwoBlocksAtTheWholeBrainGridMatchNaive() {
        let grid = Grid3(45, 54, 44)
        let shapes = [Conv3DShape(batch: 1, grid: grid, inChannels: 1, outChannels: 8),
                      Conv3DShape(batch: 1, grid: Grid3(23, 27, 22), inChannels: 8, outChannels: 16)]
        let algorithms = shapes.map(Conv3DAlgorithm.automatic(for:))
        XCTAssertEqual(algorithms, [.im2col, .winograd])
        let scratch = ConvolutionScratch(for: shapes, algorithms: algorithms)
        for (block, (shape, algorithm)) in zip(shapes, algorithms).enumerated() {
            let label = "block \(block + 1) (\(algorithm))"
            let input = randomValues(shape.rows * shape.inChannels, seed: 40 + UInt64(block))
            let kernel = randomValues(shape.kernelCount, seed: 50 + UInt64(block), scale: 0.5)
            let bias = [Float](repeating: 0, count: shape.outChannels)
            var out = [Float](repeating: .nan, count: shape.rows * shape.outChannels)
            withPointers(&out) { o in
                conv3dForward(out: o, input: input, kernel: kernel, bias: bias, shape: shape, scratch: scratch,
                              algorithm: algorithm)
            }
            assertClose(out, referenceConvolution(input: input, kernel: kernel, bias: bias, batch: 1, grid: shape.grid,
                                                  inChannels: shape.inChannels, outChannels: shape.outChannels),
                        tolerance: 1e-4, "\(label) forward")
            let dOut = randomValues(out.count, seed: 60 + UInt64(block))
            let reference = referenceConvolutionGradients(input: input, kernel: kernel, dOut: dOut, batch: 1,
                                                          grid: shape.grid, inChannels: shape.inChannels,
                                                          outChannels: shape.outChannels)
            // As in training: no input gradient below the first block.
            var dInput = [Float](repeating: 0, count: input.count), dKernel = [Float](repeating: 0, count: kernel.count)
            withPointers(&dInput) { di in withPointers(&dKernel) { dk in
                conv3dBackward(dInput: block == 0 ? nil : di, dKernel: dk, dBias: nil, dOut: dOut, input: input,
                               kernel: kernel, shape: shape, scratch: scratch, algorithm: algorithm)
            }}
            // Sums over ~10⁵ voxels: compared relative to the largest entry.
            let scale = reference.dKernel.map(abs).max()!
            assertClose(dKernel.map { $0 / scale }, reference.dKernel.map { $0 / scale }, tolerance: 1e-4,
                        "\(label) dKernel")
            if block > 0 { assertClose(dInput, reference.dInput, tolerance: 1e-4, "\(label) dInput") }
        }
    }

    func testAutomaticChoiceOfAlgorithm() {
        // SimBA's blocks 2–4 at 64³ take Winograd; the one-channel first
        // layer and the 4³ last block (16 tiles at batch 2) take im2col.
        let shapes = SimbaCNNShapes(.simba(input: Grid3(64, 64, 64)))
        let chosen = (0..<5).map { Conv3DAlgorithm.automatic(for: shapes.convolution(block: $0, batch: 2)) }
        XCTAssertEqual(chosen, [.im2col, .winograd, .winograd, .winograd, .im2col])
        // Block 2: 2 · 16³ tiles, 64 products per tile and channel pair
        // against 8 · 27 for the direct convolution.
        let block2 = shapes.convolution(block: 1, batch: 2)
        XCTAssertEqual(block2.winogradTiles, 8192)
        XCTAssertEqual(block2.executedForwardFlops(.winograd), 2 * 8192 * 64 * 32 * 64)
        XCTAssertEqual(block2.executedForwardFlops(.im2col), 2 * 65536 * 27 * 32 * 64)
        XCTAssertEqual(block2.forwardFlops / block2.executedForwardFlops(.winograd), 3.375)
    }
}
