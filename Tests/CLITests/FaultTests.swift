import Foundation
import XCTest

/// Faults during `simba train` on 2 ranks, caused from outside as a
/// cluster causes them: a stop signal to one rank, one rank killed, one
/// rank frozen. Each time the job must end (no hang), the run file's last
/// complete checkpoint must open, and `--resume` must continue it. (A full
/// disk while checkpointing: TrainCLITests.testFullDiskKeepsTheLastCheckpoint.)
final class FaultTests: XCTestCase {
    static let folder = TinyDataset.scratch("faults")

    override class func tearDown() {
        try? FileManager.default.removeItem(at: folder)
    }

    func path(_ name: String) -> String { Self.folder.appendingPathComponent(name).path }

    /// The tiny model for up to 200 epochs without early stopping: long
    /// enough to be interrupted after its first checkpoint.
    var longTraining: String {
        get throws {
            let config = path("long.yaml")
            try "training:\n  widths: [4, 8]\n  batch: 6\n  patience: 1000\n  epochs: 200\n"
                .write(toFile: config, atomically: true, encoding: .utf8)
            return config
        }
    }

    /// Starts the long training on 2 ranks and waits for its first complete checkpoint.
    func startLongRun(_ run: String, _ extra: [String] = [], recordingStatuses: Bool = false) throws -> SimbaJob {
        let job = try SimbaJob(["train", try longTraining, "--data", TinyDataset.path, "-o", run] + extra, ranks: 2,
                               recordingStatuses: recordingStatuses)
        guard job.wait(until: { RunFileProbe.hasLatestCheckpoint(run) }, timeout: 120) else {
            let result = job.finish(timeout: 10)
            XCTFail("no checkpoint appeared in \(run): \(result.stderr)")
            throw XCTSkip("the run did not get going")
        }
        return job
    }

    /// The run's latest checkpoint is complete and readable, and `--resume`
    /// (on 2 ranks) continues it for one more epoch.
    func assertResumes(_ run: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let latest = try XCTUnwrap(try RunFileProbe.latest(run), "no latest checkpoint in \(run)", file: file, line: line)
        XCTAssertTrue(latest.complete && latest.parametersReadable, "\(latest)", file: file, line: line)
        let target = latest.epochsDone + 1
        let result = try SimbaProcess.run(["train", try longTraining, "--data", TinyDataset.path, "-o", run, "--resume",
                                           "--epochs", String(target)], ranks: 2, timeout: 300)
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
        XCTAssertEqual(try RunFileProbe.latest(run)?.epochsDone, target, file: file, line: line)
    }

    /// SIGTERM (what Slurm sends at the time limit) or SIGUSR1 (its early
    /// warning) to one rank alone: the ranks agree at the next step, every
    /// rank exits 75, rank 0 says why in one line, and the latest checkpoint resumes.
    func testStopSignalToOneRankStopsEveryRankWithTheAgreedCode() throws {
        for (signal, name, rank) in [(SIGTERM, "SIGTERM", 1), (SIGUSR1, "SIGUSR1", 0)] {
            let run = path("signalled-\(name).h5")
            let job = try startLongRun(run, recordingStatuses: true)
            kill(try job.pid(ofRank: rank), signal)
            let result = job.finish(timeout: 120)
            XCTAssertEqual(result.status, 75, "\(name): \(result.stderr)")
            XCTAssertEqual(job.rankStatuses(ranks: 2), [0: 75, 1: 75], name)
            XCTAssertEqual(result.stderrLines.filter { $0.hasPrefix("simba:") }, ["simba: stopped by \(name) at a safe point"])
            try assertResumes(run)
        }
    }

    /// `kill -9` of one rank: the job ends within seconds, no rank is left
    /// behind, and a copy of the run file resumes from its last complete checkpoint.
    func testKilledRankEndsTheJobAndTheLastCheckpointResumes() throws {
        let run = path("killed.h5")
        let job = try startLongRun(run)
        let killed = Date()
        kill(try job.pid(ofRank: 1), SIGKILL)
        let result = job.finish(timeout: 60)
        XCTAssertLessThan(Date().timeIntervalSince(killed), 30, "the job hung after a rank was killed")
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(job.ranksLeftRunning(), [:], "ranks left running")
        let copy = path("killed-copy.h5")
        try FileManager.default.copyItem(atPath: run, toPath: copy)
        try assertResumes(copy)
    }

    /// A rank frozen with SIGSTOP: within the stall timeout rank 0 names it,
    /// the job ends with exit 69 (the frozen rank killed too), and the last
    /// complete checkpoint resumes.
    func testFrozenRankIsNamedAndTheJobStopsWithTheCheckpointIntact() throws {
        let run = path("frozen.h5")
        let job = try startLongRun(run, ["--stall-timeout", "3"])
        let frozen = Date()
        kill(try job.pid(ofRank: 1), SIGSTOP)
        let result = job.finish(timeout: 60)
        XCTAssertLessThan(Date().timeIntervalSince(frozen), 30, "the stall was not caught")
        XCTAssertEqual(result.status, 69, result.stderr)
        let errors = result.stderrLines.filter { $0.hasPrefix("simba: error") }
        XCTAssertEqual(errors.count, 1, result.stderr)
        XCTAssertTrue(errors.first?.contains("stalled: rank 1 frozen or gone") ?? false, result.stderr)
        XCTAssertTrue(errors.first?.contains("checkpoints written before are intact") ?? false, result.stderr)
        XCTAssertEqual(job.ranksLeftRunning(), [:], "ranks left running")
        try assertResumes(run)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run + ".heartbeats"), "heartbeats left after the resumed run")
    }
}

/// The collective rule under fire: one rank throws an error the others
/// cannot know about at the start of a round (SIMBA_TEST_FAULT), while they
/// go on into the round's collectives. Under every strategy, on 2 and 3
/// ranks, the job must end with an error naming the fault — never hang.
final class CollectiveRuleTests: XCTestCase {
    static let folder = TinyDataset.scratch("collective-rule")

    override class func tearDown() {
        try? FileManager.default.removeItem(at: folder)
    }

    func testARankThrowingInsideARoundCannotHangTheJob() throws {
        for (strategy, sites, ranks, faultyRank) in [("central", 0, 2, 1), ("federated", 3, 3, 2), ("travelling", 3, 2, 1),
                                                     ("local", 2, 3, 0), ("federated", 1, 2, 0)] {
            let run = Self.folder.appendingPathComponent("\(strategy)-\(sites)-\(ranks).h5").path
            let started = Date()
            let result = try SimbaProcess.run(
                ["train", "--preset", "tiny", "--data", TinyDataset.path, "-o", run, "--strategy", strategy,
                 "--sites", String(sites), "--epochs", "3"],
                ranks: ranks, timeout: 120, environment: ["SIMBA_TEST_FAULT": "round:2:rank:\(faultyRank)"])
            let label = "\(strategy) with \(sites) sites on \(ranks) ranks"
            XCTAssertLessThan(Date().timeIntervalSince(started), 100, "\(label): the job hung")
            XCTAssertNotEqual(result.status, 0, "\(label): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("injected fault (SIMBA_TEST_FAULT) at round 2 on rank \(faultyRank)"),
                          "\(label): \(result.stderr)")
            XCTAssertFalse(result.stderr.contains("Fatal error"), "\(label): a trap instead of an error: \(result.stderr)")
        }
    }
}
