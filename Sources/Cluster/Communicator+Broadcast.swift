import CMPI

extension Communicator {
    /// Copies `root`'s buffer into every rank's buffer (same count everywhere).
    public func broadcast<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws {
        try CollectiveSections.enter("MPI_Bcast", on: handle)
        try checkRank(root, "MPI_Bcast")
        guard let base = buffer.baseAddress else { return }
        let step = chunkElements(T.self)
        var offset = 0
        while offset < buffer.count {
            let count = min(step, buffer.count - offset)
            try check(MPI_Bcast(base + offset, Int32(count), T.mpiDatatype, Int32(root), handle), "MPI_Bcast")
            offset += count
        }
    }

    /// Broadcasts an array whose length only the root needs to know.
    public func broadcast<T: MPIScalar & Numeric>(_ array: [T], root: Int) throws -> [T] {
        let count = try broadcast(array.count, root: root)
        var result = rank == root ? array : [T](repeating: 0, count: count)
        try result.withUnsafeMutableBufferPointer { try broadcast($0, root: root) }
        return result
    }

    public func broadcast<T: MPIScalar>(_ value: T, root: Int) throws -> T {
        var buffer = [value]
        try buffer.withUnsafeMutableBufferPointer { try broadcast($0, root: root) }
        return buffer[0]
    }

    /// Broadcasts a string (UTF-8) from `root`.
    public func broadcast(_ text: String, root: Int) throws -> String {
        let bytes = try broadcast(Array(text.utf8), root: root)
        return String(decoding: bytes, as: UTF8.self)
    }

    func checkRank(_ rank: Int, _ operation: String) throws {
        guard (0..<size).contains(rank) else {
            throw MPIError(operation: operation, message: "rank \(rank) is outside 0..<\(size)")
        }
    }
}
