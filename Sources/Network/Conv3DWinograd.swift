import CConvolutionProducts
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// 3×3×3 'same' convolution by Winograd's minimal filtering F(2×2×2, 3×3×3)
// (Lavin & Gray, "Fast algorithms for convolutional neural networks", 2016,
// taken to three dimensions): each 2×2×2 block of output voxels comes from
// the 4×4×4 block of input around it as
//     Y = Aᵀ[(G W Gᵀ) ⊙ (Bᵀ D B)]A        (each product along x, y and z),
// so that per pair of channels a tile costs 64 multiplications instead of
// 8 · 27 = 216. Over the channels the 64 element-wise products are 64
// matrix products, one per transform point ξ:
//     M[ξ] (tiles × Cout) = U[ξ] (tiles × Cin) · V[ξ] (Cin × Cout),
// which run as AVX-512 products that read the tiles where they lie, or as
// sgemm on CPUs without AVX-512 (ConvolutionProducts.swift). The two backward
// products follow by the chain rule
// through the same linear maps (no flipped kernel):
//     dV[ξ] += U[ξ]ᵀ · dM[ξ],  dU[ξ] = dM[ξ] · V[ξ]ᵀ,  with dM = A dY Aᵀ,
// then dW = Gᵀ dV G and dD = B dU Bᵀ added over overlapping input tiles.
//
// The transforms use only 0, ±1 and ½, so the results equal the direct
// convolution up to float rounding (a few ulp of the summed magnitudes).
//
// Tiles are processed in chunks of lines of tiles along z. A chunk's
// transformed tiles U and products M are stored tile-major ([tiles][64][C]):
// a transform reads or writes one tile's 64 points as one block, and each
// product walks its point's rows with a stride of 64·C (measured with sgemm at 64³,
// block 2: forward 65 ms instead of 79 ms with [64][tiles][C], backward
// 110 ms instead of 135 ms; `simba bench conv`). Transforms run on eight
// channels at a time through a 4×4×4 block of vectors, the point
// ξ = (x·4 + y)·4 + z.

/// The 64 points of a 4×4×4 transformed tile.
let winogradPoints = 64

/// How one layer's output splits into 2×2×2 tiles, lines of tiles along z
/// and chunks of lines.
struct WinogradTiling {
    let shape: Conv3DShape
    /// Tiles along x that are computed (all, unless the shape needs only
    /// some output planes), from tile `firstTileX` on.
    let tilesX: Int, tilesY: Int, tilesZ: Int
    let firstTileX: Int
    let linesPerChunk: Int

    /// Tiles per chunk: small enough that a chunk's transformed tiles stay
    /// in cache between the transform and the products, large enough for
    /// the products to see a hundred rows. A chunk holds at least one line.
    static let preferredChunkTiles = 128

    init(_ shape: Conv3DShape, preferredChunkTiles: Int = Self.preferredChunkTiles) {
        self.shape = shape
        let allTilesX = (shape.grid.x + 1) / 2
        if let planes = shape.outputPlanes {
            precondition(planes.lowerBound % 2 == 0 && planes.lowerBound >= 0 && planes.upperBound <= shape.grid.x && !planes.isEmpty,
                         "output planes \(planes) must start on an even plane inside 0..<\(shape.grid.x)")
            firstTileX = planes.lowerBound / 2
            tilesX = (planes.upperBound + 1) / 2 - firstTileX
        } else {
            firstTileX = 0
            tilesX = allTilesX
        }
        tilesY = (shape.grid.y + 1) / 2; tilesZ = (shape.grid.z + 1) / 2
        linesPerChunk = Swift.max(1, preferredChunkTiles / tilesZ)
    }

    /// Lines of tiles along z: (sample, tx, ty), ty fastest.
    var lines: Int { shape.batch * tilesX * tilesY }
    var chunkTiles: Int { Swift.min(lines, linesPerChunk) * tilesZ }

