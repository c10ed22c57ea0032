import CMPI

extension Communicator {
    /// Reduces `buffer` across all ranks in place: afterwards every rank
    /// holds the elementwise sum (or min, max). Buffers larger than
    /// `mpiChunkBytes` are reduced piecewise, since MPI counts are 32-bit.
    public func allreduce<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) throws {
        try CollectiveSections.enter("MPI_Allreduce", on: handle)
        guard let base = buffer.baseAddress else {
            // Still take part: a zero-length buffer on every rank is a no-op.
            return
        }
        let step = chunkElements(T.self)
        var offset = 0
        while offset < buffer.count {
            let count = min(step, buffer.count - offset)
            try check(MPI_Allreduce(simba_mpi_in_place(), base + offset, Int32(count),
                                    T.mpiDatatype, op.mpiOp, handle),
                      "MPI_Allreduce")
            offset += count
        }
    }

    public func allreduce<T: MPIScalar>(_ array: inout [T], op: ReduceOp) throws {
        try array.withUnsafeMutableBufferPointer { try allreduce($0, op: op) }
    }

    /// Reduces one value across all ranks and returns the result on every rank.
    public func allreduce<T: MPIScalar>(_ value: T, op: ReduceOp) throws -> T {
        var buffer = [value]
        try allreduce(&buffer, op: op)
        return buffer[0]
    }
}
