import Foundation

/// Why a NIfTI file could not be read or written. `description` is one line:
/// "<path>: <problem>".
public struct NIfTIError: Error, Equatable, CustomStringConvertible, LocalizedError {
    public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
        case unreadable(String)
        case truncatedHeader(bytes: Int)
        case notNIfTI1(String)
        case notThreeD(dims: [Int])
        case invalidHeader(String)
        case unsupportedDatatype(Int)
        case truncatedData(expectedBytes: Int, availableBytes: Int)
        case badGzip(String)
        case notLabels(String)
        case unwritable(String)

        public var description: String {
            switch self {
            case .unreadable(let why): return "cannot read file (\(why))"
            case .truncatedHeader(let bytes): return "truncated header: \(bytes) bytes, a NIfTI-1 header needs 348"
            case .notNIfTI1(let why): return "not a NIfTI-1 file (\(why))"
            case .notThreeD(let dims): return "not a 3-D volume (dim = \(dims))"
            case .invalidHeader(let why): return "invalid header (\(why))"
            case .unsupportedDatatype(let code): return "unsupported datatype code \(code) (supported: uint8, int8, int16, uint16, int32, float32, float64)"
            case .truncatedData(let expected, let available):
                return "truncated data: header + voxels need \(expected) bytes (uncompressed), file has \(available)"
            case .badGzip(let why): return "bad gzip data (\(why))"
            case .notLabels(let why): return "not a label map (\(why))"
            case .unwritable(let why): return "cannot write file (\(why))"
            }
        }
    }

    public let path: String
    public let problem: Problem

    public init(path: String, problem: Problem) {
        self.path = path
        self.problem = problem
    }

    public var description: String { "\(path): \(problem)" }
    public var errorDescription: String? { description }
}