    /// Output rows before slab `slab` (a slab: one sample's lines at one tx,
    /// i.e. output planes 2·tx and 2·tx + 1; consecutive slabs are
    /// consecutive rows).
    func rows(beforeSlab slab: Int) -> Int {
        let (sample, tx) = slab.quotientAndRemainder(dividingBy: tilesX)
        return (sample * shape.grid.x + Swift.min(2 * (firstTileX + tx), shape.grid.x)) * shape.grid.y * shape.grid.z
    }

    /// body(tile index within the chunk, sample, corner x, y, z of the
    /// tile's 4×4×4 input block) for every tile of lines first..<first+count.
    @inline(__always)
    func forEachTile(lines first: Int, count: Int, _ body: (Int, Int, Int, Int, Int) -> Void) {
        var tile = 0
        for line in first..<(first + count) {
            let (slab, ty) = line.quotientAndRemainder(dividingBy: tilesY)
            let (sample, t) = slab.quotientAndRemainder(dividingBy: tilesX)
            let tx = firstTileX + t
            for tz in 0..<tilesZ {
                body(tile, sample, 2 * tx - 1, 2 * ty - 1, 2 * tz - 1)
                tile += 1
            }
        }
    }

    /// body(first line, line count) for consecutive chunks; finished(first
    /// row, row count) after each chunk that completes slabs, with the rows
    /// of the slabs it completed.
    @inline(__always)
    func forEachChunk(_ body: (Int, Int) -> Void, finished: (Int, Int) -> Void) {
        var first = 0, reportedSlabs = 0
        while first < lines {
            let count = Swift.min(linesPerChunk, lines - first)
            body(first, count)
            first += count
            let completeSlabs = first / tilesY
            if completeSlabs > reportedSlabs {
                let start = rows(beforeSlab: reportedSlabs)
                finished(start, rows(beforeSlab: completeSlabs) - start)
                reportedSlabs = completeSlabs
            }
        }
    }
}

/// Zeroed floats on 2 MiB-aligned memory that Linux is asked to back with
/// huge pages: each product strides through the whole chunk, one row per
/// 4 KiB page or more, which would otherwise thrash the TLB.
final class HugePageFloats {
    let count: Int
    let data: UnsafeMutablePointer<Float>

    init(count: Int) {
        self.count = count
        let bytes = Swift.max(count, 1) * MemoryLayout<Float>.stride
        var raw: UnsafeMutableRawPointer?
        precondition(posix_memalign(&raw, 2 << 20, bytes) == 0 && raw != nil, "out of memory for \(bytes) bytes")
        #if canImport(Glibc)
        _ = madvise(raw, bytes, MADV_HUGEPAGE)
        #endif
        data = raw!.bindMemory(to: Float.self, capacity: Swift.max(count, 1))
        data.initialize(repeating: 0, count: Swift.max(count, 1))
    }

    deinit { free(data) }
}

/// Buffers of the transformed tiles and kernels, sized for the largest
/// layer when the model is built and grown on first use otherwise.
final class WinogradBuffers {
    let preferredChunkTiles: Int
    private(set) var tiles: HugePageFloats    // U or dU: [chunk tiles][64][Cin]
    private(set) var products: HugePageFloats // M or dM: [chunk tiles][64][Cout]
    private(set) var kernel: Tensor         // V: [64][Cin][Cout], or Vᵀ [64][Cout][Cin] (see ConvolutionProducts)
    private(set) var kernelGradient: Tensor // dV: [64][Cin][Cout]
    /// The untransformed kernel transposed, [27][Cout][Cin], where the products need Vᵀ.
    private(set) var transposedKernel: Tensor
    let multiplication: ConvolutionProducts
    /// Which code runs the tile transforms: the AVX-512 C transforms with the
    /// avx512 products, the Swift ones (below) otherwise; the same
    /// arithmetic, so the tests can hold one against the other.
    let transforms: ConvolutionProducts

