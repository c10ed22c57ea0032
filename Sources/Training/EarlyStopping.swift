/// Early stopping on a validation loss: the best loss, the round (epoch)
/// it came from, and the rounds since. The whole run keeps one (on its
/// pooled validation loss); local training keeps one per site as well (on
/// the site's own model and validation samples). It follows allreduced
/// losses, so it is the same on every rank and rank 0 can store it.
public struct EarlyStopping: Equatable, Sendable {
    public var bestValidationLoss = Double.infinity
    /// 1-based round of the best loss; 0 before any (the initial model).
    public var bestRound = 0
    public var roundsWithoutImprovement = 0

    public init() {}

    /// Whether patience has run out: no more training.
    public func stopped(patience: Int) -> Bool { roundsWithoutImprovement >= patience }

    /// Counts round `round`'s validation loss; returns whether it is the
    /// new best (a NaN loss never is). Once stopped it stays as it is.
    @discardableResult
    public mutating func record(loss: Double, round: Int, patience: Int) -> Bool {
        record(improved: loss < bestValidationLoss, loss: loss, round: round, patience: patience)
    }

    /// Counts round `round` under the caller's own rule for a better model
    /// (unlearning keeps one whose disease accuracy rose while its bias
    /// accuracy fell): `improved` makes it the best, with its loss.
    @discardableResult
    public mutating func record(improved: Bool, loss: Double, round: Int, patience: Int) -> Bool {
        guard !stopped(patience: patience) else { return false }
        if improved {
            bestValidationLoss = loss
            bestRound = round
            roundsWithoutImprovement = 0
            return true
        }
        roundsWithoutImprovement += 1
        return false
    }
}

/// A site's early stopping in local training.
public typealias SiteStopping = EarlyStopping
