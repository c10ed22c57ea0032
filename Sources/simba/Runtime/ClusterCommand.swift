import ArgumentParser
import Cluster

/// Options every MPI command shares.
struct RuntimeOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "OpenBLAS threads per rank (default: 1 when the world has several ranks, since ranks are the parallelism; otherwise OPENBLAS_NUM_THREADS or all cores).",
        valueName: "n"))
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 {
            throw ValidationError("--threads must be at least 1, got \(threads)")
        }
    }
}

/// A subcommand that runs on every rank of an MPI world.
protocol ClusterCommand: ParsableCommand {
    var runtime: RuntimeOptions { get }
    func run(world: Communicator) throws
}

extension ClusterCommand {
    // Cluster commands are run by the Launcher inside an MPI world; this
    // satisfies ParsableCommand for the rare direct call (tests).
    mutating func run() throws {
        let world = try Cluster.start()
        try run(world: world)
    }
}
