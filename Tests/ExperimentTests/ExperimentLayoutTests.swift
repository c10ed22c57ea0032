import XCTest
@testable import Experiment

final class ExperimentLayoutTests: XCTestCase {
    func testChainsKeepGroupModelsAfterTheBiasedArmOfTheirReplicate() {
        let replicates = [Replicate(training: 1), Replicate(training: 2)]
        let chains = ArmChain.all(arms: ["biased", "twin", "group-models", "reweighed"], replicates: replicates)
        XCTAssertEqual(chains, [
            ArmChain(replicate: replicates[0], arms: ["biased", "group-models"]),
            ArmChain(replicate: replicates[0], arms: ["twin"]),
            ArmChain(replicate: replicates[0], arms: ["reweighed"]),
            ArmChain(replicate: replicates[1], arms: ["biased", "group-models"]),
            ArmChain(replicate: replicates[1], arms: ["twin"]),
            ArmChain(replicate: replicates[1], arms: ["reweighed"]),
        ])
        XCTAssertEqual(ArmChain.all(arms: ["central", "federated"], replicates: [.first]).map(\.arms), [["central"], ["federated"]])
        XCTAssertEqual(ArmChain.all(arms: ["biased", "twin", "unlearning", "group-models"], replicates: [.first]).map(\.arms),
                       [["biased", "unlearning", "group-models"], ["twin"]])
        XCTAssertEqual(ArmChain.all(arms: ["central", "travelling", "harmonytm"], replicates: [.first]).map(\.arms),
                       [["central"], ["travelling", "harmonytm"]])
    }

    func testSimbaGroupsPairsOfRanksUpToOneGroupPerChain() {
        XCTAssertEqual(ExperimentLayout.automatic(chains: 9, ranks: 1).groups, 1)
        XCTAssertEqual(ExperimentLayout.automatic(chains: 9, ranks: 3).groups, 1)
        XCTAssertEqual(ExperimentLayout.automatic(chains: 9, ranks: 4).description, "2x2")
        XCTAssertEqual(ExperimentLayout.automatic(chains: 3, ranks: 16).description, "3 groups of 5–6 ranks")
        XCTAssertEqual(ExperimentLayout.automatic(chains: 1, ranks: 8).description, "1x8")
        // Every rank in a group, groups differing by at most one rank.
        let uneven = ExperimentLayout.automatic(chains: 3, ranks: 16)
        let sizes = Dictionary(grouping: 0..<16, by: uneven.group(ofRank:)).mapValues(\.count)
        XCTAssertEqual(sizes.keys.sorted(), [0, 1, 2])
        XCTAssertLessThanOrEqual(sizes.values.max()! - sizes.values.min()!, 1)
    }

    func testLayoutsAreParsedAndBadOnesRefusedInOneLine() throws {
        XCTAssertEqual(try ExperimentLayout.parse("2x2", chains: 9, ranks: 4), ExperimentLayout(groups: 2, ranks: 4))
        XCTAssertEqual(try ExperimentLayout.parse("1X4", chains: 9, ranks: 4).groups, 1)
        XCTAssertEqual(try ExperimentLayout.parse("4x1", chains: 9, ranks: 4).description, "4x1")
        let refusals = [
            ("2x", "--layout 2x: give GROUPSxRANKS, e.g. 2x4 (2 groups of 4 ranks)"),
            ("0x4", "--layout 0x4: give GROUPSxRANKS, e.g. 2x4 (2 groups of 4 ranks)"),
            ("2x3", "--layout 2x3 asks for 2 × 3 ranks, but the job has 4"),
            ("9223372036854775807x2", "--layout 9223372036854775807x2 asks for 9223372036854775807 × 2 ranks, but the job has 4"),
        ]
        for (text, message) in refusals {
            XCTAssertThrowsError(try ExperimentLayout.parse(text, chains: 9, ranks: 4)) { XCTAssertEqual("\($0)", message) }
        }
        XCTAssertThrowsError(try ExperimentLayout.parse("4x1", chains: 3, ranks: 4)) {
            XCTAssertEqual("\($0)", "--layout 4x1: 4 groups for 3 runs that can go side by side; use at most 3")
        }
    }

    /// Groups with more ranks than their batch can share split each sample
    /// too: as few ranks per sample as leave every rank a share.
    func testSimbaSharesEachSampleWhenAGroupHasMoreRanksThanTheBatch() {
        XCTAssertEqual(ExperimentLayout(groups: 3, ranks: 12).automaticSpatial(batch: 2, everyRunCentral: true), 2)
        XCTAssertEqual(ExperimentLayout(groups: 1, ranks: 6).automaticSpatial(batch: 4, everyRunCentral: true), 2)
        XCTAssertEqual(ExperimentLayout(groups: 1, ranks: 7).automaticSpatial(batch: 2, everyRunCentral: true), 7)
        XCTAssertEqual(ExperimentLayout(groups: 3, ranks: 96).automaticSpatial(batch: 2, everyRunCentral: true), 16)
        // The batch already gives every rank a share; uneven groups; site strategies: none.
        XCTAssertNil(ExperimentLayout(groups: 2, ranks: 4).automaticSpatial(batch: 4, everyRunCentral: true))
        XCTAssertNil(ExperimentLayout(groups: 3, ranks: 16).automaticSpatial(batch: 2, everyRunCentral: true))
        XCTAssertNil(ExperimentLayout(groups: 1, ranks: 8).automaticSpatial(batch: 2, everyRunCentral: false))
    }

    /// With spatial groups every group holds whole groups of slabs.
    func testSpatialGroupsFitWholeIntoEveryLayoutGroup() throws {
        // 3 chains on 12 ranks in slabs of 2: 3 groups of 4 (2 data × 2 spatial).
        XCTAssertEqual(ExperimentLayout.automatic(chains: 3, ranks: 12, spatial: 2).description, "3x4")
        // 16 ranks: 3 groups would be uneven, so 2 groups of 8.
        XCTAssertEqual(ExperimentLayout.automatic(chains: 3, ranks: 16, spatial: 2).description, "2x8")
        XCTAssertEqual(ExperimentLayout.automatic(chains: 3, ranks: 2, spatial: 2).description, "1x2")
        XCTAssertEqual(try ExperimentLayout.parse("2x4", chains: 3, ranks: 8, spatial: 4).description, "2x4")
        XCTAssertThrowsError(try ExperimentLayout.parse("4x2", chains: 9, ranks: 8, spatial: 4)) {
            XCTAssertEqual("\($0)", "--layout 4x2: groups of 2 ranks cannot share each sample over training.spatial 4 ranks; give groups of a multiple of 4")
        }
    }
}
