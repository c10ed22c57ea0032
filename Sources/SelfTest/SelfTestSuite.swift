import Cluster
import Foundation

/// Checks that MPI collectives and parallel HDF5 behave on this machine or
/// allocation, run by every rank together (`simba selftest`). The test suite
/// runs it under mpirun with 1, 2 and 3 ranks; users run it to validate a
/// cluster set-up before spending an allocation on it.
public struct SelfTestSuite {
    public struct Options: Sendable {
        /// Folder for the HDF5 check's file (rank 0's value is used).
        public var scratchDirectory: String
        /// Keep the HDF5 check's file at this path instead of deleting it.
        public var keepFile: String?
        /// Megabytes of floats for the large-buffer allreduce (0 skips it).
        /// Above 2048 the buffer exceeds 2^31 bytes and must go in chunks.
        public var largeBufferMiB: Int
        /// Inject a failure on this rank (tests the error paths).
        public var failRank: Int?
        /// How the injected failure happens.
        public var failMode: FailMode
        /// Freeze this rank (SIGSTOP) mid-run to drill the stall watchdog.
        public var stallRank: Int?
        /// Seconds without progress before the watchdog stops the job.
        public var stallTimeout: Double = 30

        public init(scratchDirectory: String = NSTemporaryDirectory(), keepFile: String? = nil,
                    largeBufferMiB: Int = 0, failRank: Int? = nil, failMode: FailMode = .agreed,
                    stallRank: Int? = nil, stallTimeout: Double = 30) {
            self.scratchDirectory = scratchDirectory
            self.keepFile = keepFile
            self.largeBufferMiB = largeBufferMiB
            self.failRank = failRank
            self.failMode = failMode
            self.stallRank = stallRank
            self.stallTimeout = stallTimeout
        }
    }

    public enum FailMode: String, CaseIterable, Sendable {
        /// The rank fails inside a section whose outcome all ranks agree on.
        case agreed
        /// The rank fails while the others wait in a collective.
        case stranded
    }

    public struct Outcome: Sendable {
        public let name: String
        /// Problems found, prefixed by the rank that found them; empty when passed.
        public let problems: [String]
        public var passed: Bool { problems.isEmpty }
    }

    let world: Communicator
    let options: Options

    public init(world: Communicator, options: Options) {
        self.world = world
        self.options = options
    }

    /// Runs every check on every rank; returns the same outcomes on all ranks.
    /// `report` is called on every rank after each check (print from rank 0).
    public func run(report: (Outcome) -> Void = { _ in }) throws -> [Outcome] {
        if let failRank = options.failRank {
            try injectFailure(on: failRank)
        }
        if let stallRank = options.stallRank {
            try stallDrill(freezing: stallRank)
        }
        var outcomes: [Outcome] = []
        for check in checks() {
            try world.stopIfRequested()
            var problems = Problems()
            try check.body(&problems)
            let outcome = Outcome(name: check.name, problems: try gatherProblems(problems))
            report(outcome)
            outcomes.append(outcome)
        }
        return outcomes
    }

    struct Check {
        let name: String
        let body: (inout Problems) throws -> Void
    }

    private func checks() -> [Check] {
        var list = [
            Check(name: "ranks: every rank knows its place", body: checkRanks),
            Check(name: "allreduce: sum, min, max of Float, Double, Int in place", body: checkAllreduce),
            Check(name: "allreduce: buffers split into chunks", body: checkChunkedAllreduce),
            Check(name: "broadcast: arrays, values and strings from the last rank", body: checkBroadcast),
            Check(name: "gather and allgather: uneven counts", body: checkGather),
            Check(name: "split: sub-communicators by color and key", body: checkSplit),
            Check(name: "unanimously: one rank's failure reaches every rank", body: checkUnanimous),
            Check(name: "parallel HDF5: collective hyperslabs, append, attributes", body: checkParallelHDF5),
        ]
        if world.size > 1 {
            list.insert(Check(name: "send and receive: a ring of uneven messages", body: checkRing), at: 4)
            list.insert(Check(name: "started transfers: both ways around the ring while computing", body: checkStartedTransfers), at: 5)
        }
        if options.largeBufferMiB > 0 {
            list.append(Check(name: "allreduce: a \(options.largeBufferMiB) MiB buffer", body: checkLargeAllreduce))
        }
        return list
    }

    /// Collects every rank's problems on every rank, so all agree on the outcome.
    private func gatherProblems(_ problems: Problems) throws -> [String] {
        let text = problems.list.map { "rank \(world.rank): \($0)" }.joined(separator: "\n")
        let all = try world.allgather(Array(text.utf8))
        return all.filter { !$0.isEmpty }.flatMap { String(decoding: $0, as: UTF8.self).split(separator: "\n").map(String.init) }
    }

    private func injectFailure(on failRank: Int) throws {
        let message = "injected failure on rank \(failRank) (simba selftest --fail-rank)"
        switch options.failMode {
        case .agreed:
            try world.unanimously {
                if world.rank == failRank { throw SelfTestFailure(message: message) }
            }
        case .stranded:
            if world.rank == failRank { throw SelfTestFailure(message: message) }
            // The other ranks wait here for a rank that will never come.
            _ = try world.allreduce(1, op: .sum)
        }
    }
}

extension SelfTestSuite {
    /// Steps of allreduces under a stall watchdog; at step 3 `rank` freezes
    /// itself (SIGSTOP), the others wait in the next allreduce, and the
    /// watchdog must name the frozen rank and stop the job.
    func stallDrill(freezing rank: Int) throws {
        let folder = (options.scratchDirectory as NSString)
            .appendingPathComponent("simba-heartbeats-\(try world.broadcast(Int(getpid()), root: 0))")
        let watchdog = try StallWatchdog(communicator: world, directory: folder, timeout: options.stallTimeout)
        for step in 1...10 {
            watchdog.beat(step: step)
            if step == 3 && world.rank == rank { raise(SIGSTOP) }
            _ = try world.allreduce(step, op: .sum)
            usleep(100_000)
        }
        try watchdog.stop()
    }
}

/// An error raised on purpose by `--fail-rank`.
public struct SelfTestFailure: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// Problems found by one rank during one check.
struct Problems {
    private(set) var list: [String] = []

    mutating func expect(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { list.append(message()) }
    }
}
