// 2×2×2 pooling, stride 2, TensorFlow 'same' padding, channels-last.
// Output size is ceil(n / 2); on an odd size the last window hangs over the
// end and simply has fewer real cells: max pooling ignores the padding and
// average pooling divides by the number of real cells.

/// Which input voxels feed which pooled voxel.
public struct PoolGeometry: Equatable, Sendable {
    public var batch: Int
    public var input: Grid3
    public var output: Grid3 { input.halvedSame }
    /// Where the input lies in its buffer, in rows: sample n's first voxel
    /// is row n · inputSampleStride + inputOffset. By default the input is
    /// the whole buffer; a slab (SlabPartition.swift) is the interior of a
    /// buffer widened by halo planes.
    public var inputSampleStride: Int, inputOffset: Int

    public init(batch: Int, input: Grid3) {
        self.init(batch: batch, input: input, inputSampleStride: input.voxels, inputOffset: 0)
    }

    public init(batch: Int, input: Grid3, inputSampleStride: Int, inputOffset: Int) {
        self.batch = batch; self.input = input
        self.inputSampleStride = inputSampleStride; self.inputOffset = inputOffset
    }

    /// Input voxels over the batch (the padding of a widened buffer excluded).
    public var inputRows: Int { batch * input.voxels }

    /// Whether the input fills its buffer (no stride, no offset).
    public var inputIsWhole: Bool { inputSampleStride == input.voxels && inputOffset == 0 }

    /// Calls body with the parts of buffer rows `rows` that belong to the
    /// input (all of them when the input is whole).
    func forEachInputRun(in rows: Range<Int>, _ body: (Range<Int>) -> Void) {
        guard !inputIsWhole else { return body(rows) }
        for sample in 0..<batch {
            let first = sample * inputSampleStride + inputOffset
            let run = rows.clamped(to: first..<(first + input.voxels))
            if !run.isEmpty { body(run) }
        }
    }
    public var outputRows: Int { batch * output.voxels }

    /// The windows of output planes `planes` (along x) of sample `sample`
    /// as a geometry of their own, and the output row where they start.
    func outputPlanes(_ planes: Range<Int>, sample: Int) -> (geometry: PoolGeometry, outputRow: Int) {
        precondition(planes.lowerBound >= 0 && planes.upperBound <= output.x && (0..<batch).contains(sample),
                     "output planes \(planes) of sample \(sample) outside \(output) × \(batch)")
        let inputPlanes = Swift.min(2 * planes.upperBound, input.x) - 2 * planes.lowerBound
        let part = PoolGeometry(batch: 1, input: Grid3(inputPlanes, input.y, input.z),
                                inputSampleStride: inputSampleStride,
                                inputOffset: sample * inputSampleStride + inputOffset + 2 * planes.lowerBound * input.y * input.z)
        return (part, (sample * output.x + planes.lowerBound) * output.y * output.z)
    }

    /// Calls body(outputRow, cellRows, cellCount) for every window; rows
    /// index voxels over the whole batch (multiply by C for offsets).
    @inline(__always)
    func forEachWindow(_ body: (_ outputRow: Int, _ cells: UnsafePointer<Int>, _ cellCount: Int) -> Void) {
        let inGrid = input, outGrid = output, sampleStride = inputSampleStride, offset = inputOffset
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 8) { cellBuffer in
            let cells = cellBuffer.baseAddress!
            var outputRow = 0
            for sample in 0..<batch {
                let sampleBase = sample * sampleStride + offset
                for ox in 0..<outGrid.x {
                    let x1 = Swift.min(2 * ox + 2, inGrid.x)
                    for oy in 0..<outGrid.y {
                        let y1 = Swift.min(2 * oy + 2, inGrid.y)
                        for oz in 0..<outGrid.z {
                            let z1 = Swift.min(2 * oz + 2, inGrid.z)
                            var count = 0
                            for ix in (2 * ox)..<x1 {
                                for iy in (2 * oy)..<y1 {
                                    for iz in (2 * oz)..<z1 {
                                        cells[count] = sampleBase + (ix * inGrid.y + iy) * inGrid.z + iz
                                        count += 1
                                    }
                                }
                            }
                            body(outputRow, cells, count)
                            outputRow += 1
                        }
                    }
                }
            }
        }
    }
}

/// Index of the winning cell within its window, kept for backward.
/// out, winner [N, outX, outY, outZ, C]; x [N, X, Y, Z, C]
public func maxPoolForward(
    out: UnsafeMutablePointer<Float>, winner: UnsafeMutablePointer<UInt8>,
    x: UnsafePointer<Float>, geometry: PoolGeometry, channels: Int
) {
    geometry.forEachWindow { outputRow, cells, cellCount in
        let best = out + outputRow * channels, won = winner + outputRow * channels
        let first = x + cells[0] * channels
        for c in 0..<channels { best[c] = first[c]; won[c] = 0 }
        for cell in 1..<Swift.max(cellCount, 1) {
            let candidate = x + cells[cell] * channels
            for c in 0..<channels where candidate[c] > best[c] {
                best[c] = candidate[c]; won[c] = UInt8(cell)
            }
        }
    }
}

/// Routes each pooled gradient to its window's winner (dx is overwritten).
/// dx [N, X, Y, Z, C]; dOut, winner [N, outX, outY, outZ, C]
public func maxPoolBackward(
    dx: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>, winner: UnsafePointer<UInt8>,
    geometry: PoolGeometry, channels: Int
) {
    dx.update(repeating: 0, count: geometry.inputRows * channels)
    geometry.forEachWindow { outputRow, cells, _ in
        let g = dOut + outputRow * channels, won = winner + outputRow * channels
        for c in 0..<channels { dx[cells[Int(won[c])] * channels + c] += g[c] }
    }
}

/// Mean over the real cells of each window.
/// out [N, outX, outY, outZ, C]; x [N, X, Y, Z, C]
public func averagePoolForward(
    out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, geometry: PoolGeometry, channels: Int
) {
    geometry.forEachWindow { outputRow, cells, cellCount in
        let o = out + outputRow * channels
        o.update(repeating: 0, count: channels)
        for cell in 0..<cellCount {
            let r = x + cells[cell] * channels
            for c in 0..<channels { o[c] += r[c] }
        }
        let weight = 1 / Float(cellCount)
        for c in 0..<channels { o[c] *= weight }
    }
}

/// dx (=) [N, X, Y, Z, C]; dOut [N, outX, outY, outZ, C]
public func averagePoolBackward(
    dx: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>, geometry: PoolGeometry, channels: Int
) {
    dx.update(repeating: 0, count: geometry.inputRows * channels)
    geometry.forEachWindow { outputRow, cells, cellCount in
        let g = dOut + outputRow * channels
        let weight = 1 / Float(cellCount)
        for cell in 0..<cellCount {
            let d = dx + cells[cell] * channels
            for c in 0..<channels { d[c] += g[c] * weight }
        }
    }
}
