extension H5Group {
    /// Reads dataset `name` after checking that its shape is `shape`: a
    /// damaged or foreign file is refused ("cannot read /samples/label in
    /// d.h5: its shape is [1099511627776], expected [64] (one row per
    /// image)") before anything is allocated. `meaning` says why that shape.
    public func read<T: H5Element>(_ name: String, shape: [Int], meaning: String, as type: T.Type = T.self) throws -> [T] {
        let dataset = try dataset(name)
        let stored = try dataset.shape
        guard stored == shape else {
            throw HDF5Error(operation: "read \(childPath(name))", path: file.path,
                            stack: ["its shape is \(stored), expected \(shape) (\(meaning))"])
        }
        return try dataset.read()
    }
}
