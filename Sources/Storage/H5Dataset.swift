import CHDF5
import Limits

/// A typed n-dimensional array in an HDF5 file.
public final class H5Dataset: H5AttributeHolder {
    public let file: H5File
    public let path: String
    let id: hid_t

    init(file: H5File, path: String, id: hid_t) {
        self.file = file
        self.path = path
        self.id = id
        file.register(id)
    }

    public var objectID: hid_t { id }
    public var objectDescription: String { "dataset '\(path)'" }

    /// Current extent of every dimension.
    public var shape: [Int] {
        get throws { try extents().current }
    }

    /// Maximum extent of every dimension; nil where unlimited.
    public var maxShape: [Int?] {
        get throws { try extents().maximum }
    }

    private func extents() throws -> (current: [Int], maximum: [Int?]) {
        let space = try checked(H5Dget_space(id), "get the dataspace of \(objectDescription)", path: file.path)
        defer { H5Sclose(space) }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        var current = [hsize_t](repeating: 0, count: rank)
        var maximum = [hsize_t](repeating: 0, count: rank)
        H5Sget_simple_extent_dims(space, &current, &maximum)
        return (current.map { Int($0) }, maximum.map { $0 == simba_h5s_unlimited() ? nil : Int($0) })
    }

    /// The stored element type's name ("float32", "int64", "string", …).
    public var elementTypeName: String {
        let type = H5Dget_type(id)
        defer { H5Tclose(type) }
        return StoredType(type).name
    }

    func checkReadable<T: H5Element>(as type: T.Type) throws {
        let stored = H5Dget_type(id)
        defer { H5Tclose(stored) }
        let info = StoredType(stored)
        guard info.kind == T.h5Kind else {
            throw HDF5Error(operation: "read \(objectDescription) as \(T.h5Name)", path: file.path,
                            stack: ["it holds \(info.name) values"])
        }
    }

    /// Writes `data` (row-major, x last) into the hyperslab at `offset` of
    /// size `count`. In a parallel file this is collective: every rank calls
    /// it, with its own (possibly empty) block.
    public func write<T: H5Element>(_ data: UnsafeBufferPointer<T>, offset: [Int], count: [Int]) throws {
        let selection = try H5Selection(dataset: id, offset: offset, count: count, description: objectDescription)
        defer { selection.close() }
        guard data.count == selection.elementCount else {
            throw HDF5Error(operation: "write \(objectDescription)", path: file.path,
                            stack: ["\(data.count) values given for a block of \(selection.elementCount)"])
        }
        try checked(H5Dwrite(id, T.h5MemoryType, selection.memorySpace, selection.fileSpace,
                             file.transfer, data.baseAddress.map(UnsafeRawPointer.init) ?? UnsafeRawPointer(bitPattern: 1)),
                    "write \(objectDescription)", path: file.path)
    }

    public func write<T: H5Element>(_ data: [T], offset: [Int], count: [Int]) throws {
        try data.withUnsafeBufferPointer { try write($0, offset: offset, count: count) }
    }

    /// Writes the whole dataset from one array (every rank passes the same
    /// data in a parallel file; the collective write stores it once).
    public func write<T: H5Element>(_ data: [T]) throws {
        let shape = try self.shape
        try write(data, offset: [Int](repeating: 0, count: shape.count), count: shape)
    }

    /// Reads the hyperslab at `offset` of size `count` into `buffer`.
    /// Collective in a parallel file.
    public func read<T: H5Element>(into buffer: UnsafeMutableBufferPointer<T>, offset: [Int], count: [Int]) throws {
        try checkReadable(as: T.self)
        let selection = try H5Selection(dataset: id, offset: offset, count: count, description: objectDescription)
        defer { selection.close() }
        guard buffer.count == selection.elementCount else {
            throw HDF5Error(operation: "read \(objectDescription)", path: file.path,
                            stack: ["a buffer of \(buffer.count) values for a block of \(selection.elementCount)"])
        }
        try checked(H5Dread(id, T.h5MemoryType, selection.memorySpace, selection.fileSpace,
                            file.transfer, buffer.baseAddress.map(UnsafeMutableRawPointer.init) ?? UnsafeMutableRawPointer(bitPattern: 1)),
                    "read \(objectDescription)", path: file.path)
    }

