/// Errors a caller can cause by handing the network inconsistent data.
public enum NetworkError: Error, Equatable, CustomStringConvertible {
    case sizeMismatch(what: String, expected: Int, actual: Int)
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case .sizeMismatch(let what, let expected, let actual):
            return "\(what): expected \(expected) values, got \(actual)"
        case .invalidConfiguration(let why):
            return "invalid network configuration: \(why)"
        }
    }
}