    /// Sized for all of `shapes`.
    init(for shapes: [Conv3DShape] = [], preferredChunkTiles: Int = WinogradTiling.preferredChunkTiles,
         multiplication: ConvolutionProducts = .fastest, transforms: ConvolutionProducts? = nil) {
        self.preferredChunkTiles = preferredChunkTiles
        self.multiplication = multiplication
        self.transforms = transforms ?? multiplication
        var tileFloats = 0, productFloats = 0, kernelFloats = 0
        for shape in shapes {
            let tiles = WinogradTiling(shape, preferredChunkTiles: preferredChunkTiles).chunkTiles
            tileFloats = Swift.max(tileFloats, winogradPoints * tiles * shape.inChannels)
            productFloats = Swift.max(productFloats, winogradPoints * tiles * shape.outChannels)
            kernelFloats = Swift.max(kernelFloats, winogradPoints * shape.inChannels * shape.outChannels)
        }
        tiles = HugePageFloats(count: tileFloats); products = HugePageFloats(count: productFloats)
        kernel = Tensor(shape: [kernelFloats]); kernelGradient = Tensor(shape: [kernelFloats])
        transposedKernel = Tensor(shape: [multiplication.transposesKernel ? kernelFloats / winogradPoints * 27 : 0])
    }

    /// The layer's tiling, with every buffer large enough for it.
    func tiling(for shape: Conv3DShape) -> WinogradTiling {
        let tiling = WinogradTiling(shape, preferredChunkTiles: preferredChunkTiles)
        func grown(_ tensor: Tensor, _ floats: Int) -> Tensor { tensor.count >= floats ? tensor : Tensor(shape: [floats]) }
        func grown(_ buffer: HugePageFloats, _ floats: Int) -> HugePageFloats {
            buffer.count >= floats ? buffer : HugePageFloats(count: floats)
        }
        tiles = grown(tiles, winogradPoints * tiling.chunkTiles * shape.inChannels)
        products = grown(products, winogradPoints * tiling.chunkTiles * shape.outChannels)
        let kernelFloats = winogradPoints * shape.inChannels * shape.outChannels
        kernel = grown(kernel, kernelFloats)
        kernelGradient = grown(kernelGradient, kernelFloats)
        if multiplication.transposesKernel { transposedKernel = grown(transposedKernel, 27 * shape.inChannels * shape.outChannels) }
        return tiling
    }
}

// MARK: The transforms, one line of four vectors at a time

/// Eight channels: two SSE registers, so that a line of four fits in
/// registers on baseline x86-64 (16 channels would need all sixteen).
typealias Octet = SIMD8<Float>

/// Four vectors along one axis of a tile.
typealias Quad = (Octet, Octet, Octet, Octet)

// The standard library's `loadUnaligned` and `storeBytes` of an Octet
// stayed out-of-line calls inside the large transform loops, and every
// call spilled the vector registers around it; a constant-size memcpy
// compiles to the moves themselves (bitwise the same results; measured in
// the README: training steps about 5% faster, forward unchanged).

@inline(__always) private func loadOctet(_ pointer: UnsafePointer<Float>, _ count: Int) -> Octet {
    if count == Octet.scalarCount {
        var lanes = Octet()
        _ = withUnsafeMutableBytes(of: &lanes) { memcpy($0.baseAddress!, pointer, MemoryLayout<Octet>.size) }
        return lanes
    }
    var lanes = Octet()
    for i in 0..<count { lanes[i] = pointer[i] }
    return lanes
}

@inline(__always) private func storeOctet(_ lanes: Octet, _ pointer: UnsafeMutablePointer<Float>, _ count: Int) {
    if count == Octet.scalarCount {
        _ = withUnsafeBytes(of: lanes) { memcpy(pointer, $0.baseAddress!, MemoryLayout<Octet>.size) }
        return
    }
    for i in 0..<count { pointer[i] = lanes[i] }
}

/// body(first channel, channels in group) for groups of ≤ 8 channels.
@inline(__always) private func forEachOctet(_ channels: Int, _ body: (Int, Int) -> Void) {
    var first = 0
    while first < channels {
        body(first, Swift.min(Octet.scalarCount, channels - first))
        first += Octet.scalarCount
    }
}

