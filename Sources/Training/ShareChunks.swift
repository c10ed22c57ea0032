import Cluster

/// Inference over a split shared by the ranks of a communicator: each rank
/// takes its even share of `count` items, in chunks of at most `chunk`.
/// Every rank makes the same number of agreed loads (ranks whose share is
/// shorter load nothing in their last ones), so a failed read on one rank
/// is reported by all and none is left waiting.
public struct ShareChunks {
    public let count: Int
    public let chunk: Int
    public let communicator: Communicator
    /// Consecutive ranks that take the same share (a spatial group).
    public let groupSize: Int

    public init(count: Int, chunk: Int, communicator: Communicator, groupSize: Int = 1) {
        self.count = count
        self.chunk = chunk
        self.communicator = communicator
        self.groupSize = groupSize
    }

    /// Calls `load` with each chunk's positions (agreed over the ranks) and
    /// then `body` with the positions and what was loaded, skipping empty chunks.
    public func forEach(load: (Range<Int>) throws -> [Float],
                        _ body: (_ positions: Range<Int>, _ images: [Float]) throws -> Void) throws {
        let shares = communicator.size / groupSize
        let share = evenShare(of: count, rank: communicator.rank / groupSize, size: shares)
        let chunks = (evenShare(of: count, rank: 0, size: shares).count + chunk - 1) / chunk
        var start = share.lowerBound
        for _ in 0..<chunks {
            let positions = start..<min(start + chunk, share.upperBound)
            let images = try communicator.unanimously { try load(positions) }
            start = positions.upperBound
            if positions.isEmpty { continue }
            try body(positions, images)
        }
    }
}
