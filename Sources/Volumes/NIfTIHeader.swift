import CNIfTI1

/// NIfTI-1 voxel datatypes this module reads (codes from nifti1.h).
public enum NIfTIDatatype: Int16, Sendable, CaseIterable {
    case uint8 = 2, int16 = 4, int32 = 8, float32 = 16, float64 = 64, int8 = 256, uint16 = 512

    public var bytesPerVoxel: Int {
        switch self {
        case .uint8, .int8: return 1
        case .int16, .uint16: return 2
        case .int32, .float32: return 4
        case .float64: return 8
        }
    }

    public var isInteger: Bool { self != .float32 && self != .float64 }
}

/// The fields of a NIfTI-1 header that matter here, decoded to native types.
/// Offsets come from the reference `struct nifti_1_header` (nifti1.h), so the layout is
/// not retyped by hand; values are read and written one field at a time, which makes
/// byte-swapped (big-endian) files a matter of a flag.
public struct NIfTIHeader: Equatable, Sendable {
    public var dim: [Int16] = [Int16](repeating: 0, count: 8)
    public var datatypeCode: Int16 = 0
    public var bitpix: Int16 = 0
    public var pixdim: [Float] = [Float](repeating: 0, count: 8)
    public var voxOffset: Float = 352
    public var sclSlope: Float = 1
    public var sclInter: Float = 0
    public var xyztUnits: UInt8 = 2
    public var qformCode: Int16 = 0
    public var sformCode: Int16 = 0
    public var quaternion: SIMD3<Float> = .zero  // b, c, d
    public var qoffset: SIMD3<Float> = .zero
    public var srow: [SIMD4<Float>] = [.zero, .zero, .zero]
    public var magic: [UInt8] = Array("n+1\0".utf8)
    public var descrip: String = ""  // the 80-byte free-text field
    /// True when the file was big-endian (opposite of this machine).
    public var byteSwapped = false

    static let size = 348
    /// Header plus the 4-byte extension flag; the smallest vox_offset of a .nii file.
    static let singleFileDataOffset = 352

    enum Field {
        static let sizeofHdr = MemoryLayout<nifti_1_header>.offset(of: \.sizeof_hdr)!
        static let dim = MemoryLayout<nifti_1_header>.offset(of: \.dim)!
        static let datatype = MemoryLayout<nifti_1_header>.offset(of: \.datatype)!
        static let bitpix = MemoryLayout<nifti_1_header>.offset(of: \.bitpix)!
        static let pixdim = MemoryLayout<nifti_1_header>.offset(of: \.pixdim)!
        static let voxOffset = MemoryLayout<nifti_1_header>.offset(of: \.vox_offset)!
        static let sclSlope = MemoryLayout<nifti_1_header>.offset(of: \.scl_slope)!
        static let sclInter = MemoryLayout<nifti_1_header>.offset(of: \.scl_inter)!
        static let xyztUnits = MemoryLayout<nifti_1_header>.offset(of: \.xyzt_units)!
        static let descrip = MemoryLayout<nifti_1_header>.offset(of: \.descrip)!
        static let qformCode = MemoryLayout<nifti_1_header>.offset(of: \.qform_code)!
        static let sformCode = MemoryLayout<nifti_1_header>.offset(of: \.sform_code)!
        static let quaternB = MemoryLayout<nifti_1_header>.offset(of: \.quatern_b)!
        static let qoffsetX = MemoryLayout<nifti_1_header>.offset(of: \.qoffset_x)!
        static let srowX = MemoryLayout<nifti_1_header>.offset(of: \.srow_x)!
        static let srowY = MemoryLayout<nifti_1_header>.offset(of: \.srow_y)!
        static let srowZ = MemoryLayout<nifti_1_header>.offset(of: \.srow_z)!
        static let magic = MemoryLayout<nifti_1_header>.offset(of: \.magic)!
    }

    public init() {}

    /// Reads byte-order-aware scalars from the raw header bytes.
    struct Reader {
        let bytes: UnsafeRawBufferPointer
        let swapped: Bool

