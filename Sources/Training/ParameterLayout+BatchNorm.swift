import Network

extension ParameterLayout {
    /// The batch-norm slices of the flat buffer (FedBN keeps them per site).
    var batchNormRanges: [Range<Int>] { slices.filter { $0.name.contains(".bn.") }.map(\.range) }
}