    /// A block larger than this node's memory is refused before it is allocated.
    public func read<T: H5Element>(_ type: T.Type = T.self, offset: [Int], count: [Int]) throws -> [T] {
        let values = checkedProduct(count)
        try MachineMemory.require(values.flatMap { checkedProduct([$0, MemoryLayout<T>.stride]) },
                                  for: "\(file.path): reading \(count) values of \(path)", remedy: "is the file damaged?")
        var result = [T](repeating: T.zero, count: values ?? 0)
        try result.withUnsafeMutableBufferPointer { try read(into: $0, offset: offset, count: count) }
        return result
    }

    /// Reads the whole dataset.
    public func read<T: H5Element>(_ type: T.Type = T.self) throws -> [T] {
        let shape = try self.shape
        return try read(type, offset: [Int](repeating: 0, count: shape.count), count: shape)
    }

    /// Grows (or shrinks) the dataset to `shape`; only dimensions created
    /// with a larger maximum can change. Collective in a parallel file.
    public func resize(to shape: [Int]) throws {
        let extent = shape.map { hsize_t($0) }
        try checked(H5Dset_extent(id, extent), "resize \(objectDescription) to \(shape)", path: file.path)
    }

    deinit { file.release(id) }
}

extension H5Group {
    /// Creates a dataset of `T` with the given shape. `maxShape` entries of
    /// nil make a dimension unlimited (extendable, which needs `chunk`).
    /// `deflate` (0–9) compresses chunks; parallel files can only compress
    /// through collective writes, which is what simba uses.
    public func createDataset<T: H5Element>(_ name: String, of type: T.Type, shape: [Int],
                                            maxShape: [Int?]? = nil, chunk: [Int]? = nil,
                                            deflate: Int? = nil) throws -> H5Dataset {
        let child = childPath(name)
        let maximum = maxShape ?? shape.map { Optional($0) }
        guard maximum.count == shape.count, chunk.map({ $0.count == shape.count }) ?? true else {
            throw HDF5Error(operation: "create \(child)", path: file.path,
                            stack: ["shape, maximum shape and chunk must have the same number of dimensions"])
        }
        if chunk == nil && maximum.contains(where: { $0 == nil }) || deflate != nil && chunk == nil {
            throw HDF5Error(operation: "create \(child)", path: file.path,
                            stack: ["extendable or compressed datasets need a chunk shape"])
        }
        let dims = shape.map { hsize_t($0) }
        let maxDims = maximum.map { $0.map { hsize_t($0) } ?? simba_h5s_unlimited() }
        let space = try checked(H5Screate_simple(Int32(shape.count), dims, maxDims),
                                "make the dataspace of \(child)", path: file.path)
        defer { H5Sclose(space) }
        let creation = try checked(H5Pcreate(simba_h5p_dataset_create()), "create a dataset property list")
        defer { H5Pclose(creation) }
        if let chunk {
            try checked(H5Pset_chunk(creation, Int32(chunk.count), chunk.map { hsize_t(max(1, $0)) }),
                        "set the chunk shape \(chunk) of \(child)", path: file.path)
        }
        if let deflate {
            try checked(H5Pset_deflate(creation, UInt32(min(9, max(0, deflate)))),
                        "set compression of \(child)", path: file.path)
        }
        let links = try checked(H5Pcreate(simba_h5p_link_create()), "create a link property list")
        defer { H5Pclose(links) }
        H5Pset_create_intermediate_group(links, 1)
        let id = try checked(H5Dcreate2(self.id, name, T.h5FileType, space, links, creation, simba_h5p_default()),
                             "create dataset '\(child)'", path: file.path)
        return H5Dataset(file: file, path: child, id: id)
    }

    /// Opens an existing dataset.
    public func dataset(_ name: String) throws -> H5Dataset {
        let child = childPath(name)
        let id = try checked(H5Dopen2(self.id, name, simba_h5p_default()),
                             "open dataset '\(child)'", path: file.path)
        return H5Dataset(file: file, path: child, id: id)
    }

    /// Creates a one-dimensional dataset from `values` in one collective call:
    /// every rank passes the same values, and rank 0's block is stored.
    public func writeDataset<T: H5Element>(_ name: String, _ values: [T], shape: [Int]? = nil,
                                           deflate: Int? = nil) throws {
        let shape = shape ?? [values.count]
        let chunk = deflate == nil ? nil : shape.map { max(1, $0) }
        let dataset = try createDataset(name, of: T.self, shape: shape, chunk: chunk, deflate: deflate)
        if values.isEmpty { return }
        let isWriter = (file.communicator?.rank ?? 0) == 0
        try dataset.write(isWriter ? values : [], offset: [Int](repeating: 0, count: shape.count),
                          count: isWriter ? shape : [Int](repeating: 0, count: shape.count))
    }
}
