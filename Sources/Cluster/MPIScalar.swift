import CMPI

/// Element types that MPI can move and reduce.
public protocol MPIScalar: Sendable {
    static var mpiDatatype: MPI_Datatype { get }
}

extension Float: MPIScalar { public static var mpiDatatype: MPI_Datatype { simba_mpi_float() } }
extension Double: MPIScalar { public static var mpiDatatype: MPI_Datatype { simba_mpi_double() } }
extension Int: MPIScalar {
    public static var mpiDatatype: MPI_Datatype {
        MemoryLayout<Int>.size == 8 ? simba_mpi_int64() : simba_mpi_int32()
    }
}
extension Int64: MPIScalar { public static var mpiDatatype: MPI_Datatype { simba_mpi_int64() } }
extension Int32: MPIScalar { public static var mpiDatatype: MPI_Datatype { simba_mpi_int32() } }
extension UInt8: MPIScalar { public static var mpiDatatype: MPI_Datatype { simba_mpi_uint8() } }

/// Reduction operations.
public enum ReduceOp: Sendable {
    case sum, min, max

    var mpiOp: MPI_Op {
        switch self {
        case .sum: return simba_mpi_sum()
        case .min: return simba_mpi_min()
        case .max: return simba_mpi_max()
        }
    }
}

/// MPI counts are 32-bit: large buffers move in pieces of at most this many
/// bytes. A variable (not a constant) so tests can exercise the chunking on
/// small buffers.
public nonisolated(unsafe) var mpiChunkBytes: Int = 1 << 30

@inline(__always)
func chunkElements<T>(_ type: T.Type) -> Int {
    max(1, mpiChunkBytes / MemoryLayout<T>.stride)
}
