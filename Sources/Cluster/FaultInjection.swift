import Foundation

/// A failure one rank raises on purpose, for the tests of the collective
/// rule: `SIMBA_TEST_FAULT=SITE:N:rank:K` makes world rank K throw at the
/// N-th pass through SITE — `round` (the start of training round or epoch
/// N, while the other ranks go on into the round's collectives) or `write`
/// (after cohort write round N, as a full disk would fail a write on that
/// rank alone). The job must then end with an error, never hang.
public struct InjectedFault: Error, CustomStringConvertible {
    public let site: String, index: Int, rank: Int
    public var description: String { "injected fault (SIMBA_TEST_FAULT) at \(site) \(index) on rank \(rank)" }

    /// Throws when the environment asks for a fault here.
    public static func check(_ site: String, _ index: Int, rank: Int) throws {
        guard let text = ProcessInfo.processInfo.environment["SIMBA_TEST_FAULT"] else { return }
        let parts = text.split(separator: ":").map(String.init)
        guard parts.count == 4, parts[0] == site, parts[2] == "rank",
              Int(parts[1]) == index, Int(parts[3]) == rank else { return }
        throw InjectedFault(site: site, index: index, rank: rank)
    }
}
