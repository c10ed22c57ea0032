import Foundation

/// What a path holds — nothing, a folder's entries, or a file's bytes with
/// its modification time — so a test can check that a refused command
/// left it exactly as it was.
struct FileSnapshot: Equatable, CustomStringConvertible {
    let bytes: Data?
    let entries: [String]?
    let modified: Double?

    init(_ path: String) {
        var isFolder: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isFolder)
        bytes = exists && !isFolder.boolValue ? FileManager.default.contents(atPath: path) : nil
        entries = exists && isFolder.boolValue ? (try? FileManager.default.contentsOfDirectory(atPath: path))?.sorted() : nil
        modified = ((try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date)?.timeIntervalSince1970
    }

    var description: String {
        let time = modified.map { String(format: "modified %.6f", $0) } ?? ""
        if let bytes { return "\(bytes.count) bytes (hash \(bytes.hashValue)) \(time)" }
        if let entries { return "folder \(entries) \(time)" }
        return "nothing"
    }
}
