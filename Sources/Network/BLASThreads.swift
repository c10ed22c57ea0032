import CBLAS

/// OpenBLAS's thread count for this process. sgemm results are bitwise
/// reproducible for a fixed count (its blocking depends on the count), so
/// a run that must repeat exactly keeps the count fixed.
public enum BLASThreads {
    public static var count: Int { Int(openblas_get_num_threads()) }
    public static func set(_ threads: Int) { openblas_set_num_threads(Int32(threads)) }
}
