@testable import YAMLConfig
import XCTest

final class ConfigNodeTests: XCTestCase {
    func testTypedReadsWithDefaults() throws {
        let root = try ConfigNode.parse("""
            seed: 7
            cohort:
              size: 2000
              disease_prevalence: 0.5
            regions: [Insula_R, 74]
            weights: [1, 2.5]
            twin: true
            """, source: "test.yaml")
        XCTAssertEqual(try root.int("seed"), 7)
        let cohort = try XCTUnwrap(try root.section("cohort"))
        XCTAssertEqual(try cohort.int("size", default: 1), 2000)
        XCTAssertEqual(try cohort.double("disease_prevalence", default: 0), 0.5)
        XCTAssertEqual(try cohort.double("missing", default: 0.25), 0.25)
        XCTAssertNoThrow(try cohort.finish())
        XCTAssertEqual(try root.strings("regions"), ["Insula_R", "74"])
        XCTAssertEqual(try root.doubles("weights"), [1, 2.5])
        XCTAssertEqual(try root.bool("twin", default: false), true)
        XCTAssertNoThrow(try root.finish())
    }

    func testWrongTypesNameThePathAndTheValue() throws {
        let root = try ConfigNode.parse("cohort: {size: many, splits: 3}\nseed: [1]\n", source: "t.yaml")
        let cohort = try XCTUnwrap(try root.section("cohort"))
        XCTAssertThrowsError(try cohort.int("size")) { error in
            XCTAssertEqual("\(error)", "cohort.size: must be a whole number, got 'many'")
        }
        XCTAssertThrowsError(try cohort.section("splits")) { error in
            XCTAssertEqual("\(error)", "cohort.splits: must be a mapping of keys to values, got 3")
        }
        XCTAssertThrowsError(try root.int("seed")) { error in
            XCTAssertEqual("\(error)", "seed: must be a whole number, got a list")
        }
    }

    func testUnknownKeysAreRefusedWithASuggestion() throws {
        let root = try ConfigNode.parse("cohort:\n  sise: 10\n", source: "t.yaml")
        let cohort = try XCTUnwrap(try root.section("cohort"))
        _ = try cohort.int("size")
        XCTAssertThrowsError(try cohort.finish()) { error in
            XCTAssertEqual("\(error)", "cohort: unknown key 'sise' (did you mean 'size'?)")
        }
    }

    func testBrokenYAMLAndNonMappingDocuments() throws {
        XCTAssertThrowsError(try ConfigNode.parse("a: [1, 2\n", source: "bad.yaml")) { error in
            XCTAssertTrue("\(error)".hasPrefix("bad.yaml: not valid YAML"), "\(error)")
            XCTAssertFalse("\(error)".contains("\n"))
        }
        XCTAssertThrowsError(try ConfigNode.parse("- 1\n- 2\n", source: "list.yaml")) { error in
            XCTAssertEqual("\(error)", "list.yaml: the top level must be a mapping of keys to values")
        }
        XCTAssertThrowsError(try ConfigNode.load(file: "/nonexistent/x.yaml"))
    }

    func testChoices() throws {
        enum Kind: String, CaseIterable { case atrophy, expansion }
        let root = try ConfigNode.parse("kind: shrink\n", source: "t.yaml")
        XCTAssertThrowsError(try root.choice("kind", default: Kind.atrophy)) { error in
            XCTAssertEqual("\(error)", "kind: must be one of atrophy, expansion, got 'shrink'")
        }
        XCTAssertEqual(editDistance("sise", "size"), 1)
        XCTAssertEqual(editDistance("", "abc"), 3)
    }
}
