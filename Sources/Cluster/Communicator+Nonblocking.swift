import CMPI

/// Point-to-point transfers started together (MPI_Isend, MPI_Irecv) and
/// finished together, so that the caller can compute while they move.
/// Every buffer must stay alive and untouched until `wait()` returns.
public final class PendingTransfers {
    private var requests: [MPI_Request?]
    /// Per request: for a receive, the count it must deliver and its source.
    private let receives: [(count: Int32, source: Int)?]
    private let datatype: MPI_Datatype
    /// Filled by the call that completes the transfers.
    private var statuses: [MPI_Status]
    private var finished = false

    fileprivate init(requests: [MPI_Request?], receives: [(count: Int32, source: Int)?], datatype: MPI_Datatype) {
        self.requests = requests
        self.receives = receives
        self.datatype = datatype
        statuses = [MPI_Status](repeating: MPI_Status(), count: requests.count)
    }

    /// Lets MPI move the transfers on (MPI_Testall): without an MPI call
    /// between start and wait, a large message may not move at all before
    /// the wait. Cheap; call it between pieces of computation.
    public func progress() throws {
        guard !finished else { return }
        var done: Int32 = 0
        try check(MPI_Testall(Int32(requests.count), &requests, &done, &statuses), "MPI_Testall")
        if done != 0 { try finish("MPI_Testall") }
    }

    /// Returns when every transfer has completed; checks that each receive got its count.
    public func wait() throws {
        guard !finished else { return }
        try check(MPI_Waitall(Int32(requests.count), &requests, &statuses), "MPI_Waitall")
        try finish("MPI_Waitall")
    }

    private func finish(_ operation: String) throws {
        finished = true
        for (index, receive) in receives.enumerated() {
            guard let receive else { continue }
            var status = statuses[index], received: Int32 = 0
            MPI_Get_count(&status, datatype, &received)
            if received != receive.count {
                throw MPIError(operation: operation, message: "expected \(receive.count) elements from rank \(receive.source), got \(received)")
            }
        }
    }

    /// A caller that failed between start and wait still must not free
    /// buffers MPI is writing into or reading from.
    deinit {
        if !finished {
            _ = MPI_Waitall(Int32(requests.count), &requests, &statuses)
        }
    }
}

extension Communicator {
    /// Starts sending each buffer of `sends` to its rank and receiving
    /// exactly each buffer of `receives`' count from its rank; nothing
    /// blocks until the returned transfers' `wait()`.
    public func startTransfers<T: MPIScalar>(sends: [(buffer: UnsafeBufferPointer<T>, to: Int)],
                                             receives: [(buffer: UnsafeMutableBufferPointer<T>, from: Int)],
                                             tag: Int = 0) throws -> PendingTransfers {
        try CollectiveSections.enter("MPI_Isend/MPI_Irecv", on: handle)
        for send in sends { try checkRank(send.to, "MPI_Isend") }
        for receive in receives { try checkRank(receive.from, "MPI_Irecv") }
        let largest = (sends.map(\.buffer.count) + receives.map(\.buffer.count)).max() ?? 0
        guard largest <= Int(Int32.max) else {
            throw MPIError(operation: "MPI_Isend/MPI_Irecv", message: "\(largest) elements exceed MPI's 32-bit count")
        }
        var requests: [MPI_Request?] = []
        var expected: [(count: Int32, source: Int)?] = []
        // Receives first: a message that arrives finds its buffer posted.
        for receive in receives {
            var request: MPI_Request? = nil
            try check(MPI_Irecv(receive.buffer.baseAddress.map { UnsafeMutableRawPointer($0) }, Int32(receive.buffer.count),
                                T.mpiDatatype, Int32(receive.from), Int32(tag), handle, &request), "MPI_Irecv")
            requests.append(request)
            expected.append((Int32(receive.buffer.count), receive.from))
        }
        for send in sends {
            var request: MPI_Request? = nil
            try check(MPI_Isend(send.buffer.baseAddress.map { UnsafeRawPointer($0) }, Int32(send.buffer.count),
                                T.mpiDatatype, Int32(send.to), Int32(tag), handle, &request), "MPI_Isend")
            requests.append(request)
            expected.append(nil)
        }
        return PendingTransfers(requests: requests, receives: expected, datatype: T.mpiDatatype)
    }
}
