import XCTest
import Network

/// The start-up thread policy moved here from the executable; these pin it.
final class BLASThreadsTests: XCTestCase {
    func testExplicitRequestWins() {
        XCTAssertEqual(BLASThreads.policy(requested: 3, worldSize: 4, environment: ["OPENBLAS_NUM_THREADS": "2"]), 3)
    }

    func testPositiveEnvironmentValueComesNext() {
        XCTAssertEqual(BLASThreads.policy(requested: nil, worldSize: 4, environment: ["OPENBLAS_NUM_THREADS": "2"]), 2)
    }

    func testSeveralRanksGetOneThreadOtherwise() {
        XCTAssertEqual(BLASThreads.policy(requested: nil, worldSize: 4, environment: ["OPENBLAS_NUM_THREADS": "0"]), 1)
        XCTAssertEqual(BLASThreads.policy(requested: nil, worldSize: 2, environment: ["OPENBLAS_NUM_THREADS": "x"]), 1)
    }

    func testOneRankKeepsOpenBLASsChoice() {
        XCTAssertNil(BLASThreads.policy(requested: nil, worldSize: 1, environment: [:]))
    }
}
