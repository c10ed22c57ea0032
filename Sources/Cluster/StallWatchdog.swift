import Foundation
import Synchronization

/// Names ranks that stop making progress, like Horovod's stall inspector,
/// and stops the job instead of letting it hang.
///
/// Every rank's main thread calls `beat(step:)` at its step boundaries. A
/// background thread per rank writes the rank's heartbeat — last step, when
/// it was reached, and the current time — to a small file in a folder all
/// ranks share (the run's folder: on a cluster, a shared file system) every
/// `interval` seconds. When a rank has waited longer than `timeout` since
/// its own last beat (typically inside a collective), it reads everyone's
/// heartbeats: a rank whose file has not been rewritten lately is frozen
/// (SIGSTOP) or dead, and a rank behind the others' step is hung. The
/// lowest rank that is neither reports them in one line and aborts the job;
/// checkpoints written before are complete and stay valid.
public final class StallWatchdog: @unchecked Sendable {
    public struct Heartbeat: Equatable, Sendable {
        public var rank: Int
        public var step: Int
        /// When the rank reached `step`, and when its watchdog last wrote (seconds since 1970).
        public var beatTime: Double
        public var writeTime: Double
        public var host: String
    }

    private let communicator: Communicator
    private let directory: String
    public let timeout: Double
    /// What a beat counts ("step", "epoch"), for the message.
    private let unit: String
    private let interval: Double
    private let step = Atomic<Int>(0)
    private let beatBits = Atomic<UInt64>(Date().timeIntervalSince1970.bitPattern)
    private let running = Atomic<Bool>(true)
    /// False once stopped: held while a heartbeat is written, so none is
    /// written after this rank's file was removed.
    private let writing = Mutex(true)
    private let onStall: @Sendable (String) -> Void
    private var thread: Thread?

    /// Starts watching. All ranks of `communicator` create the watchdog with
    /// the same folder (created by rank 0; collective). `onStall` defaults
    /// to printing the message and aborting the job.
    public init(communicator: Communicator, directory: String, timeout: Double, unit: String = "step",
                onStall: (@Sendable (String) -> Void)? = nil) throws {
        self.communicator = communicator
        self.directory = directory
        self.timeout = timeout
        self.unit = unit
        interval = max(0.2, min(2, timeout / 5))
        let world = communicator
        self.onStall = onStall ?? { message in world.abort(message: message) }
        try communicator.unanimously {
            if communicator.rank == 0 {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
        }
        try communicator.barrier()
        writeHeartbeat()
        let thread = Thread { [weak self] in self?.watch() }
        thread.name = "simba stall watchdog"
        self.thread = thread
        thread.start()
    }

    /// Records progress (main thread, at a step boundary) and writes it out,
    /// so the heartbeat names the step a rank froze at.
    public func beat(step newStep: Int) {
        step.store(newStep, ordering: .relaxed)
        beatBits.store(Date().timeIntervalSince1970.bitPattern, ordering: .releasing)
        writeHeartbeat()
    }

    /// Stops the watchdog thread and removes this rank's heartbeat (collective: rank 0 removes the folder).
    public func stop() throws {
        running.store(false, ordering: .releasing)
        writing.withLock { $0 = false }
        try? FileManager.default.removeItem(atPath: path(for: communicator.rank))
        try communicator.barrier()
        if communicator.rank == 0 { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// Stops the watchdog on this rank alone (an error path, where the
    /// other ranks may not come): removes this rank's heartbeat, and the
    /// folder once it is empty (whichever rank leaves last removes it).
    public func abandon() {
        running.store(false, ordering: .releasing)
        writing.withLock { $0 = false }
        try? FileManager.default.removeItem(atPath: path(for: communicator.rank))
        rmdir(directory)
    }

    private func path(for rank: Int) -> String {
        (directory as NSString).appendingPathComponent("rank-\(rank)")
    }

    private var lastBeat: Double { Double(bitPattern: beatBits.load(ordering: .acquiring)) }

    private func writeHeartbeat() {
        let line = "\(step.load(ordering: .relaxed)) \(lastBeat) \(Date().timeIntervalSince1970) \(ProcessInfo.processInfo.hostName)\n"
        writing.withLock { open in
            if open { try? line.write(toFile: path(for: communicator.rank), atomically: true, encoding: .utf8) }
        }
    }

    private func watch() {
        var reported = false
        while running.load(ordering: .acquiring) {
            writeHeartbeat()
            Thread.sleep(forTimeInterval: interval)
            let now = Date().timeIntervalSince1970
            guard !reported, now - lastBeat > timeout else { continue }
            let beats = (0..<communicator.size).compactMap { Self.read(path(for: $0), rank: $0) }
            guard let message = Self.diagnose(beats, size: communicator.size, now: now, timeout: timeout,
                                              staleAfter: 3 * interval + 1, observer: communicator.rank,
                                              unit: unit) else { continue }
            reported = true
            onStall(message)
        }
    }

    static func read(_ path: String, rank: Int) -> Heartbeat? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 4, let step = Int(fields[0]), let beat = Double(fields[1]),
              let write = Double(fields[2]) else { return nil }
        return Heartbeat(rank: rank, step: step, beatTime: beat, writeTime: write,
                         host: fields[3].trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Which ranks stall, seen by `observer`: those whose heartbeat is
    /// missing or stale (frozen, dead) or whose step is behind the most
    /// advanced rank's while the observer waits. Returns the message to
    /// report when the observer is the lowest healthy rank, else nil.
    static func diagnose(_ beats: [Heartbeat], size: Int, now: Double, timeout: Double, staleAfter: Double,
                         observer: Int, unit: String = "step") -> String? {
        let byRank = Dictionary(uniqueKeysWithValues: beats.map { ($0.rank, $0) })
        let leadingStep = beats.map(\.step).max() ?? 0
        var stalled: [(rank: Int, why: String)] = []
        for rank in 0..<size {
            guard let beat = byRank[rank] else {
                stalled.append((rank, "no heartbeat"))
                continue
            }
            if now - beat.writeTime > staleAfter {
                stalled.append((rank, String(format: "frozen or gone: no sign of life for %.0f s (on %@, %@ %d)",
                                             now - beat.writeTime, beat.host, unit, beat.step)))
            } else if beat.step < leadingStep && now - beat.beatTime > timeout {
                stalled.append((rank, String(format: "hung at %@ %d for %.0f s (on %@) while others reached %@ %d",
                                             unit, beat.step, now - beat.beatTime, beat.host, unit, leadingStep)))
            }
        }
        let stalledRanks = Set(stalled.map(\.rank))
        guard !stalled.isEmpty, let reporter = (0..<size).first(where: { !stalledRanks.contains($0) }),
              reporter == observer else { return nil }
        let list = stalled.map { "rank \($0.rank) \($0.why)" }.joined(separator: "; ")
        return "stalled: \(list); stopping the job after \(Int(timeout)) s without progress (checkpoints written before are intact)"
    }
}
