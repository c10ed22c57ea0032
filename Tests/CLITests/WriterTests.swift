import Foundation
import XCTest

/// One writer per output, and what a kill or a full disk leaves: two jobs
/// on one output, stale claims, an output that is an input, --overwrite
/// through links or onto foreign files, SIGKILL during --overwrite, a full
/// disk and a failed write while generating, a frozen rank outside
/// training, a file locked by another program.
final class WriterTests: XCTestCase {
    static let folder = TinyDataset.scratch("writers")

    override class func tearDown() {
        try? FileManager.default.removeItem(at: folder)
    }

    func path(_ name: String) -> String { Self.folder.appendingPathComponent(name).path }

    /// Freezes every rank of `job` (SIGSTOP) once `condition` holds.
    func freeze(_ job: SimbaJob, when condition: () -> Bool, ranks: Int = 2) throws {
        XCTAssertTrue(job.wait(until: { condition() && job.rankPIDs().count == ranks }, timeout: 180), "the job did not get there")
        for pid in job.rankPIDs().values { kill(pid, SIGSTOP) }
    }

    func thaw(_ job: SimbaJob) {
        for pid in job.rankPIDs().values { kill(pid, SIGCONT) }
    }

    func killAll(_ job: SimbaJob) -> SimbaProcess.Result {
        for pid in job.rankPIDs().values {
            kill(pid, SIGKILL)
            kill(pid, SIGCONT)
        }
        return job.finish(timeout: 60)
    }

    /// h5py: the file opens, is complete, and has `images` rows.
    func completeImages(_ file: String) throws -> String {
        let script = "import h5py, sys; f = h5py.File(sys.argv[1], 'r'); print(int(f.attrs['complete']), f['images'].shape[0])"
        return try SimbaProcess.python(script, [file]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A run of the tiny preset trained for one epoch on 2 ranks.
    func trainOneEpoch(_ run: String) throws {
        let result = try SimbaProcess.run(["train", "--preset", "tiny", "--data", TinyDataset.path, "-o", run,
                                           "--epochs", "1"], ranks: 2, timeout: 300)
        XCTAssertEqual(result.status, 0, result.stderr)
    }

    func assertOneError(_ result: SimbaProcess.Result, _ mentions: [String], code: Int32 = 1,
                        file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.status, code, result.stderr, file: file, line: line)
        let errors = result.stderrLines.filter { $0.hasPrefix("simba: error") }
        XCTAssertEqual(errors.count, 1, result.stderr, file: file, line: line)
        for mention in mentions {
            XCTAssertTrue(errors.first?.contains(mention) ?? false, "'\(errors)' lacks '\(mention)'", file: file, line: line)
        }
    }

    // MARK: one writer per output

    /// The reported case: two `simba generate -o same.h5` at once. The
    /// second is refused in one line naming the first (which is frozen
    /// meanwhile, so the two surely overlap); the first then finishes and
    /// same.h5 is complete; the claim is gone.
    func testSecondWriterOfAnOutputIsRefusedAndTheFirstCompletes() throws {
        let output = path("same.h5")
        let first = try SimbaJob(["generate", "--preset", "tiny", "-o", output], ranks: 2)
        try freeze(first, when: { FileManager.default.fileExists(atPath: output + ".lock") })
        for ranks in [1, 2, 3] {
            let second = try SimbaProcess.run(["generate", "--preset", "tiny", "-o", output, "--overwrite"], ranks: ranks,
                                              timeout: 120)
            assertOneError(second, ["\(output) is being written by another simba job", "simba generate (pid"])
            XCTAssertEqual(second.stderrLines.count, 1, second.stderr)
        }
        let training = try SimbaProcess.run(["train", "--preset", "tiny", "--data", TinyDataset.path, "-o", output,
                                             "--overwrite"], ranks: 2, timeout: 120)
        assertOneError(training, ["is being written by another simba job"])
        thaw(first)
        XCTAssertEqual(first.finish(timeout: 300).status, 0)
        XCTAssertEqual(try completeImages(output), "1 64")
        XCTAssertFalse(FileManager.default.fileExists(atPath: output + ".lock"), "the claim outlived the job")
        XCTAssertFalse(FileManager.default.fileExists(atPath: output + ".partial"))
    }

    /// A job killed with SIGKILL leaves its claim; on the same host the next
    /// job sees that its process is gone, says so and takes over. A claim
    /// from another host cannot be checked: refused, naming the holder and
    /// the claim file to remove.
    func testStaleClaimIsTakenOverOrExplained() throws {
        let output = path("stale.h5")
        let job = try SimbaJob(["generate", "--preset", "tiny", "-o", output], ranks: 2)
        try freeze(job, when: { FileManager.default.fileExists(atPath: output + ".lock") })
        XCTAssertNotEqual(killAll(job).status, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: output + ".lock"), "the killed job left no claim to test with")
        let next = try SimbaProcess.run(["generate", "--preset", "tiny", "-o", output], ranks: 2, timeout: 300)
        XCTAssertEqual(next.status, 0, next.stderr)
        XCTAssertTrue(next.stderr.contains("was left by simba generate (pid"), next.stderr)
        XCTAssertEqual(try completeImages(output), "1 64")

        let elsewhere = path("elsewhere.h5")
        try "simba output claim\nhost node-elsewhere-17\npid 4242\njob 991\nrestart 0\nstarted 2025-01-01T00:00:00Z\ncommand simba run\n"
            .write(toFile: elsewhere + ".lock", atomically: true, encoding: .utf8)
        let refused = try SimbaProcess.run(["generate", "--preset", "tiny", "-o", elsewhere], ranks: 2, timeout: 120)
        assertOneError(refused, ["claimed by simba run (pid 4242 on node-elsewhere-17, Slurm job 991",
                                 "remove \(elsewhere).lock and start again"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: elsewhere))
        // A requeued start of the same Slurm job takes over its earlier start's claim.
        let requeued = try SimbaProcess.run(["generate", "--preset", "tiny", "-o", elsewhere], timeout: 300,
                                            environment: ["SLURM_JOB_ID": "991", "SLURM_RESTART_COUNT": "1"])
        XCTAssertEqual(requeued.status, 0, requeued.stderr)
    }

