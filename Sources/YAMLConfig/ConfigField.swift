/// One key of a configuration section, declared once: its name, its
/// comment, the property it sets and what its value must be. The section's
/// reading, range checks, YAML output and command-line overrides all follow
/// from the list of these (`ConfigSchema`), so they cannot drift apart.
public struct ConfigField<Section>: Sendable {
    public let key: String
    /// The `# comment` written after the key.
    public let comment: String
    /// Sets the key's value from the mapping, if the key is there.
    let read: @Sendable (ConfigNode, inout Section) throws -> Void
    /// Sets the value from command-line text; refusals name `path`.
    let parse: @Sendable (_ text: String, _ path: String, inout Section) throws -> Void
    /// The value as YAML; nil leaves the key out (an optional that is unset).
    let format: @Sendable (Section) -> String?
    /// What is wrong with the value, or nil.
    let problem: @Sendable (Section) -> String?

    public init<Value>(_ key: String, _ property: WritableKeyPath<Section, Value> & Sendable, _ value: ConfigValue<Value>,
                       _ comment: String, check: ConfigCheck<Value> = .none) {
        self.init(key, comment, value, set: { $0[keyPath: property] = $1 },
                  format: { value.format($0[keyPath: property]) },
                  problem: { check.problem($0[keyPath: property]) })
    }

    /// A key that may be unset (nil): absent from a file, it keeps the
    /// default; unset, it is left out of the YAML; the check applies when set.
    public init<Value>(_ key: String, _ property: WritableKeyPath<Section, Value?> & Sendable, _ value: ConfigValue<Value>,
                       _ comment: String, check: ConfigCheck<Value> = .none) {
        self.init(key, comment, value, set: { $0[keyPath: property] = $1 },
                  format: { $0[keyPath: property].map(value.format) },
                  problem: { $0[keyPath: property].flatMap(check.problem) })
    }

    private init<Value>(_ key: String, _ comment: String, _ value: ConfigValue<Value>,
                        set: @escaping @Sendable (inout Section, Value) -> Void,
                        format: @escaping @Sendable (Section) -> String?,
                        problem: @escaping @Sendable (Section) -> String?) {
        self.key = key
        self.comment = comment
        read = { node, section in
            if let read = try value.read(node, key) { set(&section, read) }
        }
        parse = { text, path, section in
            guard let parsed = value.parse(text) else { throw ConfigError(path, "must be \(value.expected), got '\(text)'") }
            set(&section, parsed)
        }
        self.format = format
        self.problem = problem
    }
}
