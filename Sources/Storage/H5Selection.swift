import CHDF5

/// A file dataspace with a hyperslab (offset, count) selected, and the
/// matching memory dataspace. Empty counts select nothing, so a rank with no
/// data still takes part in a collective transfer.
struct H5Selection {
    let fileSpace: hid_t
    let memorySpace: hid_t
    let elementCount: Int

    init(dataset: hid_t, offset: [Int], count: [Int], description: String) throws {
        fileSpace = try checked(H5Dget_space(dataset), "get the dataspace of \(description)")
        let rank = Int(H5Sget_simple_extent_ndims(fileSpace))
        guard offset.count == rank, count.count == rank else {
            H5Sclose(fileSpace)
            throw HDF5Error(operation: "select in \(description)",
                            stack: ["the selection has \(count.count) dimensions, the dataset \(rank)"])
        }
        var dims = [hsize_t](repeating: 0, count: rank)
        H5Sget_simple_extent_dims(fileSpace, &dims, nil)
        for axis in 0..<rank where offset[axis] < 0 || count[axis] < 0 || offset[axis] + count[axis] > Int(dims[axis]) {
            H5Sclose(fileSpace)
            throw HDF5Error(operation: "select in \(description)",
                            stack: ["offset \(offset) + count \(count) lies outside the shape \(dims.map { Int($0) })"])
        }
        elementCount = count.reduce(1, *)
        if elementCount == 0 {
            H5Sselect_none(fileSpace)
            var one: hsize_t = 1
            memorySpace = H5Screate_simple(1, &one, nil)
            H5Sselect_none(memorySpace)
        } else {
            let start = offset.map { hsize_t($0) }
            let extent = count.map { hsize_t($0) }
            try checked(H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, start, nil, extent, nil),
                        "select a hyperslab of \(description)")
            memorySpace = H5Screate_simple(Int32(rank), extent, nil)
        }
    }

    func close() {
        H5Sclose(memorySpace)
        H5Sclose(fileSpace)
    }
}
