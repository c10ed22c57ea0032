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
        let n = Double(rows)
        guard let reference else {
            // Backward: plain sums over the batch.
            var values = [n] + Array(UnsafeBufferPointer(start: sums, count: 2 * channels))
            allreduce(&values)
            for i in 0..<(2 * channels) { sums[i] = values[1 + i] }
            return Int(values[0])
        }
        // Forward: sums are of (x − reference), and each rank has its own
        // reference. Agree on the mean first, then sum squared deviations
        // from it, and hand back sums against this rank's reference.
        var totals = [n] + (0..<channels).map { sums[$0] + n * Double(reference[$0]) }
        allreduce(&totals)
        let batchRows = totals[0]
        let mean = (0..<channels).map { totals[1 + $0] / batchRows }
        var deviations = (0..<channels).map { c -> Double in
            let shift = Double(reference[c]) - mean[c]
            return sums[channels + c] + 2 * shift * sums[c] + n * shift * shift
        }
        allreduce(&deviations)
        for c in 0..<channels {
            let offset = mean[c] - Double(reference[c])
            sums[c] = batchRows * offset
            sums[channels + c] = deviations[c] + batchRows * offset * offset
        }
        return Int(batchRows)
    }
}

/// Wall-clock seconds for the per-rank time split.
enum Clock {
    static var now: UInt64 { DispatchTime.now().uptimeNanoseconds }
    static func seconds(since start: UInt64) -> Double { Double(now &- start) / 1e9 }
}
