import Training
import XCTest

final class EpochPlanTests: XCTestCase {
    func testSharesSplitEveryBatchWithoutGapsOrOverlap() {
        for count in [0, 1, 5, 6, 7, 100] {
            for size in 1...5 {
                let shares = (0..<size).map { evenShare(of: count, rank: $0, size: size) }
                XCTAssertEqual(shares.first?.lowerBound, 0)
                XCTAssertEqual(shares.last?.upperBound, count)
                for (a, b) in zip(shares, shares.dropFirst()) { XCTAssertEqual(a.upperBound, b.lowerBound) }
                XCTAssertLessThanOrEqual(shares.map(\.count).max()! - shares.map(\.count).min()!, 1)
            }
        }
    }

    func testPlanDropsTheRemainderAndRanksTogetherCoverTheGlobalBatch() {
        let plan = EpochPlan(splitCount: 23, batch: 5, seed: 4, epoch: 2)
        XCTAssertEqual(plan.steps, 4)
        XCTAssertEqual(plan.order.sorted(), Array(0..<23))
        for step in 0..<plan.steps {
            for size in 1...4 {
                let parts = (0..<size).map { plan.share(step: step, rank: $0, size: size) }
                XCTAssertEqual(parts.flatMap(\.positions), Array(plan.globalBatch(step)))
                XCTAssertEqual(parts.map(\.start), (0..<size).map { evenShare(of: 5, rank: $0, size: size).lowerBound })
            }
        }
    }

    func testOrderIsSeededAndChangesEachEpoch() {
        let a = EpochPlan(splitCount: 50, batch: 2, seed: 1, epoch: 1).order
        XCTAssertEqual(a, EpochPlan(splitCount: 50, batch: 2, seed: 1, epoch: 1).order)
        XCTAssertNotEqual(a, EpochPlan(splitCount: 50, batch: 2, seed: 1, epoch: 2).order)
        XCTAssertNotEqual(a, EpochPlan(splitCount: 50, batch: 2, seed: 2, epoch: 1).order)
    }

    func testImagesAreScaledToPlusMinusHalf() {
        var voxels: ArraySlice<Float> = [2, 4, 6, 10]
        normalizeImage(&voxels)
        XCTAssertEqual(Array(voxels), [-0.5, -0.25, 0, 0.5])
        var constant: ArraySlice<Float> = [3, 3]
        normalizeImage(&constant)
        XCTAssertEqual(Array(constant), [-0.5, -0.5])
    }
}
