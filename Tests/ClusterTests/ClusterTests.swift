@testable import Cluster
import Foundation
import XCTest

/// Unit tests in one process: MPI starts once as a singleton (a world of
/// one) and is never finalised inside a test. Multi-rank behaviour is tested
/// by CLITests under mpirun.
final class ClusterTests: XCTestCase {
    var world: Communicator!

    override func setUpWithError() throws {
        world = try Cluster.start()
    }

    func testStartIsIdempotentAndGivesAWorldOfOne() throws {
        let again = try Cluster.start()
        XCTAssertEqual(world.rank, 0)
        XCTAssertEqual(world.size, 1)
        XCTAssertEqual(again.size, 1)
        XCTAssertTrue(Cluster.isRunning)
        XCTAssertGreaterThanOrEqual(Cluster.providedThreadLevel, .funneled)
        XCTAssertTrue(Cluster.libraryVersion.contains("Open MPI"), Cluster.libraryVersion)
        XCTAssertFalse(Cluster.libraryVersion.contains("\0"))
    }

    func testAllreduceInPlaceOnOneRankKeepsValues() throws {
        var values: [Float] = [1.5, -2, 3]
        try world.allreduce(&values, op: .sum)
        XCTAssertEqual(values, [1.5, -2, 3])
        XCTAssertEqual(try world.allreduce(7, op: .max), 7)
        XCTAssertEqual(try world.allreduce(-1.25, op: .min), -1.25)
        var empty: [Double] = []
        try world.allreduce(&empty, op: .sum)
        XCTAssertEqual(empty, [])
    }

    func testChunkedAllreduceCoversEveryElement() throws {
        let saved = mpiChunkBytes
        mpiChunkBytes = 24  // 3 doubles per MPI call, with a remainder
        defer { mpiChunkBytes = saved }
        var values = (0..<100).map(Double.init)
        try world.allreduce(&values, op: .sum)
        XCTAssertEqual(values, (0..<100).map(Double.init))
    }

    func testBroadcastGatherAndAllgather() throws {
        XCTAssertEqual(try world.broadcast([1, 2, 3] as [Int32], root: 0), [1, 2, 3])
        XCTAssertEqual(try world.broadcast("Insula_R", root: 0), "Insula_R")
        XCTAssertEqual(try world.gather([1.0, 2.0], root: 0), [[1.0, 2.0]])
        XCTAssertEqual(try world.allgather([UInt8(9)]), [[9]])
        XCTAssertEqual(try world.allgather(Int64(4)), [4])
    }

    func testSplitByColorAndExclusion() throws {
        let part = try XCTUnwrap(try world.split(color: 3, key: 0))
        XCTAssertEqual(part.size, 1)
        XCTAssertEqual(try part.allreduce(5, op: .sum), 5)
        try part.free()
        XCTAssertNil(try world.split(color: nil, key: 0))
        XCTAssertThrowsError(try world.split(color: -2, key: 0))
    }

    func testMPIErrorsComeBackAsSwiftErrorsWithMPIsMessage() throws {
        // A negative tag is invalid: with MPI_ERRORS_RETURN, MPI reports it
        // instead of aborting the process.
        XCTAssertThrowsError(try world.send([Float(1)], to: 0, tag: -5)) { error in
            let mpiError = error as? MPIError
            XCTAssertNotNil(mpiError?.code)
            XCTAssertTrue(String(describing: error).lowercased().contains("tag"), String(describing: error))
        }
        XCTAssertThrowsError(try world.broadcast(1.0, root: 3)) { error in
            XCTAssertTrue(String(describing: error).contains("outside"), String(describing: error))
        }
    }

    func testUnanimousSectionReportsTheFailure() throws {
        struct Broken: Error, CustomStringConvertible { var description: String { "label map on another grid" } }
        XCTAssertEqual(try world.unanimously { 42 }, 42)
        XCTAssertThrowsError(try world.unanimously { throw Broken() }) { error in
            let failure = error as? CollectiveFailure
            XCTAssertEqual(failure?.failedRank, 0)
            XCTAssertEqual(failure?.message, "label map on another grid")
        }
    }

    func testStopSignalIsRecordedNotFatal() throws {
        StopSignal.install()
        StopSignal.clear()
        XCTAssertNil(StopSignal.pending)
        StopSignal.simulate(SIGUSR1)
        XCTAssertEqual(StopSignal.pending, SIGUSR1)
        StopSignal.clear()
        XCTAssertNil(StopSignal.pending)
    }

