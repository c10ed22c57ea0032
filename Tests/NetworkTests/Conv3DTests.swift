import XCTest
@testable import Network

final class Conv3DTests: XCTestCase {
    // Odd sizes, several channels, and a scratch holding 7 patch rows so
    // the 2·60 rows run in many tiles, the last one partial.
    let shape = Conv3DShape(batch: 2, grid: Grid3(5, 4, 3), inChannels: 3, outChannels: 4)
    lazy var scratch = ConvolutionScratch(capacity: shape.patchLength * 7)
    lazy var input = randomValues(shape.rows * shape.inChannels, seed: 1)
    lazy var kernel = randomValues(shape.kernelCount, seed: 2, scale: 0.5)
    lazy var bias = randomValues(shape.outChannels, seed: 3)

    func convolve(_ input: [Float], _ kernel: [Float], _ bias: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: shape.rows * shape.outChannels)
        withPointers(&out) { o in
            conv3dForward(out: o, input: input, kernel: kernel, bias: bias, shape: shape, scratch: scratch)
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
    // lines run in 15 tiles that cross from one sample into the next.
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
                               convolve: @escaping ([Float], [Float], [Float]) -> [Float]) {
        let projection = randomValues(shape.rows * shape.outChannels, seed: seed)
        var dInput = [Float](repeating: 0, count: input.count)
        var dKernel = [Float](repeating: 0, count: kernel.count)
        var dBias = [Float](repeating: 0, count: bias.count)
        withPointers(&dInput) { di in withPointers(&dKernel) { dk in withPointers(&dBias) { db in
            conv3dBackward(dInput: di, dKernel: dk, dBias: withBias ? db : nil, dOut: projection, input: input,
                           kernel: kernel, shape: shape, scratch: scratch)
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
                              seed: 7, withBias: true, label: "conv", convolve: convolve)
    }
}
