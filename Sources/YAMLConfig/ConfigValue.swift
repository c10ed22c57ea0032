import Foundation

/// One kind of configuration value — a whole number, a choice, a list of
/// names — and the three ways it is met: read from a YAML mapping, given as
/// command-line text (`--epochs 5`), written back as YAML. A section's
/// table (`ConfigSchema`) pairs each key with one of these.
public struct ConfigValue<Value>: Sendable {
    /// What a value must be, for messages: "a whole number".
    public let expected: String
    /// The value under a key of a mapping; nil when the key is absent.
    /// Refusals name the key (`ConfigNode`'s messages).
    let read: @Sendable (ConfigNode, String) throws -> Value?
    /// The value of command-line text; nil when the text is not one.
    let parse: @Sendable (String) -> Value?
    /// The value as YAML that `read` reads back as the same value.
    let format: @Sendable (Value) -> String

    public init(expected: String, read: @escaping @Sendable (ConfigNode, String) throws -> Value?,
                parse: @escaping @Sendable (String) -> Value?, format: @escaping @Sendable (Value) -> String) {
        self.expected = expected
        self.read = read
        self.parse = parse
        self.format = format
    }
}

extension ConfigValue where Value == Int {
    public static var int: ConfigValue {
        ConfigValue(expected: "a whole number", read: { try $0.int($1) }, parse: { Int($0) }, format: { "\($0)" })
    }
}

extension ConfigValue where Value == UInt64 {
    /// A whole number 0 or more (seeds).
    public static var unsigned: ConfigValue {
        ConfigValue(expected: "a whole number 0 or more", read: { node, key in
            guard let value = try node.int(key) else { return nil }
            guard value >= 0 else { throw ConfigError(node.keyPath(key), "must be 0 or more, got \(value)") }
            return UInt64(value)
        }, parse: { UInt64($0) }, format: { "\($0)" })
    }
}

extension ConfigValue where Value == Double {
    /// Written as Swift's shortest text that reads back as the same Double.
    public static var double: ConfigValue {
        ConfigValue(expected: "a number", read: { try $0.double($1) }, parse: { Double($0) }, format: { "\($0)" })
    }
}

extension ConfigValue where Value == Bool {
    public static var bool: ConfigValue {
        ConfigValue(expected: "true or false", read: { try $0.bool($1) }, parse: { Bool($0) }, format: { "\($0)" })
    }
}

extension ConfigValue where Value == String {
    /// Free text: a path, a name.
    public static var text: ConfigValue {
        ConfigValue(expected: "text", read: { try $0.string($1) }, parse: { $0 }, format: { YAMLText.scalar($0) })
    }
}

extension ConfigValue where Value == [String] {
    /// Names or numbers as written; on the command line, separated by commas.
    public static var names: ConfigValue {
        ConfigValue(expected: "a list of names", read: { try $0.strings($1) },
                    parse: { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } },
                    format: { "[" + $0.map { YAMLText.scalar($0, numbersAsText: true) }.joined(separator: ", ") + "]" })
    }
}

extension ConfigValue where Value: RawRepresentable & CaseIterable & Sendable, Value.RawValue == String {
    /// One of a fixed set of choices, by name.
    public static var choice: ConfigValue {
        ConfigValue(expected: "one of \(Value.allCases.map { $0.rawValue }.joined(separator: ", "))",
                    read: { try $0.choice($1) }, parse: { Value(rawValue: $0) }, format: { $0.rawValue })
    }

    /// A choice that replaced a true/false key: `false` and `true` (older
    /// files and run files) still read, as `whenFalse` and `whenTrue`.
    public static func choice(formerly whenFalse: Value, _ whenTrue: Value) -> ConfigValue {
        ConfigValue(expected: choice.expected, read: { try $0.choice($1, formerly: whenFalse, whenTrue) },
                    parse: { Value(rawValue: $0) ?? Bool($0).map { $0 ? whenTrue : whenFalse } }, format: { $0.rawValue })
    }
}
