import CConvolutionProducts
import Randomness
import XCTest
@testable import Network

/// The AVX-512 products of the Winograd layers (Sources/CConvolutionProducts)
/// against plain loops, and the Winograd convolution computed with them
/// against the one computed with sgemm and against the naive convolution.
final class ConvolutionProductsTests: XCTestCase {
    func skipUnlessAVX512() throws {
        try XCTSkipUnless(ConvolutionProducts.avx512Available, "this CPU has no AVX-512F")
    }

    /// c = (accumulate ? c : 0) + Σₚ a[i·aRow + p·aDepth] · b[p·ldb + j], in Double.
    func naiveProducts(m: Int, n: Int, k: Int, a: [Float], aRow: Int, aDepth: Int, b: [Float], ldb: Int, c: [Float],
                       ldc: Int, accumulate: Bool) -> [Float] {
        var out = c
        for i in 0..<m {
            for j in 0..<n {
                var sum = accumulate ? Double(c[i * ldc + j]) : 0
                for p in 0..<k { sum += Double(a[i * aRow + p * aDepth]) * Double(b[p * ldb + j]) }
                out[i * ldc + j] = Float(sum)
            }
        }
        return out
    }

    func strided(m: Int, n: Int, k: Int, a: [Float], aRow: Int, aDepth: Int, b: [Float], ldb: Int, c: [Float],
                 ldc: Int, accumulate: Bool) -> [Float] {
        var out = c
        simba_strided_products(m, n, k, a, aRow, aDepth, b, ldb, &out, ldc, accumulate)
        return out
    }

    // Shapes around every edge: rows past one and two register tiles (6 and
    // 8), columns with a partial last vector and past one 64-column panel,
    // depth past one 128-step panel, rows of a along p (a_row = 1, as in
    // dV += Uᵀ dM) or across (as in M = U V), b's rows a page apart (copied
    // together) or not, and no depth at all.
    func testStridedProductsMatchPlainLoops() throws {
        try skipUnlessAVX512()
        var generator = SeededGenerator(seed: 41)
        var cases = 0
        for m in [1, 5, 6, 7, 8, 13, 20] {
            for n in [1, 15, 16, 17, 33, 64, 65, 130] {
                for k in [0, 1, 3, 128, 129, 300] where (m * n + k) % 3 != 1 || k == 0 {
                    let alongDepth = generator.next() % 2 == 0
                    let (aRow, aDepth) = alongDepth ? (1, m + 1) : (k + 2, 1)
                    let ldb = generator.next() % 2 == 0 ? n + 3 : 1024 + n
                    let ldc = n + 5
                    let accumulate = generator.next() % 2 == 0
                    let a = randomValues(Swift.max(m * aRow + k * aDepth, 1), seed: generator.next())
                    let b = randomValues(Swift.max(k * ldb, 1), seed: generator.next())
                    let c = randomValues(m * ldc, seed: generator.next())
                    let expected = naiveProducts(m: m, n: n, k: k, a: a, aRow: aRow, aDepth: aDepth, b: b, ldb: ldb,
                                                 c: c, ldc: ldc, accumulate: accumulate)
                    let actual = strided(m: m, n: n, k: k, a: a, aRow: aRow, aDepth: aDepth, b: b, ldb: ldb, c: c,
                                         ldc: ldc, accumulate: accumulate)
                    // Entries past n in each row of c are left as they were.
                    let scale = Float(Swift.max(k, 1)).squareRoot()
                    assertClose(actual, expected, tolerance: 2e-6 * scale, "m \(m) n \(n) k \(k) a_row \(aRow)")
                    cases += 1
                }
            }
        }
        XCTAssertGreaterThan(cases, 200)
    }

