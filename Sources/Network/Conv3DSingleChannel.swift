// The first layer (one input channel) through im2col laid out tap-major.
//
// Conv3D.swift's im2col writes each voxel's patch as a row: for one input
// channel that is 27 scattered single-float stores per voxel, for only
// 27·Cout multiply-adds, and the gather cost as much as the sgemm. Measured
// at 64³ (batch 2, 32 filters, thread CPU time, best of 9 steps) the layer's forward took 37 ms and its kernel gradient 35 ms, of
// which 13 ms each were the gather.
//
// Laid out tap-major instead — [27][rows], one row of the matrix per tap —
// the values of one tap along a line of voxels (fixed sample, x, y; z runs)
// are a contiguous run of the input line at offset (dx, dy), shifted by dz:
// each line's patches are 27 copies of gz floats. The products
// (ConvolutionProducts) read the matrix transposed for the forward pass and
// as it is for the kernel gradient.
// With this the layer took 27 ms forward and 25 ms for the kernel gradient.
// (A direct SIMD kernel, 27 broadcast taps × 8 channels × 4 voxels, reached
// only ~33 GFLOP/s: SSE, the baseline x86-64 target, without FMA; OpenBLAS
// picks AVX2 at run time.)
//
// The 9 input lines an output line needs, (dx, dy) ∈ {−1, 0, 1}², are
// copied into `PaddedLines` with a zero at each end (all zeros when
// (x + dx, y + dy) lies outside the volume), which is the 'same' padding.
// Tap t = (dx + 1)·9 + (dy + 1)·3 + (dz + 1) is the kernel row, as in
// Conv3D.swift with Cin = 1.

/// The 9 zero-padded input lines around one output line.
private struct PaddedLines {
    let base: UnsafeMutablePointer<Float>
    /// gz + 2: a zero before z = 0 and one after the last voxel.
    let stride: Int

    static func stride(_ grid: Grid3) -> Int { grid.z + 2 }

    /// Line (dx + 1)·3 + (dy + 1); index z + 1 holds voxel z, so the values
    /// of tap dz along the line start at index dz + 1.
    @inline(__always)
    func line(_ index: Int) -> UnsafeMutablePointer<Float> { base + index * stride }

    /// Fills the lines around (sample, x, y) of input [N, X, Y, Z].
    @inline(__always)
    func load(from input: UnsafePointer<Float>, grid: Grid3, sample: Int, x: Int, y: Int) {
        for dx in -1...1 {
            for dy in -1...1 {
                let destination = line((dx + 1) * 3 + dy + 1)
                destination.update(repeating: 0, count: stride)
                let (sx, sy) = (x + dx, y + dy)
                if sx >= 0 && sx < grid.x && sy >= 0 && sy < grid.y {
                    destination.advanced(by: 1).update(
                        from: input + ((sample * grid.x + sx) * grid.y + sy) * grid.z, count: grid.z)
                }
            }
        }
    }
}

/// body(firstRow, lines) for every output line (sample, x, y) in row order,
/// with `lines` loaded for it.
@inline(__always)
private func forEachOutputLine(
    _ shape: Conv3DShape, input: UnsafePointer<Float>, _ body: (_ firstRow: Int, _ lines: PaddedLines) -> Void
) {
    let grid = shape.grid
    let stride = PaddedLines.stride(grid)
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 9 * stride) { buffer in
        let lines = PaddedLines(base: buffer.baseAddress!, stride: stride)
        var firstRow = 0
        for sample in 0..<shape.batch {
            for x in 0..<grid.x {
                for y in 0..<grid.y {
                    lines.load(from: input, grid: grid, sample: sample, x: x, y: y)
                    body(firstRow, lines)
                    firstRow += grid.z
                }
            }
        }
    }
}

/// Rows per chunk of forEachTapMajorChunk: whole lines, about
/// `preferredChunkFloats` floats of patches.
private func tapMajorChunkRows(_ shape: Conv3DShape, scratch: ConvolutionScratch) -> Int {
    let gz = shape.grid.z
    let linesPerChunk = Swift.min(scratch.capacity / 27, ConvolutionScratch.preferredChunkFloats / 27) / gz
    precondition(linesPerChunk > 0, "im2col scratch smaller than one line of patches (27·Z floats)")
    return Swift.min(shape.rows, linesPerChunk * gz)
}

