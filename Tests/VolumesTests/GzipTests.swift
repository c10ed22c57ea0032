import XCTest
@testable import Volumes

final class GzipTests: XCTestCase {
    func testRoundTripAndConcatenatedMembers() throws {
        var rng = SeededGenerator(seed: 12)
        let data = (0..<100_000).map { _ in UInt8.random(in: 0...20, using: &rng) }
        let whole = try Gzip.compress(data)
        XCTAssertTrue(Gzip.isCompressed(whole))
        XCTAssertLessThan(whole.count, data.count)
        XCTAssertEqual(try Gzip.decompress(whole), data)
        // Multi-member files (as written by bgzip or `cat a.gz b.gz`) decode to the concatenation.
        let members = try Gzip.compress(Array(data[..<40_000])) + Gzip.compress(Array(data[40_000...]))
        XCTAssertEqual(try Gzip.decompress(members), data)
        XCTAssertEqual(try Gzip.decompress(whole + [0, 0, 0]), data, "zero padding after the stream is ignored")
        XCTAssertThrowsError(try Gzip.decompress(whole + [1, 2, 3]), "trailing garbage is an error")
    }

    /// A stream that inflates far past what its reader needs stops at the limit.
    func testInflatingStopsAtTheLimit() throws {
        let member = try Gzip.compress([UInt8](repeating: 7, count: 1 << 20), level: 9)
        let stream = [[UInt8]](repeating: member, count: 64).flatMap { $0 }
        XCTAssertEqual(try Gzip.decompress(stream, limit: 1000), [UInt8](repeating: 7, count: 1000))
        XCTAssertEqual(try Gzip.decompress(stream, limit: (1 << 20) + 5).count, (1 << 20) + 5)
        XCTAssertEqual(try Gzip.decompress(member, limit: 1 << 30).count, 1 << 20)
    }
}