/// Bᵀd: four input values to four transformed ones.
@inline(__always) private func inputLine(_ d: Quad) -> Quad {
    (d.0 - d.2, d.1 + d.2, d.2 - d.1, d.1 - d.3)
}

/// B u: the transpose of inputLine.
@inline(__always) private func inputTransposeLine(_ u: Quad) -> Quad {
    (u.0, u.1 - u.2 + u.3, u.1 + u.2 - u.0, Octet() - u.3)
}

/// G g: three kernel taps (the first three entries) to four transformed values.
@inline(__always) private func kernelLine(_ g: Quad) -> Quad {
    let outer = 0.5 * (g.0 + g.2), middle = 0.5 * g.1
    return (g.0, outer + middle, outer - middle, g.2)
}

/// Gᵀv: the transpose of kernelLine, four values to three taps.
@inline(__always) private func kernelTransposeLine(_ v: Quad) -> Quad {
    let sum = 0.5 * (v.1 + v.2)
    return (v.0 + sum, 0.5 * (v.1 - v.2), sum + v.3, Octet())
}

/// Aᵀm: four products to two output values (the first two entries).
@inline(__always) private func outputLine(_ m: Quad) -> Quad {
    (m.0 + m.1 + m.2, m.1 - m.2 - m.3, Octet(), Octet())
}

/// A dy: the transpose of outputLine, two output gradients to four.
@inline(__always) private func outputTransposeLine(_ dy: Quad) -> Quad {
    (dy.0, dy.0 + dy.1, dy.0 - dy.1, Octet() - dy.1)
}

/// One 3-D transform of a tile, `line` along z, then y, then x: `from`
/// entries per axis in, `to` entries per axis out. The z pass reads through
/// load(x, y, z) and the x pass writes through store(x, y, z, value), so a
/// tile crosses the 64-vector block `t` only twice.
@inline(__always)
private func transformTile(
    _ t: UnsafeMutablePointer<Octet>, from: Int, to: Int, _ line: (Quad) -> Quad,
    load: (Int, Int, Int) -> Octet, store: (Int, Int, Int, Octet) -> Void
) {
    /// `line` on entries 0..<from of read, written to entries 0..<to.
    @inline(__always) func apply(_ read: (Int) -> Octet, _ write: (Int, Octet) -> Void) {
        let zero = Octet()
        let d = line((read(0), from > 1 ? read(1) : zero, from > 2 ? read(2) : zero, from > 3 ? read(3) : zero))
        write(0, d.0); write(1, d.1)
        if to > 2 { write(2, d.2) }
        if to > 3 { write(3, d.3) }
    }
    for x in 0..<from {
        for y in 0..<from {
            let row = t + x * 16 + y * 4
            apply({ load(x, y, $0) }, { row[$0] = $1 })
        }
    }
    for x in 0..<from {
        for z in 0..<to {
            let column = t + x * 16 + z
            apply({ column[4 * $0] }, { column[4 * $0] = $1 })
        }
    }
    for y in 0..<to {
        for z in 0..<to {
            let pillar = t + y * 4 + z
            apply({ pillar[16 * $0] }, { store($0, y, z, $1) })
        }
    }
}

/// body(block) with a 64-vector scratch block on the stack.
@inline(__always)
private func withBlock(_ body: (UnsafeMutablePointer<Octet>) -> Void) {
    withUnsafeTemporaryAllocation(of: Octet.self, capacity: winogradPoints) { body($0.baseAddress!) }
}

/// The point ξ of entry (x, y, z) of a transformed tile.
@inline(__always) private func point(_ x: Int, _ y: Int, _ z: Int) -> Int { (x * 4 + y) * 4 + z }

// MARK: Tiles and kernels in and out of the transformed domain

/// Which voxels of a volume a tile's transform reads or writes: the 4×4×4
/// input block around its outputs or the 2×2×2 output block itself.
private enum TileSide { case input, output }

