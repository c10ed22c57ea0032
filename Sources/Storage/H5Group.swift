import CHDF5

/// A group in an HDF5 file (a folder of datasets and groups).
public final class H5Group: H5AttributeHolder {
    public let file: H5File
    /// Absolute path of the group inside the file.
    public let path: String
    let id: hid_t

    init(file: H5File, path: String) throws {
        self.file = file
        self.path = path
        id = try checked(H5Gopen2(file.id, path, simba_h5p_default()), "open group '\(path)'", path: file.path)
        file.register(id)
    }

    private init(file: H5File, path: String, id: hid_t) {
        self.file = file
        self.path = path
        self.id = id
        file.register(id)
    }

    public var objectID: hid_t { id }
    public var objectDescription: String { "group '\(path)'" }

    func childPath(_ name: String) -> String {
        path == "/" ? "/" + name : path + "/" + name
    }

    /// Creates a subgroup (intermediate groups are created too).
    public func createGroup(_ name: String) throws -> H5Group {
        let links = try checked(H5Pcreate(simba_h5p_link_create()), "create a link property list")
        defer { H5Pclose(links) }
        H5Pset_create_intermediate_group(links, 1)
        let child = childPath(name)
        let id = try checked(H5Gcreate2(self.id, name, links, simba_h5p_default(), simba_h5p_default()),
                             "create group '\(child)'", path: file.path)
        return H5Group(file: file, path: child, id: id)
    }

    /// Opens an existing subgroup.
    public func group(_ name: String) throws -> H5Group {
        try H5Group(file: file, path: childPath(name))
    }

    /// Whether a link (group, dataset or soft link) of that name exists here.
    /// Every component of a nested name is checked in turn.
    public func contains(_ name: String) -> Bool {
        var prefix = ""
        for component in name.split(separator: "/") {
            prefix += prefix.isEmpty ? String(component) : "/" + component
            if H5Lexists(id, prefix, simba_h5p_default()) <= 0 {
                H5Eclear2(simba_h5e_default())
                return false
            }
        }
        return !prefix.isEmpty
    }

    /// Names of the links in this group, in name order.
    public func memberNames() throws -> [String] {
        final class Names { var list: [String] = [] }
        let names = Names()
        let unmanaged = Unmanaged.passRetained(names)
        defer { unmanaged.release() }
        var index: hsize_t = 0
        try checked(H5Literate(id, H5_INDEX_NAME, H5_ITER_INC, &index, { _, name, _, data in
            guard let name, let data else { return 0 }
            Unmanaged<Names>.fromOpaque(data).takeUnretainedValue().list.append(String(cString: name))
            return 0
        }, unmanaged.toOpaque()), "list group '\(path)'", path: file.path)
        return names.list
    }

    /// Creates (or replaces) a soft link `name` pointing at `target`, an
    /// absolute path in the file. Used for "latest" and "best" pointers.
    public func setSoftLink(_ name: String, to target: String) throws {
        if contains(name) { try removeLink(name) }
        try checked(H5Lcreate_soft(target, id, name, simba_h5p_default(), simba_h5p_default()),
                    "link '\(childPath(name))' to '\(target)'", path: file.path)
    }

    /// The target of a soft link, or nil if `name` is not a soft link.
    public func softLinkTarget(_ name: String) -> String? {
        var info = H5L_info_t()
        guard H5Lget_info(id, name, &info, simba_h5p_default()) >= 0, info.type == H5L_TYPE_SOFT else {
            H5Eclear2(simba_h5e_default())
            return nil
        }
        let size = info.u.val_size
        var buffer = [CChar](repeating: 0, count: size + 1)
        guard H5Lget_val(id, name, &buffer, size + 1, simba_h5p_default()) >= 0 else {
            H5Eclear2(simba_h5e_default())
            return nil
        }
        return String(cChars: buffer)
    }

    /// Removes a link (the object it names is freed when nothing else links it).
    public func removeLink(_ name: String) throws {
        try checked(H5Ldelete(id, name, simba_h5p_default()), "remove '\(childPath(name))'", path: file.path)
    }

    deinit { file.release(id) }
}
