import CHDF5
import Limits

extension H5Group {
    /// Writes a one-dimensional dataset of UTF-8 strings, stored fixed-length
    /// (null-padded to the longest) because parallel HDF5 cannot write
    /// variable-length data. Every rank passes the same strings; rank 0's
    /// block is stored in one collective write.
    public func writeStrings(_ name: String, _ values: [String]) throws {
        let child = childPath(name)
        let what = "write string dataset '\(child)'"
        let width = max(1, values.map { $0.utf8.count }.max() ?? 1)
        let type = try checked(H5Tcopy(simba_h5t_c_s1()), what)
        defer { H5Tclose(type) }
        H5Tset_size(type, width)
        H5Tset_strpad(type, H5T_STR_NULLPAD)
        H5Tset_cset(type, H5T_CSET_UTF8)
        var count = hsize_t(values.count)
        let space = try checked(H5Screate_simple(1, &count, nil), what)
        defer { H5Sclose(space) }
        let links = try checked(H5Pcreate(simba_h5p_link_create()), what)
        defer { H5Pclose(links) }
        H5Pset_create_intermediate_group(links, 1)
        let dataset = try checked(H5Dcreate2(id, name, type, space, links, simba_h5p_default(), simba_h5p_default()),
                                  what, path: file.path)
        defer { H5Dclose(dataset) }
        // An empty dataset has no storage to write to (every rank sees the same count).
        if values.isEmpty { return }
        var packed = [UInt8](repeating: 0, count: values.count * width)
        for (index, value) in values.enumerated() {
            for (offset, byte) in value.utf8.enumerated() { packed[index * width + offset] = byte }
        }
        let isWriter = (file.communicator?.rank ?? 0) == 0
        let fileSpace = H5Scopy(space)
        defer { H5Sclose(fileSpace) }
        let memorySpace = H5Scopy(space)
        defer { H5Sclose(memorySpace) }
        if !isWriter {
            H5Sselect_none(fileSpace)
            H5Sselect_none(memorySpace)
        }
        try packed.withUnsafeBufferPointer { buffer in
            _ = try checked(H5Dwrite(dataset, type, memorySpace, fileSpace, file.transfer,
                                 buffer.baseAddress.map(UnsafeRawPointer.init) ?? UnsafeRawPointer(bitPattern: 1)),
                        what, path: file.path)
        }
    }

    /// Reads a one-dimensional string dataset (fixed or variable length).
    public func readStrings(_ name: String) throws -> [String] {
        let child = childPath(name)
        let what = "read string dataset '\(child)'"
        let dataset = try checked(H5Dopen2(id, name, simba_h5p_default()), what, path: file.path)
        defer { H5Dclose(dataset) }
        let stored = H5Dget_type(dataset)
        defer { H5Tclose(stored) }
        guard H5Tget_class(stored) == H5T_STRING else {
            throw HDF5Error(operation: what, path: file.path, stack: ["it holds \(StoredType(stored).name) values"])
        }
        let space = H5Dget_space(dataset)
        defer { H5Sclose(space) }
        let count = Int(H5Sget_simple_extent_npoints(space))
        let width = H5Tget_size(stored)
        try MachineMemory.require(checkedProduct([count, max(width, 64)]), for: "\(file.path): reading \(count) strings of \(child)",
                                  remedy: "is the file damaged?")
        if H5Tis_variable_str(stored) > 0 {
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            try checked(H5Dread(dataset, stored, simba_h5s_all(), simba_h5s_all(), file.transfer, &pointers),
                        what, path: file.path)
            defer { H5Dvlen_reclaim(stored, space, simba_h5p_default(), &pointers) }
            return pointers.map { $0.map { String(cString: $0) } ?? "" }
        }
        var packed = [UInt8](repeating: 0, count: max(1, count * width))
        try checked(H5Dread(dataset, stored, simba_h5s_all(), simba_h5s_all(), file.transfer, &packed),
                    what, path: file.path)
        return (0..<count).map { index in
            String(decoding: packed[index * width..<(index + 1) * width].prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
