import Foundation
import Limits
import Yams

/// One mapping of a YAML configuration, read with types and paths.
///
/// Each `read` marks its key as known; `finish()` then refuses keys nobody
/// read, naming the closest known key — a misspelt option never silently
/// falls back to a default.
public final class ConfigNode {
    /// Key path of this mapping ("" for the document root).
    public let path: String
    private let mapping: [String: Any]
    private var knownKeys: Set<String> = []

    init(path: String, mapping: [String: Any]) {
        self.path = path
        self.mapping = mapping
    }

    /// Parses a YAML document whose top level is a mapping. `source` names
    /// the file in messages.
    /// Documents beyond `YAMLBounds` (size, aliases, depth) are refused.
    public static func parse(_ text: String, source: String) throws -> ConfigNode {
        guard text.utf8.count <= YAMLBounds.maximumBytes else {
            throw ConfigError(source, "\(text.utf8.count) bytes of YAML, more than the \(YAMLBounds.maximumBytes >> 20) MiB a configuration may have")
        }
        let tree: Node?
        do {
            tree = try Yams.compose(yaml: text)
        } catch {
            let reason = String(describing: error).split(separator: "\n").first.map(String.init) ?? "invalid YAML"
            throw ConfigError(source, "not valid YAML: \(reason)")
        }
        guard let tree else { return ConfigNode(path: "", mapping: [:]) }
        try YAMLBounds.check(tree, source: source)
        let document = Constructor.default.any(from: tree)
        guard let mapping = document as? [String: Any] else {
            throw ConfigError(source, "the top level must be a mapping of keys to values")
        }
        return ConfigNode(path: "", mapping: mapping)
    }

