import CMPI
import Foundation

/// Lets ranks that failed find out, within a deadline, whether every rank
/// failed, so that an error all ranks hit alike (a collective HDF5 call
/// that fails everywhere, a check every rank makes on the same file) is
/// reported once and ends with a clean MPI_Finalize instead of an abort
/// per rank.
///
/// It owns a duplicate of the communicator, used for nothing else: a rank
/// that enters the agreement can never be matched with a collective other
/// ranks are still waiting in on the original communicator.
public final class FailureAgreement: @unchecked Sendable {
    private let channel: MPI_Comm

    /// Collective over `communicator` (MPI_Comm_dup): every rank makes one at start.
    public init(communicator: Communicator) throws {
        var duplicate: MPI_Comm? = nil
        try check(MPI_Comm_dup(communicator.handle, &duplicate), "MPI_Comm_dup")
        guard let duplicate else { throw MPIError(operation: "MPI_Comm_dup", message: "no communicator returned") }
        try check(MPI_Comm_set_errhandler(duplicate, simba_mpi_errors_return()), "MPI_Comm_set_errhandler")
        channel = duplicate
    }

    /// Called by a failing rank: true when every rank of the communicator
    /// has called it within `deadline` seconds (all failed), false when
    /// some rank did not come (it is busy, or waiting in a collective for
    /// this one: only an abort ends that job).
    public func everyRankFailed(within deadline: Double) -> Bool {
        var request: MPI_Request? = nil
        guard MPI_Ibarrier(channel, &request) == MPI_SUCCESS else { return false }
        let end = Date().addingTimeInterval(deadline)
        var done: Int32 = 0
        while Date() < end {
            guard MPI_Test(&request, &done, simba_mpi_status_ignore()) == MPI_SUCCESS else { return false }
            if done != 0 { return true }
            usleep(10_000)
        }
        return false
    }
}
