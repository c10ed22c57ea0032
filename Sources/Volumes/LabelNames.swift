import Foundation
import Limits

/// Names of atlas labels, read from "number name [more columns…]" lines such as MRIcron's
/// aal.nii.txt ("1 Precentral_L 2001": index, name, original AAL code).
public struct LabelNames: Equatable, Sendable {
    public private(set) var names: [Int32: String]

    public init(names: [Int32: String]) { self.names = names }

    /// Parses the text; blank lines and lines starting with '#' are skipped.
    /// Throws `LabelNamesError` naming the first malformed or duplicated line.
    public init(parsing text: String, source: String = "<text>") throws {
        var names: [Int32: String] = [:]
        // Character.isNewline covers "\r\n" (one Character in Swift), which aal.nii.txt uses.
        for (offset, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if fields.isEmpty || fields[0].hasPrefix("#") { continue }
            guard fields.count >= 2, let label = Int32(fields[0]) else {
                throw LabelNamesError(message: "\(source):\(offset + 1): expected \"number name\", got \"\(line)\"")
            }
            guard names[label] == nil else {
                throw LabelNamesError(message: "\(source):\(offset + 1): label \(label) appears twice")
            }
            names[label] = String(fields[1])
        }
        self.names = names
    }

    public init(contentsOf path: String) throws {
        let text: String
        do {
            try InputFile.requireRegular(path, maximumBytes: 16 << 20)
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch let limit as ResourceLimit {
            throw LabelNamesError(message: limit.description)
        } catch {
            throw LabelNamesError(message: "\(path): cannot read label names (\(NIfTI.reason(error)))")
        }
        try self.init(parsing: text, source: path)
    }

    public subscript(label: Int32) -> String? { names[label] }

    /// Label number for an exact name.
    public func label(named name: String) -> Int32? { names.first { $0.value == name }?.key }

    public var labels: [Int32] { names.keys.sorted() }
}

public struct LabelNamesError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
