import Cluster
import Foundation

/// One writer per output: a claim file `NAME.lock` beside an output file
/// (or `simba.lock` inside an output folder), created with O_EXCL so that
/// exactly one job gets it, and holding who made it (host, pid, Slurm job,
/// time, command). The holder also keeps an fcntl lock on it where the file
/// system supports one, so a claim whose lock is free on the same host
/// belongs to a process that is gone.
///
/// A claim left by a dead job is recognised and taken over when that is
/// certain: the same host and the process is gone, or the same Slurm job
/// (a requeued start). A claim from another host cannot be checked from
/// here: it is refused, naming the holder and the claim file to remove once
/// that job has ended.
public final class OutputClaim {
    /// The claim file.
    public let path: String
    private let descriptor: Int32
    private var held = true
    /// The holder of a stale claim this one replaced, if any.
    public private(set) var replacedStale: Holder?

    /// Claims of this process, dropped before an abort (see `releaseAll`).
    nonisolated(unsafe) private static var live: [ObjectIdentifier: OutputClaim] = [:]
    private static let liveLock = NSLock()

    public struct Refused: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Who made a claim: the claim file's contents.
    public struct Holder: Equatable, Sendable, CustomStringConvertible {
        public var host: String
        public var pid: Int32
        public var job: String?
        /// Slurm's restart count of the job (a requeued job starts again under the same id).
        public var restart: Int
        public var started: String
        public var command: String

        /// This process.
        static func current(command: String) -> Holder {
            let environment = ProcessInfo.processInfo.environment
            let job = environment["SLURM_ARRAY_JOB_ID"].flatMap { array in
                environment["SLURM_ARRAY_TASK_ID"].map { "\(array)_\($0)" } } ?? environment["SLURM_JOB_ID"]
            return Holder(host: ProcessInfo.processInfo.hostName, pid: getpid(), job: job,
                          restart: environment["SLURM_RESTART_COUNT"].flatMap(Int.init) ?? 0, started: ISO8601DateFormatter().string(from: Date()), command: command)
        }

        var text: String {
            "simba output claim\nhost \(host)\npid \(pid)\njob \(job ?? "-")\nrestart \(restart)\nstarted \(started)\ncommand \(command)\n"
        }

        init(host: String, pid: Int32, job: String?, restart: Int, started: String, command: String) {
            self.host = host
            self.pid = pid
            self.job = job
            self.restart = restart
            self.started = started
            self.command = command
        }

        /// Parses a claim file; nil when it is not one (half-written, foreign).
        init?(text: String) {
            var fields: [String: String] = [:]
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
                if parts.count == 2 { fields[parts[0]] = parts[1] }
            }
            guard let host = fields["host"], let pid = fields["pid"].flatMap(Int32.init) else { return nil }
            self.init(host: host, pid: pid, job: fields["job"] == "-" ? nil : fields["job"],
                      restart: fields["restart"].flatMap(Int.init) ?? 0, started: fields["started"] ?? "?", command: fields["command"] ?? "simba")
        }

