import Foundation
import SelfTest
import XCTest

/// The simba binary as a user runs it: alone and under mpirun with 1, 2 and 3 ranks.
final class CLITests: XCTestCase {
    func testInfoOnTwoRanksReportsTheWorldAndLibraries() throws {
        let result = try SimbaProcess.run(["info"], ranks: 2)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("2 ranks"), result.stdout)
        XCTAssertTrue(result.stdout.contains("Open MPI"), result.stdout)
        XCTAssertTrue(result.stdout.contains("MPI_THREAD_"), result.stdout)
        XCTAssertTrue(result.stdout.contains("yes (MPI-IO)"), result.stdout)
        XCTAssertTrue(result.stdout.contains("1 per rank"), result.stdout)
        // Which convolution products run: the AVX-512 kernel or sgemm, and why.
        XCTAssertTrue(result.stdout.contains("conv products  avx512 (")
                      || result.stdout.contains("conv products  sgemm ("), result.stdout)
        XCTAssertTrue(result.stdout.contains("Colin27 + AAL"), result.stdout)
        // Rank 0 alone speaks.
        XCTAssertEqual(result.stdout.components(separatedBy: "HDF5 parallel").count, 2, result.stdout)
    }

    func testThreadsOptionOverridesThePerRankDefault() throws {
        let result = try SimbaProcess.run(["info", "--json", "--threads", "2"], ranks: 2)
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(object?["openblas_threads_per_rank"] as? [Int], [2, 2])
        XCTAssertEqual(object?["world_size"] as? Int, 2)
        XCTAssertEqual(object?["hdf5_parallel"] as? Bool, true)
    }

    func testBadThreadCountIsOneLineAndNonZeroOnEveryRank() throws {
        for ranks in [nil, 2] as [Int?] {
            let result = try SimbaProcess.run(["info", "--threads", "0"], ranks: ranks)
            XCTAssertNotEqual(result.status, 0)
            XCTAssertEqual(result.stderrLines, ["simba: error: --threads must be at least 1, got 0 (see 'simba --help')"])
            XCTAssertEqual(result.stdout, "")
        }
    }

    func testSelfTestPassesOnOneTwoAndThreeRanks() throws {
        for ranks in 1...3 {
            let result = try SimbaProcess.run(["selftest"], ranks: ranks)
            XCTAssertEqual(result.status, 0, "\(ranks) ranks: \(result.stdout)\(result.stderr)")
            XCTAssertTrue(result.stdout.contains("selftest on \(ranks) rank"), result.stdout)
            XCTAssertTrue(result.stdout.contains(" 0 failed"), result.stdout)
            XCTAssertFalse(result.stdout.contains("FAIL"), result.stdout)
            XCTAssertEqual(result.stderr, "")
        }
    }

    func testAllreduceOfABufferOverTwoGigabytes() throws {
        // 2100 MiB of floats per rank: more than 2^31 bytes, so MPI's 32-bit
        // counts force the chunked path.
        let result = try SimbaProcess.run(["selftest", "--large-mib", "2100"], ranks: 2, timeout: 300)
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("ok   allreduce: a 2100 MiB buffer"), result.stdout)
    }

    /// Three ranks write disjoint hyperslabs and append collectively; h5dump,
    /// outside simba, reads the file back and every value is checked.
    func testParallelFileReadsBackInH5dump() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("simba-cli-\(UUID().uuidString).h5").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let ranks = 3
        let result = try SimbaProcess.run(["selftest", "--keep", file], ranks: ranks)
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)

        let blocks = try h5dumpNumbers(file, dataset: "/blocks")
        var expectedBlocks: [Double] = []
        for (row, owner) in SelfTestFile.blockOwners(size: ranks).enumerated() {
            expectedBlocks += (0..<4).map { Double(SelfTestFile.blockValue(rank: owner, row: row, column: $0)) }
        }
        XCTAssertEqual(blocks, expectedBlocks)

        let series = try h5dumpNumbers(file, dataset: "/series")
        let expectedSeries = SelfTestFile.seriesOwners(size: ranks).flatMap { owner in
            (0..<3).map { Double(SelfTestFile.seriesValue(round: owner.round, rank: owner.rank, column: $0)) }
        }
        XCTAssertEqual(series, expectedSeries)
        XCTAssertEqual(try h5dumpNumbers(file, dataset: "/compressed"), expectedBlocks.map { $0 * 0.5 })
        XCTAssertEqual(try h5dumpNumbers(file, dataset: "/labels"), [1, 2, 3])

        let header = try SimbaProcess.tool("h5dump", ["-H", "-d", "/series", file])
        XCTAssertTrue(header.stdout.contains("( 12, 3 ) / ( H5S_UNLIMITED, 3 )"), header.stdout)

        // h5py (what users load run files with) sees the same names, types and attributes.
        let script = """
            import h5py, sys
            f = h5py.File(sys.argv[1], "r")
            print(f.attrs["format"], int(f.attrs["world_size"]), list(f.attrs["weights"]))
            print([n.decode() for n in f["names"][:]], f["blocks"].dtype, f["series"].maxshape)
            """
        let python = try SimbaProcess.tool("/usr/bin/python3", ["-c", script, file])
        XCTAssertEqual(python.status, 0, python.stderr)
        XCTAssertEqual(python.stdout, """
            simba-selftest 3 [0.25, 0.5, 1.0]
            ['rank-0', 'rank-1', 'rank-2'] float32 (None, 3)

            """)
    }

    /// The values of a dataset as h5dump prints them (no indices, no wrapping).
    private func h5dumpNumbers(_ file: String, dataset: String) throws -> [Double] {
        let dump = try SimbaProcess.tool("h5dump", ["-y", "-w", "0", "-d", dataset, file])
        XCTAssertEqual(dump.status, 0, dump.stderr)
        guard let start = dump.stdout.range(of: "DATA {"),
              let end = dump.stdout.range(of: "}", range: start.upperBound..<dump.stdout.endIndex) else {
            XCTFail("no DATA block in h5dump output:\n\(dump.stdout)")
            return []
        }
        return dump.stdout[start.upperBound..<end.lowerBound]
            .split(whereSeparator: { ", \n".contains($0) })
            .compactMap { Double($0) }
    }

    /// One rank fails: every rank exits non-zero within seconds and the user
    /// sees one readable line, whether the others could hear of it (agreed)
    /// or were left waiting in a collective (stranded: abort).
    func testOneFailingRankStopsTheWholeJob() throws {
        for mode in ["agreed", "stranded"] {
            let result = try SimbaProcess.run(["selftest", "--fail-rank", "1", "--fail-mode", mode],
                                              ranks: 3, timeout: 60)
            XCTAssertNotEqual(result.status, 0, mode)
            XCTAssertLessThan(result.seconds, 30, mode)
            XCTAssertEqual(result.stderrLines.count, 1, "\(mode): \(result.stderr)")
            XCTAssertTrue(result.stderr.hasPrefix("simba: error"), result.stderr)
            XCTAssertTrue(result.stderr.contains("injected failure on rank 1"), result.stderr)
            XCTAssertFalse(result.stderr.contains("MPI_ABORT"), result.stderr)
        }
    }

    /// A rank frozen with SIGSTOP: the watchdog names it within its timeout
    /// and the whole job stops instead of hanging.
    func testFrozenRankIsNamedAndTheJobStops() throws {
        let result = try SimbaProcess.run(["selftest", "--stall-rank", "1", "--stall-timeout", "3"], ranks: 3, timeout: 60)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertLessThan(result.seconds, 20)
        XCTAssertEqual(result.stderrLines.count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("stalled: rank 1 frozen or gone"), result.stderr)
        XCTAssertTrue(result.stderr.contains("step 3"), result.stderr)
    }

    func testEveryCommandHasHelpWithAnExample() throws {
        let top = try SimbaProcess.run(["--help"])
        XCTAssertEqual(top.status, 0)
        for command in ["run", "generate", "train", "evaluate", "probe", "report", "inspect", "export", "regions", "config", "info", "selftest", "bench"] {
            XCTAssertTrue(top.stdout.contains(command), "top-level help lacks \(command)")
            let help = try SimbaProcess.run([command, "--help"])
            XCTAssertEqual(help.status, 0, command)
            XCTAssertTrue(help.stdout.contains("Example"), "\(command) --help has no example")
            XCTAssertTrue(help.stdout.contains("simba \(command)"), "\(command) --help example")
        }
    }

    func testUnknownFlagUnderMPIrunIsReportedOnce() throws {
        let result = try SimbaProcess.run(["info", "--bogus"], ranks: 3)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(result.stderrLines.count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("--bogus"), result.stderr)
    }
}
