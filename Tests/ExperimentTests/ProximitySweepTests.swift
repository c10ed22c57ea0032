@testable import Experiment
import Synthesis
import Training
import XCTest

/// A proximity sweep compares like with like: every value sees the same
/// input grid (the crop holds all swept regions), and the table says how
/// far each bias region is from the disease region.
final class ProximitySweepTests: XCTestCase {
    func testEveryValueSeesTheSameCropAndGrid() throws {
        var sweep = SweepConfig()
        sweep.factor = .proximity
        sweep.values = ["Putamen_R", "Caudate_R", "Thalamus_L"]
        let experiments = try sweep.experiments(base: CohortPreset.quickstart.config, training: TrainingConfig())
        XCTAssertEqual(experiments.map { $0.cohort.biases[0].region }, sweep.values)
        let crops = Set(experiments.map(\.cohort.template.cropTo))
        XCTAssertEqual(crops.count, 1, "\(crops)")
        XCTAssertTrue(sweep.values.allSatisfy { crops.first!.contains($0) })
        guard DefaultTemplate.isInstalled else { throw XCTSkip("mricron-data is not installed") }
        let grids = try experiments.map { try Anatomy.load($0.cohort.template).grid }
        XCTAssertEqual(Set(grids.map { "\($0.dims) \($0.affine)" }).count, 1)
    }

    func testTheSweepTableGivesTheRegionDistances() throws {
        guard DefaultTemplate.isInstalled else { throw XCTSkip("mricron-data is not installed") }
        var sweep = SweepConfig()
        sweep.factor = .proximity
        sweep.values = ["Putamen_R", "Thalamus_L"]
        let experiments = try sweep.experiments(base: CohortPreset.quickstart.config, training: TrainingConfig())
        let run = SweepRun(plan: sweep, experiments: experiments, analysis: AnalysisConfig(), output: "/nonexistent",
                           resume: false, overwrite: false, stall: StallGuard(timeout: 0, exitCode: 1), log: SilentLog())
        let distances = try run.regionDistances()
        XCTAssertEqual(distances.count, 2)
        // The putamen is next to the insula; the left thalamus is across the midline.
        XCTAssertLessThan(distances[0].closestMM, 10)
        XCTAssertGreaterThan(distances[1].closestMM, distances[0].closestMM + 10)
        XCTAssertGreaterThan(distances[1].centroidMM, distances[0].centroidMM)
        let table = SweepTable(factor: "proximity", experiments: [], distances: [])
        XCTAssertEqual(table.distances?.count, 0)
    }
}
