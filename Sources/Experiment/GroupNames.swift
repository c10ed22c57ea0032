/// Readable names of combined bias groups: "none" for no bias, otherwise
/// the biases present joined by "+" ("morph", "morph+contrast").
public struct GroupNames: Sendable, Equatable {
    public static let none = "none"
    public let biasNames: [String]

    public init(biasNames: [String]) { self.biasNames = biasNames }

    public func name(of group: Int) -> String {
        let present = biasNames.indices.filter { group & (1 << $0) != 0 }.map { biasNames[$0] }
        return present.isEmpty ? Self.none : present.joined(separator: "+")
    }
}
