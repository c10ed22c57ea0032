import CMPI

/// The collective rule, checked at run time: inside `unanimously { }` no
/// collective call is allowed on any communicator, and inside
/// `agreeing(afterSubgroups:)` none on the agreeing communicator itself. A
/// rank that failed before such a call would leave the others waiting in it
/// while it waits in the agreement: a hang. A breach throws
/// `CollectiveRuleViolation` on the rank that made it (every rank runs the
/// same code, so every rank breaks the rule at the same place and the
/// agreement that follows reports it once).
enum CollectiveSections {
    /// Open local-only sections (`unanimously` bodies), innermost last.
    nonisolated(unsafe) static var localOnlyDepth = 0
    /// Communicators whose `agreeing(afterSubgroups:)` body is running.
    nonisolated(unsafe) static var agreeing: [MPI_Comm] = []

    /// Called first by every collective method of `Communicator`.
    static func enter(_ operation: String, on handle: MPI_Comm) throws {
        if localOnlyDepth > 0 {
            throw CollectiveRuleViolation(operation: operation, section: "unanimously { }, whose body must make no collective call")
        }
        if agreeing.contains(where: { $0 == handle }) {
            throw CollectiveRuleViolation(operation: operation,
                                          section: "agreeing(afterSubgroups:) on the same communicator, whose body may only use its subgroups")
        }
    }
}

/// A collective call where the collective rule forbids one: a programming
/// error, reported instead of risking a hang.
public struct CollectiveRuleViolation: Error, CustomStringConvertible, Sendable {
    public let operation: String
    public let section: String
    public var description: String { "internal error: \(operation) called inside \(section)" }
}

/// An error that every rank of a communicator raises alike, at the same
/// point, by construction (it follows from values the ranks agreed on, such
/// as allreduced gradients or a collective check). Such an error can be
/// agreed on a larger communicator afterwards without a hang.
public protocol AgreedError: Error {}

extension CollectiveFailure: AgreedError {}
extension StopRequested: AgreedError {}

extension Communicator {
    /// Runs `body`, whose collective calls go to subgroups of this
    /// communicator (e.g. each site's ranks) and never to this one, then lets
    /// every rank of this communicator agree on the outcome: an `AgreedError`
    /// on any rank (agreed within its subgroup) is raised on every rank as
    /// the lowest failing rank's `CollectiveFailure` (a stop request as
    /// itself). Any other error was not agreed — other ranks may be waiting
    /// in a subgroup collective for this rank — so it propagates at once,
    /// and the launcher ends the job (a clean exit if every rank failed,
    /// an abort otherwise), never a hang.
    public func agreeing<T>(afterSubgroups body: () throws -> T) throws -> T {
        CollectiveSections.agreeing.append(handle)
        let outcome: Result<T, Error>
        do {
            defer { CollectiveSections.agreeing.removeLast() }
            outcome = .success(try body())
        } catch let agreed as AgreedError {
            outcome = .failure(agreed)
        }
        let stop = try allreduce(Int(outcome.stopSignal ?? 0), op: .max)
        if stop != 0 { throw StopRequested(signal: Int32(stop)) }
        return try unanimously { try outcome.get() }
    }
}

extension Result {
    /// The signal of a `StopRequested` failure.
    fileprivate var stopSignal: Int32? {
        if case .failure(let error) = self, let stop = error as? StopRequested { return stop.signal }
        return nil
    }
}
