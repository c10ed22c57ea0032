import CMPI

extension Communicator {
    /// Sends a buffer to one rank (blocking). The receiver must know the count.
    public func send<T: MPIScalar>(_ buffer: UnsafeBufferPointer<T>, to destination: Int, tag: Int = 0) throws {
        try CollectiveSections.enter("MPI_Send", on: handle)
        try checkRank(destination, "MPI_Send")
        let step = chunkElements(T.self)
        var offset = 0
        repeat {
            let count = min(step, buffer.count - offset)
            try check(MPI_Send(buffer.baseAddress.map { UnsafeRawPointer($0 + offset) }, Int32(count),
                               T.mpiDatatype, Int32(destination), Int32(tag), handle), "MPI_Send")
            offset += count
        } while offset < buffer.count
    }

    public func send<T: MPIScalar>(_ array: [T], to destination: Int, tag: Int = 0) throws {
        try array.withUnsafeBufferPointer { try send($0, to: destination, tag: tag) }
    }

    /// Receives exactly `buffer.count` elements from one rank (blocking).
    public func receive<T: MPIScalar>(into buffer: UnsafeMutableBufferPointer<T>, from source: Int, tag: Int = 0) throws {
        try CollectiveSections.enter("MPI_Recv", on: handle)
        try checkRank(source, "MPI_Recv")
        let step = chunkElements(T.self)
        var offset = 0
        repeat {
            let count = min(step, buffer.count - offset)
            var status = MPI_Status()
            try check(MPI_Recv(buffer.baseAddress.map { UnsafeMutableRawPointer($0 + offset) }, Int32(count),
                               T.mpiDatatype, Int32(source), Int32(tag), handle, &status), "MPI_Recv")
            var received: Int32 = 0
            MPI_Get_count(&status, T.mpiDatatype, &received)
            if received != Int32(count) {
                throw MPIError(operation: "MPI_Recv",
                               message: "expected \(count) elements from rank \(source), got \(received)")
            }
            offset += count
        } while offset < buffer.count
    }

    public func receive<T: MPIScalar & Numeric>(count: Int, from source: Int, tag: Int = 0) throws -> [T] {
        var result = [T](repeating: 0, count: count)
        try result.withUnsafeMutableBufferPointer { try receive(into: $0, from: source, tag: tag) }
        return result
    }

    /// Sends `send` to `destination` and receives exactly as many elements
    /// from `source` into `receive`, at once (MPI_Sendrecv, so neighbours
    /// swapping in both directions cannot deadlock). A nil side has no
    /// partner: nothing is sent or received there.
    public func sendReceive<T: MPIScalar>(_ send: UnsafeBufferPointer<T>?, to destination: Int?,
                                          into receive: UnsafeMutableBufferPointer<T>?, from source: Int?,
                                          tag: Int = 0) throws {
        try CollectiveSections.enter("MPI_Sendrecv", on: handle)
        if let destination { try checkRank(destination, "MPI_Sendrecv") }
        if let source { try checkRank(source, "MPI_Sendrecv") }
        let sendCount = destination == nil ? 0 : send?.count ?? 0
        let receiveCount = source == nil ? 0 : receive?.count ?? 0
        guard sendCount <= Int(Int32.max), receiveCount <= Int(Int32.max) else {
            throw MPIError(operation: "MPI_Sendrecv", message: "\(max(sendCount, receiveCount)) elements exceed MPI's 32-bit count")
        }
        let none = simba_mpi_proc_null()
        var status = MPI_Status()
        try check(MPI_Sendrecv(send?.baseAddress.map { UnsafeRawPointer($0) }, Int32(sendCount), T.mpiDatatype,
                               destination.map { Int32($0) } ?? none, Int32(tag),
                               receive?.baseAddress.map { UnsafeMutableRawPointer($0) }, Int32(receiveCount), T.mpiDatatype,
                               source.map { Int32($0) } ?? none, Int32(tag), handle, &status), "MPI_Sendrecv")
        if source != nil {
            var received: Int32 = 0
            MPI_Get_count(&status, T.mpiDatatype, &received)
            if received != Int32(receiveCount) {
                throw MPIError(operation: "MPI_Sendrecv", message: "expected \(receiveCount) elements from rank \(source!), got \(received)")
            }
        }
    }
}