    /// `simba run` claims its folder: a second experiment into it is refused.
    func testExperimentFolderIsClaimed() throws {
        let folder = path("experiment")
        let first = try SimbaJob(["run", "--preset", "tiny", "-o", folder], ranks: 2)
        try freeze(first, when: { FileManager.default.fileExists(atPath: folder + "/simba.lock") })
        let second = try SimbaProcess.run(["run", "--preset", "tiny", "-o", folder, "--overwrite"], ranks: 2, timeout: 120)
        assertOneError(second, ["\(folder) is being written by another simba job: simba run (pid"])
        _ = killAll(first)
    }

    // MARK: outputs that are inputs, links and foreign files

    /// The reported case: `train --data d.h5 -o d.h5 --overwrite` truncated
    /// the dataset. Refused through the same path, a symbolic link and a
    /// hard link, on 1, 2 and 3 ranks; the dataset keeps its bytes.
    func testOutputThatIsTheInputIsRefused() throws {
        let dataset = path("input.h5")
        try FileManager.default.copyItem(atPath: TinyDataset.path, toPath: dataset)
        try FileManager.default.createSymbolicLink(atPath: path("input-link.h5"), withDestinationPath: dataset)
        try FileManager.default.linkItem(atPath: dataset, toPath: path("input-hard.h5"))
        let before = FileSnapshot(dataset)
        for (output, ranks) in [(dataset, 1), (path("input-link.h5"), 2), (path("input-hard.h5"), 3)] {
            let result = try SimbaProcess.run(["train", "--preset", "tiny", "--data", dataset, "-o", output, "--overwrite"],
                                              ranks: ranks, timeout: 120)
            assertOneError(result, ["\(output) is the same file as the input \(dataset)"])
        }
        // A template file as the cohort: copies in the scratch folder (a
        // binary without the check would overwrite the file it is given).
        let system = "/usr/share/mricron/templates"
        if FileManager.default.fileExists(atPath: system + "/aal.nii.txt") {
            for name in ["ch2bet.nii.gz", "aal.nii.gz", "aal.nii.txt"] {
                try FileManager.default.copyItem(atPath: system + "/" + name, toPath: path(name))
            }
            let names = path("aal.nii.txt")
            let config = path("template.yaml")
            try "template: {voxel_mm: 4, image: \(path("ch2bet.nii.gz")), labels: \(path("aal.nii.gz")), names: \(names)}\ncohort: {size: 16}\n"
                .write(toFile: config, atomically: true, encoding: .utf8)
            let kept = FileSnapshot(names)
            let result = try SimbaProcess.run(["generate", config, "-o", names, "--overwrite"], ranks: 2, timeout: 120)
            assertOneError(result, ["\(names) is the same file as the input"])
            XCTAssertEqual(FileSnapshot(names), kept)
        }
        XCTAssertEqual(FileSnapshot(dataset), before)
    }

