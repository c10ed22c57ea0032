#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One block's convolution timed with one algorithm.
public struct ConvolutionTiming: Sendable {
    public var block: Int
    public var shape: Conv3DShape
    public var algorithm: Conv3DAlgorithm
    /// Whether Conv3DAlgorithm.automatic picks this algorithm for the block.
    public var automatic: Bool
    /// Thread CPU seconds, best of the repeats: forward, and backward with
    /// the input gradient (as every block but the first computes it in training).
    public var forwardSeconds: Double, backwardSeconds: Double

    public var json: String {
        func ms(_ s: Double) -> String { String(Double(Int((s * 1e5).rounded())) / 100) }
        let g = shape.grid
        return "{\"block\": \(block), \"grid\": [\(g.x), \(g.y), \(g.z)], \"in_channels\": \(shape.inChannels), "
            + "\"out_channels\": \(shape.outChannels), \"algorithm\": \"\(algorithm)\", \"automatic\": \(automatic), "
            + "\"forward_ms\": \(ms(forwardSeconds)), \"backward_ms\": \(ms(backwardSeconds)), "
            + "\"forward_gflops\": \(ms(shape.forwardFlops / forwardSeconds / 1e12)), "
            + "\"backward_gflops\": \(ms(2 * shape.forwardFlops / backwardSeconds / 1e12))}"
    }
}

/// Times every block's convolution of a SimBA CNN with each algorithm on
/// random data (`simba bench conv`): what Conv3DAlgorithm.automatic chooses
/// between. GFLOP/s count the direct convolution's multiply-adds.
public enum ConvolutionBenchmark {
    /// CPU time of the calling thread spent in body.
    static func threadSeconds(_ body: () -> Void) -> Double {
        TrainBenchmark.time(body, clock: CLOCK_THREAD_CPUTIME_ID)
    }

    public static func run(configuration: SimbaCNNConfiguration, batch: Int, repeats: Int) -> [ConvolutionTiming] {
        let shapes = SimbaCNNShapes(configuration)
        let convolutions = (0..<configuration.widths.count).map { shapes.convolution(block: $0, batch: batch) }
        var timings: [ConvolutionTiming] = []
        for (index, shape) in convolutions.enumerated() {
            let input = Tensor(shape: [shape.rows * shape.inChannels])
            let kernel = Tensor(shape: [shape.kernelCount]), dKernel = Tensor(shape: [shape.kernelCount])
            let out = Tensor(shape: [shape.rows * shape.outChannels]), dInput = Tensor(shape: [input.count])
            for i in 0..<input.count { input[i] = Float(i % 17) / 17 - 0.5 }
            for i in 0..<kernel.count { kernel[i] = Float(i % 13) / 130 - 0.05 }
            // Winograd transforms channels eight at a time: not worth timing on the one-channel input.
            let candidates: [Conv3DAlgorithm] = shape.inChannels >= Conv3DAlgorithm.minimumWinogradChannels
                ? [.im2col, .winograd] : [.im2col]
            for algorithm in candidates {
                let scratch = ConvolutionScratch(for: [shape], algorithms: [algorithm])
                var forward = Double.infinity, backward = Double.infinity
                for _ in 0..<Swift.max(repeats, 1) {
                    forward = Swift.min(forward, threadSeconds {
                        conv3dForward(out: out.data, input: input.data, kernel: kernel.data, bias: nil, shape: shape,
                                      scratch: scratch, algorithm: algorithm)
                    })
                    backward = Swift.min(backward, threadSeconds {
                        conv3dBackward(dInput: dInput.data, dKernel: dKernel.data, dBias: nil, dOut: out.data,
                                       input: input.data, kernel: kernel.data, shape: shape, scratch: scratch,
                                       algorithm: algorithm)
                    })
                }
                timings.append(ConvolutionTiming(block: index + 1, shape: shape, algorithm: algorithm,
                                                 automatic: Conv3DAlgorithm.automatic(for: shape) == algorithm,
                                                 forwardSeconds: forward, backwardSeconds: backward))
            }
        }
        return timings
    }
}
