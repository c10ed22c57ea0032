import Foundation

/// Wall-clock seconds spent per named stage, summed over calls (benchmarks).
public final class StageClock {
    public private(set) var seconds: [String: Double] = [:]
    public private(set) var order: [String] = []

    public init() {}

    public func measure<T>(_ stage: String, _ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if seconds[stage] == nil { order.append(stage) }
            seconds[stage, default: 0] += elapsed
        }
        return try body()
    }
}

extension Optional where Wrapped == StageClock {
    /// Runs `body`, timed when there is a clock.
    func measure<T>(_ stage: String, _ body: () throws -> T) rethrows -> T {
        switch self {
        case .some(let clock): return try clock.measure(stage, body)
        case .none: return try body()
        }
    }
}
