import CZlib
import Foundation

/// An 8-bit image, rows top to bottom, pixels left to right, channels interleaved.
public struct Image8: Equatable, Sendable {
    public enum Kind: Sendable { case gray, rgb }

    public let width: Int
    public let height: Int
    public let kind: Kind
    public var pixels: [UInt8]

    public var channels: Int { kind == .gray ? 1 : 3 }

    public init(width: Int, height: Int, kind: Kind, pixels: [UInt8]) {
        precondition(width > 0 && height > 0, "image must not be empty")
        precondition(pixels.count == width * height * (kind == .gray ? 1 : 3), "pixel count does not match size")
        self.width = width
        self.height = height
        self.kind = kind
        self.pixels = pixels
    }

    public init(width: Int, height: Int, kind: Kind, fill: UInt8 = 0) {
        self.init(width: width, height: height, kind: kind,
                  pixels: [UInt8](repeating: fill, count: width * height * (kind == .gray ? 1 : 3)))
    }
}

/// Failure writing a PNG (zlib or file system), one line.
public struct PNGError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// Minimal PNG encoder (8-bit gray or RGB, no interlace, filter type 0 on every row),
/// built on zlib's compress2 and crc32; libpng would add a longjmp error path for no gain.
public enum PNG {
    public static func encode(_ image: Image8) throws -> [UInt8] {
        let rowBytes = image.width * image.channels
        var raw = [UInt8]()
        raw.reserveCapacity((rowBytes + 1) * image.height)
        for row in 0..<image.height {
            raw.append(0)  // filter type: None
            raw.append(contentsOf: image.pixels[(row * rowBytes)..<((row + 1) * rowBytes)])
        }
        var compressedSize = compressBound(UInt(raw.count))
        var compressed = [UInt8](repeating: 0, count: Int(compressedSize))
        let status = compress2(&compressed, &compressedSize, raw, UInt(raw.count), 6)
        guard status == Z_OK else { throw PNGError(message: "PNG: zlib compress2 failed (\(status))") }
        compressed.removeSubrange(Int(compressedSize)...)

        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header = bigEndianBytes(UInt32(image.width)) + bigEndianBytes(UInt32(image.height))
        header += [8, image.kind == .gray ? 0 : 2, 0, 0, 0]  // depth, colour type, compression, filter, interlace
        appendChunk("IHDR", header, to: &png)
        appendChunk("IDAT", compressed, to: &png)
        appendChunk("IEND", [], to: &png)
        return png
    }

    public static func write(_ image: Image8, path: String) throws {
        let bytes = try encode(image)
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw PNGError(message: "\(path): cannot write PNG (\(NIfTI.reason(error)))")
        }
    }

    private static func appendChunk(_ type: String, _ data: [UInt8], to png: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        png += bigEndianBytes(UInt32(data.count))
        let body = typeBytes + data
        png += body
        let crc = body.withUnsafeBufferPointer { crc32(0, $0.baseAddress, UInt32($0.count)) }
        png += bigEndianBytes(UInt32(crc))
    }

    private static func bigEndianBytes(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)]
    }
}
