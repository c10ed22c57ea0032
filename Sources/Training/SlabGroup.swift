import Cluster
import Network

/// Refuses `ranks` that do not form whole spatial groups of `parts`
/// (`simba train` and `simba run` check it before anything is written).
public func checkWholeSpatialGroups(of parts: Int, ranks: Int) throws {
    guard ranks % parts == 0 else {
        throw TrainingError("training.spatial \(parts) needs a rank count that is a multiple of \(parts), got \(ranks)")
    }
}

/// Spatial parallelism (`training.spatial`): consecutive ranks of a
/// replica form groups of `parts` that train each sample together, each
/// holding a slab of it (SlabPartition.swift). The batch is dealt to the
/// groups as it is dealt to ranks without spatial parallelism; inside a
/// group the halo planes go to the neighbours and the last split block's
/// output is gathered, over the group's own communicator.
final class SlabGroup: SlabExchange {
    /// The group's ranks, in slab order.
    let communicator: Communicator
    let partition: SlabPartition
    /// Seconds spent exchanging (communication in the metrics).
    private(set) var seconds = 0.0
    /// Bytes this rank sent to its neighbours and into gathers.
    private(set) var bytesSent = 0
    /// The first MPI failure inside a pass (hooks cannot throw); checked after each step.
    private(set) var failure: Error?

    /// The group of `replica`'s rank: ranks r·parts ..< (r+1)·parts.
    init(replica: Communicator, parts: Int, configuration: SimbaCNNConfiguration) throws {
        try checkWholeSpatialGroups(of: parts, ranks: replica.size)
        partition = try SlabPartition(configuration: configuration, parts: parts, index: replica.rank % parts)
        guard let communicator = try replica.split(color: replica.rank / parts, key: replica.rank) else {
            throw TrainingError("internal error: rank \(replica.rank) joined no spatial group")
        }
        self.communicator = communicator
    }

    /// Which group this rank is in and how many there are: the ranks the batch is dealt to.
    static func dataRank(_ replica: Communicator, parts: Int) -> (rank: Int, size: Int) {
        (replica.rank / parts, replica.size / parts)
    }

    func checkFailure() throws {
        if let failure { throw failure }
    }

    private func timed(_ body: () throws -> Void) {
        let started = Clock.now
        do { try body() } catch { failure = failure ?? error }
        seconds += Clock.seconds(since: started)
    }

    /// The swap in flight (between startSwap and finishSwap).
    private var pending: PendingTransfers?

    func startSwap(toLower: UnsafeBufferPointer<Float>?, toUpper: UnsafeBufferPointer<Float>?,
                   fromLower: UnsafeMutableBufferPointer<Float>?, fromUpper: UnsafeMutableBufferPointer<Float>?) {
        guard failure == nil else { return }
        let rank = communicator.rank
        let lower = partition.hasLower ? rank - 1 : nil, upper = partition.hasUpper ? rank + 1 : nil
        var sends: [(buffer: UnsafeBufferPointer<Float>, to: Int)] = []
        var receives: [(buffer: UnsafeMutableBufferPointer<Float>, from: Int)] = []
        if let lower, let toLower { sends.append((toLower, lower)) }
        if let upper, let toUpper { sends.append((toUpper, upper)) }
        if let lower, let fromLower { receives.append((fromLower, lower)) }
        if let upper, let fromUpper { receives.append((fromUpper, upper)) }
        timed { pending = try communicator.startTransfers(sends: sends, receives: receives) }
        bytesSent += 4 * sends.reduce(0) { $0 + $1.buffer.count }
    }

    func progressSwap() {
        guard failure == nil, let pending else { return }
        timed { try pending.progress() }
    }

    func finishSwap() {
        guard let transfers = pending else { return }
        pending = nil
        timed { try transfers.wait() }
    }

    func sumOverGroup(_ values: inout [Double]) {
        guard failure == nil else { return }
        timed { try communicator.allreduce(&values, op: .sum) }
    }

    func gatherParts(_ local: UnsafePointer<Float>, into all: UnsafeMutablePointer<Float>, counts: [Int]) {
        guard failure == nil else { return }
        timed {
            try communicator.allgather(UnsafeBufferPointer(start: local, count: counts[communicator.rank]),
                                       into: UnsafeMutableBufferPointer(start: all, count: counts.reduce(0, +)), counts: counts)
        }
        bytesSent += 4 * counts[communicator.rank] * (communicator.size - 1)
    }
}
