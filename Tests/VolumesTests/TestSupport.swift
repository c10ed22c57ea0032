import Foundation
import XCTest
@testable import Volumes

/// Deterministic pseudo-random numbers (SplitMix64) so failures reproduce.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func randomVolume(_ grid: Grid, seed: UInt64, range: ClosedRange<Float> = -1...1) -> Volume<Float> {
    var rng = SeededGenerator(seed: seed)
    return Volume(grid: grid, voxels: (0..<grid.count).map { _ in Float.random(in: range, using: &rng) })
}

/// A smooth random velocity field: white noise smoothed with `sigma` mm, scaled to `maxNorm` mm.
func smoothRandomField(_ grid: Grid, sigma: Double, maxNorm: Float, seed: UInt64) -> VectorField {
    let noise = VectorField(components: (randomVolume(grid, seed: seed), randomVolume(grid, seed: seed + 1),
                                         randomVolume(grid, seed: seed + 2)))
    let smooth = noise.smoothed(sigmaMillimetres: sigma)
    return smooth.scaled(by: maxNorm / smooth.maxNorm)
}

/// A rotated, anisotropic, flipped grid: exercises every term of the affine.
func obliqueGrid(dims: SIMD3<Int>) -> Grid {
    let angle = 0.3, c = cos(angle), s = sin(angle)
    let spacing = SIMD3(1.5, 1.0, 2.0)
    // Rotation about z, then the third axis flipped (negative determinant, like many scans).
    let linear = [[c * spacing.x, -s * spacing.y, 0],
                  [s * spacing.x, c * spacing.y, 0],
                  [0, 0, -spacing.z]]
    return Grid(dims: dims, affine: Affine(linear: linear, translation: SIMD3(-20.5, 13.25, 40)))
}

func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "volumes-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

enum Python {
    static let executable = "/usr/bin/python3"

    /// Runs a script; returns stdout, throws with stderr on failure. Output goes through
    /// files rather than pipes so a chatty stderr can never block the child.
    @discardableResult
    static func run(_ script: String, arguments: [String] = []) throws -> String {
        let base = NSTemporaryDirectory() + "volumes-python-" + UUID().uuidString
        _ = FileManager.default.createFile(atPath: base + ".out", contents: nil)  // FileHandle below reports failure
        _ = FileManager.default.createFile(atPath: base + ".err", contents: nil)  // FileHandle below reports failure
        defer {
            try? FileManager.default.removeItem(atPath: base + ".out")
            try? FileManager.default.removeItem(atPath: base + ".err")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-c", script] + arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".out"))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".err"))
        try process.run()
        process.waitUntilExit()
        let output = try String(contentsOfFile: base + ".out", encoding: .utf8)
        guard process.terminationStatus == 0 else {
            let errors = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
            throw PythonError(message: "python exited \(process.terminationStatus): \(errors)")
        }
        return output
    }

    /// Skips the calling test when there is no Python 3 to decode with.
    static func requirePython() throws {
        guard FileManager.default.isExecutableFile(atPath: executable) else { throw XCTSkip("\(executable) not found") }
    }

    /// Skips the calling test when nibabel cannot be imported.
    static func requireNibabel() throws {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw XCTSkip("\(executable) not found")
        }
        do {
            try run("import nibabel, numpy")
        } catch {
            throw XCTSkip("nibabel is not importable by \(executable): \(error)")
        }
    }
}

struct PythonError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

func XCTAssertAffineEqual(_ a: Affine, _ b: Affine, accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertLessThanOrEqual(a.maxDifference(to: b), accuracy, "\(a) vs \(b)", file: file, line: line)
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}
