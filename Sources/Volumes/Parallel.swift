import Dispatch
import Foundation
import Synchronization

/// Number of threads the voxel kernels may use. Defaults to 1, because simba runs one MPI
/// rank per core; a process that owns several cores (the benchmark, a single-rank run)
/// raises it with `VolumeThreads.set(_:)` or the environment variable SIMBA_VOLUMES_THREADS.
public enum VolumeThreads {
    private static let current = Atomic<Int>(initialFromEnvironment())

    public static var count: Int { current.load(ordering: .relaxed) }

    public static func set(_ threads: Int) {
        precondition(threads >= 1, "thread count must be at least 1")
        current.store(threads, ordering: .relaxed)
    }

    private static func initialFromEnvironment() -> Int {
        guard let text = ProcessInfo.processInfo.environment["SIMBA_VOLUMES_THREADS"], let value = Int(text), value >= 1
        else { return 1 }
        return value
    }
}

/// Lets a non-escaping closure cross into concurrentPerform; sound because every slab
/// writes a disjoint part of the output and the call returns only when all slabs are done.
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
}

/// Splits 0..<count into contiguous slabs, one per thread, and calls body(slab, range).
/// With one thread the body runs inline, so single-threaded kernels pay nothing for this.
@inline(__always)
func forEachSlab(_ count: Int, _ body: (Int, Range<Int>) -> Void) {
    let slabs = Swift.min(VolumeThreads.count, count)
    if slabs <= 1 {
        body(0, 0..<count)
        return
    }
    withoutActuallyEscaping(body) { escapable in
        let shared = UncheckedSendable(value: escapable)
        DispatchQueue.concurrentPerform(iterations: slabs) { slab in
            shared.value(slab, (slab * count / slabs)..<((slab + 1) * count / slabs))
        }
    }
}

/// Number of slabs `forEachSlab` will use, for per-slab reductions.
func slabCount(_ count: Int) -> Int { Swift.max(1, Swift.min(VolumeThreads.count, count)) }
