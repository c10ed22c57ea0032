import Foundation
import XCTest

/// Scratch folders and one tiny cohort shared by the test classes that only
/// read it (generated once per test process, on 2 ranks).
enum TinyDataset {
    static let folder: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("simba-shared-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: TinyDataset.folder) }
        return url
    }()

    static let path: String = {
        let output = folder.appendingPathComponent("tiny.h5").path
        let result = try? SimbaProcess.run(["generate", "--preset", "tiny", "-o", output], ranks: 2, timeout: 300)
        XCTAssertEqual(result?.status, 0, result?.stderr ?? "generate did not run")
        return output
    }()

    /// A small cohort around the disease and bias regions at 4 mm with the
    /// putamen bias in 70% / 30%: the start of a test's configuration, to
    /// which it adds biases (list items), sites, training and analysis.
    static func croppedCohortYAML(seed: Int) -> String {
        """
        seed: \(seed)
        template: {voxel_mm: 4, margin_mm: 8, crop_to: [Insula_R, Putamen_R]}
        cohort: {size: 96}
        subject: {modes: 4}
        biases:
          - name: morph
            type: morphological
            region: Putamen_R
            kind: expansion
            strength_mm: 1
            prevalence: {disease: 0.7, healthy: 0.3}

        """
    }

    /// A fresh folder for one test class (removed by the caller's tearDown).
    static func scratch(_ label: String) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("simba-\(label)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