/// body(block, tile, voxel, c, n) for every tile of lines first..<first+count
/// and every group of ≤ 8 of `channels` channels from c: `tile` is the
/// tile's index in the chunk, voxel(i, j, k) the offset in floats of entry
/// (i, j, k) of the tile's block on `side` in a volume of `channels`
/// channels, or nil where that voxel lies outside the volume.
@inline(__always)
private func forEachTileOctet(
    _ tiling: WinogradTiling, lines first: Int, count: Int, side: TileSide, channels: Int,
    _ body: (UnsafeMutablePointer<Octet>, Int, (Int, Int, Int) -> Int?, Int, Int) -> Void
) {
    let (gx, gy, gz) = (tiling.shape.grid.x, tiling.shape.grid.y, tiling.shape.grid.z)
    withBlock { t in
        tiling.forEachTile(lines: first, count: count) { tile, sample, x0, y0, z0 in
            // The block's corner: the input block starts one voxel before the outputs.
            let shift = side == .input ? 0 : 1
            let (x, y, z) = (x0 + shift, y0 + shift, z0 + shift)
            let extent = side == .input ? 4 : 2
            let interior = x >= 0 && x + extent <= gx && y >= 0 && y + extent <= gy && z >= 0 && z + extent <= gz
            let corner = ((sample * gx + x) * gy + y) * gz + z
            let voxel = { (i: Int, j: Int, k: Int) -> Int? in
                let inside = interior || (x + i >= 0 && x + i < gx && y + j >= 0 && y + j < gy && z + k >= 0 && z + k < gz)
                return inside ? (corner + (i * gy + j) * gz + k) * channels : nil
            }
            forEachOctet(channels) { c, n in body(t, tile, voxel, c, n) }
        }
    }
}

/// body(tile index within the chunk, block) for every tile of lines
/// first..<first+count, with the tile's block on `side` as the AVX-512
/// transforms take it.
@inline(__always)
private func forEachTileBlock(_ tiling: WinogradTiling, lines first: Int, count: Int, side: TileSide, channels: Int,
                              _ body: (Int, simba_tile_block) -> Void) {
    let (gx, gy, gz) = (tiling.shape.grid.x, tiling.shape.grid.y, tiling.shape.grid.z)
    let shift = side == .input ? 0 : 1, extent = side == .input ? 4 : 2
    func bounds(_ start: Int, _ size: Int) -> (Int32, Int32) {
        (Int32(Swift.max(0, -start)), Int32(Swift.min(extent, size - start)))
    }
    tiling.forEachTile(lines: first, count: count) { tile, sample, x0, y0, z0 in
        let (x, y, z) = (x0 + shift, y0 + shift, z0 + shift)
        let (bx, by, bz) = (bounds(x, gx), bounds(y, gy), bounds(z, gz))
        body(tile, simba_tile_block(corner: (((sample * gx + x) * gy + y) * gz + z) * channels,
                                    x_stride: gy * gz * channels, y_stride: gz * channels, channels: channels,
                                    lo: (bx.0, by.0, bz.0), hi: (bx.1, by.1, bz.1)))
    }
}

/// Into the transformed domain, for every tile of the chunk: transformed
/// [tile][ξ][c] = `line` along x, y, z of the tile's block on `side` of
/// `volume` (zero outside it). U = Bᵀ D B with inputLine on the input side,
/// dM = A dY Aᵀ with outputTransposeLine on the output side. With the
/// avx512 products the same transforms run as simba's AVX-512 C code.
private func transformTiles(of volume: UnsafePointer<Float>, side: TileSide, channels: Int, _ line: (Quad) -> Quad,
                            tiling: WinogradTiling, lines first: Int, count: Int,
                            into transformed: UnsafeMutablePointer<Float>, transforms: ConvolutionProducts) {
    if transforms == .avx512 {
        let transform = side == .input ? simba_winograd_input_tile : simba_winograd_output_gradient_tile
        forEachTileBlock(tiling, lines: first, count: count, side: side, channels: channels) { tile, block in
            transform(volume, block, transformed + tile * winogradPoints * channels)
        }
        return
    }
    forEachTileOctet(tiling, lines: first, count: count, side: side, channels: channels) { t, tile, voxel, c, n in
        let destination = transformed + tile * winogradPoints * channels + c
        transformTile(t, from: side == .input ? 4 : 2, to: 4, line, load: { i, j, k in
            voxel(i, j, k).map { loadOctet(volume + $0 + c, n) } ?? Octet()
        }, store: { i, j, k, value in
            storeOctet(value, destination + point(i, j, k) * channels, n)
        })
    }
}