    // Each entry is a sum of 128-step chains added to c in order, so
    // splitting the rows, the columns, or the depth at multiples of 128
    // leaves it bitwise the same.
    func testSplittingRowsColumnsOrDepthLeavesEverySumBitwiseTheSame() throws {
        try skipUnlessAVX512()
        let (m, n, k) = (23, 150, 333)
        let a = randomValues(m * k, seed: 51), b = randomValues(k * n, seed: 52)
        let zero = [Float](repeating: 0, count: m * n)
        let whole = strided(m: m, n: n, k: k, a: a, aRow: k, aDepth: 1, b: b, ldb: n, c: zero, ldc: n,
                            accumulate: false)
        // The depth in three parts, each added to c.
        var parts = zero
        for (start, end) in [(0, 128), (128, 256), (256, k)] {
            simba_strided_products(m, n, end - start, Array(a[start...]), k, 1, Array(b[(start * n)...]), n, &parts, n,
                                   start > 0)
        }
        XCTAssertEqual(parts, whole)
        // Rows one at a time, and columns in blocks of 17.
        var pieces = zero
        for i in 0..<m {
            for j in stride(from: 0, to: n, by: 17) {
                var row = [Float](repeating: 0, count: n)
                simba_strided_products(1, Swift.min(17, n - j), k, Array(a[(i * k)...]), k, 1, Array(b[j...]), n,
                                       &row, n, false)
                for column in j..<Swift.min(j + 17, n) { pieces[i * n + column] = row[column - j] }
            }
        }
        XCTAssertEqual(pieces, whole)
    }

    // The wide odd shape of Conv3DTests (partial tiles, 20 → 18 channels,
    // chunks ending inside slabs) by Winograd and by im2col, and a one-channel first layer
    // (33 filters: a partial third vector) in chunks of a few lines, once
    // with each multiplication: both against the naive convolution, and
    // against each other.
    let wide = Conv3DShape(batch: 2, grid: Grid3(7, 5, 8), inChannels: 20, outChannels: 18)
    let single = Conv3DShape(batch: 2, grid: Grid3(6, 5, 9), inChannels: 1, outChannels: 33)

    func inputs(_ shape: Conv3DShape) -> (input: [Float], kernel: [Float], dOut: [Float]) {
        (randomValues(shape.rows * shape.inChannels, seed: 61), randomValues(shape.kernelCount, seed: 62, scale: 0.2),
         randomValues(shape.rows * shape.outChannels, seed: 63))
    }

    /// Forward, input gradient (none for the one-channel layer, which has
    /// none in training) and kernel gradient of `shape` computed with
    /// `multiplication`, by Winograd or, with `im2col`, by patches in chunks
    /// of a few rows.
    func convolution(_ shape: Conv3DShape, _ multiplication: ConvolutionProducts, chunkTiles: Int = 20,
                     transforms: ConvolutionProducts? = nil, im2col: Bool = false)
        -> (out: [Float], dInput: [Float], dKernel: [Float]) {
        let winograd = shape.inChannels > 1 && !im2col
        let scratch = ConvolutionScratch(capacity: winograd ? 0 : Swift.max(27 * shape.grid.z * 3, shape.patchLength * 7),
                                         winograd: WinogradBuffers(preferredChunkTiles: chunkTiles,
                                                                   multiplication: multiplication,
                                                                   transforms: transforms))
        XCTAssertEqual(scratch.products, multiplication)
        let (input, kernel, dOut) = inputs(shape)
        var out = [Float](repeating: .nan, count: shape.rows * shape.outChannels)
        var dInput = [Float](repeating: .nan, count: input.count)
        var dKernel = [Float](repeating: 0, count: shape.kernelCount)
        withPointers(&out) { o in
            conv3dForward(out: o, input: input, kernel: kernel, bias: nil, shape: shape, scratch: scratch,
                          algorithm: winograd ? .winograd : .im2col)
        }
        withPointers(&dKernel) { dk in
            if shape.inChannels > 1 {
                withPointers(&dInput) { di in
                    conv3dBackward(dInput: di, dKernel: dk, dBias: nil, dOut: dOut, input: input, kernel: kernel,
                                   shape: shape, scratch: scratch, algorithm: winograd ? .winograd : .im2col)
                }
            } else {
                singleChannelConv3dKernelGradient(dKernel: dk, dOut: .stored(dOut), input: input, shape: shape,
                                                  scratch: scratch)
            }
        }
        return (out, dInput, dKernel)
    }