/// Lays the patches of chunks of output rows out tap-major, [27][chunkRows],
/// in scratch.columns and calls body(first, count, chunkRows) for each chunk
/// of rows first..<first + count. Chunks hold whole lines and, like the
/// im2col chunks, about `preferredChunkFloats` floats, to stay in cache.
@inline(__always)
private func forEachTapMajorChunk(
    _ shape: Conv3DShape, input: UnsafePointer<Float>, scratch: ConvolutionScratch,
    _ body: (_ first: Int, _ count: Int, _ leadingDimension: Int) -> Void
) {
    let gz = shape.grid.z
    let chunkRows = tapMajorChunkRows(shape, scratch: scratch)
    let columns = scratch.columns.data
    var chunkFirst = 0
    forEachOutputLine(shape, input: input) { firstRow, lines in
        let offset = firstRow - chunkFirst
        for lineIndex in 0..<9 {
            for shift in 0..<3 {  // dz + 1
                let tapRow = columns + (lineIndex * 3 + shift) * chunkRows
                (tapRow + offset).update(from: lines.line(lineIndex) + shift, count: gz)
            }
        }
        let filled = offset + gz
        if filled == chunkRows || firstRow + gz == shape.rows {
            body(chunkFirst, filled, chunkRows)
            chunkFirst += filled
        }
    }
}

/// out = conv(input, kernel) for Cin = 1, without bias; afterEachChunk(first,
/// count) sees each finished chunk of output rows while it is in cache.
/// input [N,X,Y,Z], kernel [3,3,3,1,Cout], out [N,X,Y,Z,Cout]
func singleChannelConv3dForward(
    out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, kernel: UnsafePointer<Float>,
    shape: Conv3DShape, scratch: ConvolutionScratch, afterEachChunk: (_ first: Int, _ count: Int) -> Void
) {
    precondition(shape.inChannels == 1, "the tap-major kernels are for one input channel")
    let cout = shape.outChannels
    forEachTapMajorChunk(shape, input: input, scratch: scratch) { first, count, lda in
        let patches = ConvolutionProducts.Patches(data: scratch.columns.data, tapMajor: true, stride: lda)
        scratch.products.patchProducts(rows: count, taps: 27, cout: cout, patches: patches, kernel: kernel,
                                       into: out + first * cout)
        afterEachChunk(first, count)
    }
}

/// Where a backward pass finds dOut [N,X,Y,Z,Cout]: stored whole, or
/// written a chunk of rows at a time by write(first, count, into) right
/// before the pass reads them (into a chunk-sized buffer that stays in
/// cache, so a large dOut need never go to memory and back).
enum OutputGradient {
    case stored(UnsafePointer<Float>)
    case computed((_ first: Int, _ count: Int, _ into: UnsafeMutablePointer<Float>) -> Void)
}

/// dKernel += Σ over voxels of input patch ⊗ dOut, for Cin = 1.
/// input [N,X,Y,Z], dKernel [3,3,3,1,Cout] (+=)
func singleChannelConv3dKernelGradient(
    dKernel: UnsafeMutablePointer<Float>, dOut: OutputGradient, input: UnsafePointer<Float>,
    shape: Conv3DShape, scratch: ConvolutionScratch
) {
    precondition(shape.inChannels == 1, "the tap-major kernels are for one input channel")
    let cout = shape.outChannels
    var rows: UnsafeMutablePointer<Float>?
    if case .computed = dOut { rows = scratch.outputGradientRows(floats: tapMajorChunkRows(shape, scratch: scratch) * cout) }
    forEachTapMajorChunk(shape, input: input, scratch: scratch) { first, count, lda in
        let patches = ConvolutionProducts.Patches(data: scratch.columns.data, tapMajor: true, stride: lda)
        let chunkGradient: UnsafePointer<Float>
        switch dOut {
        case .stored(let whole): chunkGradient = whole + first * cout
        case .computed(let write):
            write(first, count, rows!)
            chunkGradient = UnsafePointer(rows!)
        }
        scratch.products.addPatchKernelProducts(rows: count, taps: 27, cout: cout, patches: patches,
                                                dOut: chunkGradient, into: dKernel)
    }
}
