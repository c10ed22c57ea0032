/// A request refused because of its size, before anything was allocated:
/// a bound that holds everywhere ("cohort.size: must be at most 1000000")
/// or this machine's memory ("… needs ~40 GiB per rank; this node has 24 GiB").
/// `description` is one line that names the input and what to change.
public struct ResourceLimit: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The product of `factors`, or nil when it overflows `Int` or a factor is
/// negative: sizes read from files are multiplied through this.
public func checkedProduct(_ factors: [Int]) -> Int? {
    var product = 1
    for factor in factors {
        guard factor >= 0 else { return nil }
        let (next, overflow) = product.multipliedReportingOverflow(by: factor)
        if overflow { return nil }
        product = next
    }
    return product
}
