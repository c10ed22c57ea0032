import Foundation
import XCTest
@testable import Volumes

/// The real templates from Debian's mricron-data; skipped when it is not installed.
final class Colin27Tests: XCTestCase {
    static let templates = "/usr/share/mricron/templates"
    let t1Path = templates + "/ch2bet.nii.gz"
    let atlasPath = templates + "/aal.nii.gz"
    let namesPath = templates + "/aal.nii.txt"

    override func setUpWithError() throws {
        for path in [t1Path, atlasPath, namesPath] where !FileManager.default.fileExists(atPath: path) {
            throw XCTSkip("\(path) not installed (Debian package mricron-data)")
        }
    }

    func testTemplateAtlasAndNamesLoadOnOneGrid() throws {
        let t1 = try NIfTI.readVolume(path: t1Path)
        let atlas = try NIfTI.readLabels(path: atlasPath)
        let names = try LabelNames(contentsOf: namesPath)
        XCTAssertEqual(t1.dims, SIMD3(181, 217, 181))
        XCTAssertEqual(atlas.grid, t1.grid)
        XCTAssertAffineEqual(t1.grid.affine, .scaling(SIMD3(1, 1, 1), translation: SIMD3(-90, -125, -71)), accuracy: 1e-6)
        XCTAssertEqual(names.labels.count, 116)
        XCTAssertEqual(names[1], "Precentral_L")
        XCTAssertEqual(names[116], "Vermis_10")
        let used = Set(atlas.voxels).subtracting([0])
        XCTAssertEqual(used.count, 116)
        XCTAssertTrue(used.isSubset(of: Set(names.labels)))
        // Skull-stripped brain: background is zero, the brain is bright.
        XCTAssertEqual(t1[0, 0, 0], 0)
        XCTAssertGreaterThan(t1.voxels.max()!, 50)
    }

    func testResampleAndCropTheTemplateLikeSynthesis() throws {
        let t1 = try NIfTI.readVolume(path: t1Path)
        let atlas = try NIfTI.readLabels(path: atlasPath)
        let t1At3 = t1.resampled(toSpacing: 3)
        let atlasAt3 = atlas.resampled(to: t1At3.grid)
        XCTAssertEqual(t1At3.dims, SIMD3(60, 72, 60))
        let box = try XCTUnwrap(t1At3.nonzeroBoundingBox(margin: 6))
        let t1Cropped = t1At3.cropped(to: box), atlasCropped = atlasAt3.cropped(to: box)
        XCTAssertLessThan(t1Cropped.grid.count, t1At3.grid.count)
        // A cropped voxel centre has the same world position, and the value there matches the
        // 1 mm template smoothed and sampled at that point.
        let world = t1Cropped.grid.world(voxel: SIMD3(20, 25, 20))
        let reference = t1.smoothed(sigmaMillimetres: 1.5).sample(atWorld: world)
        XCTAssertEqual(t1Cropped[20, 25, 20], reference, accuracy: 1e-3)
        XCTAssertEqual(atlasCropped[20, 25, 20], atlas.voxels[atlas.grid.index(SIMD3<Int>(atlas.grid.voxel(world: world).rounded(.toNearestOrAwayFromZero)))])
        // Every AAL region survives at 3 mm.
        XCTAssertEqual(Set(atlasCropped.voxels).count, 117)
        // The default majority vote lands on the same grid, keeps every region too, and mostly
        // agrees with nearest neighbour (they differ along region borders).
        let majority = atlas.resampled(toSpacing: 3)
        XCTAssertEqual(majority.grid, t1At3.grid)
        XCTAssertEqual(Set(majority.voxels).count, 117)
        let agreement = zip(majority.voxels, atlasAt3.voxels).filter { $0 == $1 }.count
        XCTAssertGreaterThan(Double(agreement) / Double(majority.voxels.count), 0.9)
    }
}