    /// --overwrite replaces only what simba wrote: not through a symbolic
    /// link (into someone else's run file), not a file of another kind.
    func testOverwriteFollowsNoLinkAndReplacesOnlySimbaFiles() throws {
        let theirs = path("their-run.h5")
        try trainOneEpoch(theirs)
        let link = path("my-run.h5")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: theirs)
        let keep = FileSnapshot(theirs)
        let linked = try SimbaProcess.run(["train", "--preset", "tiny", "--data", TinyDataset.path, "-o", link,
                                           "--overwrite"], ranks: 2, timeout: 120)
        assertOneError(linked, ["\(link) is a symbolic link (to \(theirs))", "never through a link"])
        XCTAssertEqual(FileSnapshot(theirs), keep)

        let notes = path("notes.h5")
        try Data("my notes".utf8).write(to: URL(fileURLWithPath: notes))
        let foreign = try SimbaProcess.run(["generate", "--preset", "tiny", "-o", notes, "--overwrite"], ranks: 2,
                                           timeout: 120)
        assertOneError(foreign, ["\(notes) is not a simba-dataset file (simba did not write it)"])
        // A run file is not a dataset either.
        let other = try SimbaProcess.run(["generate", "--preset", "tiny", "-o", theirs, "--overwrite"], ranks: 2,
                                         timeout: 120)
        assertOneError(other, ["\(theirs) is not a simba-dataset file (its format is simba-run)"])
        XCTAssertEqual(try String(contentsOfFile: notes, encoding: .utf8), "my notes")
        XCTAssertEqual(FileSnapshot(theirs), keep)
    }

    // MARK: what a kill leaves

    /// SIGKILL during `train --overwrite` before the new run's first
    /// checkpoint leaves the old run file whole; after it, the new one.
    /// (It used to truncate the old file at the start.)
    func testKillDuringOverwriteLeavesTheOldOrTheNewRun() throws {
        let run = path("replaced.h5")
        try trainOneEpoch(run)
        let old = FileSnapshot(run)
        let config = path("long.yaml")
        // A wider model than tiny's: the first epoch takes long enough to be caught before its checkpoint.
        try "training:\n  widths: [16, 32]\n  batch: 6\n  patience: 1000\n  epochs: 200\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let arguments = ["train", config, "--data", TinyDataset.path, "-o", run, "--overwrite"]

        let early = try SimbaJob(arguments, ranks: 2)
        try freeze(early, when: { FileManager.default.fileExists(atPath: run + ".partial") })
        _ = killAll(early)
        XCTAssertEqual(FileSnapshot(run), old, "the old run did not survive a kill before the new one's first checkpoint")

        let late = try SimbaJob(arguments, ranks: 2)
        try freeze(late, when: { !FileManager.default.fileExists(atPath: run + ".partial") && FileSnapshot(run) != old })
        _ = killAll(late)
        let latest = try XCTUnwrap(try RunFileProbe.latest(run), "neither the old nor the new run file is there")
        XCTAssertTrue(latest.complete && latest.parametersReadable, "\(latest)")
    }

    /// `generate --overwrite` killed while writing the new cohort leaves
    /// the old cohort as it was; finished, the new one is in its place.
    func testKillDuringGenerateOverwriteLeavesTheOldCohort() throws {
        let output = path("cohort.h5")
        XCTAssertEqual(try SimbaProcess.run(["generate", "--preset", "tiny", "-o", output], ranks: 2, timeout: 300).status, 0)
        let old = FileSnapshot(output)
        let job = try SimbaJob(["generate", "--preset", "tiny", "-o", output, "--overwrite"], ranks: 2)
        try freeze(job, when: { FileManager.default.fileExists(atPath: output + ".partial") })
        _ = killAll(job)
        XCTAssertEqual(FileSnapshot(output), old)
        let again = try SimbaProcess.run(["generate", "--preset", "tiny", "-o", output, "--overwrite"], ranks: 3,
                                         timeout: 300)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(try completeImages(output), "1 64")
        XCTAssertFalse(FileManager.default.fileExists(atPath: output + ".partial"))
    }

    // MARK: faults during generation

    /// A write that fails on one rank (injected after round 3, as a full
    /// disk fails one rank's write) ends the job on every rank with one
    /// line, no hang and no partial file, on 1, 2 and 3 ranks.
    func testFailedWriteOnOneRankEndsTheJobCleanly() throws {
        for (ranks, faulty) in [(1, 0), (2, 1), (3, 2), (3, 0)] {
            let output = path("faulty-\(ranks)-\(faulty).h5")
            let result = try SimbaProcess.run(["generate", "--preset", "tiny", "-o", output, "--twin"], ranks: ranks,
                                              timeout: 120, environment: ["SIMBA_TEST_FAULT": "write:3:rank:\(faulty)"])
            assertOneError(result, ["injected fault (SIMBA_TEST_FAULT) at write 3 on rank \(faulty)"])
            let left = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path).filter { $0.hasPrefix("faulty-") }
            XCTAssertEqual(left, [], "\(ranks) ranks: litter left")
        }
    }

    /// A real full disk (a small tmpfs; needs root, skipped otherwise):
    /// refused before anything is written when the cohort cannot fit, and
    /// with deflate (size unknown in advance) stopped before the round that
    /// would not fit: one line, no hang (it used to leave both ranks in
    /// H5Fclose; on 3 ranks MPI-IO once swallowed the failed writes and the
    /// file looked complete), no litter.
    func testFullDiskWhileGeneratingEndsCleanly() throws {
        let small = path("small-disk")
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        let mount = try SimbaProcess.tool("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", small])
        guard mount.status == 0 else { throw XCTSkip("cannot mount a small tmpfs here: \(mount.stderr)") }
        defer { _ = try? SimbaProcess.tool("/usr/bin/umount", [small]) }
        let output = small + "/cohort.h5"
        for ranks in [1, 2, 3] {
            let refused = try SimbaProcess.run(["generate", "--preset", "tiny", "-o", output], ranks: ranks, timeout: 120)
            assertOneError(refused, ["disk full:", "MiB free in \(small), the cohort (64 images) needs", "nothing was written"])
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: small), [])
        }
        for ranks in [2, 3] {
            let failed = try SimbaProcess.run(["generate", "--preset", "tiny", "-o", output, "--compression", "1"],
                                              ranks: ranks, timeout: 120)
            assertOneError(failed, ["disk full:", "the next round of images needs", "nothing was kept"])
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: small), [], "\(ranks) ranks")
        }
    }

    /// A rank frozen while generating, and while evaluating: the stall
    /// watchdog names it (exit 69) instead of the job hanging, and leaves
    /// no claim or heartbeat folder.
    func testFrozenRankOutsideTrainingIsNamed() throws {
        let config = path("big.yaml")
        try "template: {voxel_mm: 4}\ncohort: {size: 600}\n".write(toFile: config, atomically: true, encoding: .utf8)
        let output = path("frozen.h5")
        let job = try SimbaJob(["generate", config, "-o", output, "--stall-timeout", "3"], ranks: 2)
        XCTAssertTrue(job.wait(until: { FileManager.default.fileExists(atPath: output + ".heartbeats/rank-1") }, timeout: 180))
        kill(try job.pid(ofRank: 1), SIGSTOP)
        let result = job.finish(timeout: 120)
        assertOneError(result, ["stalled: rank 1 frozen or gone", "round"], code: 69)
        XCTAssertEqual(job.ranksLeftRunning(), [:], "ranks left running")
        XCTAssertFalse(FileManager.default.fileExists(atPath: output + ".lock"), "the claim outlived the job")

        let run = path("frozen-run.h5")
        try trainOneEpoch(run)
        let evaluation = try SimbaJob(["evaluate", run, "--stall-timeout", "3", "--bootstrap", "100000"], ranks: 2)
        XCTAssertTrue(evaluation.wait(until: { FileManager.default.fileExists(atPath: run + ".heartbeats/rank-1") }, timeout: 120))
        kill(try evaluation.pid(ofRank: 1), SIGSTOP)
        let stalled = evaluation.finish(timeout: 120)
        assertOneError(stalled, ["stalled: rank 1 frozen or gone"], code: 69)
        XCTAssertEqual(evaluation.ranksLeftRunning(), [:], "ranks left running")
    }

    // MARK: messages

    /// A file another program holds open for writing (HDF5's lock): the
    /// message says so and names HDF5_USE_FILE_LOCKING for file systems
    /// without locks, instead of HDF5's raw `errno = 11`.
    func testFileLockedByAnotherProgramIsExplained() throws {
        let dataset = path("held.h5")
        try FileManager.default.copyItem(atPath: TinyDataset.path, toPath: dataset)
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        holder.arguments = ["-c", "import h5py, sys, time; f = h5py.File(sys.argv[1], 'r+'); print('open', flush=True); time.sleep(120)", dataset]
        let pipe = Pipe()
        holder.standardOutput = pipe
        try holder.run()
        defer { holder.terminate() }
        _ = pipe.fileHandleForReading.availableData  // "open": the file is held
        let result = try SimbaProcess.run(["inspect", dataset])
        assertOneError(result, ["another process", "has the file open for writing", "HDF5_USE_FILE_LOCKING=FALSE"])
    }
}
