import CHDF5

/// The kind of numbers a dataset holds, used to refuse reading a dataset
/// as the wrong kind (an integer label map read as floats, say).
public enum H5NumberKind: Sendable, CustomStringConvertible {
    case float, signedInteger, unsignedInteger

    public var description: String {
        switch self {
        case .float: return "floating-point"
        case .signedInteger: return "signed integer"
        case .unsignedInteger: return "unsigned integer"
        }
    }
}

/// Element types that simba stores in HDF5 datasets and attributes.
public protocol H5Element: Sendable {
    /// The in-memory HDF5 type.
    static var h5MemoryType: hid_t { get }
    /// The little-endian type written to files (portable across machines).
    static var h5FileType: hid_t { get }
    static var h5Kind: H5NumberKind { get }
    static var h5Name: String { get }
    static var zero: Self { get }
}

extension Float: H5Element {
    public static var h5MemoryType: hid_t { simba_h5t_native_float() }
    public static var h5FileType: hid_t { simba_h5t_ieee_f32le() }
    public static var h5Kind: H5NumberKind { .float }
    public static var h5Name: String { "float32" }
}

extension Double: H5Element {
    public static var h5MemoryType: hid_t { simba_h5t_native_double() }
    public static var h5FileType: hid_t { simba_h5t_ieee_f64le() }
    public static var h5Kind: H5NumberKind { .float }
    public static var h5Name: String { "float64" }
}

extension Int32: H5Element {
    public static var h5MemoryType: hid_t { simba_h5t_native_int32() }
    public static var h5FileType: hid_t { simba_h5t_std_i32le() }
    public static var h5Kind: H5NumberKind { .signedInteger }
    public static var h5Name: String { "int32" }
}

extension Int64: H5Element {
    public static var h5MemoryType: hid_t { simba_h5t_native_int64() }
    public static var h5FileType: hid_t { simba_h5t_std_i64le() }
    public static var h5Kind: H5NumberKind { .signedInteger }
    public static var h5Name: String { "int64" }
}

extension Int: H5Element {
    public static var h5MemoryType: hid_t { simba_h5t_native_int64() }
    public static var h5FileType: hid_t { simba_h5t_std_i64le() }
    public static var h5Kind: H5NumberKind { .signedInteger }
    public static var h5Name: String { "int64" }
}

extension UInt8: H5Element {
    public static var h5MemoryType: hid_t { simba_h5t_native_uint8() }
    public static var h5FileType: hid_t { simba_h5t_std_u8le() }
    public static var h5Kind: H5NumberKind { .unsignedInteger }
    public static var h5Name: String { "uint8" }
}

/// What a stored HDF5 datatype is, in simba's terms.
struct StoredType {
    let kind: H5NumberKind?   // nil for strings and anything else
    let isString: Bool
    let byteSize: Int
    let name: String

    init(_ type: hid_t) {
        let typeClass = H5Tget_class(type)
        byteSize = Int(H5Tget_size(type))
        isString = typeClass == H5T_STRING
        switch typeClass {
        case H5T_FLOAT:
            kind = .float
            name = "float\(byteSize * 8)"
        case H5T_INTEGER:
            let signed = H5Tget_sign(type) != H5T_SGN_NONE
            kind = signed ? .signedInteger : .unsignedInteger
            name = (signed ? "int" : "uint") + "\(byteSize * 8)"
        case H5T_STRING:
            kind = nil
            name = "string"
        default:
            kind = nil
            name = "HDF5 type class \(typeClass.rawValue)"
        }
    }
}
