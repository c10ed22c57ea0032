import ArgumentParser
import Cluster
import Foundation
import Network
import Storage

/// Runs a parsed command: plain commands directly, cluster commands inside
/// an MPI world that is finalised on every exit path.
enum Launcher {
    /// Exit codes (also listed in the README).
    enum Exit {
        static let success: Int32 = 0
        static let failure: Int32 = 1
        static let usage: Int32 = 64
        /// Stopped on request (a signal) at a safe point; the work can resume.
        static let stopped: Int32 = 75
        /// A rank stalled (frozen, dead or hung): the stall watchdog named it
        /// and aborted the job; the checkpoints before are intact.
        static let stalled: Int32 = 69
    }

    /// How long a failing rank waits to learn whether every rank failed
    /// alike (then one line and a clean exit) before it aborts the job.
    static let failureAgreementSeconds = 5.0

    static func main() -> Never {
        let command: ParsableCommand
        do {
            command = try Simba.parseAsRoot()
        } catch {
            // Under mpirun every rank parses the same arguments: rank 0 speaks.
            let code = Simba.exitCode(for: error)
            if code == .success || Cluster.launcherRank == 0 && error is CleanExit {
                Simba.exit(withError: error)  // --help, --version
            }
            if Cluster.launcherRank == 0 {
                let reason = Simba.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid arguments"
                report(reason + " (see 'simba --help')")
            } else {
                // mpirun kills the job at the first non-zero exit: give rank 0
                // time to say why before this rank's exit ends everything.
                usleep(500_000)
            }
            exit(code.rawValue)
        }
        if let clusterCommand = command as? ClusterCommand {
            exit(run(clusterCommand))
        }
        var plain = command
        do {
            try plain.run()
            exit(Exit.success)
        } catch let exitCode as ExitCode {
            exit(exitCode.rawValue)
        } catch {
            // Help and version requests arrive as errors of the parser's own.
            if Simba.exitCode(for: error) == .success { Simba.exit(withError: error) }
            report(describe(error))
            exit(error is ValidationError ? Exit.usage : Exit.failure)
        }
    }

    static func run(_ command: ClusterCommand) -> Int32 {
        let world: Communicator
        do {
            world = try Cluster.start(threadLevel: .funneled)
        } catch {
            report("cannot start MPI: \(error)")
            return Exit.failure
        }
        BLASThreads.configure(requested: command.runtime.threads, worldSize: world.size,
                             environment: ProcessInfo.processInfo.environment)
        StopSignal.install()
        let agreement = world.size > 1 ? try? FailureAgreement(communicator: world) : nil
        do {
            try command.run(world: world)
            Cluster.finish()
            return Exit.success
        } catch let failure as CollectiveFailure {
            // Every rank knows: the lowest failing rank's message, said once.
            if world.rank == 0 {
                let origin = world.size > 1 && failure.failedRank != 0 ? " (rank \(failure.failedRank))" : ""
                report(failure.message + origin)
            }
            Cluster.finish()
            return Exit.failure
        } catch let stop as StopRequested {
            if world.rank == 0 { FileHandle.standardError.write(Data("simba: \(stop)\n".utf8)) }
            Cluster.finish()
            return Exit.stopped
        } catch let exitCode as ExitCode {
            Cluster.finish()
            return exitCode.rawValue
        } catch {
            // Every rank failed alike (e.g. the same collective HDF5 call): rank 0 speaks.
            if world.size == 1 || agreement?.everyRankFailed(within: failureAgreementSeconds) == true {
                if world.rank == 0 { report(describe(error)) }
                Cluster.finish()
                return Exit.failure
            }
            // Other ranks are busy or waiting in a collective for this one:
            // only an abort ends the job without a hang (and no claim outlives it).
            OutputClaim.releaseAll()
            world.abort(message: describe(error), code: Exit.failure)
        }
    }

    static func describe(_ error: Error) -> String {
        if let validation = error as? ValidationError { return validation.message }
        return String(describing: error)
    }

    /// One line on stderr, the way every simba error looks.
    static func report(_ message: String) {
        FileHandle.standardError.write(Data("simba: error: \(message)\n".utf8))
    }
}
