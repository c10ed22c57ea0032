import Foundation

/// For tests that must land a signal inside training whatever the
/// machine's speed (a real Slurm's time-limit warning comes 20–50 s into a
/// job): `SIMBA_TEST_EPOCH_SECONDS=N` makes every epoch last at least N
/// seconds by waiting after its checkpoint. Waiting changes no result.
enum TestPacing {
    static let epochSeconds = ProcessInfo.processInfo.environment["SIMBA_TEST_EPOCH_SECONDS"].flatMap(Double.init) ?? 0

    /// Waits out the rest of an epoch that began at `started`.
    static func finishEpoch(startedAt started: UInt64) {
        guard epochSeconds > 0 else { return }
        let left = epochSeconds - Clock.seconds(since: started)
        if left > 0 { Thread.sleep(forTimeInterval: left) }
    }
}
