import Cluster
import SelfTest
import XCTest

final class SelfTestSuiteTests: XCTestCase {
    func testEveryCheckPassesOnOneRank() throws {
        let world = try Cluster.start()
        let suite = SelfTestSuite(world: world, options: .init(scratchDirectory: NSTemporaryDirectory()))
        let outcomes = try suite.run()
        XCTAssertGreaterThanOrEqual(outcomes.count, 8)
        for outcome in outcomes {
            XCTAssertTrue(outcome.passed, "\(outcome.name): \(outcome.problems)")
        }
    }

    func testInjectedFailureIsReported() throws {
        let world = try Cluster.start()
        let suite = SelfTestSuite(world: world, options: .init(failRank: 0, failMode: .agreed))
        XCTAssertThrowsError(try suite.run()) { error in
            XCTAssertTrue(error is CollectiveFailure)
        }
    }
}
