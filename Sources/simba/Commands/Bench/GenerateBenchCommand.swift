import ArgumentParser
import Cluster
import Network
import Foundation
import Limits
import Synthesis

struct GenerateBenchCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Time sample synthesis (no file writing) at a voxel size.",
        discussion: """
            Uses the simba-jamia cohort (disease in Insula_R, bias in \
            Putamen_R, 10 subject modes) at the given voxel size; every rank \
            makes its share of the samples. Prints volumes/s over all ranks, \
            the grid, seconds per stage per volume (rank 0) and peak memory.

            Example:
              simba bench generate --voxel-mm 1
              mpirun -q -np 2 simba bench generate --voxel-mm 3 --samples 32
            """)

    @OptionGroup var runtime: RuntimeOptions
    @Option(help: "Voxel size in mm (1 to 4).") var voxelMm: Double = 1
    @Option(help: "Samples to make over all ranks (after one warm-up per rank).") var samples: Int = 8

    func validate() throws {
        guard (1...4).contains(voxelMm) else { throw ValidationError("--voxel-mm must be 1 to 4") }
        guard samples >= 1 else { throw ValidationError("--samples must be at least 1") }
    }

    func run(world: Communicator) throws {
        var config = CohortPreset.simbaJAMIA.config
        config.template.voxelMM = voxelMm
        let setupStart = Date()
        let (generator, design) = try world.unanimously { () -> (SampleGenerator, CohortDesign) in
            let anatomy = try Anatomy.load(config.template)
            return (try SampleGenerator(config: config, anatomy: anatomy), try CohortDesign(config))
        }
        let setupSeconds = try world.allreduce(Date().timeIntervalSince(setupStart), op: .max)
        let share = DatasetWriter.share(of: samples, rank: world.rank, size: world.size)
        _ = try generator.generate(design.samples[share.lowerBound % design.samples.count])  // warm-up
        let clock = StageClock()
        try world.barrier()
        let start = Date()
        for index in share {
            _ = try generator.generate(design.samples[index % design.samples.count], clock: clock)
        }
        let seconds = try world.allreduce(Date().timeIntervalSince(start), op: .max)
        let peak = try world.allreduce(PeakMemory.peakMiB(), op: .max)
        guard world.rank == 0 else { return }
        let perVolume = Double(max(1, share.count))
        var stages: [String: Double] = [:]
        for stage in clock.order { stages[stage] = clock.seconds[stage]! / perVolume }
        let dims = generator.anatomy.grid.dims
        let object: [String: Any] = [
            "benchmark": "generate", "voxel_mm": voxelMm, "ranks": world.size, "samples": samples,
            "grid": [dims.x, dims.y, dims.z], "control_grid": generator.fields.controlGrid.dims.x,
            "volumes_per_s": Double(samples) / seconds, "seconds_per_volume_per_rank": seconds / perVolume,
            "stage_seconds_per_volume": stages, "setup_s": setupSeconds, "peak_rss_mib": peak,
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
