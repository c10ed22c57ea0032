import ArgumentParser
import Experiment

/// The stall watchdog's command-line setting (see `StallGuard`).
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

    /// A stalled job exits with `Launcher.Exit.stalled`.
    var watchdog: StallGuard { StallGuard(timeout: stallTimeout, exitCode: Launcher.Exit.stalled) }
}
