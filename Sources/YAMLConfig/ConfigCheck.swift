/// What a key's value must satisfy, as the problem it reports ("must be at
/// least 1, got 0"); the schema puts the key's path in front.
public struct ConfigCheck<Value>: Sendable {
    let problem: @Sendable (Value) -> String?

    /// `problem` returns nil for a good value, else what is wrong with it.
    public init(_ problem: @escaping @Sendable (Value) -> String?) {
        self.problem = problem
    }

    /// Every value will do.
    public static var none: ConfigCheck { ConfigCheck { _ in nil } }
}

extension ConfigCheck where Value: Comparable & Sendable {
    /// The usual lower bound: "must be at least 1, got 0" ("… at least 100
    /// resamples, got 10" with a unit).
    public static func atLeast(_ lowest: Value, _ unit: String = "") -> ConfigCheck {
        ConfigCheck { $0 >= lowest ? nil : "must be at least \(lowest)\(unit.isEmpty ? "" : " " + unit), got \($0)" }
    }
}

extension ConfigCheck where Value: Comparable & Sendable {
    /// A lower and an upper bound: "must be at least 1, got 0", "must be at
    /// most 1000000, got 20000000" (with a unit after the bound).
    public static func within(_ range: ClosedRange<Value>, _ unit: String = "") -> ConfigCheck {
        let below = atLeast(range.lowerBound, unit)
        return ConfigCheck {
            below.problem($0) ?? ($0 <= range.upperBound ? nil
                : "must be at most \(range.upperBound)\(unit.isEmpty ? "" : " " + unit), got \($0)")
        }
    }
}
