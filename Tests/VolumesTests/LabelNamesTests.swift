import XCTest
@testable import Volumes

final class LabelNamesTests: XCTestCase {
    func testParsesNumberNameLinesIgnoringExtraColumns() throws {
        let names = try LabelNames(parsing: "# comment\n1 Precentral_L 2001\n2\tPrecentral_R\t2002\r\n\n116 Vermis_10 9170\n")
        XCTAssertEqual(names.labels, [1, 2, 116])
        XCTAssertEqual(names[2], "Precentral_R")
        XCTAssertEqual(names.label(named: "Vermis_10"), 116)
        XCTAssertNil(names[3])
    }

    func testMalformedAndDuplicateLinesAreReportedWithLineNumbers() {
        XCTAssertThrowsError(try LabelNames(parsing: "1 A\nx B\n", source: "f.txt")) { error in
            XCTAssertEqual("\(error)", "f.txt:2: expected \"number name\", got \"x B\"")
        }
        XCTAssertThrowsError(try LabelNames(parsing: "1 A\n7\n")) { error in
            XCTAssertTrue("\(error)".contains(":2:"))
        }
        XCTAssertThrowsError(try LabelNames(parsing: "1 A\n1 B\n")) { error in
            XCTAssertTrue("\(error)".contains("label 1 appears twice"))
        }
    }
}