    public static func load(file: String) throws -> ConfigNode {
        do {
            try InputFile.requireRegular(file, maximumBytes: YAMLBounds.maximumBytes)
        } catch let limit as ResourceLimit {
            throw ConfigError("", limit.description)
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ConfigError(file, "cannot read the configuration file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file, "the configuration file is not UTF-8 text")
        }
        return try parse(text, source: file)
    }

    /// The keys of this mapping, all marked known (for maps keyed by name).
    public func keys() throws -> [String] {
        knownKeys.formUnion(mapping.keys)
        return mapping.keys.sorted()
    }

    public func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    public func contains(_ key: String) -> Bool {
        knownKeys.insert(key)
        return mapping[key] != nil && !(mapping[key] is NSNull)
    }

    private func raw(_ key: String) -> Any? {
        knownKeys.insert(key)
        let value = mapping[key]
        return value is NSNull ? nil : value
    }

    // MARK: scalars

    public func int(_ key: String) throws -> Int? {
        guard let value = raw(key) else { return nil }
        if let int = value as? Int { return int }
        if let double = value as? Double, double.rounded() == double, abs(double) < 1e15 { return Int(double) }
        throw typeError(key, "a whole number", value)
    }

    public func int(_ key: String, default fallback: Int) throws -> Int { try int(key) ?? fallback }

    public func double(_ key: String) throws -> Double? {
        guard let value = raw(key) else { return nil }
        if let double = value as? Double {
            guard double.isFinite else { throw ConfigError(keyPath(key), "must be a finite number, got \(double)") }
            return double
        }
        if let int = value as? Int { return Double(int) }
        throw typeError(key, "a number", value)
    }

    public func double(_ key: String, default fallback: Double) throws -> Double { try double(key) ?? fallback }

    public func string(_ key: String) throws -> String? {
        guard let value = raw(key) else { return nil }
        if let string = value as? String { return string }
        if let int = value as? Int { return String(int) }
        throw typeError(key, "text", value)
    }

    public func string(_ key: String, default fallback: String) throws -> String { try string(key) ?? fallback }

    public func bool(_ key: String) throws -> Bool? {
        guard let value = raw(key) else { return nil }
        if let bool = value as? Bool { return bool }
        throw typeError(key, "true or false", value)
    }

    public func bool(_ key: String, default fallback: Bool) throws -> Bool { try bool(key) ?? fallback }

    /// A value from a fixed set of choices.
    public func choice<T: RawRepresentable & CaseIterable>(_ key: String) throws -> T? where T.RawValue == String {
        guard let text = try string(key) else { return nil }
        guard let value = T(rawValue: text) else {
            throw ConfigError(keyPath(key), "must be one of \(T.allCases.map { $0.rawValue }.joined(separator: ", ")), got '\(text)'")
        }
        return value
    }

    /// A choice that was once true or false: a boolean (in older files and
    /// run files) reads as `whenFalse` or `whenTrue`, a name as a choice.
    public func choice<T: RawRepresentable & CaseIterable>(_ key: String, formerly whenFalse: T, _ whenTrue: T) throws -> T?
    where T.RawValue == String {
        if let old = raw(key) as? Bool { return old ? whenTrue : whenFalse }
        return try choice(key)
    }

    public func choice<T: RawRepresentable & CaseIterable>(_ key: String, default fallback: T) throws -> T
    where T.RawValue == String {
        try choice(key) ?? fallback
    }

    public func doubles(_ key: String) throws -> [Double]? {
        guard let value = raw(key) else { return nil }
        guard let list = value as? [Any] else { throw typeError(key, "a list of numbers", value) }
        return try list.enumerated().map { index, element in
            if let double = element as? Double, double.isFinite { return double }
            if let int = element as? Int { return Double(int) }
            throw ConfigError(keyPath(key) + "[\(index)]", "must be a number, got \(describe(element))")
        }
    }

    public func strings(_ key: String) throws -> [String]? {
        guard let value = raw(key) else { return nil }
        if let single = value as? String { return [single] }
        guard let list = value as? [Any] else { throw typeError(key, "a list of names", value) }
        return try list.enumerated().map { index, element in
            if let string = element as? String { return string }
            if let int = element as? Int { return String(int) }
            if let double = element as? Double { return String(double) }
            throw ConfigError(keyPath(key) + "[\(index)]", "must be a name, got \(describe(element))")
        }
    }

    // MARK: nested mappings

    public func section(_ key: String) throws -> ConfigNode? {
        guard let value = raw(key) else { return nil }
        guard let mapping = value as? [String: Any] else { throw typeError(key, "a mapping of keys to values", value) }
        return ConfigNode(path: keyPath(key), mapping: mapping)
    }

    /// A section that may be absent: an empty one then (its defaults apply).
    public func sectionOrEmpty(_ key: String) throws -> ConfigNode {
        try section(key) ?? ConfigNode(path: keyPath(key), mapping: [:])
    }

    /// A list of mappings.
    public func sections(_ key: String) throws -> [ConfigNode]? {
        guard let value = raw(key) else { return nil }
        guard let list = value as? [Any] else { throw typeError(key, "a list", value) }
        return try list.enumerated().map { index, element in
            guard let mapping = element as? [String: Any] else {
                throw ConfigError(keyPath(key) + "[\(index)]", "must be a mapping of keys to values, got \(describe(element))")
            }
            return ConfigNode(path: keyPath(key) + "[\(index)]", mapping: mapping)
        }
    }

    /// Refuses keys that were never read.
    public func finish() throws {
        let unknown = Set(mapping.keys).subtracting(knownKeys).sorted()
        guard let first = unknown.first else { return }
        var message = "unknown key '\(first)'"
        if let suggestion = knownKeys.min(by: { editDistance($0, first) < editDistance($1, first) }),
           editDistance(suggestion, first) <= max(2, first.count / 3) {
            message += " (did you mean '\(suggestion)'?)"
        } else if !knownKeys.isEmpty {
            message += " (known keys: \(knownKeys.sorted().joined(separator: ", ")))"
        }
        throw ConfigError(path, message)
    }

    private func typeError(_ key: String, _ expected: String, _ value: Any) -> ConfigError {
        ConfigError(keyPath(key), "must be \(expected), got \(describe(value))")
    }

    private func describe(_ value: Any) -> String {
        switch value {
        case let string as String: return "'\(string)'"
        case is [Any]: return "a list"
        case is [String: Any]: return "a mapping"
        default: return "\(value)"
        }
    }
}

/// Levenshtein distance, for "did you mean" suggestions.
public func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    var previous = Array(0...b.count)
    for i in 1...max(1, a.count) where !a.isEmpty {
        var current = [i] + [Int](repeating: 0, count: b.count)
        for j in 1...max(1, b.count) where !b.isEmpty {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return a.isEmpty ? b.count : previous[b.count]
}
