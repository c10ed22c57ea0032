import Foundation

/// What an output path may be, checked before anything is written to it:
/// never the same file as one of the job's inputs (through any path, link
/// or hard link), and, to be replaced with --overwrite, a real file that
/// simba wrote (no symbolic link into someone else's file).
public enum OutputTarget {
    public struct Refused: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Refuses `output` when it exists and is the same file (device and
    /// inode, links followed) as any of `inputs`.
    public static func refuseSameFile(_ output: String, as inputs: [String]) throws {
        for input in inputs where isSameFile(output, input) {
            throw Refused(description: "\(output) is the same file as the input \(input): writing it would destroy the input; give another output")
        }
    }

    /// Whether both paths exist and are one file (device and inode, links followed).
    public static func isSameFile(_ first: String, _ second: String) -> Bool {
        var a = stat(), b = stat()
        return stat(first, &a) == 0 && stat(second, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino
    }

    /// For --overwrite: `path`, if it exists, must be a regular file (not a
    /// symbolic link, which would replace someone else's file) holding a
    /// simba file of `format` (its root `format` attribute).
    public static func checkReplaceable(_ path: String, format: String) throws {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        if status.st_mode & S_IFMT == S_IFLNK {
            let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?"
            throw Refused(description: "\(path) is a symbolic link (to \(target)); --overwrite replaces only files simba wrote, never through a link: remove the link or give another output")
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw Refused(description: "\(path) is not a regular file; --overwrite replaces only files simba wrote")
        }
        let found = formatAttribute(of: path)
        guard found == format else {
            throw Refused(description: "\(path) is not a \(format) file (" + (found.map { "its format is \($0)" } ?? "simba did not write it")
                          + "); --overwrite replaces only files simba wrote: remove it yourself or give another output")
        }
    }

    /// The root `format` attribute of an HDF5 file; nil when unreadable or absent.
    static func formatAttribute(of path: String) -> String? {
        guard let file = try? H5File.open(path) else { return nil }
        defer { try? file.close() }
        guard let root = try? file.root, root.hasAttribute("format") else { return nil }
        return try? root.stringAttribute("format")
    }

    /// Moves `source` to `destination` in one rename(2): whoever looks sees
    /// the old file or the new one, never neither (a link at `destination`
    /// is replaced, not followed).
    public static func replace(_ destination: String, with source: String) throws {
        guard rename(source, destination) == 0 else {
            throw Refused(description: "cannot move \(source) to \(destination): \(String(cString: strerror(errno)))")
        }
    }
}