        public var description: String {
            "\(command) (pid \(pid) on \(host)" + (job.map { ", Slurm job \($0)" } ?? "") + ", since \(started))"
        }
    }

    /// The claim file of an output file, or of an output folder (inside it).
    public static func claimPath(for output: String, isFolder: Bool = false) -> String {
        isFolder ? (output as NSString).appendingPathComponent("simba.lock") : output + ".lock"
    }

    /// Claims `output` for this process, or throws `Refused` naming the
    /// job that holds it. `command` names this job in the claim ("simba
    /// generate").
    public init(_ output: String, isFolder: Bool = false, command: String) throws {
        // A missing or unwritable folder is named as such, not as a claim that cannot be made.
        if !isFolder { try OutputFolder.check(for: output) }
        path = Self.claimPath(for: output, isFolder: isFolder)
        let me = Holder.current(command: command)
        var attempt = 0
        while true {
            attempt += 1
            let created = open(path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0o644)
            if created >= 0 {
                descriptor = created
                _ = Self.lock(created)
                let bytes = Array(me.text.utf8)
                guard write(created, bytes, bytes.count) == bytes.count, fsync(created) == 0 || errno == EINVAL else {
                    let reason = String(cString: strerror(errno))
                    close(created)
                    unlink(path)
                    throw Refused(description: "cannot write the claim file \(path): \(reason)")
                }
                break
            }
            guard errno == EEXIST else {
                throw Refused(description: "cannot create the claim file \(path) for \(output): \(String(cString: strerror(errno)))")
            }
            // Taken: is its holder alive? A stale claim is removed (only if
            // it is still the file judged) and creation tried once more.
            let holder = (try? String(contentsOfFile: path, encoding: .utf8)).flatMap(Holder.init(text:))
            guard attempt < 3, try Self.removeIfStale(path, output: output, me: me) else {
                throw Refused(description: Self.refusal(output: output, claim: path, holder: holder, me: me))
            }
            replacedStale = holder
        }
        Self.liveLock.withLock { Self.live[ObjectIdentifier(self)] = self }
    }

    /// Removes the claim (only the file this process made).
    public func release() {
        guard held else { return }
        held = false
        var byPath = stat(), byDescriptor = stat()
        if lstat(path, &byPath) == 0, fstat(descriptor, &byDescriptor) == 0,
           byPath.st_dev == byDescriptor.st_dev, byPath.st_ino == byDescriptor.st_ino {
            unlink(path)
        }
        close(descriptor)
        Self.liveLock.withLock { _ = Self.live.removeValue(forKey: ObjectIdentifier(self)) }
    }

    deinit { release() }

    /// Drops every claim of this process: called before the job aborts, so
    /// that no claim outlives it.
    public static func releaseAll() {
        let claims = liveLock.withLock { Array(live.values) }
        for claim in claims { claim.release() }
    }

    /// Runs `body` while rank 0 of `world` holds the claims on `outputs`
    /// (collective: every rank calls it; a refusal is agreed, so every rank
    /// reports the same line). With `present`, only outputs that exist are
    /// claimed (stages that write into an existing file report a missing
    /// one themselves).
    public static func holding<T>(_ outputs: [String], isFolder: Bool = false, present: Bool = false, command: String,
                                  world: Communicator, _ body: () throws -> T) throws -> T {
        let claims = try world.unanimously { () -> [OutputClaim] in
            guard world.rank == 0 else { return [] }
            var made: [OutputClaim] = []
            do {
                for output in outputs where !present || FileManager.default.fileExists(atPath: output) {
                    made.append(try OutputClaim(output, isFolder: isFolder, command: command))
                }
            } catch {
                made.forEach { $0.release() }
                throw error
            }
            return made
        }
        defer { claims.forEach { $0.release() } }
        for claim in claims {
            if let stale = claim.replacedStale {
                FileHandle.standardError.write(Data("simba: note: \(claim.path) was left by \(stale), which has ended; claim taken over\n".utf8))
            }
        }
        return try body()
    }

    /// An fcntl write lock on the whole file; false where the file system has none.
    private static func lock(_ descriptor: Int32) -> Bool {
        var request = flock()
        request.l_type = Int16(F_WRLCK)
        request.l_whence = Int16(SEEK_SET)
        return fcntl(descriptor, F_SETLK, &request) == 0
    }

    /// Whether the claim at `path` was left by a job that is certainly gone,
    /// and if so removes it (under its fcntl lock, after checking that the
    /// path still names the file judged, so a claim made meanwhile survives).
    private static func removeIfStale(_ path: String, output: String, me: Holder) throws -> Bool {
        let descriptor = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { return errno == ENOENT }  // released meanwhile: try again
        defer { close(descriptor) }
        var request = flock()
        request.l_type = Int16(F_WRLCK)
        request.l_whence = Int16(SEEK_SET)
        let locked = fcntl(descriptor, F_SETLK, &request) == 0
        if !locked && (errno == EAGAIN || errno == EACCES) { return false }  // its holder is alive and holds the lock
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), let holder = Holder(text: text) else {
            return false
        }
        // A requeued Slurm job starts again under its id: its earlier start has ended.
        let earlierStart = holder.job != nil && holder.job == me.job && holder.restart < me.restart
        // On its own host a holder keeps the lock while it lives (a free lock
        // there means gone, even if its pid was reused), or its pid is gone.
        let gone = holder.host == me.host && (locked || kill(holder.pid, 0) != 0 && errno == ESRCH)
        guard gone || earlierStart else { return false }
        var byPath = stat(), byDescriptor = stat()
        guard lstat(path, &byPath) == 0, fstat(descriptor, &byDescriptor) == 0,
              byPath.st_dev == byDescriptor.st_dev, byPath.st_ino == byDescriptor.st_ino else { return true }
        unlink(path)
        return true
    }

    private static func refusal(output: String, claim: String, holder: Holder?, me: Holder) -> String {
        guard let holder else {
            return "\(output) is claimed by another writer (\(claim) exists but names no simba job): if no simba job writes it, remove \(claim)"
        }
        if holder.host == me.host {
            return "\(output) is being written by another simba job: \(holder); wait for it to end, or write elsewhere"
        }
        return "\(output) is claimed by \(holder); if that job has ended (check 'squeue' or 'ps' on \(holder.host)), remove \(claim) and start again"
    }
}
