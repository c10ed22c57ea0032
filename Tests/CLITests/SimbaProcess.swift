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
        // This test process started MPI as a singleton; its launcher variables
        // would make the child mpirun exit at once.
        var environment = ProcessInfo.processInfo.environment.filter { key, _ in
            !["OMPI_", "PMIX_", "OPAL_", "ORTE_"].contains { key.hasPrefix($0) }
        }
        environment.merge(extra) { $1 }
        if let ranks {
            return try launch(repositoryRoot.appendingPathComponent("scripts/mpirun.sh"),
                              [String(ranks), binary] + arguments, environment: environment, timeout: timeout)
        }
        return try launch(URL(fileURLWithPath: binary), arguments, environment: environment, timeout: timeout)
    }

    /// Runs any program (h5dump, python3) and returns its output.
    static func tool(_ executable: String, _ arguments: [String], timeout: Double = 120) throws -> Result {
        try launch(URL(fileURLWithPath: "/usr/bin/env"), [executable] + arguments,
                   environment: ProcessInfo.processInfo.environment, timeout: timeout)
    }

    private static func launch(_ executable: URL, _ arguments: [String], environment: [String: String],
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
