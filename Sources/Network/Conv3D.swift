import CBLAS

// 3×3×3 convolution, stride 1, TensorFlow 'same' padding (one zero plane on
// each side), channels-last: activations are [N, X, Y, Z, C] and the kernel
// is Keras's [3, 3, 3, Cin, Cout], so a kernel row index is
// ((dx * 3 + dy) * 3 + dz) * Cin + ci — exactly the order in which im2col
// lays a patch out, which turns the convolution into one sgemm per chunk of
// rows.
//
// A full-resolution volume's patch matrix (5.7 M rows × 27·Cin) does not fit
// in memory, so rows (output voxels, batch included) are processed in chunks
// that fit `ConvolutionScratch`.

/// Geometry of one convolution layer.
public struct Conv3DShape: Equatable, Sendable {
    public var batch: Int
    public var grid: Grid3
    public var inChannels: Int
    public var outChannels: Int
    /// The output planes (along X) that are needed, when not all: a slab
    /// widened by halo planes (SlabPartition.swift) needs only its own.
    /// Winograd computes just the tiles over them (the range starts on an
    /// even plane); the other algorithms compute every plane.
    public var outputPlanes: Range<Int>?

    public init(batch: Int, grid: Grid3, inChannels: Int, outChannels: Int) {
        self.batch = batch; self.grid = grid
        self.inChannels = inChannels; self.outChannels = outChannels
    }

    /// Output voxels over the whole batch: the M of the forward sgemm.
    public var rows: Int { batch * grid.voxels }
    /// Length of one im2col patch: the K of the forward sgemm.
    public var patchLength: Int { 27 * inChannels }
    public var kernelCount: Int { patchLength * outChannels }
    /// Multiply-adds × 2 of the forward pass, as the direct convolution counts them.
    public var forwardFlops: Double { 2 * Double(rows) * Double(patchLength) * Double(outChannels) }

    /// 2×2×2 output tiles of Winograd F(2×2×2, 3×3×3) over the batch.
    public var winogradTiles: Int { batch * ((grid.x + 1) / 2) * ((grid.y + 1) / 2) * ((grid.z + 1) / 2) }

    /// Multiply-adds × 2 that `algorithm` actually performs in its products
    /// (Winograd: 64 per tile and channel pair instead of 8 · 27; the
    /// transforms, additions only, are not counted).
    public func executedForwardFlops(_ algorithm: Conv3DAlgorithm) -> Double {
        switch algorithm {
        case .im2col: return forwardFlops
        case .winograd: return 2 * Double(winogradTiles * winogradPoints) * Double(inChannels) * Double(outChannels)
        }
    }
}

/// How a layer computes its convolution.
public enum Conv3DAlgorithm: Sendable {
    /// Patches gathered a chunk of rows at a time, one sgemm per chunk (a
    /// one-channel layer gathers them tap-major: Conv3DSingleChannel.swift).
    case im2col
    /// Winograd F(2×2×2, 3×3×3), 64 matrix products per chunk of tiles (Conv3DWinograd.swift).
    case winograd

    /// Winograd wherever its 64 small products are still large enough for
    /// the products to run well: several channels and a few hundred tiles. The
    /// layers below that (the last block of a small input) are cheap either way.
    public static func automatic(for shape: Conv3DShape) -> Conv3DAlgorithm {
        shape.inChannels >= minimumWinogradChannels && shape.winogradTiles >= minimumWinogradTiles ? .winograd : .im2col
    }

    static let minimumWinogradChannels = 8
    static let minimumWinogradTiles = 64
}

/// Reusable im2col buffers shared by all convolution layers of a model.
///
/// Rows are gathered in chunks sized for the cache, not for memory: about
/// 1 MiB of patches (`preferredChunkFloats`), so that the patches the gather
/// writes, the column gradients OpenBLAS writes and the scatter reads stay
/// in L2/L3 between the steps. Measured at 64³ (block 2, thread CPU time):
/// 1 MiB chunks made forward and backward ~15–20% faster than 16 MiB chunks.
/// Deep layers with long patches keep at least `minimumChunkRows` rows so
/// that sgemm still sees a tall matrix.
///
/// "Chunk" is this cache blocking in every algorithm: rows here, whole
/// lines of rows on the tap-major path, lines of Winograd tiles in
/// Conv3DWinograd.swift. "Tile" means only Winograd's 2×2×2 output tile.
public final class ConvolutionScratch {
    public let columns: Tensor
    /// All zero between calls: see walkPatches.
    let columnGradients: Tensor
    public let capacity: Int
    /// Transformed tiles and kernels of the Winograd layers.
    let winograd: WinogradBuffers
    /// How the Winograd and one-channel layers multiply.
    var products: ConvolutionProducts { winograd.multiplication }

