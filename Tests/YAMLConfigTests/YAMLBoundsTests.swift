@testable import YAMLConfig
import XCTest

/// A few hundred bytes of YAML must not stand for gigabytes of values.
final class YAMLBoundsTests: XCTestCase {
    func refusal(_ text: String) -> String {
        do {
            _ = try ConfigNode.parse(text, source: "bomb.yaml")
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    func testAliasesThatExpandPastTheBoundAreRefused() {
        var lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x]"]
        for level in 1...8 {
            lines.append("l\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 9).joined(separator: ", ") + "]")
        }
        let message = refusal(lines.joined(separator: "\n"))
        XCTAssertTrue(message.hasPrefix("bomb.yaml: more than 200000 values"), message)
        XCTAssertTrue(message.contains("aliases"), message)
    }

    func testAliasesWithinTheBoundStillRead() throws {
        let root = try ConfigNode.parse("base: &b {size: 16}\ncohort: *b\nother: *b\n", source: "ok.yaml")
        XCTAssertEqual(try root.sectionOrEmpty("cohort").int("size"), 16)
    }

    func testDeepNestingIsRefused() {
        let deep = "k: " + String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        XCTAssertTrue(refusal(deep).contains("nested more than 64 deep"), refusal(deep))
    }

    func testHugeTextIsRefused() {
        let text = "k: " + String(repeating: "x", count: YAMLBounds.maximumBytes)
        XCTAssertTrue(refusal(text).contains("more than the 4 MiB"), refusal(text))
    }
}