/// Out of the transformed domain, for every tile of the chunk: `line` along
/// x, y, z of transformed [tile][ξ][c] into the tile's block on `side` of
/// `volume`, added (`adding`, where blocks overlap) or stored, dropping what
/// falls outside it. out = Aᵀ M A with outputLine on the output side,
/// dInput += B dU Bᵀ with inputTransposeLine on the input side.
private func untransformTiles(_ transformed: UnsafePointer<Float>, side: TileSide, channels: Int,
                              _ line: (Quad) -> Quad, adding: Bool, tiling: WinogradTiling, lines first: Int,
                              count: Int, into volume: UnsafeMutablePointer<Float>, transforms: ConvolutionProducts) {
    if transforms == .avx512 {
        precondition(adding == (side == .input), "the AVX-512 transforms add on the input side and store on the output side")
        let transform = side == .input ? simba_winograd_input_gradient_tile : simba_winograd_output_tile
        forEachTileBlock(tiling, lines: first, count: count, side: side, channels: channels) { tile, block in
            transform(transformed + tile * winogradPoints * channels, block, volume)
        }
        return
    }
    forEachTileOctet(tiling, lines: first, count: count, side: side, channels: channels) { t, tile, voxel, c, n in
        let source = transformed + tile * winogradPoints * channels + c
        transformTile(t, from: 4, to: side == .input ? 4 : 2, line, load: { i, j, k in
            loadOctet(source + point(i, j, k) * channels, n)
        }, store: { i, j, k, value in
            guard let offset = voxel(i, j, k) else { return }
            let target = volume + offset + c
            storeOctet(adding ? loadOctet(target, n) + value : value, target, n)
        })
    }
}

/// V[ξ] = (G W Gᵀ)[ξ], the kernel [27][Cin·Cout] to [64][Cin·Cout].
private func transformKernel(_ kernel: UnsafePointer<Float>, length: Int, into v: UnsafeMutablePointer<Float>,
                             transforms: ConvolutionProducts) {
    if transforms == .avx512 { simba_winograd_kernel(kernel, length, v); return }
    withBlock { t in
        forEachOctet(length) { c, n in
            transformTile(t, from: 3, to: 4, kernelLine, load: { i, j, k in
                loadOctet(kernel + ((i * 3 + j) * 3 + k) * length + c, n)
            }, store: { i, j, k, value in
                storeOctet(value, v + point(i, j, k) * length + c, n)
            })
        }
    }
}

/// dKernel [27][Cin·Cout] += (Gᵀ dV G), from dV [64][Cin·Cout].
private func addKernelGradient(_ dKernel: UnsafeMutablePointer<Float>, length: Int, from dv: UnsafePointer<Float>,
                               transforms: ConvolutionProducts) {
    if transforms == .avx512 { simba_winograd_add_kernel_gradient(dv, length, dKernel); return }
    withBlock { t in
        forEachOctet(length) { c, n in
            transformTile(t, from: 4, to: 3, kernelTransposeLine, load: { i, j, k in
                loadOctet(dv + point(i, j, k) * length + c, n)
            }, store: { i, j, k, value in
                let target = dKernel + ((i * 3 + j) * 3 + k) * length + c
                storeOctet(loadOctet(target, n) + value, target, n)
            })
        }
    }
}

// MARK: Forward and backward