    func testStopRequestIsAgreedAtASafePoint() throws {
        StopSignal.install()
        StopSignal.clear()
        XCTAssertNoThrow(try world.stopIfRequested())
        StopSignal.simulate(SIGUSR1)
        defer { StopSignal.clear() }
        XCTAssertThrowsError(try world.stopIfRequested()) { error in
            XCTAssertEqual((error as? StopRequested)?.signal, SIGUSR1)
            XCTAssertEqual("\(error)", "stopped by SIGUSR1 at a safe point")
        }
    }
}

final class StallWatchdogTests: XCTestCase {
    typealias Beat = StallWatchdog.Heartbeat

    func beat(_ rank: Int, step: Int, beatAge: Double, writeAge: Double) -> Beat {
        Beat(rank: rank, step: step, beatTime: 100 - beatAge, writeTime: 100 - writeAge, host: "node")
    }

    func testFrozenRankIsNamedByTheLowestHealthyRank() {
        let beats = [beat(0, step: 12, beatAge: 40, writeAge: 0.5), beat(1, step: 11, beatAge: 41, writeAge: 40),
                     beat(2, step: 12, beatAge: 40, writeAge: 0.3)]
        let message = StallWatchdog.diagnose(beats, size: 3, now: 100, timeout: 30, staleAfter: 5, observer: 0)
        XCTAssertEqual(message?.hasPrefix("stalled: rank 1 frozen or gone: no sign of life for 40 s (on node, step 11)"), true,
                       message ?? "nil")
        XCTAssertNil(StallWatchdog.diagnose(beats, size: 3, now: 100, timeout: 30, staleAfter: 5, observer: 2))
    }

    func testHungRankBehindTheOthersAndMissingHeartbeats() {
        // Rank 0 computes forever at step 7 (alive, but behind); rank 2 never wrote.
        let beats = [beat(0, step: 7, beatAge: 35, writeAge: 0.2), beat(1, step: 8, beatAge: 34, writeAge: 0.2)]
        let message = StallWatchdog.diagnose(beats, size: 3, now: 100, timeout: 30, staleAfter: 5, observer: 1)
        XCTAssertEqual(message, "stalled: rank 0 hung at step 7 for 35 s (on node) while others reached step 8; "
            + "rank 2 no heartbeat; stopping the job after 30 s without progress (checkpoints written before are intact)")
    }

    func testWaitingRanksAtTheSameStepAreNotStalled() {
        let beats = [beat(0, step: 5, beatAge: 31, writeAge: 0.1), beat(1, step: 5, beatAge: 31, writeAge: 0.4)]
        XCTAssertNil(StallWatchdog.diagnose(beats, size: 2, now: 100, timeout: 30, staleAfter: 5, observer: 0))
    }
}

/// The collective rule is checked, not only written down: a collective call
/// where a rank that failed first would leave the others waiting is refused.
final class CollectiveRuleCheckTests: XCTestCase {
    struct Agreed: AgreedError, CustomStringConvertible { var description: String { "agreed failure" } }
    struct Local: Error {}

    func testACollectiveInsideUnanimouslyIsRefused() throws {
        let world = try Cluster.start()
        XCTAssertThrowsError(try world.unanimously { try world.barrier() }) { error in
            XCTAssertTrue(String(describing: error).contains("MPI_Barrier called inside unanimously"), "\(error)")
        }
        XCTAssertThrowsError(try world.unanimously { _ = try world.allreduce(1, op: .sum) })
        // The check ends with its section: the same calls outside it work.
        try world.barrier()
        XCTAssertEqual(try world.unanimously { 7 }, 7)
    }

    func testAgreeingAllowsSubgroupsButNotItsOwnCommunicator() throws {
        let world = try Cluster.start()
        let group = try XCTUnwrap(try world.split(color: 0, key: world.rank))
        defer { try? group.free() }
        XCTAssertEqual(try world.agreeing(afterSubgroups: { try group.allreduce(2, op: .sum) }), 2 * group.size)
        XCTAssertThrowsError(try world.agreeing(afterSubgroups: { try world.barrier() })) { error in
            XCTAssertTrue(error is CollectiveRuleViolation, "\(error)")
        }
        // An agreed failure inside becomes the world's; any other propagates as it is.
        XCTAssertThrowsError(try world.agreeing(afterSubgroups: { throw Agreed() })) { error in
            XCTAssertEqual((error as? CollectiveFailure)?.message, "agreed failure", "\(error)")
        }
        XCTAssertThrowsError(try world.agreeing(afterSubgroups: { throw Local() })) { error in
            XCTAssertTrue(error is Local, "\(error)")
        }
        try world.barrier()
    }
}
