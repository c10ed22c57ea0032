import Foundation
import Limits

/// A decoded single-file NIfTI-1 image: header, grid and the raw voxel bytes.
public struct NIfTIImage: Sendable {
    public let header: NIfTIHeader
    public let grid: Grid
    public let datatype: NIfTIDatatype
    /// Raw voxel bytes in the file's byte order, exactly grid.count × bytesPerVoxel.
    let data: [UInt8]

    /// scl_slope/scl_inter apply unless the slope is 0 or not finite (the standard's rule).
    public var hasScaling: Bool {
        let slope = header.sclSlope, inter = header.sclInter.isFinite ? header.sclInter : 0
        return slope.isFinite && slope != 0 && (slope != 1 || inter != 0)
    }

    /// Calls `body(n, value)` for every voxel with the stored value converted to Double.
    private func forEachStoredValue(_ body: (Int, Double) -> Void) {
        let swapped = header.byteSwapped
        data.withUnsafeBytes { raw in
            @inline(__always) func load<T: FixedWidthInteger>(_ type: T.Type, _ n: Int) -> T {
                let v = raw.loadUnaligned(fromByteOffset: n * MemoryLayout<T>.size, as: T.self)
                return swapped ? v.byteSwapped : v
            }
            for n in 0..<grid.count {
                let value: Double
                switch datatype {
                case .uint8: value = Double(raw[n])
                case .int8: value = Double(Int8(bitPattern: raw[n]))
                case .int16: value = Double(load(Int16.self, n))
                case .uint16: value = Double(load(UInt16.self, n))
                case .int32: value = Double(load(Int32.self, n))
                case .float32: value = Double(Float(bitPattern: load(UInt32.self, n)))
                case .float64: value = Double(bitPattern: load(UInt64.self, n))
                }
                body(n, value)
            }
        }
    }

    /// Voxel values with scl_slope/scl_inter applied.
    public func floatVoxels() -> [Float] {
        var out = [Float](repeating: 0, count: grid.count)
        let scaled = hasScaling
        let slope = Double(header.sclSlope), inter = header.sclInter.isFinite ? Double(header.sclInter) : 0
        out.withUnsafeMutableBufferPointer { dst in
            forEachStoredValue { n, v in dst[n] = Float(scaled ? v * slope + inter : v) }
        }
        return out
    }

    /// Integer labels. Accepts integer datatypes, and float data whose scaled values are all
    /// whole numbers in Int32 range; anything else is not a label map.
    public func labelVoxels(path: String = "<memory>") throws -> [Int32] {
        var out = [Int32](repeating: 0, count: grid.count)
        var offending: (index: Int, value: Double)?
        let scaled = hasScaling
        let slope = Double(header.sclSlope), inter = header.sclInter.isFinite ? Double(header.sclInter) : 0
        out.withUnsafeMutableBufferPointer { dst in
            forEachStoredValue { n, stored in
                let v = scaled ? stored * slope + inter : stored
                if v.rounded() == v && abs(v) <= Double(Int32.max) {
                    dst[n] = Int32(v)
                } else if offending == nil {
                    offending = (n, v)
                }
            }
        }
        if let offending {
            throw NIfTIError(path: path, problem: .notLabels("voxel \(offending.index) has value \(offending.value)"))
        }
        return out
    }
}

/// Reading and writing single-file NIfTI-1 (.nii, and .nii.gz through zlib).
/// Every throwing function here throws `NIfTIError`.
///
/// Implemented here rather than through libniftiio: its headers need the nonstandard
/// include path -I/usr/include/nifti, which a system-library target cannot add without
/// unsafeFlags. The header layout still comes from the reference nifti1.h (CNIfTI1).
public enum NIfTI {
    /// Reads and validates a .nii or .nii.gz file (gzip is detected from the content).
    public static func read(path: String) throws -> NIfTIImage {
        let bytes: [UInt8]
        do {
            bytes = [UInt8](try InputFile.read(path, maximumBytes: MachineMemory.availableBytes))
        } catch let limit as ResourceLimit {
            throw NIfTIError(path: path, problem: .unreadable(limit.description))
        } catch {
            throw NIfTIError(path: path, problem: .unreadable(Self.reason(error)))
        }
        return try decode(bytes, path: path)
    }