    public static let preferredChunkFloats = 1 << 18
    public static let minimumChunkRows = 256

    /// `capacity` floats per buffer; must hold at least one patch row of every
    /// layer used (for a one-input-channel layer: one line of patches, 27·Z).
    public convenience init(capacity: Int) {
        self.init(capacity: capacity, winograd: WinogradBuffers())
    }

    /// `winogradChunkTiles`: tiles per chunk of a Winograd layer (at least one line of tiles).
    convenience init(capacity: Int, winogradChunkTiles: Int) {
        self.init(capacity: capacity, winograd: WinogradBuffers(preferredChunkTiles: winogradChunkTiles))
    }

    init(capacity: Int, winograd: WinogradBuffers) {
        self.capacity = capacity
        self.winograd = winograd
        columns = Tensor(shape: [capacity])
        columnGradients = Tensor(shape: [capacity])
    }

    /// A chunk of a computed output gradient (OutputGradient.computed): the
    /// one-channel layer's chunk rows × Cout, allocated on first use.
    private var gradientRows = Tensor(shape: [0])

    func outputGradientRows(floats: Int) -> UnsafeMutablePointer<Float> {
        if gradientRows.count < floats { gradientRows = Tensor(shape: [floats]) }
        return gradientRows.data
    }

    /// A scratch big enough for the preferred chunks of all these layers,
    /// each computed with its algorithm (by default Conv3DAlgorithm.automatic).
    public convenience init(for shapes: [Conv3DShape], algorithms: [Conv3DAlgorithm]? = nil) {
        let chosen = algorithms ?? shapes.map { Conv3DAlgorithm.automatic(for: $0) }
        precondition(chosen.count == shapes.count, "one algorithm per layer")
        let im2col = zip(shapes, chosen).filter { $0.1 == .im2col }.map(\.0)
        let winograd = zip(shapes, chosen).filter { $0.1 == .winograd }.map(\.0)
        self.init(capacity: im2col.map { Self.preferredRows($0) * $0.patchLength }.max() ?? 0,
                  winograd: WinogradBuffers(for: winograd))
    }

    static func preferredRows(_ shape: Conv3DShape) -> Int {
        Swift.min(shape.rows, Swift.max(minimumChunkRows, preferredChunkFloats / shape.patchLength))
    }

    func rowsPerChunk(_ shape: Conv3DShape) -> Int {
        precondition(capacity >= shape.patchLength, "im2col scratch smaller than one patch row")
        return Swift.min(Self.preferredRows(shape), capacity / shape.patchLength)
    }
}

