import Storage

/// An analysis group of a run file (/evaluation, /encoding, /saliency):
/// written serially by one rank and marked complete last, so a reader
/// never takes a half-written group for a result.
enum RunFileSection {
    /// Replaces group `name` with what `fill` writes, then marks it complete.
    static func replace(_ name: String, in path: String, _ fill: (H5Group) throws -> Void) throws {
        let file = try H5File.open(path, writable: true)
        let root = try file.root
        if root.contains(name) { try root.removeLink(name) }
        let group = try root.createGroup(name)
        try fill(group)
        try group.setAttribute("complete", 1)
        try file.close()
    }

    /// Records what a complete group `name` was computed from (its stamp).
    static func setStamp(_ stamp: String, of name: String, in path: String) throws {
        let file = try H5File.open(path, writable: true)
        try file.root.group(name).setAttribute("stamp", stamp)
        try file.close()
    }

    /// The stamp of group `name`; nil without a complete, stamped one.
    static func stamp(of name: String, in path: String) throws -> String? {
        try read(name, in: path) { group in group.hasAttribute("stamp") ? try group.stringAttribute("stamp") : nil } ?? nil
    }

    /// What `body` reads from group `name`; nil if the run file has no complete one.
    static func read<T>(_ name: String, in path: String, _ body: (H5Group) throws -> T) throws -> T? {
        let file = try H5File.open(path)
        defer { try? file.close() }
        let root = try file.root
        guard root.contains(name) else { return nil }
        let group = try root.group(name)
        guard group.hasAttribute("complete") else { return nil }
        return try body(group)
    }
}
