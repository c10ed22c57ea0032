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

    func testSingleInputChannelMatchesNaive() {
        let single = Conv3DShape(batch: 1, grid: Grid3(4, 3, 5), inChannels: 1, outChannels: 5)
        let x = randomValues(single.rows, seed: 4), w = randomValues(single.kernelCount, seed: 5)
        let b = randomValues(5, seed: 6)
        var out = [Float](repeating: 0, count: single.rows * 5)
        withPointers(&out) { o in
            conv3dForward(out: o, input: x, kernel: w, bias: b, shape: single,
                          scratch: ConvolutionScratch(capacity: 27 * 4))
        }
        let expected = referenceConvolution(input: x, kernel: w, bias: b, batch: 1, grid: single.grid,
                                            inChannels: 1, outChannels: 5)
        assertClose(out, expected, tolerance: 1e-5, "1-channel conv")
    }

    func testBackwardMatchesFiniteDifferences() {
        let projection = randomValues(shape.rows * shape.outChannels, seed: 7)
        var dInput = [Float](repeating: 0, count: input.count)
        var dKernel = [Float](repeating: 0, count: kernel.count)
        var dBias = [Float](repeating: 0, count: bias.count)
        withPointers(&dInput) { di in withPointers(&dKernel) { dk in withPointers(&dBias) { db in
            conv3dBackward(dInput: di, dKernel: dk, dBias: db, dOut: projection, input: input,
                           kernel: kernel, shape: shape, scratch: scratch)
        }}}
        checkGradient(values: input, analytic: dInput, "conv dInput") {
            project(self.convolve($0, self.kernel, self.bias), projection)
        }
        checkGradient(values: kernel, analytic: dKernel, "conv dKernel") {
            project(self.convolve(self.input, $0, self.bias), projection)
        }
        checkGradient(values: bias, analytic: dBias, "conv dBias") {
            project(self.convolve(self.input, self.kernel, $0), projection)
        }
    }
}
