import CBLAS
import Foundation

/// The OpenBLAS this process runs on, as `simba info` reports it. Read here
/// because Network is the module that links BLAS.
public enum BLASLibrary {
    /// OpenBLAS's build description, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64".
    public static var configuration: String {
        guard let text = openblas_get_config() else { return "unknown" }
        return String(cString: text).trimmingCharacters(in: .whitespaces)
    }

    public static var version: String {
        let words = configuration.split(separator: " ")
        if let index = words.firstIndex(of: "OpenBLAS"), index + 1 < words.count {
            return String(words[index + 1])
        }
        return "unknown"
    }

    /// The CPU kernel set OpenBLAS picked at run time (e.g. "Haswell").
    public static var coreName: String {
        guard let text = openblas_get_corename() else { return "unknown" }
        return String(cString: text)
    }
}
