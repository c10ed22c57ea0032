import CHDF5

/// Library-wide facts and one-time set-up.
public enum HDF5Library {
    /// Opens the library and silences its automatic error printing: errors
    /// reach the user once, as `HDF5Error`s, not as stack dumps on stderr.
    static let prepared: Void = {
        H5open()
        H5Eset_auto2(simba_h5e_default(), nil, nil)
    }()

    public static func prepare() { _ = prepared }

    /// "major.minor.release" of the HDF5 library linked in.
    public static var version: String {
        prepare()
        var major: UInt32 = 0, minor: UInt32 = 0, release: UInt32 = 0
        H5get_libversion(&major, &minor, &release)
        return "\(major).\(minor).\(release)"
    }

    /// Whether this HDF5 was built with MPI-IO (always true: the C shim
    /// refuses to compile against a serial HDF5).
    public static var isParallel: Bool {
        simba_h5_is_parallel() != 0
    }
}
