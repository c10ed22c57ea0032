import CZlib

/// Failure inside zlib (corrupt or truncated gzip stream, or a compression error).
public struct GzipError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// In-memory gzip via zlib, used for .nii.gz.
public enum Gzip {
    /// True when the bytes start with the gzip magic 1f 8b.
    public static func isCompressed(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
    }

    /// Inflates a whole gzip (or zlib) stream. Concatenated gzip members are joined,
    /// as gunzip does. Throws `GzipError` on corrupt or truncated input.
    /// Inflating stops after `limit` bytes (a stream may inflate to far more
    /// than its reader needs); the rest of the input is then not looked at.
    public static func decompress(_ input: [UInt8], limit: Int = .max) throws -> [UInt8] {
        // zlib counts input in UInt32; NIfTI volumes here are far below 4 GiB.
        guard input.count <= Int(UInt32.max) else { throw GzipError(message: "gzip input larger than 4 GiB") }
        var output: [UInt8] = []
        output.reserveCapacity(Swift.min(limit, Swift.max(input.count.multipliedReportingOverflow(by: 4).partialValue, 1 << 16)))
        var chunk = [UInt8](repeating: 0, count: 1 << 18)
        var consumed = 0
        try input.withUnsafeBufferPointer { inBuf in
            while consumed < input.count && output.count < limit {
                var stream = z_stream()
                guard simba_inflate_init_auto(&stream) == Z_OK else { throw GzipError(message: "gzip: cannot initialise zlib") }
                defer { inflateEnd(&stream) }
                stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress! + consumed)
                stream.avail_in = UInt32(input.count - consumed)
                var status: Int32 = Z_OK
                repeat {
                    status = chunk.withUnsafeMutableBufferPointer { out -> Int32 in
                        stream.next_out = out.baseAddress
                        stream.avail_out = UInt32(out.count)
                        let result = inflate(&stream, Z_NO_FLUSH)
                        let produced = out.count - Int(stream.avail_out)
                        output.append(contentsOf: out[0..<Swift.min(produced, limit - output.count)])
                        return result
                    }
                    if output.count >= limit { return }
                    if status == Z_BUF_ERROR && stream.avail_in == 0 {
                        throw GzipError(message: "gzip stream is truncated")
                    }
                    if status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR {
                        let reason = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                        throw GzipError(message: "corrupt gzip data (\(reason))")
                    }
                } while status != Z_STREAM_END
                consumed = input.count - Int(stream.avail_in)
                // Trailing zero padding after the last member is tolerated, other bytes start a new member.
                if input[consumed...].allSatisfy({ $0 == 0 }) { break }
            }
        }
        return output
    }

    /// Deflates into a single gzip member. Throws `GzipError`.
    public static func compress(_ input: [UInt8], level: Int32 = 6) throws -> [UInt8] {
        guard input.count <= Int(UInt32.max) else { throw GzipError(message: "gzip input larger than 4 GiB") }
        var stream = z_stream()
        guard simba_deflate_init_gzip(&stream, level) == Z_OK else { throw GzipError(message: "gzip: cannot initialise zlib") }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(input.count))) + 32)
        let written = input.withUnsafeBufferPointer { inBuf in
            output.withUnsafeMutableBufferPointer { outBuf -> Int? in
                stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
                stream.avail_in = UInt32(inBuf.count)
                stream.next_out = outBuf.baseAddress
                stream.avail_out = UInt32(outBuf.count)
                return deflate(&stream, Z_FINISH) == Z_STREAM_END ? Int(stream.total_out) : nil
            }
        }
        guard let written else { throw GzipError(message: "gzip: deflate did not finish") }
        output.removeSubrange(written...)
        return output
    }
}
