import CHDF5

/// A failed HDF5 call, with the library's error stack turned into one
/// readable line (HDF5's automatic printing to stderr is switched off).
public struct HDF5Error: Error, CustomStringConvertible, Sendable {
    /// What simba was doing, e.g. "create dataset '/images'".
    public let operation: String
    /// The file the operation was on, if known.
    public let path: String?
    /// HDF5's stack, outermost call first.
    public let stack: [String]

    public init(operation: String, path: String? = nil, stack: [String] = []) {
        self.operation = operation
        self.path = path
        self.stack = stack
    }

    public var description: String {
        var text = "cannot \(operation)"
        if let path { text += " in \(path)" }
        // The innermost entry names the real cause (e.g. "errno = 17, ... 'File exists'").
        if let cause = stack.last { text += ": \(cause)" }
        if stack.contains(where: { $0.contains("unable to lock file") }) {
            text += " — another process (another simba job, h5py, HDFView) has the file open for writing: wait for it "
                + "to end; on a file system without lock support (e.g. NFS, some Lustre mounts) set HDF5_USE_FILE_LOCKING=FALSE"
        }
        return text
    }
}

/// Error-stack capture. HDF5 calls that fail leave a stack of (function,
/// description, minor message) records on the default stack.
enum HDF5ErrorStack {
    /// Reads and clears the current error stack, outermost first.
    static func take() -> [String] {
        final class Collector { var entries: [String] = [] }
        let collector = Collector()
        let unmanaged = Unmanaged.passRetained(collector)
        defer { unmanaged.release() }
        H5Ewalk2(simba_h5e_default(), H5E_WALK_DOWNWARD, { _, record, clientData in
            guard let record, let clientData else { return 0 }
            let collector = Unmanaged<Collector>.fromOpaque(clientData).takeUnretainedValue()
            let function = record.pointee.func_name.map { String(cString: $0) } ?? "?"
            var text = record.pointee.desc.map { String(cString: $0) } ?? ""
            var buffer = [CChar](repeating: 0, count: 256)
            var type = H5E_MINOR
            if H5Eget_msg(record.pointee.min_num, &type, &buffer, buffer.count) > 0 {
                let minor = String(cChars: buffer)
                if !minor.isEmpty && !text.contains(minor) { text += text.isEmpty ? minor : " (\(minor))" }
            }
            collector.entries.append("\(function): \(text)")
            return 0
        }, unmanaged.toOpaque())
        H5Eclear2(simba_h5e_default())
        return collector.entries
    }
}

/// Throws an `HDF5Error` when an HDF5 call returned a negative status or id.
@inline(__always)
@discardableResult
func checked<T: BinaryInteger>(_ result: T, _ operation: @autoclosure () -> String, path: String? = nil) throws -> T {
    if result < 0 {
        throw HDF5Error(operation: operation(), path: path, stack: HDF5ErrorStack.take())
    }
    return result
}

extension String {
    /// Decodes a null-terminated C character buffer as UTF-8.
    init(cChars buffer: [CChar]) {
        self = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
