import Yams

/// Values written back as YAML configuration text, so that reading the text
/// gives the same configuration.
public enum YAMLText {
    /// `line` with its `# comment` aligned a little right of the values, as
    /// `simba config` writes every key.
    public static func commented(_ line: String, _ comment: String?) -> String {
        guard let comment else { return line }
        return line.padding(toLength: max(line.count, 34), withPad: " ", startingAt: 0) + " # " + comment
    }

    /// A name as a YAML scalar: plain where it reads back as the same text
    /// (as a value and inside a flow list), double-quoted otherwise — so a
    /// path with ': ' or '#', or a name like 'yes' or '1.50', survives.
    /// `numbersAsText`: the reader turns numbers into text (`strings`), so
    /// '0.5' may stay plain.
    public static func scalar(_ text: String, numbersAsText: Bool = false) -> String {
        func readsBack(_ document: String) -> Bool {
            guard let mapping = (try? Yams.load(yaml: document)) as? [String: Any],
                  let value = mapping["k"] else { return false }
            let element = (value as? [Any]).flatMap { $0.count == 1 ? $0[0] : nil } ?? value
            if let string = element as? String { return string == text }
            if let int = element as? Int { return String(int) == text }
            if numbersAsText, let double = element as? Double { return String(double) == text }
            return false
        }
        return readsBack("k: \(text)") && readsBack("k: [\(text)]") ? text : quoted(text)
    }

    /// `text` in double quotes, with YAML's escapes.
    public static func quoted(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            default: escaped.append(character)
            }
        }
        return "\"" + escaped + "\""
    }
}
