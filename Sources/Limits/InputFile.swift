import Foundation

/// Reading a file named by a user: it must be a regular file (a FIFO would
/// block, a device never end) no larger than a bound, and a refusal says
/// what the path is instead.
public enum InputFile {
    /// The file's bytes; `maximumBytes` bounds what is read. Throws
    /// `ResourceLimit` naming the path for anything else than a regular
    /// file of at most that size, and rethrows Foundation's read errors.
    public static func read(_ path: String, maximumBytes: Int) throws -> Data {
        try requireRegular(path, maximumBytes: maximumBytes)
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }

    /// Refuses what is not a regular file of at most `maximumBytes`
    /// (symbolic links are followed); a missing path is left to the reader's
    /// own message.
    public static func requireRegular(_ path: String, maximumBytes: Int) throws {
        var status = stat()
        guard stat(path, &status) == 0 else { return }
        let kind: String
        switch status.st_mode & S_IFMT {
        case S_IFREG:
            guard Int(status.st_size) <= maximumBytes else {
                throw ResourceLimit("\(path): the file has \(status.st_size) bytes, more than the \(maximumBytes) this input may have: is it the right file?")
            }
            return
        case S_IFDIR: kind = "a directory"
        case S_IFIFO: kind = "a FIFO (named pipe)"
        case S_IFCHR: kind = "a character device"
        case S_IFBLK: kind = "a block device"
        case S_IFSOCK: kind = "a socket"
        default: kind = "not a regular file"
        }
        throw ResourceLimit("\(path) is \(kind), not a file: give the path of a regular file")
    }
}
