import Foundation

/// A failure one rank raises on purpose, for the tests of the collective
/// rule: `SIMBA_TEST_FAULT=round:R:rank:K` makes world rank K throw at the
/// start of round (epoch) R, while the other ranks go on into the round's
/// collectives. The job must then end with an error, never hang.
struct InjectedFault: Error, CustomStringConvertible {
    let round: Int, rank: Int
    var description: String { "injected fault (SIMBA_TEST_FAULT) at round \(round) on rank \(rank)" }

    /// Throws when the environment asks for a fault here.
    static func check(round: Int, rank: Int) throws {
        guard let text = ProcessInfo.processInfo.environment["SIMBA_TEST_FAULT"] else { return }
        let parts = text.split(separator: ":").map(String.init)
        guard parts.count == 4, parts[0] == "round", parts[2] == "rank",
              Int(parts[1]) == round, Int(parts[3]) == rank else { return }
        throw InjectedFault(round: round, rank: rank)
    }
}
