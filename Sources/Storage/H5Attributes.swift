import CHDF5

/// Objects that carry attributes (groups and datasets).
/// Attribute writes in a parallel file are collective: every rank writes the
/// same value.
public protocol H5AttributeHolder: AnyObject {
    var file: H5File { get }
    var objectID: hid_t { get }
    var objectDescription: String { get }
}

extension H5AttributeHolder {
    public func hasAttribute(_ name: String) -> Bool {
        let exists = H5Aexists(objectID, name)
        if exists < 0 { H5Eclear2(simba_h5e_default()) }
        return exists > 0
    }

    /// Names of all attributes of this object.
    public func attributeNames() throws -> [String] {
        var info = H5O_info_t()
        try checked(H5Oget_info2(objectID, &info, UInt32(H5O_INFO_NUM_ATTRS)),
                    "inspect \(objectDescription)", path: file.path)
        var names: [String] = []
        for index in 0..<info.num_attrs {
            var buffer = [CChar](repeating: 0, count: 256)
            let length = H5Aget_name_by_idx(objectID, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, 256,
                                            simba_h5p_default())
            if length >= 0 { names.append(String(cChars: buffer)) }
        }
        return names
    }

    public func deleteAttribute(_ name: String) throws {
        try checked(H5Adelete(objectID, name), "delete attribute '\(name)' of \(objectDescription)", path: file.path)
    }

    /// Sets a numeric attribute (an array; a scalar is written as a scalar
    /// dataspace). Replaces an existing attribute of the same name.
    public func setAttribute<T: H5Element>(_ name: String, _ values: [T]) throws {
        try setAttribute(name, values, scalar: false)
    }

    public func setAttribute<T: H5Element>(_ name: String, _ value: T) throws {
        try setAttribute(name, [value], scalar: true)
    }

    private func setAttribute<T: H5Element>(_ name: String, _ values: [T], scalar: Bool) throws {
        let what = "write attribute '\(name)' of \(objectDescription)"
        if hasAttribute(name) { try deleteAttribute(name) }
        var count = hsize_t(values.count)
        let space = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &count, nil)
        try checked(space, what, path: file.path)
        defer { H5Sclose(space) }
        let attribute = try checked(H5Acreate2(objectID, name, T.h5FileType, space, simba_h5p_default(),
                                               simba_h5p_default()), what, path: file.path)
        defer { H5Aclose(attribute) }
        try values.withUnsafeBufferPointer { buffer in
            _ = try checked(H5Awrite(attribute, T.h5MemoryType, buffer.baseAddress), what, path: file.path)
        }
    }

    /// Sets a UTF-8 string attribute (variable length: reads as `str` in h5py).
    public func setAttribute(_ name: String, _ text: String) throws {
        let what = "write attribute '\(name)' of \(objectDescription)"
        if hasAttribute(name) { try deleteAttribute(name) }
        let type = try checked(H5Tcopy(simba_h5t_c_s1()), what)
        defer { H5Tclose(type) }
        H5Tset_size(type, simba_h5t_variable())
        H5Tset_cset(type, H5T_CSET_UTF8)
        let space = try checked(H5Screate(H5S_SCALAR), what)
        defer { H5Sclose(space) }
        let attribute = try checked(H5Acreate2(objectID, name, type, space, simba_h5p_default(),
                                               simba_h5p_default()), what, path: file.path)
        defer { H5Aclose(attribute) }
        try text.withCString { pointer in
            var pointers: [UnsafePointer<CChar>?] = [pointer]
            _ = try checked(H5Awrite(attribute, type, &pointers), what, path: file.path)
        }
    }

    /// Reads a numeric attribute as an array (a scalar gives one element).
    public func attribute<T: H5Element>(_ name: String, as type: [T].Type) throws -> [T] {
        let what = "read attribute '\(name)' of \(objectDescription)"
        let attribute = try openAttribute(name, what)
        defer { H5Aclose(attribute) }
        let stored = H5Aget_type(attribute)
        defer { H5Tclose(stored) }
        let info = StoredType(stored)
        guard info.kind == T.h5Kind else {
            throw HDF5Error(operation: what, path: file.path, stack: ["it holds \(info.name) values, not \(T.h5Name)"])
        }
        let space = H5Aget_space(attribute)
        defer { H5Sclose(space) }
        let count = Int(H5Sget_simple_extent_npoints(space))
        var values = [T](repeating: T.zero, count: count)
        try values.withUnsafeMutableBufferPointer { buffer in
            _ = try checked(H5Aread(attribute, T.h5MemoryType, buffer.baseAddress), what, path: file.path)
        }
        return values
    }

    /// Reads a numeric attribute holding exactly one value.
    public func attribute<T: H5Element>(_ name: String, as type: T.Type) throws -> T {
        let values = try attribute(name, as: [T].self)
        guard values.count == 1 else {
            throw HDF5Error(operation: "read attribute '\(name)' of \(objectDescription)", path: file.path,
                            stack: ["it holds \(values.count) values, not one"])
        }
        return values[0]
    }

    /// Reads a string attribute (variable or fixed length).
    public func stringAttribute(_ name: String) throws -> String {
        let what = "read attribute '\(name)' of \(objectDescription)"
        let attribute = try openAttribute(name, what)
        defer { H5Aclose(attribute) }
        let stored = H5Aget_type(attribute)
        defer { H5Tclose(stored) }
        guard H5Tget_class(stored) == H5T_STRING else {
            throw HDF5Error(operation: what, path: file.path, stack: ["it is not a string"])
        }
        if H5Tis_variable_str(stored) > 0 {
            let memoryType = H5Tcopy(simba_h5t_c_s1())
            defer { H5Tclose(memoryType) }
            H5Tset_size(memoryType, simba_h5t_variable())
            H5Tset_cset(memoryType, H5Tget_cset(stored))
            var pointer: UnsafeMutablePointer<CChar>? = nil
            try checked(H5Aread(attribute, memoryType, &pointer), what, path: file.path)
            defer { if let pointer { H5free_memory(pointer) } }
            return pointer.map { String(cString: $0) } ?? ""
        }
        let size = H5Tget_size(stored)
        var buffer = [UInt8](repeating: 0, count: size + 1)
        try checked(H5Aread(attribute, stored, &buffer), what, path: file.path)
        return String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
    }

    private func openAttribute(_ name: String, _ what: String) throws -> hid_t {
        guard hasAttribute(name) else {
            throw HDF5Error(operation: what, path: file.path, stack: ["there is no such attribute"])
        }
        return try checked(H5Aopen(objectID, name, simba_h5p_default()), what, path: file.path)
    }
}
