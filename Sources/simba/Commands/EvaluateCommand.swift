import Analysis
import ArgumentParser
import Cluster
import Experiment
import Foundation

/// Options shared by the stages that read a trained run.
struct TrainedRunOptions: ParsableArguments {
    @Argument(help: "Run file written by 'simba train'.") var run: String
    @Option(help: "Dataset to test on (default: the one the run was trained on).") var data: String?
    @Option(help: "Checkpoint to use: best (lowest validation loss) or latest.") var checkpoint: String = "best"

    func validate() throws {
        guard ["best", "latest"].contains(checkpoint) else {
            throw ValidationError("--checkpoint must be best or latest, got '\(checkpoint)'")
        }
    }
}

struct EvaluateCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluate a trained run on the test split: subgroup metrics with confidence intervals.",
        discussion: """
            The ranks share the test images; the predictions, the metrics \
            overall, per bias group and per site (accuracy, TPR, TNR, FPR, AP, \
            AUROC with bootstrap intervals) and the disparities ΔTPR, ΔFPR \
            against the no-bias group go to the run file's /evaluation. A \
            local run (one model per site) is evaluated as deployed: each test \
            image by its own site's model (a held-out site's by their mean).

            Example:
              mpirun -q -np 2 simba evaluate run.h5
              simba evaluate run.h5 --data dataset-nobias.h5 --checkpoint latest
            """)
    @OptionGroup var runtime: RuntimeOptions
    @OptionGroup var trained: TrainedRunOptions
    @OptionGroup var stall: StallOptions
    @Option(help: "Bootstrap resamples for the confidence intervals.") var bootstrap: Int = 1000

    func validate() throws {
        if bootstrap < 100 { throw ValidationError("--bootstrap must be at least 100, got \(bootstrap)") }
    }

    func run(world: Communicator) throws {
        let local = try world.unanimously {
            FileManager.default.fileExists(atPath: trained.run) && (try? TrainingHistory.read(from: trained.run))?.strategy == "local"
        }
        let settings = BootstrapSettings(resamples: bootstrap)
        // A local run has one model per site: it is evaluated as deployed, from its cross-site matrix.
        let stored = try stall.watchdog.writing([trained.run], into: true, command: "simba evaluate", world: world, unit: "stage") { _ in
            local ? try Stages.evaluateLocal(runFile: trained.run, settings: settings, world: world)
                : try Stages.evaluate(runFile: trained.run, dataset: trained.data, checkpoint: trained.checkpoint,
                                      settings: settings, world: world)
        }
        if world.rank == 0 {
            let group = local ? StoredEvaluation.groupName
                : Stages.evaluationGroup(run: try TrainedRun.read(path: trained.run, link: trained.checkpoint), dataset: stored.dataset)
            print("evaluated \(trained.run) (\(stored.checkpoint)) on \(stored.predictions.indices.count) test images of \(stored.dataset) into /\(group):")
            print(ResultText.table(stored.byGroup))
            if !stored.disparities.keys.isEmpty { print(ResultText.table(stored.disparities)) }
        }
    }
}
