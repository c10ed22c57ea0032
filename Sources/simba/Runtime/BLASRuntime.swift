import CBLAS
import Network
import Foundation

/// OpenBLAS thread policy: ranks are the parallelism, so with several ranks
/// each gets one BLAS thread unless told otherwise.
enum BLASRuntime {
    static func configure(requestedThreads: Int?, worldSize: Int) {
        if let threads = threadCount(requested: requestedThreads, worldSize: worldSize) {
            BLASThreads.set(threads)
        }
    }

    /// The thread count to impose, or nil to keep OpenBLAS's own choice.
    static func threadCount(requested: Int?, worldSize: Int,
                            environment: [String: String] = ProcessInfo.processInfo.environment) -> Int? {
        if let requested { return requested }
        if let fromEnvironment = environment["OPENBLAS_NUM_THREADS"].flatMap(Int.init), fromEnvironment > 0 {
            return fromEnvironment
        }
        return worldSize > 1 ? 1 : nil
    }

    static var threads: Int { BLASThreads.count }

    /// OpenBLAS's build description, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64".
    static var configuration: String {
        guard let text = openblas_get_config() else { return "unknown" }
        return String(cString: text).trimmingCharacters(in: .whitespaces)
    }

    static var version: String {
        let words = configuration.split(separator: " ")
        if let index = words.firstIndex(of: "OpenBLAS"), index + 1 < words.count {
            return String(words[index + 1])
        }
        return "unknown"
    }

    /// The CPU kernel set OpenBLAS picked at run time (e.g. "Haswell").
    static var coreName: String {
        guard let text = openblas_get_corename() else { return "unknown" }
        return String(cString: text)
    }
}
