import Cluster
import Foundation
import Storage

/// The stall watchdog as long-running stages use it: every rank beats at
/// its safe points (after each epoch); when a rank has waited `timeout`
/// seconds without progress, the lowest healthy rank names the frozen,
/// dead or hung ranks in one line and aborts the job with `exitCode`, so it
/// ends instead of hanging. Checkpoints written before stay complete.
public struct StallGuard: Sendable {
    /// Seconds without progress before the job stops (0: never).
    public var timeout: Double
    public var exitCode: Int32

    public init(timeout: Double, exitCode: Int32) {
        self.timeout = timeout
        self.exitCode = exitCode
    }

    /// Runs `body` with a watchdog whose heartbeats live beside `output`
    /// (none on one rank or with timeout 0). Collective: every rank calls
    /// it. The heartbeat folder is removed on every way out.
    public func watching<T>(world: Communicator, beside output: String, unit: String,
                            _ body: (StallWatchdog?) throws -> T) throws -> T {
        guard timeout > 0, world.size > 1 else { return try body(nil) }
        let exitCode = exitCode
        let watchdog = try StallWatchdog(communicator: world, directory: output + ".heartbeats", timeout: timeout,
                                         unit: unit) { message in
            OutputClaim.releaseAll()
            world.abort(message: message, code: exitCode)
        }
        do {
            let result = try body(watchdog)
            try watchdog.stop()
            return result
        } catch {
            watchdog.abandon()
            throw error
        }
    }

    /// A stage that writes `outputs`: rank 0 claims them for the stage's
    /// duration (one writer per output: another job's claim is refused in
    /// one line), and the watchdog, beside the first, watches the ranks.
    /// `into`: the stage writes into existing files (only those are claimed).
    public func writing<T>(_ outputs: [String], into: Bool = false, command: String, world: Communicator, unit: String,
                           _ body: (StallWatchdog?) throws -> T) throws -> T {
        try OutputClaim.holding(outputs, present: into, command: command, world: world) {
            try watching(world: world, beside: outputs[0], unit: unit, body)
        }
    }
}
