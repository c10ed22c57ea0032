import Foundation
import Network
import Storage
import YAMLConfig

/// One complete checkpoint's parameters as read back from a run file, with
/// the configuration and input they belong to. The file is opened serially
/// and read-only, so any rank may read it.
public struct StoredModel: Sendable {
    public let path: String
    public let config: TrainingConfig
    /// The dataset path as `simba train` recorded it.
    public let recordedDataset: String
    public let input: Grid3
    /// The checkpoint read, e.g. /checkpoints/epoch_000012.
    public let checkpoint: String
    public let epoch: Int
    /// Empty for a local run (one model per site, no single model).
    public let parameters: [Float]
    /// The image subtracted from every input (`training.centre_input`); nil: none.
    public let inputMean: [Float]?

    /// Reads `link` ("best" or "latest") of the run file at `path`. A local
    /// run has no single model: its parameters come back empty.
    public static func read(path: String, link: String = "best") throws -> StoredModel {
        guard FileManager.default.fileExists(atPath: path) else {
            throw TrainingError("run file \(path) does not exist (train one with 'simba train')")
        }
        let file: H5File
        do { file = try H5File.open(path) } catch {
            throw TrainingError("cannot open run file \(path): \(error)")
        }
        defer { try? file.close() }
        let root = try file.root
        guard root.hasAttribute("format"), try root.stringAttribute("format") == RunFile.format else {
            throw TrainingError("\(path) is not a simba run file (no format attribute '\(RunFile.format)')")
        }
        let config = try TrainingConfig.read(try ConfigNode.parse(try root.stringAttribute("config"), source: "\(path) config"))
        let input = try RunFile.storedInput(root, path: path)
        let checkpoints = try root.group("checkpoints")
        guard let target = checkpoints.softLinkTarget(link) else {
            throw TrainingError("\(path) has no '\(link)' checkpoint yet (training has not finished an epoch)")
        }
        let group = try root.group(String(target.dropFirst()))
        guard group.hasAttribute("complete"), try group.attribute("complete", as: Int.self) == 1 else {
            throw TrainingError("\(path): \(target) is not marked complete")
        }
        return StoredModel(path: path, config: config, recordedDataset: try root.stringAttribute("dataset"),
                           input: input, checkpoint: target,
                           epoch: try group.attribute("epochs_done", as: Int.self),
                           parameters: config.strategy == .local ? [] : try group.dataset("parameters").read(),
                           inputMean: try readInputMean(root, config: config, input: input, path: path))
    }

    /// `/model/input_mean`, which a run that centres its input must have.
    static func readInputMean(_ root: H5Group, config: TrainingConfig, input: Grid3, path: String) throws -> [Float]? {
        guard config.centreInput else { return nil }
        let model = try root.group("model")
        guard model.contains(RunFile.inputMeanName) else {
            throw TrainingError("\(path) centres its input (training.centre_input) but has no /model/\(RunFile.inputMeanName) (a damaged run file?)")
        }
        return try model.read(RunFile.inputMeanName, shape: input.array, meaning: "the input's grid")
    }

    /// Refuses to start a model of `configuration` from these parameters
    /// unless the two networks are the same (`key` names the setting).
    public func check(fits configuration: SimbaCNNConfiguration, key: String) throws {
        guard config.strategy != .local else {
            throw TrainingError("\(key): \(path) was trained with strategy local (one model per site), so it has no single model to start from")
        }
        let stored = config.model(input: input)
        guard stored.input == configuration.input, stored.widths == configuration.widths,
              stored.activation == configuration.activation else {
            throw TrainingError("\(key): \(path) holds a model for input \(stored.input) with widths \(stored.widths) (\(stored.activation.rawValue)); this run builds input \(configuration.input) with widths \(configuration.widths) (\(configuration.activation.rawValue))")
        }
    }
}
