import CMPI

extension Communicator {
    /// Gathers each rank's array (lengths may differ) at `root`, in rank
    /// order. Returns the arrays on the root and nil elsewhere.
    public func gather<T: MPIScalar & Numeric>(_ local: [T], root: Int) throws -> [[T]]? {
        try CollectiveSections.enter("MPI_Gatherv", on: handle)
        try checkRank(root, "MPI_Gatherv")
        let counts = try gatherCounts(local.count, root: root)
        let (displacements, total) = try layout(counts, operation: "MPI_Gatherv")
        var received = [T](repeating: 0, count: rank == root ? total : 0)
        let counts32 = counts.map { Int32($0) }
        try local.withUnsafeBufferPointer { send in
            try received.withUnsafeMutableBufferPointer { receive in
                try check(MPI_Gatherv(send.baseAddress, Int32(local.count), T.mpiDatatype,
                                      receive.baseAddress, counts32, displacements, T.mpiDatatype,
                                      Int32(root), handle), "MPI_Gatherv")
            }
        }
        guard rank == root else { return nil }
        return split(received, counts: counts)
    }

    /// Gathers each rank's array (lengths may differ) on every rank, in rank order.
    public func allgather<T: MPIScalar & Numeric>(_ local: [T]) throws -> [[T]] {
        try CollectiveSections.enter("MPI_Allgatherv", on: handle)
        var counts = [Int](repeating: 0, count: size)
        counts[rank] = local.count
        try allreduce(&counts, op: .sum)
        let (displacements, total) = try layout(counts, operation: "MPI_Allgatherv")
        var received = [T](repeating: 0, count: total)
        let counts32 = counts.map { Int32($0) }
        try local.withUnsafeBufferPointer { send in
            try received.withUnsafeMutableBufferPointer { receive in
                try check(MPI_Allgatherv(send.baseAddress, Int32(local.count), T.mpiDatatype,
                                         receive.baseAddress, counts32, displacements, T.mpiDatatype,
                                         handle), "MPI_Allgatherv")
            }
        }
        return split(received, counts: counts)
    }

    /// Gathers each rank's `local` (rank r sends `counts[r]` elements) into
    /// `all` on every rank, in rank order, when every rank knows the counts.
    public func allgather<T: MPIScalar>(_ local: UnsafeBufferPointer<T>, into all: UnsafeMutableBufferPointer<T>,
                                        counts: [Int]) throws {
        try CollectiveSections.enter("MPI_Allgatherv", on: handle)
        guard counts.count == size, counts[rank] == local.count else {
            throw MPIError(operation: "MPI_Allgatherv", message: "counts \(counts) do not match \(size) ranks sending \(local.count) here")
        }
        let (displacements, total) = try layout(counts, operation: "MPI_Allgatherv")
        guard total <= all.count else {
            throw MPIError(operation: "MPI_Allgatherv", message: "\(total) elements do not fit a buffer of \(all.count)")
        }
        try check(MPI_Allgatherv(local.baseAddress, Int32(local.count), T.mpiDatatype,
                                 all.baseAddress, counts.map { Int32($0) }, displacements, T.mpiDatatype,
                                 handle), "MPI_Allgatherv")
    }

    /// Gathers one value per rank on every rank.
    public func allgather<T: MPIScalar & Numeric>(_ value: T) throws -> [T] {
        try allgather([value]).map { $0[0] }
    }

    private func gatherCounts(_ count: Int, root: Int) throws -> [Int] {
        var counts = [Int](repeating: 0, count: size)
        counts[rank] = count
        // Every rank needs nothing but the root needs all counts; a reduce to
        // root would do, but the sum-allreduce of a tiny array is as cheap.
        try allreduce(&counts, op: .sum)
        return counts
    }

    private func layout(_ counts: [Int], operation: String) throws -> ([Int32], Int) {
        var displacements = [Int32]()
        displacements.reserveCapacity(counts.count)
        var total = 0
        for count in counts {
            displacements.append(Int32(truncatingIfNeeded: total))
            total += count
        }
        guard total <= Int(Int32.max) else {
            throw MPIError(operation: operation,
                           message: "\(total) elements in all exceed MPI's 32-bit displacement limit")
        }
        return (displacements, total)
    }

    private func split<T>(_ flat: [T], counts: [Int]) -> [[T]] {
        var result = [[T]]()
        result.reserveCapacity(counts.count)
        var offset = 0
        for count in counts {
            result.append(Array(flat[offset..<offset + count]))
            offset += count
        }
        return result
    }
}
