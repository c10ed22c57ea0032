import CBLAS

/// OpenBLAS's thread count for this process. sgemm results are bitwise
/// reproducible for a fixed count (its blocking depends on the count), so
/// a run that must repeat exactly keeps the count fixed.
public enum BLASThreads {
    public static var count: Int { Int(openblas_get_num_threads()) }
    public static func set(_ threads: Int) { openblas_set_num_threads(Int32(threads)) }

    /// Applies simba's thread policy (see `policy`) at start-up. It lives
    /// here, beside the library that owns BLAS, so the executable needs no
    /// BLAS import of its own.
    public static func configure(requested: Int?, worldSize: Int, environment: [String: String]) {
        if let threads = policy(requested: requested, worldSize: worldSize, environment: environment) {
            set(threads)
        }
    }

    /// The thread count to impose, or nil to keep OpenBLAS's own choice.
    /// Ranks are the parallelism, so with several ranks each gets one BLAS
    /// thread unless told otherwise: an explicit request (`--threads`) wins,
    /// then a positive OPENBLAS_NUM_THREADS.
    public static func policy(requested: Int?, worldSize: Int, environment: [String: String]) -> Int? {
        if let requested { return requested }
        if let fromEnvironment = environment["OPENBLAS_NUM_THREADS"].flatMap(Int.init), fromEnvironment > 0 {
            return fromEnvironment
        }
        return worldSize > 1 ? 1 : nil
    }
}
