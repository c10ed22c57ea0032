import ArgumentParser
import Cluster
import Foundation
import SelfTest

struct SelfTestCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "selftest",
        abstract: "Check MPI collectives and parallel HDF5 across the ranks of this job.",
        discussion: """
            Every rank takes part; rank 0 prints one line per check and a \
            closing count. Run it once on a new cluster before long jobs.

            Example:
              mpirun -q -np 3 simba selftest
              mpirun -q -np 2 simba selftest --large-mib 2100   # a buffer over 2^31 bytes
            """)

    @OptionGroup var runtime: RuntimeOptions

    @Option(help: "Folder for the temporary HDF5 file (rank 0's value counts).")
    var scratch: String = NSTemporaryDirectory()

    @Option(help: "Keep the HDF5 check's file at this path.")
    var keep: String?

    @Option(help: "Also allreduce a buffer of this many MiB of floats per rank (0: skip).")
    var largeMib: Int = 0

    @Option(help: ArgumentHelp("Make this rank fail on purpose (tests the error paths).", visibility: .hidden))
    var failRank: Int?

    @Option(help: ArgumentHelp("agreed: inside a section all ranks agree on; stranded: while the others wait in a collective.",
                               visibility: .hidden))
    var failMode: String = SelfTestSuite.FailMode.agreed.rawValue

    @Option(help: ArgumentHelp("Freeze this rank (SIGSTOP) to drill the stall watchdog.", visibility: .hidden))
    var stallRank: Int?

    @Option(help: ArgumentHelp("Seconds without progress before the stall watchdog stops the job.", visibility: .hidden))
    var stallTimeout: Double = 30

    func validate() throws {
        guard stallTimeout > 0 else { throw ValidationError("--stall-timeout must be positive") }
        guard largeMib >= 0 else { throw ValidationError("--large-mib must be 0 or more, got \(largeMib)") }
        guard SelfTestSuite.FailMode(rawValue: failMode) != nil else {
            throw ValidationError("--fail-mode must be one of \(SelfTestSuite.FailMode.allCases.map(\.rawValue))")
        }
    }

    func run(world: Communicator) throws {
        try world.unanimously {
            if let failRank, !(0..<world.size).contains(failRank) {
                throw ValidationError("--fail-rank \(failRank) is not a rank of this world of \(world.size)")
            }
        }
        let options = SelfTestSuite.Options(scratchDirectory: scratch, keepFile: keep, largeBufferMiB: largeMib,
                                            failRank: failRank,
                                            failMode: SelfTestSuite.FailMode(rawValue: failMode) ?? .agreed,
                                            stallRank: stallRank, stallTimeout: stallTimeout)
        let suite = SelfTestSuite(world: world, options: options)
        let outcomes = try suite.run { outcome in
            guard world.rank == 0 else { return }
            print("\(outcome.passed ? "ok  " : "FAIL") \(outcome.name)")
            for problem in outcome.problems { print("     \(problem)") }
        }
        let failed = outcomes.filter { !$0.passed }.count
        if world.rank == 0 {
            print("selftest on \(world.size) rank\(world.size == 1 ? "" : "s"): \(outcomes.count - failed) passed, \(failed) failed")
        }
        if failed > 0 { throw ExitCode(Launcher.Exit.failure) }
    }
}
