/// A configuration section (`training:`, `analysis:`, `sweep:`) as one
/// table of keys. Reading (unknown keys refused), range checks, the
/// commented YAML that `simba config` prints and run files store, and the
/// command line's overrides all go through it; checks that relate several
/// keys stay beside the table, in `combinations`.
public struct ConfigSchema<Section>: Sendable {
    /// The section's key at the top of the file.
    public let name: String
    /// The `# comment` after the section's key.
    public let comment: String
    public let fields: [ConfigField<Section>]
    /// Checks across keys, after every key's own check.
    let combinations: @Sendable (Section) throws -> Void

    public init(_ name: String, comment: String, _ fields: [ConfigField<Section>],
                combinations: @escaping @Sendable (Section) throws -> Void = { _ in }) {
        self.name = name
        self.comment = comment
        self.fields = fields
        self.combinations = combinations
    }

    /// Reads the section of `root` on top of `defaults` (absent: the
    /// defaults), refuses unknown keys and validates.
    public func read(_ root: ConfigNode, defaults: Section) throws -> Section {
        var section = defaults
        try read(try root.sectionOrEmpty(name), into: &section)
        try validate(section)
        return section
    }

    /// Sets every key the mapping has and refuses the keys it does not know
    /// (no validation: see `validate`).
    public func read(_ node: ConfigNode, into section: inout Section) throws {
        for field in fields { try field.read(node, &section) }
        try node.finish()
    }

    /// Every key's check, in the table's order, then the combinations.
    public func validate(_ section: Section) throws {
        for field in fields {
            if let problem = field.problem(section) { throw ConfigError(path(field.key), problem) }
        }
        try combinations(section)
    }

    /// The section as YAML, every key with its comment; reading it back
    /// gives the same section.
    public func yaml(_ section: Section) -> String {
        var lines = [YAMLText.commented("\(name):", comment)]
        for field in fields {
            guard let value = field.format(section) else { continue }
            lines.append(YAMLText.commented("  \(field.key): \(value)", field.comment))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Sets `key` from command-line text, refused as the file's value would
    /// be (`training.epochs: must be at least 1, got 0`); the caller
    /// validates the combinations once every override is in.
    public func override(_ key: String, with text: String, in section: inout Section) throws {
        guard let field = fields.first(where: { $0.key == key }) else {
            throw ConfigError(name, "no key '\(key)' to override")
        }
        try field.parse(text, path(key), &section)
        if let problem = field.problem(section) { throw ConfigError(path(key), problem) }
    }

    /// `override(key, with: "\(value)")` for an option the command line
    /// may leave out: nil changes nothing. Numbers' descriptions read back
    /// as the same number.
    public func override(_ key: String, with value: (any CustomStringConvertible)?, in section: inout Section) throws {
        guard let value else { return }
        try override(key, with: value.description, in: &section)
    }

    func path(_ key: String) -> String { "\(name).\(key)" }
}
