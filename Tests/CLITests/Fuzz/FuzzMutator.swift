import Foundation
import Randomness

/// Seeded mutations of valid inputs: bytes (bit flips, hostile integers and
/// floats, cuts, repeats), and YAML text (hostile numbers and values, lines
/// lost, doubled or shifted, aliases and nesting). The same seed gives the
/// same cases on every machine.
struct FuzzMutator {
    var generator: SeededGenerator

    init(seed: UInt64, stream: UInt64) {
        generator = SeededGenerator(seed: seed, stream: stream, "fuzz")
    }

    mutating func int(_ range: Range<Int>) -> Int { Int.random(in: range, using: &generator) }
    mutating func chance(_ probability: Double) -> Bool { generator.uniform() < probability }
    mutating func pick<T>(_ choices: [T]) -> T { choices[int(0..<choices.count)] }

    static let integers: [Int64] = [0, 1, -1, 2, 3, 4, 7, 8, 16, 64, 127, 128, 255, 256, 1000, 32767, -32768, 65535,
                                    Int64(Int32.max), Int64(Int32.min), 1 << 31, 1 << 32, 1 << 40, Int64.max, Int64.min]
    static let floats: [Float] = [0, -0.0, 1, -1, 0.5, 2, 1e-30, 1e30, .infinity, -.infinity, .nan, .greatestFiniteMagnitude,
                                  -.greatestFiniteMagnitude, 10000, 1e-7, 352, 348]

    // MARK: bytes

    /// One to four edits of `bytes`; most land in `focus` when given.
    mutating func mutate(_ bytes: [UInt8], focus: Range<Int>? = nil) -> [UInt8] {
        var bytes = bytes
        for _ in 0..<(1 + int(0..<4)) {
            let region = focus.map { $0.clamped(to: 0..<bytes.count) }.flatMap { chance(0.8) && !$0.isEmpty ? $0 : nil }
                ?? 0..<bytes.count
            guard !region.isEmpty else { bytes.append(UInt8(int(0..<256))); continue }
            let at = int(region)
            switch int(0..<9) {
            case 0: bytes[at] ^= 1 << UInt8(int(0..<8))
            case 1: bytes[at] = UInt8(int(0..<256))
            case 2: put(Int16(truncatingIfNeeded: pick(Self.integers)), at: at, in: &bytes)
            case 3: put(Int32(truncatingIfNeeded: pick(Self.integers)), at: at, in: &bytes)
            case 4: put(pick(Self.floats).bitPattern, at: at, in: &bytes)
            case 5: put(pick(Self.integers), at: at, in: &bytes)
            case 6: bytes.removeSubrange(at..<min(bytes.count, at + 1 + int(0..<64)))
            case 7:
                let chunk = Array(bytes[at..<min(bytes.count, at + 1 + int(0..<256))])
                bytes.insert(contentsOf: chance(0.5) ? chunk : chunk.map { _ in UInt8(int(0..<256)) }, at: at)
            default: bytes.removeSubrange(at...)
            }
        }
        return bytes
    }

    /// `value` stored at `offset` in either byte order, as far as it fits.
    mutating func put<T: FixedWidthInteger>(_ value: T, at offset: Int, in bytes: inout [UInt8]) {
        let ordered = chance(0.8) ? value.littleEndian : value.bigEndian
        withUnsafeBytes(of: ordered) { raw in
            for (index, byte) in raw.enumerated() where offset + index < bytes.count { bytes[offset + index] = byte }
        }
    }

    // MARK: YAML

    static let numbers = ["0", "-1", "1e308", "-1e308", ".nan", ".inf", "-.inf", "100000000", "9223372036854775807",
                          "99999999999999999999", "0.5", "2.5", "-0", "1e-320", "4096", "65", "63", "1000001", "0x7fffffff"]
    static let values = ["[]", "{}", "~", "''", "[1, 2]", "{a: 1}", "yes", "\"\\u0000\"", "!!binary AAAA", "*a", "&a 1",
                         String(repeating: "x", count: 3000), "[0.5, 0.5]", "[-1, 1e308]", "default", "/dev/zero", "."]

    /// One to three edits of a YAML document.
    mutating func mutate(yaml text: String) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for _ in 0..<(1 + int(0..<3)) {
            guard !lines.isEmpty else { lines.append("x: 1"); continue }
            let at = int(0..<lines.count)
            switch int(0..<10) {
            case 0, 1, 2: lines[at] = replacingNumber(in: lines[at])
            case 3:
                if let colon = lines[at].range(of: ": ") { lines[at] = String(lines[at][..<colon.upperBound]) + pick(Self.values) }
            case 4: lines.remove(at: at)
            case 5: lines.insert(lines[at], at: at)
            case 6: lines[at] = chance(0.5) ? "  " + lines[at] : String(lines[at].drop { $0 == " " })
            case 7: lines.swapAt(at, int(0..<lines.count))
            case 8: lines.insert(chance(0.5) ? Self.aliasBomb(levels: 3 + int(0..<7)) : Self.nesting(depth: int(1..<200)), at: 0)
            default:
                let bytes = mutate(Array(lines[at].utf8))
                lines[at] = String(decoding: bytes, as: UTF8.self)
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The line with one of its numbers (or its last word) replaced by a hostile number.
    mutating func replacingNumber(in line: String) -> String {
        var characters = Array(line)
        let starts = characters.indices.filter {
            characters[$0].isNumber && ($0 == 0 || !(characters[$0 - 1].isNumber || characters[$0 - 1] == "."))
        }
        let replacement = Array(pick(Self.numbers))
        guard !starts.isEmpty else { return line + " " + String(replacement) }
        let start = pick(starts)
        var end = start
        while end < characters.count, characters[end].isNumber || "._eE+-".contains(characters[end]) { end += 1 }
        characters.replaceSubrange(start..<end, with: replacement)
        return String(characters)
    }

    /// `bomb_N`: 9^levels strings in a few hundred bytes.
    static func aliasBomb(levels: Int) -> String {
        var lines = ["bomb0: &b0 [x, x, x, x, x, x, x, x, x]"]
        for level in 1..<levels {
            lines.append("bomb\(level): &b\(level) [" + Array(repeating: "*b\(level - 1)", count: 9).joined(separator: ", ") + "]")
        }
        return lines.joined(separator: "\n")
    }

    static func nesting(depth: Int) -> String {
        "deep: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
    }
}
