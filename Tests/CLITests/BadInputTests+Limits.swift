import Foundation
import XCTest

/// Inputs whose sizes would make simba allocate far more than any machine
/// has (or trap on the way there): each is refused in one line before the
/// allocation, on every rank.
extension BadInputTests {
    /// 469 bytes of YAML whose aliases expand to 9^9 strings.
    static let aliasBomb: String = {
        var lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x]"]
        for level in 1...8 {
            lines.append("l\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 9).joined(separator: ", ") + "]")
        }
        return lines.joined(separator: "\n") + "\n"
    }()

    func testConfigWhoseAliasesExpandToGigabytesIsRefused() throws {
        try assertGenerationRefuses(config: Self.aliasBomb + "cohort: {size: 16}\n", ranks: 2,
                                    mentions: ["cohort.yaml", "aliases"])
    }

    func testDatasetWhoseConfigAttributeIsAnAliasBombIsRefused() throws {
        let (dataset, _) = try editedDataset("bomb.h5", "f.attrs['config'] = '''\(Self.aliasBomb)'''")
        try assertTrainingRefuses(dataset: dataset, ranks: 2, mentions: ["bomb.h5", "aliases"])
    }

    func testHugeCohortIsRefused() throws {
        try assertGenerationRefuses(config: "cohort: {size: 100000000}\n", ranks: 2,
                                    mentions: ["cohort.size: must be at most 1000000, got 100000000"])
    }

    func testSixtyThreeBiasesAreRefused() throws {
        let biases = (0..<63).map { "  - {name: b\($0), type: intensity, factor: 1.1}" }.joined(separator: "\n")
        try assertGenerationRefuses(config: "cohort: {size: 16}\nbiases:\n" + biases + "\n", ranks: 2,
                                    mentions: ["biases", "at most 16", "63"])
    }

    func testSiteWeightsThatSumToInfinityAreRefused() throws {
        try assertGenerationRefuses(config: "cohort: {size: 16}\nsites:\n  - {name: a, weight: 1.0e308}\n  - {name: b, weight: 1.0e308}\n",
                                    mentions: ["sites[0].weight", "finite", "1e+308"])
    }

    func testVoxelSizeBelowOneMillimetreIsRefused() throws {
        try assertGenerationRefuses(config: "template: {voxel_mm: 0.5}\n",
                                    mentions: ["template.voxel_mm: must be between 1 and 4 mm, got 0.5"])
    }

    /// Colin27 and AAL, unpacked, with every affine scaled from mm to 10 m per voxel.
    func testTemplateWithTenMetreVoxelsIsRefused() throws {
        let script = """
        import gzip, struct, sys
        for source, target in zip(sys.argv[1:3], sys.argv[3:5]):
            data = bytearray(gzip.open(source).read())
            pixdim = list(struct.unpack_from('<8f', data, 76))
            struct.pack_into('<3f', data, 80, *[p * 10000 for p in pixdim[1:4]])
            for row in range(3):
                srow = list(struct.unpack_from('<4f', data, 280 + 16 * row))
                struct.pack_into('<4f', data, 280 + 16 * row, *[v * 10000 for v in srow[:3]], srow[3])
            open(target, 'wb').write(data)
        """
        let image = path("huge-voxels.nii"), labels = path("huge-labels.nii")
        let result = try SimbaProcess.python(script, ["\(Self.template)/ch2bet.nii.gz", "\(Self.template)/aal.nii.gz",
                                                      image, labels])
        XCTAssertEqual(result.status, 0, result.stderr)
        try assertGenerationRefuses(config: templateConfig(image: image, labels: labels), ranks: 2,
                                    mentions: ["huge-voxels.nii", "voxel"])
    }

    /// A gzip stream of a 2×2×2 image followed by 32 GiB of zeros (more
    /// than this machine's memory) in 2048 concatenated members of 32 MiB
    /// together: inflating stops where the voxels end.
    func testGzippedTemplateThatInflatesFarPastItsHeaderIsRead() throws {
        let script = """
        import gzip, struct, sys
        data = bytearray(gzip.open(sys.argv[1]).read())
        header = bytearray(data[:352])
        struct.pack_into('<8h', header, 40, 3, 2, 2, 2, 1, 1, 1, 1)
        struct.pack_into('<hh', header, 70, 16, 32)
        struct.pack_into('<f', header, 108, 352.0)
        struct.pack_into('<ff', header, 112, 1.0, 0.0)
        voxels = struct.pack('<8f', *range(8))
        member = gzip.compress(bytes(1 << 24), 9)
        with open(sys.argv[2], 'wb') as out:
            out.write(gzip.compress(bytes(header) + voxels))
            for _ in range(2048):
                out.write(member)
        """
        let image = path("inflating.nii.gz")
        let result = try SimbaProcess.python(script, ["\(Self.template)/ch2bet.nii.gz", image])
        XCTAssertEqual(result.status, 0, result.stderr)
        // The image reads (its label map is elsewhere, so the grid check refuses the pair, in one line).
        try assertGenerationRefuses(config: templateConfig(image: image), mentions: ["aal.nii.gz", "another grid"])
    }

    func testSampleColumnDeclaredWithTwoToTheFortyEntriesIsRefused() throws {
        let (dataset, _) = try editedDataset("huge-column.h5", """
        del f['samples/label']
        f['samples'].create_dataset('label', shape=(2**40,), dtype='i4', chunks=(4096,))
        """)
        try assertTrainingRefuses(dataset: dataset, ranks: 2, mentions: ["huge-column.h5", "/samples/label", "1099511627776"])
    }

    func testSiteNumberOutOfRangeIsRefused() throws {
        let (dataset, _) = try editedDataset("bad-site.h5", "f['samples/site'][0] = 7")
        try assertTrainingRefuses(dataset: dataset, mentions: ["bad-site.h5", "site 7"])
    }

    func testDuplicateLabelNumbersAreRefused() throws {
        let (dataset, _) = try editedDataset("twice.h5", """
        numbers = f['template/label_numbers'][...]
        numbers[1] = numbers[0]
        f['template/label_numbers'][...] = numbers
        """)
        try assertRefused(["inspect", dataset], output: nil, mentions: ["twice.h5", "label number"])
    }

    func testRunFileWithAMangledModelInputIsRefused() throws {
        let copy = path("mangled-input.h5")
        try? FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: Self.trainedRun, toPath: copy)
        let result = try SimbaProcess.python("import h5py, sys\nh5py.File(sys.argv[1], 'r+')['model'].attrs['input'] = [4, 4]", [copy])
        XCTAssertEqual(result.status, 0, result.stderr)
        try assertRefused(["evaluate", copy, "--data", TinyDataset.path], ranks: 2, output: copy,
                          mentions: ["mangled-input.h5", "/model input is [4, 4]"])
    }

    // MARK: what a path names

    func testFIFOAsTemplateIsNamed() throws {
        let fifo = path("template.fifo")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        try assertGenerationRefuses(config: templateConfig(image: fifo), mentions: ["template.fifo", "FIFO"])
    }

    func testDeviceAsTemplateIsNamed() throws {
        try assertGenerationRefuses(config: templateConfig(image: "/dev/zero"), mentions: ["/dev/zero", "device"])
    }
}