/// Moves data between an activation and its im2col rows. Gathering writes
/// patches (zero outside the volume); scattering adds patch gradients back
/// into the activation gradient and leaves the rows it consumed zero, so the
/// next chunk's sgemm can accumulate into them (β = 1) instead of OpenBLAS
/// clearing the chunk in a pass of its own. One walk serves both so the patch order is
/// defined in exactly one place. Rows are visited in order with (x, y, z)
/// carried along; interior voxels, almost all of them, take a path without
/// bounds checks through a table of the 27 tap offsets.
@inline(__always)
private func walkPatches(
    _ shape: Conv3DShape, firstRow: Int, rowCount: Int,
    activation: UnsafeMutablePointer<Float>, columns: UnsafeMutablePointer<Float>, scatter: Bool
) {
    let (gx, gy, gz) = (shape.grid.x, shape.grid.y, shape.grid.z)
    let channels = shape.inChannels
    let patchLength = shape.patchLength
    withUnsafeTemporaryAllocation(of: Int.self, capacity: 27) { offsetBuffer in
        let tapOffsets = offsetBuffer.baseAddress!
        var tap = 0
        for dx in -1...1 { for dy in -1...1 { for dz in -1...1 {
            tapOffsets[tap] = ((dx * gy + dy) * gz + dz) * channels
            tap += 1
        }}}
        var rest = firstRow
        var z = rest % gz; rest /= gz
        var y = rest % gy; rest /= gy
        var x = rest % gx
        var column = columns
        for row in firstRow..<(firstRow + rowCount) {
            let center = activation + row * channels
            let interior = x > 0 && x < gx - 1 && y > 0 && y < gy - 1 && z > 0 && z < gz - 1
            if interior && channels == 1 {
                // The first layer: one float per tap, no inner loop to set up.
                for tap in 0..<27 {
                    if scatter {
                        center[tapOffsets[tap]] += column[tap]; column[tap] = 0
                    } else {
                        column[tap] = center[tapOffsets[tap]]
                    }
                }
            } else if interior {
                for tap in 0..<27 {
                    let source = center + tapOffsets[tap], destination = column + tap * channels
                    if scatter {
                        for c in 0..<channels { source[c] += destination[c]; destination[c] = 0 }
                    } else {
                        for c in 0..<channels { destination[c] = source[c] }
                    }
                }
            } else {
                var tap = 0
                for dx in -1...1 {
                    for dy in -1...1 {
                        for dz in -1...1 {
                            let inside = x + dx >= 0 && x + dx < gx && y + dy >= 0 && y + dy < gy
                                && z + dz >= 0 && z + dz < gz
                            let source = center + tapOffsets[tap], destination = column + tap * channels
                            if inside && scatter {
                                for c in 0..<channels { source[c] += destination[c] }
                            } else if inside {
                                for c in 0..<channels { destination[c] = source[c] }
                            }
                            // Gathering pads with zeros; scattering consumes the row.
                            if !inside || scatter {
                                for c in 0..<channels { destination[c] = 0 }
                            }
                            tap += 1
                        }
                    }
                }
            }
            column += patchLength
            z += 1
            if z == gz {
                z = 0; y += 1
                if y == gy { y = 0; x += 1; if x == gx { x = 0 } }
            }
        }
    }
}

/// Gathers the patches of each chunk of output rows into scratch.columns and
/// calls body(firstRow, rowCount) to use them.
@inline(__always)
private func forEachPatchChunk(
    _ shape: Conv3DShape, input: UnsafePointer<Float>, scratch: ConvolutionScratch,
    _ body: (_ first: Int, _ count: Int) -> Void
) {
    let chunkRows = scratch.rowsPerChunk(shape)
    var first = 0
    while first < shape.rows {
        let count = Swift.min(chunkRows, shape.rows - first)
        walkPatches(shape, firstRow: first, rowCount: count,
                    activation: UnsafeMutablePointer(mutating: input),
                    columns: scratch.columns.data, scatter: false)
        body(first, count)
        first += count
    }
}

/// out = conv(input, kernel) (+ bias when given). afterEachChunk(first, count)
/// sees the output rows each chunk finished while they are still in cache
/// (the model gathers batch-norm statistics there). `algorithm` defaults to
/// Conv3DAlgorithm.automatic.
/// input [N,X,Y,Z,Cin], kernel [3,3,3,Cin,Cout], bias [Cout]?, out [N,X,Y,Z,Cout]
public func conv3dForward(
    out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
    kernel: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    shape: Conv3DShape, scratch: ConvolutionScratch, algorithm: Conv3DAlgorithm? = nil,
    afterEachChunk: (_ first: Int, _ count: Int) -> Void = { _, _ in }
) {
    let k = shape.patchLength, cout = shape.outChannels
    if (algorithm ?? .automatic(for: shape)) == .winograd {
        winogradConv3dForward(out: out, input: input, kernel: kernel, shape: shape, buffers: scratch.winograd,
                              afterEachChunk: afterEachChunk)
    } else if shape.inChannels == 1 {
        // The first layer: patches laid out tap-major (Conv3DSingleChannel.swift).
        singleChannelConv3dForward(out: out, input: input, kernel: kernel, shape: shape, scratch: scratch,
                                   afterEachChunk: afterEachChunk)
    } else {
        let patches = ConvolutionProducts.Patches(data: scratch.columns.data, tapMajor: false, stride: k)
        forEachPatchChunk(shape, input: input, scratch: scratch) { first, count in
            scratch.products.patchProducts(rows: count, taps: k, cout: cout, patches: patches, kernel: kernel,
                                           into: out + first * cout)
            afterEachChunk(first, count)
        }
    }
    if let bias {
        for row in 0..<shape.rows {
            let o = out + row * cout
            for c in 0..<cout { o[c] += bias[c] }
        }
    }
}