        func int16(_ offset: Int) -> Int16 {
            let v = bytes.loadUnaligned(fromByteOffset: offset, as: Int16.self)
            return swapped ? v.byteSwapped : v
        }
        func int32(_ offset: Int) -> Int32 {
            let v = bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)
            return swapped ? v.byteSwapped : v
        }
        func float(_ offset: Int) -> Float {
            let v = bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
            return Float(bitPattern: swapped ? v.byteSwapped : v)
        }
    }

    /// Decodes the first 348 bytes; `problem` errors say what is wrong with them.
    static func decode(_ bytes: UnsafeRawBufferPointer) throws(NIfTIError.Problem) -> NIfTIHeader {
        guard bytes.count >= size else { throw .truncatedHeader(bytes: bytes.count) }
        let native = bytes.loadUnaligned(fromByteOffset: Field.sizeofHdr, as: Int32.self)
        let swapped: Bool
        if native == Int32(size) {
            swapped = false
        } else if native.byteSwapped == Int32(size) {
            swapped = true
        } else {
            throw .notNIfTI1("sizeof_hdr is \(native), expected 348")
        }
        let magic = Array(bytes[Field.magic..<(Field.magic + 4)])
        if magic == Array("ni1\0".utf8) {
            throw .notNIfTI1("two-file .hdr/.img pair; only single-file .nii is supported")
        }
        guard magic == Array("n+1\0".utf8) else {
            throw .notNIfTI1("bad magic \(magic.map { String(format2hex: $0) }.joined(separator: " "))")
        }
        let r = Reader(bytes: bytes, swapped: swapped)
        var h = NIfTIHeader()
        h.byteSwapped = swapped
        h.magic = magic
        h.dim = (0..<8).map { r.int16(Field.dim + 2 * $0) }
        h.datatypeCode = r.int16(Field.datatype)
        h.bitpix = r.int16(Field.bitpix)
        h.pixdim = (0..<8).map { r.float(Field.pixdim + 4 * $0) }
        h.voxOffset = r.float(Field.voxOffset)
        h.sclSlope = r.float(Field.sclSlope)
        h.sclInter = r.float(Field.sclInter)
        h.xyztUnits = bytes[Field.xyztUnits]
        h.qformCode = r.int16(Field.qformCode)
        h.sformCode = r.int16(Field.sformCode)
        h.quaternion = SIMD3(r.float(Field.quaternB), r.float(Field.quaternB + 4), r.float(Field.quaternB + 8))
        h.qoffset = SIMD3(r.float(Field.qoffsetX), r.float(Field.qoffsetX + 4), r.float(Field.qoffsetX + 8))
        h.srow = [Field.srowX, Field.srowY, Field.srowZ].map { base in
            SIMD4(r.float(base), r.float(base + 4), r.float(base + 8), r.float(base + 12))
        }
        let text = bytes[Field.descrip..<(Field.descrip + 80)].prefix { $0 != 0 }
        h.descrip = String(decoding: text, as: UTF8.self)
        return h
    }

    /// The 352 bytes (header + empty extension flag) in this machine's byte order.
    func encoded() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: NIfTIHeader.singleFileDataOffset)
        out.withUnsafeMutableBytes { raw in
            func put<T>(_ value: T, _ offset: Int) { raw.storeBytes(of: value, toByteOffset: offset, as: T.self) }
            put(Int32(NIfTIHeader.size), Field.sizeofHdr)
            for (i, d) in dim.enumerated() { put(d, Field.dim + 2 * i) }
            put(datatypeCode, Field.datatype)
            put(bitpix, Field.bitpix)
            for (i, p) in pixdim.enumerated() { put(p, Field.pixdim + 4 * i) }
            put(voxOffset, Field.voxOffset)
            put(sclSlope, Field.sclSlope)
            put(sclInter, Field.sclInter)
            put(xyztUnits, Field.xyztUnits)
            for (i, byte) in descrip.utf8.prefix(79).enumerated() { put(byte, Field.descrip + i) }
            put(qformCode, Field.qformCode)
            put(sformCode, Field.sformCode)
            for i in 0..<3 {
                put(quaternion[i], Field.quaternB + 4 * i)
                put(qoffset[i], Field.qoffsetX + 4 * i)
            }
            for (row, base) in [Field.srowX, Field.srowY, Field.srowZ].enumerated() {
                for i in 0..<4 { put(srow[row][i], base + 4 * i) }
            }
            for (i, byte) in magic.enumerated() { put(byte, Field.magic + i) }
        }
        return out
    }
}

extension String {
    init(format2hex byte: UInt8) {
        let digits = Array("0123456789abcdef")
        self = String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }
}