    /// Decodes file contents; `path` only labels errors. A gzip stream is
    /// inflated up to what its header says the voxels need, and only after
    /// that need was checked against this machine's memory.
    public static func decode(_ fileBytes: [UInt8], path: String = "<memory>") throws -> NIfTIImage {
        func fail(_ problem: NIfTIError.Problem) -> NIfTIError { NIfTIError(path: path, problem: problem) }
        func inflated(limit: Int) throws -> [UInt8] {
            do {
                return try Gzip.decompress(fileBytes, limit: limit)
            } catch {
                throw fail(.badGzip((error as? GzipError)?.message ?? "\(error)"))
            }
        }
        let compressed = Gzip.isCompressed(fileBytes)
        var bytes = compressed ? try inflated(limit: NIfTIHeader.singleFileDataOffset) : fileBytes
        let header: NIfTIHeader
        do {
            header = try bytes.withUnsafeBytes { raw in try NIfTIHeader.decode(raw) }
        } catch let problem as NIfTIError.Problem {
            throw fail(problem)
        } catch {
            throw fail(.invalidHeader("\(error)"))  // decode only throws Problem; kept total for the compiler
        }
        let dims: SIMD3<Int>
        switch volumeDims(header) {
        case .success(let value): dims = value
        case .failure(let problem): throw fail(problem)
        }
        guard let datatype = NIfTIDatatype(rawValue: header.datatypeCode) else {
            throw fail(.unsupportedDatatype(Int(header.datatypeCode)))
        }
        guard header.voxOffset.isFinite, header.voxOffset >= 0, header.voxOffset < 1e9 else {
            throw fail(.invalidHeader("vox_offset \(header.voxOffset)"))
        }
        // vox_offset 0 in a .nii means "right after the header" (seen in MRIcron's templates;
        // nibabel reads them the same way).
        let offset = Swift.max(Int(header.voxOffset), NIfTIHeader.singleFileDataOffset)
        let (voxels, overflow1) = dims.x.multipliedReportingOverflow(by: dims.y * dims.z)
        let (dataBytes, overflow2) = voxels.multipliedReportingOverflow(by: datatype.bytesPerVoxel)
        guard !overflow1, !overflow2, dataBytes < Int(Int32.max) * 16 else {
            throw fail(.invalidHeader("dims \(dims) are too large"))
        }
        do {
            // The voxels as stored, and as floats.
            try MachineMemory.require(offset + dataBytes + 4 * voxels, for: "\(dims.x)×\(dims.y)×\(dims.z) voxels",
                                      remedy: "is the header's dim field right?")
        } catch let limit as ResourceLimit {
            throw fail(.invalidHeader(limit.description))
        }
        if compressed { bytes = try inflated(limit: offset + dataBytes) }
        guard bytes.count >= offset + dataBytes else {
            throw fail(.truncatedData(expectedBytes: offset + dataBytes, availableBytes: bytes.count))
        }
        let affine = header.affine
        guard affine.isFinite, let inverse = affine.inverse, inverse.isFinite else {
            throw fail(.invalidHeader("\(header.affineSource) affine is singular or not finite: \(affine)"))
        }
        return NIfTIImage(header: header, grid: Grid(dims: dims, affine: affine), datatype: datatype,
                          data: Array(bytes[offset..<(offset + dataBytes)]))
    }

    /// dim[0] must be 3, or larger with only singleton dimensions after the third.
    private static func volumeDims(_ header: NIfTIHeader) -> Result<SIMD3<Int>, NIfTIError.Problem> {
        let rank = Int(header.dim[0])
        guard (1...7).contains(rank) else { return .failure(.invalidHeader("dim[0] = \(rank)")) }
        let used = header.dim[1...rank].map(Int.init)
        guard used.allSatisfy({ $0 > 0 }) else { return .failure(.invalidHeader("non-positive dimension in \(used)")) }
        guard rank >= 3, used.dropFirst(3).allSatisfy({ $0 == 1 }) else { return .failure(.notThreeD(dims: used)) }
        return .success(SIMD3(used[0], used[1], used[2]))
    }