/// Whether conv3dBackward takes the one-channel path, which reads dOut a
/// chunk of rows at a time (and so can be given it as OutputGradient.computed):
/// the first layer in training (Conv3DSingleChannel.swift). The input
/// gradient of a one-channel layer is only asked for saliency; it takes the
/// general path.
func readsOutputGradientInChunks(shape: Conv3DShape, needsInputGradient: Bool, algorithm: Conv3DAlgorithm?) -> Bool {
    (algorithm ?? .automatic(for: shape)) != .winograd && shape.inChannels == 1 && !needsInputGradient
}

/// Accumulates dKernel and dBias; overwrites dInput when given. dBias may be
/// nil when the caller has it in closed form (the model gets it from batch
/// norm, saving a pass over dOut).
/// dOut [N,X,Y,Z,Cout], input [N,X,Y,Z,Cin], kernel [3,3,3,Cin,Cout],
/// dKernel [3,3,3,Cin,Cout] (+=), dBias [Cout] (+=), dInput [N,X,Y,Z,Cin] (=)
public func conv3dBackward(
    dInput: UnsafeMutablePointer<Float>?, dKernel: UnsafeMutablePointer<Float>,
    dBias: UnsafeMutablePointer<Float>?,
    dOut: UnsafePointer<Float>, input: UnsafePointer<Float>, kernel: UnsafePointer<Float>,
    shape: Conv3DShape, scratch: ConvolutionScratch, algorithm: Conv3DAlgorithm? = nil
) {
    if (algorithm ?? .automatic(for: shape)) == .winograd {
        winogradConv3dBackward(dInput: dInput, dKernel: dKernel, dOut: dOut, input: input, kernel: kernel,
                               shape: shape, buffers: scratch.winograd)
    } else if readsOutputGradientInChunks(shape: shape, needsInputGradient: dInput != nil, algorithm: algorithm) {
        singleChannelConv3dKernelGradient(dKernel: dKernel, dOut: .stored(dOut), input: input, shape: shape,
                                          scratch: scratch)
    } else {
        im2colConv3dBackward(dInput: dInput, dKernel: dKernel, dOut: dOut, input: input, kernel: kernel,
                             shape: shape, scratch: scratch)
    }
    if let dBias { addRowSums(dBias, of: dOut, rows: shape.rows, channels: shape.outChannels) }
}

/// conv3dBackward's general path: dKernel (+=) and dInput (=, when given).
private func im2colConv3dBackward(
    dInput: UnsafeMutablePointer<Float>?, dKernel: UnsafeMutablePointer<Float>,
    dOut: UnsafePointer<Float>, input: UnsafePointer<Float>, kernel: UnsafePointer<Float>,
    shape: Conv3DShape, scratch: ConvolutionScratch
) {
    let k = shape.patchLength, cout = shape.outChannels
    if let dInput { dInput.update(repeating: 0, count: shape.rows * shape.inChannels) }
    let patches = ConvolutionProducts.Patches(data: scratch.columns.data, tapMajor: false, stride: k)
    forEachPatchChunk(shape, input: input, scratch: scratch) { first, count in
        let dOutChunk = dOut + first * cout
        scratch.products.addPatchKernelProducts(rows: count, taps: k, cout: cout, patches: patches, dOut: dOutChunk,
                                                into: dKernel)
        if let dInput {
            // dColumns[T, K] = dOut[T, Cout] · kernelᵀ[Cout, K], into rows the
            // previous scatter left zero (the buffer starts zero too).
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
                        Int32(count), Int32(k), Int32(cout),
                        1, dOutChunk, Int32(cout), kernel, Int32(cout),
                        1, scratch.columnGradients.data, Int32(k))
            walkPatches(shape, firstRow: first, rowCount: count,
                        activation: dInput, columns: scratch.columnGradients.data, scatter: true)
        }
    }
}

/// sums [C] (+=) Σ over rows of x [rows, C]
private func addRowSums(_ sums: UnsafeMutablePointer<Float>, of x: UnsafePointer<Float>, rows: Int, channels: Int) {
    for row in 0..<rows {
        forEachLaneGroup(channels) { c, n in addLanes(loadLanes(x + row * channels + c, n), into: sums + c, n) }
    }
}
