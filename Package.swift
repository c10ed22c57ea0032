// swift-tools-version:6.0
// simba: SimBA-style bias simulation, training and analysis as one MPI program.
import PackageDescription

// The numerical kernels are optimised in debug builds too: unoptimised they
// run 30-50x slower, which would make the test suite (which generates and
// trains small cohorts) too slow. Preconditions stay on at -O.
let optimizedEvenInDebug: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "simba",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "simba", targets: ["simba"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // C system libraries, found with pkg-config under their exact Debian names
        // (see ../shared/reference/build-notes.md). Each holds a header-only shim.
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev"])]),
        .systemLibrary(name: "CHDF5", path: "Sources/CHDF5", pkgConfig: "hdf5-openmpi",
                       providers: [.apt(["libhdf5-openmpi-dev"])]),
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        // LAPACK routines inside Debian's libopenblas (prototypes only: no lapacke.h).
        .systemLibrary(name: "CLAPACK", path: "Sources/CLAPACK", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        // zlib: gzip for .nii.gz, deflate and crc32 for PNG.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        // Header-only: the nifti_1_header layout from Debian's libnifti2-dev.
        .systemLibrary(name: "CNIfTI1", path: "Sources/CNIfTI1",
                       providers: [.apt(["libnifti2-dev"])]),

        // The convolutions' thin matrix products on AVX-512 (chosen at run time;
        // elsewhere sgemm). Optimised in debug builds too, as the kernels are.
        .target(name: "CConvolutionProducts", cSettings: [.unsafeFlags(["-O2"], .when(configuration: .debug))]),
        // Batch norm → activation → max-pool fused, on AVX-512 (the same choice).
        .target(name: "CBlockFusion", cSettings: [.unsafeFlags(["-O2"], .when(configuration: .debug))]),

        // Bounds on what an input may make simba allocate or read: this
        // node's memory, regular files of bounded size.
        .target(name: "Limits"),

        // Swift faces of the C libraries.
        .target(name: "Cluster", dependencies: ["CMPI"]),
        .target(name: "Storage", dependencies: ["CHDF5", "Cluster", "Limits"]),

        // 3-D grids, vector fields, warping, NIfTI and PNG.
        .target(name: "Volumes", dependencies: ["CZlib", "CNIfTI1", "Limits"], swiftSettings: optimizedEvenInDebug),

        // The SimBA CNN: layers with hand-written forward/backward, Adam,
        // one flat parameter and one flat gradient buffer.
        .target(name: "Network", dependencies: ["CBLAS", "CConvolutionProducts", "CBlockFusion", "Randomness", "Limits"], swiftSettings: optimizedEvenInDebug),

        // Seeded random streams and distributions (deterministic across ranks).
        .target(name: "Randomness"),

        // Typed, path-aware reading of YAML configuration files.
        .target(name: "YAMLConfig", dependencies: ["Limits", .product(name: "Yams", package: "Yams")]),

        // The SimBA generator: cohort design, effects, sharded dataset writing.
        .target(name: "Synthesis", dependencies: ["Randomness", "YAMLConfig", "Storage", "Cluster", "Volumes", "Limits"],
                swiftSettings: optimizedEvenInDebug),

        // Subgroup metrics with bootstrap CIs, counterfactual disparities,
        // reweighing, encoding probes (PCA + logistic regression).
        .target(name: "Analysis", dependencies: ["CBLAS", "CLAPACK", "Randomness", "Network"]),

        // Self-contained HTML reports with inline SVG charts.
        .target(name: "Reporting"),

        // The training loop and its strategies, sync batch norm, run files
        // with metrics and checkpoints.
        .target(name: "Training", dependencies: ["Network", "Storage", "Cluster", "Synthesis", "Analysis",
                                                 "Randomness", "YAMLConfig"]),

        // The analysis stages of an experiment: test predictions, subgroup
        // tables, encoding probes, saliency, summary.json and the report.
        .target(name: "Experiment", dependencies: ["Training", "Analysis", "Reporting", "Synthesis", "Storage",
                                                   "Cluster", "Network", "Volumes", "Randomness", "YAMLConfig", "Limits"]),

        // Checks of the MPI and parallel-HDF5 setup, run across ranks by `simba selftest`.
        .target(name: "SelfTest", dependencies: ["Cluster", "Storage"]),

        .executableTarget(
            name: "simba",
            dependencies: [
                "Cluster", "Storage", "SelfTest", "Synthesis", "YAMLConfig", "Network", "Training",
                "Experiment", "Analysis", "Limits",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        .testTarget(name: "ClusterTests", dependencies: ["Cluster", "SelfTest"]),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "Cluster"]),
        // The CLI tests also fuzz the readers in process (Tests/CLITests/Fuzz).
        .testTarget(name: "CLITests", dependencies: ["SelfTest", "Experiment", "Training", "Network", "Synthesis", "Storage", "Volumes",
                                                    "YAMLConfig", "Randomness"]),
        .testTarget(name: "YAMLConfigTests", dependencies: ["YAMLConfig"]),
        .testTarget(name: "RandomnessTests", dependencies: ["Randomness"]),
        .testTarget(name: "SynthesisTests", dependencies: ["Synthesis", "YAMLConfig", "Storage", "Cluster", "Volumes"]),
        .testTarget(name: "AnalysisTests", dependencies: ["Analysis", "Randomness", "Network"]),
        .testTarget(name: "NetworkTests", dependencies: ["Network", "CConvolutionProducts", "Randomness"]),
        .testTarget(name: "VolumesTests", dependencies: ["Volumes"]),
        .testTarget(name: "ReportingTests", dependencies: ["Reporting"]),
        .testTarget(name: "ExperimentTests", dependencies: ["Experiment", "Analysis", "Storage", "Training", "Network", "Synthesis", "Limits",
                                                      "YAMLConfig"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Network", "Synthesis", "YAMLConfig", "Cluster"]),
    ]
)
