import ArgumentParser
import Cluster
import Foundation

/// The stall watchdog as long-running commands use it: every rank beats at
/// its safe points (after each epoch); when a rank has waited `timeout`
/// seconds without progress, the lowest healthy rank names the frozen,
/// dead or hung ranks in one line and aborts the job (exit 69), so it ends
/// instead of hanging. Checkpoints written before stay complete.
struct StallOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Seconds a rank may wait for the others without progress before the job stops, naming the stalled rank (0: never). Heartbeats go to a folder beside the output file, which every rank must see.",
        valueName: "seconds"))
    var stallTimeout: Double = 600

    func validate() throws {
        guard stallTimeout >= 0, stallTimeout.isFinite else {
            throw ValidationError("--stall-timeout must be 0 (off) or a number of seconds, got \(stallTimeout)")
        }
    }

    /// Runs `body` with a watchdog whose heartbeats live beside `output`
    /// (none on one rank or with --stall-timeout 0). Collective: every rank
    /// calls it. The heartbeat folder is removed on every way out.
    func watching<T>(world: Communicator, beside output: String, unit: String,
                     _ body: (StallWatchdog?) throws -> T) throws -> T {
        guard stallTimeout > 0, world.size > 1 else { return try body(nil) }
        let watchdog = try StallWatchdog(communicator: world, directory: output + ".heartbeats", timeout: stallTimeout,
                                         unit: unit) { message in
            world.abort(message: message, code: Launcher.Exit.stalled)
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
}