/// out [N,X,Y,Z,Cout] = conv(input [N,X,Y,Z,Cin], kernel [3,3,3,Cin,Cout]),
/// no bias; afterEachChunk(first, count) sees the output rows of the slabs
/// each chunk completed (two planes of voxels per sample and tile along x).
func winogradConv3dForward(
    out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, kernel: UnsafePointer<Float>,
    shape: Conv3DShape, buffers: WinogradBuffers, afterEachChunk: (_ first: Int, _ count: Int) -> Void
) {
    let tiling = buffers.tiling(for: shape)
    let (cin, cout) = (shape.inChannels, shape.outChannels)
    let u = buffers.tiles.data, m = buffers.products.data, v = buffers.kernel.data
    transformKernel(kernel, length: cin * cout, into: v, transforms: buffers.transforms)
    tiling.forEachChunk { first, count in
        let tiles = count * tiling.tilesZ
        transformTiles(of: input, side: .input, channels: cin, inputLine, tiling: tiling, lines: first, count: count,
                       into: u, transforms: buffers.transforms)
        buffers.multiplication.winogradProducts(tiles: tiles, cin: cin, cout: cout, u: u, v: v, into: m)
        untransformTiles(m, side: .output, channels: cout, outputLine, adding: false, tiling: tiling,
                         lines: first, count: count, into: out, transforms: buffers.transforms)
    } finished: { first, count in
        afterEachChunk(first, count)
    }
}

/// dKernel [3,3,3,Cin,Cout] (+=) and dInput [N,X,Y,Z,Cin] (=, when given)
/// from dOut [N,X,Y,Z,Cout].
func winogradConv3dBackward(
    dInput: UnsafeMutablePointer<Float>?, dKernel: UnsafeMutablePointer<Float>,
    dOut: UnsafePointer<Float>, input: UnsafePointer<Float>, kernel: UnsafePointer<Float>,
    shape: Conv3DShape, buffers: WinogradBuffers
) {
    let tiling = buffers.tiling(for: shape)
    let (cin, cout) = (shape.inChannels, shape.outChannels)
    let u = buffers.tiles.data, dm = buffers.products.data
    let v = buffers.kernel.data, dv = buffers.kernelGradient.data
    dv.update(repeating: 0, count: winogradPoints * cin * cout)
    // U and V are transformed again rather than kept from the forward pass:
    // one buffer serves every layer, and a layer's U at 1 mm would be
    // gigabytes; the price is one more input and kernel transform per step.
    if let dInput {
        if buffers.multiplication.transposesKernel {
            let transposed = buffers.transposedKernel.data
            transposeEachTap(kernel, taps: 27, rows: cin, columns: cout, into: transposed)
            transformKernel(transposed, length: cin * cout, into: v, transforms: buffers.transforms)
        } else {
            transformKernel(kernel, length: cin * cout, into: v, transforms: buffers.transforms)
        }
        dInput.update(repeating: 0, count: shape.rows * cin)
    }
    tiling.forEachChunk { first, count in
        let tiles = count * tiling.tilesZ
        transformTiles(of: input, side: .input, channels: cin, inputLine, tiling: tiling, lines: first, count: count,
                       into: u, transforms: buffers.transforms)
        transformTiles(of: dOut, side: .output, channels: cout, outputTransposeLine, tiling: tiling, lines: first,
                       count: count, into: dm, transforms: buffers.transforms)
        buffers.multiplication.addWinogradKernelProducts(tiles: tiles, cin: cin, cout: cout, u: u, dm: dm, into: dv)
        guard let dInput else { return }
        // dU over U, consumed above.
        buffers.multiplication.winogradInputProducts(tiles: tiles, cin: cin, cout: cout, dm: dm, kernel: v, into: u)
        untransformTiles(u, side: .input, channels: cin, inputTransposeLine, adding: true, tiling: tiling,
                         lines: first, count: count, into: dInput, transforms: buffers.transforms)
    } finished: { _, _ in }
    addKernelGradient(dKernel, length: cin * cout, from: dv, transforms: buffers.transforms)
}
