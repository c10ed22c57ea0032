import Foundation
import XCTest

/// A `simba` job under mpirun running in the background, so a test can
/// signal, freeze or kill its ranks while it works.
final class SimbaJob {
    let process = Process()
    private let output: PipeReader, errors: PipeReader
    let started = Date()
    /// Marks this job's rank processes (an environment variable).
    private let marker = UUID().uuidString
    /// One file per rank with its exit status, when recorded.
    private let statusFolder: URL

    /// Starts `simba arguments` on `ranks` ranks. With `recordingStatuses`
    /// each rank runs under a shell that records simba's exit status (then
    /// signal the ranks themselves: mpirun forwards its signals to the shells).
    /// simba runs in a session of its own there: mpirun kills the rest of the
    /// job at the first non-zero exit, and the kill must not reach a rank
    /// that is itself exiting, or its status could go unrecorded.
    init(_ arguments: [String], ranks: Int, recordingStatuses: Bool = false, environment: [String: String] = [:]) throws {
        statusFolder = FileManager.default.temporaryDirectory.appendingPathComponent("simba-job-\(marker)")
        try FileManager.default.createDirectory(at: statusFolder, withIntermediateDirectories: true)
        let recordStatus = "\"$@\"; code=$?; echo $code > \"$0.part\" && mv \"$0.part\" \"$0\"; exit $code"
        let record = "setsid -w /bin/sh -c '\(recordStatus)' \"$SIMBA_JOB_STATUS/rank-$OMPI_COMM_WORLD_RANK\" \"$@\" & wait $!"
        let (executable, fullArguments) = SimbaProcess.command(arguments, ranks: ranks)
        process.executableURL = executable
        process.arguments = recordingStatuses ? [fullArguments[0], "/bin/sh", "-c", record, "sh"] + fullArguments.dropFirst()
            : fullArguments
        process.environment = SimbaProcess.childEnvironment(environment.merging(["SIMBA_JOB": marker, "SIMBA_JOB_STATUS": statusFolder.path]) { $1 })
        let outputPipe = Pipe(), errorPipe = Pipe()
        process.standardOutput = outputPipe
        process.standardError = errorPipe
        try process.run()
        output = PipeReader(outputPipe)
        errors = PipeReader(errorPipe)
    }

    deinit {
        // Never leave a rank behind, frozen or not.
        for pid in rankPIDs().values {
            kill(pid, SIGCONT)
            kill(pid, SIGKILL)
        }
        if process.isRunning { process.terminate() }
        try? FileManager.default.removeItem(at: statusFolder)
    }

    /// This job's simba processes that are still alive, by MPI rank.
    func rankPIDs() -> [Int: pid_t] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [:] }
        var ranks: [Int: pid_t] = [:]
        for entry in entries {
            guard let pid = pid_t(entry),
                  let name = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8),
                  name.hasPrefix("simba"),
                  let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { continue }
            let variables = environment.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            guard variables.contains("SIMBA_JOB=\(marker)"),
                  let rank = variables.first(where: { $0.hasPrefix("OMPI_COMM_WORLD_RANK=") }).flatMap({ Int($0.dropFirst(21)) })
            else { continue }
            ranks[rank] = pid
        }
        return ranks
    }

    /// The job's ranks still running `grace` seconds after it ended at the
    /// latest: a rank killed as mpirun exits can still be in /proc (its
    /// environment readable) for a moment after mpirun is gone.
    func ranksLeftRunning(grace: Double = 10) -> [Int: pid_t] {
        waitUpTo(grace) { rankPIDs().isEmpty }
        return rankPIDs()
    }

    /// Checks `done` every 0.1 s until it holds or `seconds` have passed.
    private func waitUpTo(_ seconds: Double, until done: () -> Bool) {
        let deadline = Date().addingTimeInterval(seconds)
        while !done() && Date() < deadline { usleep(100_000) }
    }

    /// Each rank's exit status (128 + n for a rank killed by signal n), when
    /// recorded; waits up to 30 s for `ranks` statuses (a rank's own session
    /// can outlive mpirun by a moment).
    func rankStatuses(ranks: Int) -> [Int: Int32] {
        waitUpTo(30) { recordedStatuses().count >= ranks }
        return recordedStatuses()
    }

    private func recordedStatuses() -> [Int: Int32] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: statusFolder.path)) ?? []
        var statuses: [Int: Int32] = [:]
        for file in files where file.hasPrefix("rank-") && !file.hasSuffix(".part") {
            let text = try? String(contentsOf: statusFolder.appendingPathComponent(file), encoding: .utf8)
            if let rank = Int(file.dropFirst(5)), let status = text.flatMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
                statuses[rank] = status
            }
        }
        return statuses
    }

    /// The pid of rank `rank`, waiting up to 30 s for mpirun to start it.
    func pid(ofRank rank: Int) throws -> pid_t {
        var pid: pid_t?
        waitUpTo(30) { pid = rankPIDs()[rank]; return pid != nil }
        guard let pid else { throw XCTSkip("rank \(rank) of the job did not appear") }
        return pid
    }

    /// Sends `signal` to every rank (as mpirun or srun passes a signal on)
    /// while the ranks are frozen, and lets them go on only once every rank
    /// has it pending: the ranks then see it at the same point of their
    /// work, whatever the machine's speed.
    func signalWhileFrozen(_ signal: Int32, ranks: Int) throws {
        let pids = rankPIDs()
        guard pids.count == ranks else {
            XCTFail("the job's \(ranks) ranks are not all running")
            throw XCTSkip("nothing to signal")
        }
        for pid in pids.values { kill(pid, SIGSTOP) }
        defer { for pid in pids.values { kill(pid, SIGCONT) } }
        // SIGSTOP takes effect asynchronously: a signal sent before would be handled at once.
        XCTAssertTrue(wait(until: { pids.values.allSatisfy(Self.isStopped) }, timeout: 60), "the ranks did not stop")
        for pid in pids.values { kill(pid, signal) }
        XCTAssertTrue(wait(until: { pids.values.allSatisfy { Self.hasPending(signal, pid: $0) } }, timeout: 60),
                      "the signal is not pending on every rank")
    }

    /// Whether process `pid` is stopped (/proc status).
    static func isStopped(_ pid: pid_t) -> Bool {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        return status.split(separator: "\n").contains { $0.hasPrefix("State:") && $0.contains("T (stopped)") }
    }

    /// Whether `signal` waits to be delivered to process `pid` (/proc status).
    static func hasPending(_ signal: Int32, pid: pid_t) -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return false }
        return status.split(separator: "\n").contains { line in
            guard line.hasPrefix("ShdPnd:") || line.hasPrefix("SigPnd:"),
                  let mask = UInt64(line.split(separator: "\t").last ?? "", radix: 16) else { return false }
            return mask & (1 << UInt64(signal - 1)) != 0
        }
    }

    /// Waits until `condition` holds or the job ends; returns whether it held.
    func wait(until condition: () -> Bool, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline {
            if condition() { return true }
            usleep(200_000)
        }
        return condition()
    }

    /// Waits for the job to end (killing it after `timeout` seconds, a hang
    /// guard) and returns what it did.
    func finish(timeout: Double) -> SimbaProcess.Result {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning {
            XCTFail("the job did not end within \(timeout) s")
            for pid in rankPIDs().values { kill(pid, SIGKILL) }
            process.terminate()
        }
        process.waitUntilExit()
        return SimbaProcess.Result(status: process.terminationStatus, stdout: output.text(), stderr: errors.text(),
                                   seconds: Date().timeIntervalSince(started))
    }
}
