/// Thrown on every rank together when a stop signal (SIGTERM, SIGINT,
/// SIGUSR1) reached any rank and the ranks agreed to stop at a safe point.
public struct StopRequested: Error, CustomStringConvertible, Sendable {
    public let signal: Int32

    public var description: String {
        let name = [15: "SIGTERM", 2: "SIGINT", 10: "SIGUSR1"][Int(signal)] ?? "signal \(signal)"
        return "stopped by \(name) at a safe point"
    }
}

extension Communicator {
    /// A collective check for stop signals: if any rank has received one,
    /// every rank throws `StopRequested` (with the highest signal number
    /// seen). Call it where stopping is safe, e.g. between training steps.
    public func stopIfRequested() throws {
        let signal = try allreduce(Int(StopSignal.pending ?? 0), op: .max)
        if signal != 0 { throw StopRequested(signal: Int32(signal)) }
    }
}
