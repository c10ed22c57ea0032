/// Raised on every rank of a communicator when one of its ranks failed inside
/// `unanimously`; carries the first failing rank's own message, so a single
/// rank can report it.
public struct CollectiveFailure: Error, CustomStringConvertible, Sendable {
    /// The lowest rank (in the communicator) that failed.
    public let failedRank: Int
    public let message: String

    public var description: String { message }
}

extension Communicator {
    /// Runs `body` on every rank, then lets all ranks agree whether it
    /// succeeded everywhere. If any rank threw, every rank throws the same
    /// `CollectiveFailure` with the lowest failing rank's message, so the job
    /// can stop cleanly (no rank left waiting in a collective, no abort).
    ///
    /// `body` must not itself make collective calls, on this communicator or
    /// any other: a rank that fails before reaching one would leave the
    /// others waiting. Such a call throws `CollectiveRuleViolation`.
    public func unanimously<T>(_ body: () throws -> T) throws -> T {
        let outcome: Result<T, Error>
        CollectiveSections.localOnlyDepth += 1
        do { outcome = .success(try body()) } catch { outcome = .failure(error) }
        CollectiveSections.localOnlyDepth -= 1
        var localFailure: String?
        if case .failure(let error) = outcome { localFailure = String(describing: error) }

        let firstFailed = try allreduce(localFailure == nil ? size : rank, op: .min)
        if firstFailed == size { return try outcome.get() }
        let message = try broadcast(localFailure ?? "", root: firstFailed)
        throw CollectiveFailure(failedRank: firstFailed, message: message)
    }
}
