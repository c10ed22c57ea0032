import Cluster
import Foundation
import Limits
import Storage

/// Each stage's peak resident memory on every rank, kept in the file the
/// stage wrote (run file or dataset) as `/memory/STAGE`: MiB per rank, with
/// `since_stage_start` 1 when the kernel let the peak be restarted for the
/// stage (else the process's peak so far, an upper bound). A stage re-run
/// replaces its own row only; a stage that computed nothing (a finished
/// run kept on resume) records nothing.
public struct StageMemory: Codable, Sendable, Equatable {
    public struct Stage: Codable, Sendable, Equatable {
        public var name: String
        public var peakMibByRank: [Double]
        /// False: the process's peak since it started, not the stage's own.
        public var sinceStageStart: Bool
        /// The largest rank's peak.
        public var peakMib: Double { peakMibByRank.max() ?? 0 }
    }

    public var stages: [Stage]

    static let groupName = "memory"
    /// The stage names in pipeline order (the report's rows).
    public static let order = ["generation", "training", StoredEvaluation.groupName, StoredEvaluation.otherCohortGroupName,
                               EncodingSection.own.rawValue, EncodingSection.biasedImages.rawValue,
                               EncodingSection.twinImages.rawValue, SaliencyTable.groupName]

    /// Starts measuring a stage on this rank: its peak from now on.
    public struct Meter {
        let restarted = PeakMemory.startStage()

        public init() {}

        /// Records every rank's peak since `init` as stage `stage` of `file`
        /// (collective; rank 0 writes, so the stage must have closed the file).
        public func record(_ stage: String, in file: String, world: Communicator) throws {
            // One gather: each rank's peak and whether its peak was restarted.
            let ranks = try world.allgather([PeakMemory.peakMiB(), restarted ? 1 : 0])
            try world.unanimously {
                guard world.rank == 0 else { return }
                try write(Stage(name: stage, peakMibByRank: ranks.map { $0[0] }, sinceStageStart: ranks.allSatisfy { $0[1] == 1 }),
                          to: file)
            }
        }
    }

    static func write(_ stage: Stage, to path: String) throws {
        let file = try H5File.open(path, writable: true)
        let root = try file.root
        let group = root.contains(groupName) ? try root.group(groupName) : try root.createGroup(groupName)
        if group.contains(stage.name) { try group.removeLink(stage.name) }
        try group.writeDataset(stage.name, stage.peakMibByRank)
        try group.dataset(stage.name).setAttribute("since_stage_start", stage.sinceStageStart ? 1 : 0)
        try file.close()
    }

    /// The stages recorded in `path`, in pipeline order (others after them);
    /// nil when none are.
    public static func read(from path: String) throws -> StageMemory? {
        let file = try H5File.open(path)
        defer { try? file.close() }
        let root = try file.root
        guard root.contains(groupName) else { return nil }
        let group = try root.group(groupName)
        let names = try group.memberNames().sorted { (order.firstIndex(of: $0) ?? order.count, $0) < (order.firstIndex(of: $1) ?? order.count, $1) }
        let stages = try names.map { name -> Stage in
            let dataset = try group.dataset(name)
            let malformed = ExperimentError("\(path): /\(groupName)/\(name) is not a list of peak MiB per rank")
            let shape = try dataset.shape
            guard shape.count == 1, shape[0] <= 1 << 20 else { throw malformed }
            let peaks: [Double] = try dataset.read()
            guard peaks.allSatisfy({ $0.isFinite && $0 >= 0 }) else { throw malformed }
            let since = dataset.hasAttribute("since_stage_start") ? try dataset.attribute("since_stage_start", as: Int.self) : 0
            return Stage(name: name, peakMibByRank: peaks, sinceStageStart: since == 1)
        }
        return stages.isEmpty ? nil : StageMemory(stages: stages)
    }
}
