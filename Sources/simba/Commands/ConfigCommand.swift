import ArgumentParser
import Experiment
import Synthesis
import YAMLConfig

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Print a preset's whole experiment as an editable YAML file, or check a configuration file.",
        discussion: """
            The cohort, training and analysis sections are written out, every \
            key with a comment, so a preset is the best starting point for your \
            own experiment: 'simba run' on the printed file repeats the preset. \
            A file is checked whole (every section, and a sweep if it has one) \
            and printed back with the defaults filled in.

            Example:
              simba config --preset simba-jamia > my.yaml
              simba config my.yaml          # check it; prints it back with defaults filled in
              simba config --list
            """)

    @Argument(help: "A configuration file to check.") var file: String?
    @Option(help: "The preset to print (see --list).") var preset: String?
    @Flag(help: "List the presets.") var list = false

    func validate() throws {
        if file != nil && preset != nil { throw ValidationError("give a configuration file or --preset, not both") }
    }

    func run() throws {
        if list {
            for preset in CohortPreset.allCases {
                print(preset.rawValue.padding(toLength: CohortPreset.allCases.map(\.rawValue.count).max() ?? 0, withPad: " ", startingAt: 0) + "  " + preset.summary)
            }
            return
        }
        if let file {
            let config = try ExperimentConfig.read(try ConfigNode.load(file: file))
            try config.check()
            print(config.yaml(title: "\(file), checked: defaults filled in"), terminator: "")
            return
        }
        let chosen = try CohortPreset.named(preset ?? CohortPreset.quickstart.rawValue)
        print(ExperimentConfig.preset(chosen).yaml(title: "simba preset '\(chosen.rawValue)': \(chosen.summary)"),
              terminator: "")
    }
}
