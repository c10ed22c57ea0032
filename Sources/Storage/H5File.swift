import CHDF5
import Cluster
import Foundation

/// An open HDF5 file: serial (one process) or parallel (MPI-IO, every rank
/// of a communicator opening it together).
///
/// In a parallel file every call that creates or changes structure (groups,
/// datasets, attributes, extents, close) is collective: all ranks make it in
/// the same order. Data transfers use collective MPI-IO.
public final class H5File {
    public let path: String
    /// The ranks that opened the file together; nil for a serial file.
    public let communicator: Communicator?
    let id: hid_t
    private(set) var isOpen = true
    /// Transfer property list used for every read and write.
    let transfer: hid_t
    /// Groups and datasets opened from this file and not yet released:
    /// `close()` closes them first, since HDF5 refuses to close a file with
    /// open objects and Swift may still hold them.
    private var openObjects: Set<hid_t> = []

    func register(_ object: hid_t) { openObjects.insert(object) }

    /// Releases an object unless `close()` already did.
    func release(_ object: hid_t) {
        guard isOpen, openObjects.remove(object) != nil else { return }
        H5Oclose(object)
    }

    /// How `create` treats an existing file.
    public enum Existing: Sendable {
        /// Refuse to replace an existing file.
        case refuse
        /// Replace it.
        case overwrite
    }

    private init(path: String, id: hid_t, communicator: Communicator?) throws {
        self.path = path
        self.id = id
        self.communicator = communicator
        transfer = try checked(H5Pcreate(simba_h5p_dataset_xfer()), "create a transfer property list")
        if communicator != nil {
            try checked(H5Pset_dxpl_mpio(transfer, H5FD_MPIO_COLLECTIVE), "select collective MPI-IO")
        }
    }

    /// Creates a file. With a communicator, all its ranks must call this.
    public static func create(_ path: String, existing: Existing = .refuse,
                              communicator: Communicator? = nil) throws -> H5File {
        HDF5Library.prepare()
        let access = try accessList(communicator, path: path)
        defer { H5Pclose(access) }
        let flags = existing == .overwrite ? simba_h5f_acc_trunc() : simba_h5f_acc_excl()
        let id = try checked(H5Fcreate(path, flags, simba_h5p_default(), access), "create the file", path: path)
        return try H5File(path: path, id: id, communicator: communicator)
    }

    /// Opens an existing file. With a communicator, all its ranks must call this.
    public static func open(_ path: String, writable: Bool = false,
                            communicator: Communicator? = nil) throws -> H5File {
        HDF5Library.prepare()
        guard FileManager.default.fileExists(atPath: path) else {
            throw HDF5Error(operation: "open the file", path: path, stack: ["no such file"])
        }
        guard H5Fis_hdf5(path) > 0 else {
            H5Eclear2(simba_h5e_default())
            throw HDF5Error(operation: "open the file", path: path, stack: ["not an HDF5 file (damaged or another format)"])
        }
        let access = try accessList(communicator, path: path)
        defer { H5Pclose(access) }
        let flags = writable ? simba_h5f_acc_rdwr() : simba_h5f_acc_rdonly()
        let id = try checked(H5Fopen(path, flags, access), "open the file", path: path)
        return try H5File(path: path, id: id, communicator: communicator)
    }

    private static func accessList(_ communicator: Communicator?, path: String) throws -> hid_t {
        let access = try checked(H5Pcreate(simba_h5p_file_access()), "create a file-access property list")
        if let communicator {
            try checked(H5Pset_fapl_mpio(access, communicator.mpiHandle, simba_mpi_info_null_for_hdf5()),
                        "select MPI-IO", path: path)
            // Metadata reads and writes by all ranks together: fewer, larger I/O calls.
            try checked(H5Pset_all_coll_metadata_ops(access, true), "select collective metadata reads", path: path)
            try checked(H5Pset_coll_metadata_write(access, true), "select collective metadata writes", path: path)
        }
        return access
    }

    /// The root group.
    public var root: H5Group {
        get throws { try H5Group(file: self, path: "/") }
    }

    /// Writes buffered data to disk. Collective for a parallel file.
    public func flush() throws {
        try checked(H5Fflush(id, H5F_SCOPE_GLOBAL), "flush", path: path)
    }

    /// Closes the file. Collective for a parallel file. Objects opened from
    /// it must have been released first.
    public func close() throws {
        guard isOpen else { return }
        for object in openObjects { H5Oclose(object) }
        openObjects.removeAll()
        isOpen = false
        H5Pclose(transfer)
        try checked(H5Fclose(id), "close", path: path)
    }

    /// Forgets the file without closing it: after a failure on this rank
    /// alone, a collective close would wait for ranks that never come.
    /// The process is expected to abort; the file keeps what was flushed.
    public func abandon() {
        isOpen = false
        openObjects.removeAll()
    }

    /// Whether a selection of `count` elements can use this file's transfer
    /// mode (serial files never need collective transfer).
    var isParallel: Bool { communicator != nil }

    deinit {
        if isOpen {
            for object in openObjects { H5Oclose(object) }
            H5Pclose(transfer)
            H5Fclose(id)
        }
    }
}
