import Yams

/// What a YAML document may expand to. Aliases (`*name`) repeat what they
/// refer to, so a few hundred bytes can stand for gigabytes (the "billion
/// laughs"); the parsed tree shares the repeats, and is counted here, with
/// every alias expanded, before anything turns it into values.
enum YAMLBounds {
    /// Configuration files and `config` attributes are a few kilobytes.
    static let maximumBytes = 4 << 20
    /// Values (scalars, lists and mappings) with aliases expanded.
    static let maximumValues = 200_000
    /// Characters of all scalars with aliases expanded.
    static let maximumCharacters = 16 << 20
    /// Lists and mappings inside each other.
    static let maximumDepth = 64

    /// Throws `ConfigError` naming `source` when `node` is beyond a bound.
    static func check(_ node: Node, source: String) throws {
        var values = 0, characters = 0
        func visit(_ node: Node, depth: Int) throws {
            values += 1
            guard values <= maximumValues, characters <= maximumCharacters else {
                throw ConfigError(source, "more than \(maximumValues) values or \(maximumCharacters >> 20) MiB of text once its aliases (*name) are expanded: write the values out instead of repeating aliases")
            }
            guard depth <= maximumDepth else {
                throw ConfigError(source, "lists and mappings nested more than \(maximumDepth) deep")
            }
            switch node {
            case .scalar(let scalar): characters += scalar.string.utf8.count
            case .alias: break
            case .sequence(let sequence): for element in sequence { try visit(element, depth: depth + 1) }
            case .mapping(let mapping):
                for (key, value) in mapping {
                    try visit(key, depth: depth + 1)
                    try visit(value, depth: depth + 1)
                }
            }
        }
        try visit(node, depth: 0)
    }
}
