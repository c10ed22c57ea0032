import ArgumentParser
import Cluster
import Experiment

struct ProbeCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Measure where in the network the bias is encoded (layer-wise probes).",
        discussion: """
            Each block's test-set activations (and the pooled features) → PCA \
            keeping 99% of the variance → logistic regression predicting the \
            bias label and the disease label, cross-validated; ranks share the \
            layers. Results go to the run file's /encoding.

            Example:
              mpirun -q -np 2 simba probe run.h5
            """)
    @OptionGroup var runtime: RuntimeOptions
    @OptionGroup var trained: TrainedRunOptions
    @Option(help: "Cross-validation folds.") var folds: Int = 5

    func validate() throws {
        if folds < 2 { throw ValidationError("--folds must be at least 2, got \(folds)") }
    }

    func run(world: Communicator) throws {
        let table = try Stages.probe(runFile: trained.run, dataset: trained.data, checkpoint: trained.checkpoint,
                                     folds: folds, world: world)
        if world.rank == 0 { print(ResultText.encoding(table)) }
    }
}

extension ResultText {
    static func encoding(_ table: EncodingTable) -> String {
        let targets = table.targets.keys.sorted()
        var lines = ["layer      features  " + targets.map { "\($0) accuracy (chance)".padding(toLength: 26, withPad: " ", startingAt: 0) }.joined()]
        for (index, layer) in table.layers.enumerated() {
            var line = layer.padding(toLength: 11, withPad: " ", startingAt: 0)
                + String(table.features[index]).padding(toLength: 10, withPad: " ", startingAt: 0)
            for target in targets {
                let probe = table.targets[target]![index]
                let mark = (probe.pValue ?? 1) < 0.05 ? " *" : ""
                line += (probe.accuracy.map { String(format: "%.3f", $0) } ?? "–").appending(String(format: " (%.2f)", probe.chance) + mark)
                    .padding(toLength: 26, withPad: " ", startingAt: 0)
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n") + "\n(* above chance, one-sided binomial p < 0.05; \(table.folds)-fold cross-validated on \(table.samples) test images)"
    }
}
