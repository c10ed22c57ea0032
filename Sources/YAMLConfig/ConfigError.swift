/// A configuration problem, located by its key path ("cohort.size").
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let message: String

    public init(_ path: String, _ message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}
