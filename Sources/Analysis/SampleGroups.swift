/// Which samples belong to which group key (bias group, site, or a combined
/// key such as "bias=1|site=A").
public struct SampleGroups: Sendable, Equatable {
    public let keys: [String]
    /// Distinct keys, sorted, so tables and resample streams have a fixed order.
    public let distinctKeys: [String]
    private let membersByKey: [String: [Int]]

    public init(_ keys: [String]) {
        self.keys = keys
        var members: [String: [Int]] = [:]
        for (index, key) in keys.enumerated() { members[key, default: []].append(index) }
        membersByKey = members
        distinctKeys = members.keys.sorted()
    }

    /// Joins per-sample keys of several factors into one key per sample:
    /// `combining([["0","1"], ["A","B"]])` gives ["0|A", "1|B"].
    public static func combining(_ factors: [[String]], separator: String = "|") throws -> SampleGroups {
        guard let count = factors.first?.count else { throw AnalysisError.emptyInput("group factors") }
        for factor in factors { try validateLength(factor, "group factor", expected: count) }
        return SampleGroups((0..<count).map { index in
            factors.map { $0[index] }.joined(separator: separator)
        })
    }

    public var count: Int { keys.count }

    /// Indices of the samples in `key`, in input order.
    public func members(of key: String) throws -> [Int] {
        guard let members = membersByKey[key] else { throw AnalysisError.unknownGroup(key) }
        return members
    }

    /// 1 for members of `key`, 0 otherwise: multiplies bootstrap counts to
    /// restrict a statistic to one group.
    func mask(of key: String) throws -> [Double] {
        var mask = Array(repeating: 0.0, count: keys.count)
        for index in try members(of: key) { mask[index] = 1 }
        return mask
    }
}