    func testBothMultiplicationsComputeTheNaiveConvolution() throws {
        try skipUnlessAVX512()
        for (shape, im2col) in [(wide, false), (wide, true), (single, true)] {
            let (input, kernel, dOut) = inputs(shape)
            let expected = referenceConvolution(input: input, kernel: kernel,
                                                bias: [Float](repeating: 0, count: shape.outChannels),
                                                batch: shape.batch, grid: shape.grid, inChannels: shape.inChannels,
                                                outChannels: shape.outChannels)
            let gradients = referenceConvolutionGradients(input: input, kernel: kernel, dOut: dOut, batch: shape.batch,
                                                          grid: shape.grid, inChannels: shape.inChannels,
                                                          outChannels: shape.outChannels)
            let sgemm = convolution(shape, .sgemm, im2col: im2col), avx512 = convolution(shape, .avx512, im2col: im2col)
            for (label, result) in [("sgemm", sgemm), ("avx512", avx512)] {
                assertClose(result.out, expected, tolerance: 1e-5, "\(label) forward, \(shape.inChannels) channels")
                assertClose(result.dKernel, gradients.dKernel, tolerance: 1e-4, "\(label) dKernel")
                if shape.inChannels > 1 { assertClose(result.dInput, gradients.dInput, tolerance: 1e-5, "\(label) dInput") }
            }
            assertClose(avx512.out, sgemm.out, tolerance: 1e-5, "forward, avx512 against sgemm")
            assertClose(avx512.dKernel, sgemm.dKernel, tolerance: 1e-4, "dKernel, avx512 against sgemm")
            if shape.inChannels > 1 { assertClose(avx512.dInput, sgemm.dInput, tolerance: 1e-5, "dInput, avx512 against sgemm") }
        }
    }

    // A tile's outputs and input gradient are sums over channels only, so
    // they do not depend on how the tiles are chunked; the kernel gradient
    // sums over tiles, chunk by chunk.
    func testAVX512TileResultsDoNotDependOnTheChunkSize() throws {
        try skipUnlessAVX512()
        let small = convolution(wide, .avx512, chunkTiles: 20), large = convolution(wide, .avx512, chunkTiles: 1000)
        XCTAssertEqual(small.out, large.out)
        XCTAssertEqual(small.dInput, large.dInput)
        assertClose(small.dKernel, large.dKernel, tolerance: 1e-4, "dKernel in chunks of 20 and of all 96 tiles")
    }

    // The AVX-512 C transforms do the Swift transforms' arithmetic in the
    // same order, 16 channels per vector instead of 8: bitwise the same
    // results, here with 20 and 18 channels (partial vectors on both sides)
    // and tiles cut by every face of the volume; the kernel transforms too,
    // over 360 and 231 entries per tap.
    func testAVX512TransformsAreTheSwiftTransformsBitwise() throws {
        try skipUnlessAVX512()
        let c = convolution(wide, .avx512, transforms: .avx512), swift = convolution(wide, .avx512, transforms: .sgemm)
        XCTAssertEqual(c.out, swift.out)
        XCTAssertEqual(c.dInput, swift.dInput)
        XCTAssertEqual(c.dKernel, swift.dKernel)
        let odd = Conv3DShape(batch: 1, grid: Grid3(3, 9, 5), inChannels: 33, outChannels: 7)
        let c2 = convolution(odd, .avx512, transforms: .avx512), swift2 = convolution(odd, .avx512, transforms: .sgemm)
        XCTAssertEqual(c2.out, swift2.out)
        XCTAssertEqual(c2.dInput, swift2.dInput)
        XCTAssertEqual(c2.dKernel, swift2.dKernel)
    }

    func testTransposeEachTapMatchesIndexing() {
        let (taps, rows, columns) = (3, 19, 37)
        let kernel = randomValues(taps * rows * columns, seed: 71)
        var out = [Float](repeating: .nan, count: kernel.count)
        withPointers(&out) { transposeEachTap(kernel, taps: taps, rows: rows, columns: columns, into: $0) }
        for tap in 0..<taps {
            for row in 0..<rows {
                for column in 0..<columns {
                    XCTAssertEqual(out[(tap * columns + column) * rows + row], kernel[(tap * rows + row) * columns + column])
                }
            }
        }
    }
}
