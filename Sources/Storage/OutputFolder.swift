import Foundation

/// Where an output file goes, checked before any work starts: its folder
/// must exist (simba never creates a mistyped path) and be writable, and
/// the path must not be a folder itself.
public enum OutputFolder {
    public struct Problem: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    public static func check(for path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw Problem(description: "\(path) is a folder; give a file name")
        }
        let folder = (path as NSString).deletingLastPathComponent
        let directory = folder.isEmpty ? "." : folder
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw Problem(description: "the folder \(directory) does not exist")
        }
        guard FileManager.default.isWritableFile(atPath: directory) else {
            throw Problem(description: "cannot write to the folder \(directory)")
        }
    }
}
