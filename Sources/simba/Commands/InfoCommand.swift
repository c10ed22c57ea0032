import ArgumentParser
import Cluster
import Experiment
import Foundation
import Network
import Storage
import Synthesis

struct InfoCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show the MPI world, library versions, BLAS threads and the template.",
        discussion: """
            Printed once, by rank 0. Use it to check a workstation or a cluster \
            allocation before a long run.

            Example:
              mpirun -q -np 2 simba info
              simba info --json
            """)

    @OptionGroup var runtime: RuntimeOptions

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func run(world: Communicator) throws {
        let hosts = try world.gather(Array(ProcessInfo.processInfo.hostName.utf8), root: 0)
        let threadsPerRank = try world.gather([BLASThreads.count], root: 0)
        guard world.rank == 0, let hosts, let threadsPerRank else { return }

        let hostCounts = Dictionary(grouping: hosts.map { String(decoding: $0, as: UTF8.self) }, by: { $0 })
            .map { "\($0.key) ×\($0.value.count)" }.sorted().joined(separator: ", ")
        let threads = Set(threadsPerRank.map { $0[0] }).sorted().map(String.init).joined(separator: "/")
        let facts: [(key: String, label: String, value: String)] = [
            ("simba", "simba", SimbaVersion.current),
            ("world_size", "world", "\(world.size) rank\(world.size == 1 ? "" : "s") on \(hostCounts)"),
            ("mpi_library", "MPI", Cluster.libraryVersion),
            ("mpi_standard", "MPI standard", Cluster.standardVersion),
            ("mpi_thread_level", "MPI threads", Cluster.providedThreadLevel.description),
            ("hdf5_version", "HDF5", HDF5Library.version),
            ("hdf5_parallel", "HDF5 parallel", HDF5Library.isParallel ? "yes (MPI-IO)" : "no"),
            ("openblas_version", "OpenBLAS", "\(BLASLibrary.version) (\(BLASLibrary.coreName) kernels)"),
            ("openblas_threads_per_rank", "BLAS threads", "\(threads) per rank"),
            ("convolution_products", "conv products", ConvolutionProducts.fastest.summary),
            ("template", "template", templateDescription),
        ]
        if json {
            var object: [String: Any] = [:]
            for fact in facts { object[fact.key] = fact.value }
            object["world_size"] = world.size
            object["openblas_threads_per_rank"] = threadsPerRank.map { $0[0] }
            object["hdf5_parallel"] = HDF5Library.isParallel
            object["template_installed"] = DefaultTemplate.isInstalled
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            let width = facts.map(\.label.count).max() ?? 0
            for fact in facts {
                print(fact.label.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + fact.value)
            }
        }
    }

    private var templateDescription: String {
        if DefaultTemplate.isInstalled {
            return "Colin27 + AAL installed in \(DefaultTemplate.directory)"
        }
        return "Colin27 + AAL missing (\(DefaultTemplate.missingFiles.joined(separator: ", "))): "
            + "install Debian's mricron-data or set SIMBA_TEMPLATE_DIR"
    }
}
