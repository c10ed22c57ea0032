import Foundation
import XCTest

/// Runs the built `simba` binary, alone or under mpirun, as a user would.
struct SimbaProcess {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
        let seconds: Double
        var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }
    }

    /// The binary under test: $SIMBA_BIN (set by `make test`), else the
    /// debug build next to this package.
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["SIMBA_BIN"], !path.isEmpty { return path }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return packageRoot.appendingPathComponent(".build/debug/simba").path
    }

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// Runs `simba args` on `ranks` ranks (nil: no mpirun at all), killing it
    /// after `timeout` seconds.
    static func run(_ arguments: [String], ranks: Int? = nil, timeout: Double = 120,
                    environment extra: [String: String] = [:]) throws -> Result {
        let (executable, fullArguments) = command(arguments, ranks: ranks)
        // Alone, simba is an MPI singleton: isolated, it starts in a fraction
        // of a second instead of seconds (no helper daemon to spawn).
        let singleton = ranks == nil ? ["OMPI_MCA_ess_singleton_isolated": "1"] : [:]
        return try launch(executable, fullArguments, environment: childEnvironment(singleton.merging(extra) { $1 }),
                          timeout: timeout)
    }

    /// The program and arguments that run `simba arguments` on `ranks` ranks.
    static func command(_ arguments: [String], ranks: Int?) -> (URL, [String]) {
        guard let ranks else { return (URL(fileURLWithPath: binary), arguments) }
        return (repositoryRoot.appendingPathComponent("scripts/mpirun.sh"), [String(ranks), binary] + arguments)
    }

    /// This test process started MPI as a singleton; its launcher variables
    /// would make a child mpirun exit at once.
    static func childEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { key, _ in
            !["OMPI_", "PMIX_", "OPAL_", "ORTE_"].contains { key.hasPrefix($0) }
        }
        environment.merge(extra) { $1 }
        return environment
    }

    /// Runs a Python script with Debian's python3 (h5py, nibabel: `make
    /// test` installs them); skips the test when there is no such python.
    static func python(_ script: String, _ arguments: [String]) throws -> Result {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else {
            throw XCTSkip("no /usr/bin/python3 (make test-deps installs it with h5py)")
        }
        return try tool("/usr/bin/python3", ["-c", script] + arguments)
    }

    /// Runs any program (h5dump, python3) and returns its output.
    static func tool(_ executable: String, _ arguments: [String], timeout: Double = 120) throws -> Result {
        try launch(URL(fileURLWithPath: "/usr/bin/env"), [executable] + arguments,
                   environment: ProcessInfo.processInfo.environment, timeout: timeout)
    }

    static func launch(_ executable: URL, _ arguments: [String], environment: [String: String],
                               timeout: Double) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        let started = Date()
        try process.run()
        let reader = PipeReader(output), errorReader = PipeReader(errors)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            XCTFail("\(executable.lastPathComponent) \(arguments.joined(separator: " ")) did not finish within \(timeout) s")
        }
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: reader.text(), stderr: errorReader.text(),
                      seconds: Date().timeIntervalSince(started))
    }
}

/// Drains a pipe on a background thread so a chatty child never blocks.
final class PipeReader: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ pipe: Pipe) {
        let handle = pipe.fileHandleForReading
        DispatchQueue.global().async {
            self.data = handle.readDataToEndOfFile()
            self.done.signal()
        }
    }

    func text() -> String {
        done.wait()
        return String(decoding: data, as: UTF8.self)
    }
}

extension XCTestCase {
    /// Runs a Python/h5py script (SimbaProcess.python); asserts it succeeded and returns its stdout.
    func python(_ script: String, _ arguments: [String]) throws -> String {
        let result = try SimbaProcess.python(script, arguments)
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stdout
    }

    /// The DOM of an HTML file as headless Chromium renders it; skips the
    /// test without chromium (make test installs it).
    func renderedDOM(_ path: String) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium") else {
            throw XCTSkip("chromium is not installed (make test installs it)")
        }
        let dom = try SimbaProcess.tool("/usr/bin/chromium", [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--dump-dom", "file://" + path,
        ], timeout: 120)
        XCTAssertEqual(dom.status, 0, dom.stderr)
        return dom.stdout
    }
}
