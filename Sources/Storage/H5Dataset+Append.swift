import Cluster

extension H5Dataset {
    /// Appends rows along the first (unlimited) dimension.
    ///
    /// In a parallel file every rank calls this with its own rows (possibly
    /// none); the rows land in rank order after the existing ones, and the
    /// dataset grows once by the total. `rows` holds whole rows: a multiple
    /// of the product of the other dimensions.
    /// Returns the index of this rank's first appended row.
    @discardableResult
    public func append<T: H5Element>(_ rows: [T]) throws -> Int {
        let shape = try self.shape
        guard let first = shape.first else {
            throw HDF5Error(operation: "append to \(objectDescription)", path: file.path,
                            stack: ["a scalar dataset has no rows"])
        }
        let rowSize = shape.dropFirst().reduce(1, *)
        guard rowSize > 0, rows.count % rowSize == 0 else {
            throw HDF5Error(operation: "append to \(objectDescription)", path: file.path,
                            stack: ["\(rows.count) values are not whole rows of \(rowSize)"])
        }
        let localRows = rows.count / rowSize
        var rowsBefore = 0
        var totalRows = localRows
        if let communicator = file.communicator, communicator.size > 1 {
            let counts = try communicator.allgather(localRows)
            rowsBefore = counts[..<communicator.rank].reduce(0, +)
            totalRows = counts.reduce(0, +)
        }
        // Every rank knows the total, so all skip together when nothing is added.
        if totalRows == 0 { return first }
        var grown = shape
        grown[0] = first + totalRows
        try resize(to: grown)
        var offset = [Int](repeating: 0, count: shape.count)
        offset[0] = first + rowsBefore
        var count = shape
        count[0] = localRows
        try write(rows, offset: offset, count: count)
        return first + rowsBefore
    }
}
