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
}
