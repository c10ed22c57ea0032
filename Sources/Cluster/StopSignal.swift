import Foundation
import Synchronization

/// Records termination signals (SIGTERM, SIGINT, SIGUSR1) so that long
/// computations can stop at a safe point — all ranks agreeing, a checkpoint
/// written, MPI finalised — instead of dying mid-write. A second SIGTERM or
/// SIGINT while the first is still pending ends the process at once.
public enum StopSignal {
    private static let pendingSignal = Atomic<Int32>(0)

    /// Installs the handlers. Idempotent.
    public static func install() {
        _ = pendingSignal.load(ordering: .relaxed)  // initialise before any handler runs
        for signalNumber in [SIGTERM, SIGINT, SIGUSR1] {
            signal(signalNumber) { received in
                let (exchanged, _) = StopSignal.pendingSignal.compareExchange(
                    expected: 0, desired: received, ordering: .sequentiallyConsistent)
                if !exchanged && received != SIGUSR1 {
                    signal(received, SIG_DFL)
                    raise(received)
                }
            }
        }
    }

    /// The signal received since the last `clear()`, if any.
    public static var pending: Int32? {
        let value = pendingSignal.load(ordering: .sequentiallyConsistent)
        return value == 0 ? nil : value
    }

    public static func clear() {
        pendingSignal.store(0, ordering: .sequentiallyConsistent)
    }

    /// Raises a signal in this process (tests).
    public static func simulate(_ signalNumber: Int32) {
        raise(signalNumber)
    }
}