    /// Intensity volume (float, scaling applied).
    public static func readVolume(path: String) throws -> Volume<Float> {
        let image = try read(path: path)
        return Volume(grid: image.grid, voxels: image.floatVoxels())
    }

    /// Integer label map (see `NIfTIImage.labelVoxels`).
    public static func readLabels(path: String) throws -> Volume<Int32> {
        let image = try read(path: path)
        return Volume(grid: image.grid, voxels: try image.labelVoxels(path: path))
    }

    /// Writes float32; gzip-compressed when the path ends in ".gz".
    /// `xformCode` is stored as both qform_code and sform_code (1 scanner, 2 aligned, 4 MNI).
    public static func write(_ volume: Volume<Float>, path: String, xformCode: Int16 = 1) throws {
        var payload = [UInt8](repeating: 0, count: volume.voxels.count * 4)
        payload.withUnsafeMutableBytes { raw in
            for (n, v) in volume.voxels.enumerated() {
                raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 4 * n, as: UInt32.self)
            }
        }
        try write(grid: volume.grid, datatype: .float32, payload: payload, path: path, xformCode: xformCode)
    }

    /// Writes a label map as int16, int32 or uint8; throws when a label does not fit the type.
    public static func write(_ labels: Volume<Int32>, path: String, datatype: NIfTIDatatype = .int16,
                             xformCode: Int16 = 1) throws {
        let range: ClosedRange<Int32>
        switch datatype {
        case .uint8: range = 0...255
        case .int16: range = Int32(Int16.min)...Int32(Int16.max)
        case .int32: range = Int32.min...Int32.max
        default: throw NIfTIError(path: path, problem: .unwritable("labels are written as uint8, int16 or int32, not \(datatype)"))
        }
        if let bad = labels.voxels.first(where: { !range.contains($0) }) {
            throw NIfTIError(path: path, problem: .unwritable("label \(bad) does not fit \(datatype)"))
        }
        var payload = [UInt8](repeating: 0, count: labels.voxels.count * datatype.bytesPerVoxel)
        payload.withUnsafeMutableBytes { raw in
            for (n, v) in labels.voxels.enumerated() {
                switch datatype {
                case .uint8: raw[n] = UInt8(v)
                case .int16: raw.storeBytes(of: Int16(v).littleEndian, toByteOffset: 2 * n, as: Int16.self)
                default: raw.storeBytes(of: v.littleEndian, toByteOffset: 4 * n, as: Int32.self)
                }
            }
        }
        try write(grid: labels.grid, datatype: datatype, payload: payload, path: path, xformCode: xformCode)
    }

    private static func write(grid: Grid, datatype: NIfTIDatatype, payload: [UInt8], path: String,
                              xformCode: Int16) throws {
        var header = NIfTIHeader()
        guard grid.dims.max() <= Int(Int16.max) else {
            throw NIfTIError(path: path, problem: .unwritable("dims \(grid.dims) exceed NIfTI-1's 32767"))
        }
        header.dim = [3, Int16(grid.dims.x), Int16(grid.dims.y), Int16(grid.dims.z), 1, 1, 1, 1]
        header.datatypeCode = datatype.rawValue
        header.bitpix = Int16(8 * datatype.bytesPerVoxel)
        header.pixdim = [1, 0, 0, 0, 1, 1, 1, 1]
        header.voxOffset = Float(NIfTIHeader.singleFileDataOffset)
        header.descrip = "simba Volumes"
        header.setAffine(grid.affine, code: xformCode)
        var bytes = header.encoded()
        bytes.append(contentsOf: payload)
        if path.hasSuffix(".gz") {
            do {
                bytes = try Gzip.compress(bytes)
            } catch {
                throw NIfTIError(path: path, problem: .unwritable("\(error)"))
            }
        }
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw NIfTIError(path: path, problem: .unwritable(reason(error)))
        }
    }

    /// One-line reason from a Foundation error.
    static func reason(_ error: any Error) -> String {
        let text = (error as NSError).localizedFailureReason ?? error.localizedDescription
        return text.replacingOccurrences(of: "\n", with: " ")
    }
}
