import Foundation
import XCTest

/// A run file's checkpoint state as seen from outside simba (h5ls, h5py).
enum RunFileProbe {
    /// Whether `latest` resolves (to a checkpoint written completely enough to link).
    static func hasLatestCheckpoint(_ run: String) -> Bool {
        (try? SimbaProcess.tool("/usr/bin/h5ls", [run + "/checkpoints/latest"]))?.status == 0
    }

    struct Latest: Equatable {
        var name: String
        var complete: Bool
        var epochsDone: Int
        /// The parameters read back in full and finite.
        var parametersReadable: Bool
    }

    /// The checkpoint `latest` points at, or nil when there is none; fails
    /// the test when h5py cannot open the file.
    static func latest(_ run: String, file: StaticString = #filePath, line: UInt = #line) throws -> Latest? {
        let script = """
            import h5py, numpy as np, sys
            c = h5py.File(sys.argv[1], 'r')['checkpoints']
            link = c.get('latest', getlink=True)
            if link is None:
                print('none')
            else:
                g = c['latest']
                p = g['parameters'][()]
                print(link.path, int(g.attrs.get('complete', 0)), int(g.attrs['epochs_done']),
                      p.size > 0 and bool(np.isfinite(p).all()))
            """
        let result = try SimbaProcess.python(script, [run])
        XCTAssertEqual(result.status, 0, "h5py cannot read \(run): \(result.stderr)", file: file, line: line)
        let fields = result.stdout.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard fields.count == 4, let epochs = Int(fields[2]) else { return nil }
        return Latest(name: fields[0], complete: fields[1] == "1", epochsDone: epochs, parametersReadable: fields[3] == "True")
    }
}
