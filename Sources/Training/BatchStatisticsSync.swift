import Cluster
import Foundation
import Network

/// Sync BN: makes a model's train-mode batch norm normalise with the
/// statistics of the whole global batch, spread over the ranks of
/// `communicator`, so N ranks compute what one rank computes on the same
/// batch (up to float reassociation). Forward: two small allreduces per
/// block (mean, then squared deviations from it); backward: one (Σdy,
/// Σdy·x̂). Every rank then holds the batch's dγ, dβ and conv-bias
/// gradient; `keepBatchGradientsOnRoot` leaves them on rank 0 only, so the
/// gradient allreduce counts them once.
final class BatchStatisticsSync {
    let communicator: Communicator
    private(set) var seconds = 0.0
    /// The first MPI failure inside a hook (hooks cannot throw); checked after each step.
    private(set) var failure: Error?
    private let batchWideRanges: [Range<Int>]

    init(communicator: Communicator, layout: ParameterLayout) {
        self.communicator = communicator
        batchWideRanges = layout.slices.filter {
            [.convolutionBias, .batchNormScale, .batchNormShift].contains($0.role)
        }.map(\.range)
    }

    func install(on model: SimbaCNN) {
        model.batchStatisticsReducer = { [unowned self] sums, channels, rows, reference in
            self.reduce(sums: sums, channels: channels, rows: rows, reference: reference)
        }
    }

    func keepBatchGradientsOnRoot(_ gradients: Tensor) {
        guard communicator.rank != 0 else { return }
        for range in batchWideRanges { (gradients.data + range.lowerBound).update(repeating: 0, count: range.count) }
    }

    func checkFailure() throws {
        if let failure { throw failure }
    }

    private func allreduce(_ values: inout [Double]) {
        let started = Clock.now
        do { try communicator.allreduce(&values, op: .sum) } catch { failure = failure ?? error }
        seconds += Clock.seconds(since: started)
    }

    private func reduce(sums: UnsafeMutablePointer<Double>, channels: Int, rows: Int,
                        reference: UnsafePointer<Float>?) -> Int {
        sumBatchStatistics(sums: sums, channels: channels, rows: rows, reference: reference) { allreduce(&$0) }
    }
}

/// Wall-clock seconds for the per-rank time split.
enum Clock {
    static var now: UInt64 { DispatchTime.now().uptimeNanoseconds }
    static func seconds(since start: UInt64) -> Double { Double(now &- start) / 1e9 }
}
