import Cluster
import Foundation
import Storage

/// The file written by the parallel-HDF5 check. Every value is a formula of
/// its position, so any reader (this check, h5dump in the test suite) can
/// verify it value by value:
/// - `/blocks` float32 [T, 4], T = n(n+1)/2: rank r writes rows
///   r(r+1)/2 ..< +r+1, value = r*1000 + row*10 + column;
/// - `/compressed` float64 [T, 4], chunked and deflated: 0.5 × the same;
/// - `/series` int64 [2T, 3], extendable: two appends in which rank r adds
///   r+1 rows of round*100 + r*10 + column;
/// - `/labels` uint8 [n]: rank r writes r+1 at index r;
/// - `/names` strings "rank-r"; root attributes `world_size`, `format`, `weights`.
public enum SelfTestFile {
    public static func blockValue(rank: Int, row: Int, column: Int) -> Float {
        Float(rank * 1000 + row * 10 + column)
    }

    public static func seriesValue(round: Int, rank: Int, column: Int) -> Int64 {
        Int64(round * 100 + rank * 10 + column)
    }

    /// The rank that wrote each row of `/blocks` in a world of `size`.
    public static func blockOwners(size: Int) -> [Int] {
        (0..<size).flatMap { rank in [Int](repeating: rank, count: rank + 1) }
    }

    /// The (round, rank) of each row of `/series` in a world of `size`.
    public static func seriesOwners(size: Int) -> [(round: Int, rank: Int)] {
        (0..<2).flatMap { round in blockOwners(size: size).map { (round, $0) } }
    }
}

extension SelfTestSuite {
    func checkParallelHDF5(_ problems: inout Problems) throws {
        let defaultPath = (options.scratchDirectory as NSString)
            .appendingPathComponent("simba-selftest-\(getpid()).h5")
        let path = try world.broadcast(options.keepFile ?? defaultPath, root: 0)
        try writeSelfTestFile(path)
        try verifySelfTestFile(path, &problems)
        try world.barrier()
        if options.keepFile == nil && world.rank == 0 {
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    private func writeSelfTestFile(_ path: String) throws {
        let n = world.size
        let rows = n * (n + 1) / 2
        let firstRow = world.rank * (world.rank + 1) / 2
        let myRows = world.rank + 1
        let file = try H5File.create(path, existing: .overwrite, communicator: world)
        let root = try file.root

        let block = (0..<myRows).flatMap { i in
            (0..<4).map { SelfTestFile.blockValue(rank: world.rank, row: firstRow + i, column: $0) }
        }
        let blocks = try root.createDataset("blocks", of: Float.self, shape: [rows, 4])
        try blocks.write(block, offset: [firstRow, 0], count: [myRows, 4])

        let compressed = try root.createDataset("compressed", of: Double.self, shape: [rows, 4],
                                                chunk: [min(2, rows), 4], deflate: 4)
        try compressed.write(block.map { Double($0) * 0.5 }, offset: [firstRow, 0], count: [myRows, 4])

        let series = try root.createDataset("series", of: Int64.self, shape: [0, 3], maxShape: [nil, 3],
                                            chunk: [8, 3])
        for round in 0..<2 {
            let rowsToAdd = (0..<myRows).flatMap { _ in
                (0..<3).map { SelfTestFile.seriesValue(round: round, rank: world.rank, column: $0) }
            }
            try series.append(rowsToAdd)
        }

        let labels = try root.createDataset("labels", of: UInt8.self, shape: [n])
        try labels.write([UInt8(world.rank + 1)], offset: [world.rank], count: [1])

        try root.writeStrings("names", (0..<n).map { "rank-\($0)" })
        try root.setAttribute("world_size", n)
        try root.setAttribute("format", "simba-selftest")
        try root.setAttribute("weights", [0.25, 0.5, 1.0])
        let nested = try root.createGroup("nested/deeper")
        try nested.setAttribute("note", "intermediate groups are created")
        try file.close()
    }

    private func verifySelfTestFile(_ path: String, _ problems: inout Problems) throws {
        let n = world.size
        let file = try H5File.open(path, communicator: world)
        let root = try file.root

        let blocks = try root.dataset("blocks")
        let values: [Float] = try blocks.read()
        var expected: [Float] = []
        for (row, owner) in SelfTestFile.blockOwners(size: n).enumerated() {
            expected += (0..<4).map { SelfTestFile.blockValue(rank: owner, row: row, column: $0) }
        }
        problems.expect(values == expected, "/blocks read back differs")
        let shape = try blocks.shape
        problems.expect(shape == [n * (n + 1) / 2, 4], "/blocks shape \(shape)")

        let compressed: [Double] = try root.dataset("compressed").read()
        problems.expect(compressed == expected.map { Double($0) * 0.5 }, "/compressed read back differs")

        let series = try root.dataset("series")
        let seriesValues: [Int64] = try series.read()
        let seriesExpected = SelfTestFile.seriesOwners(size: n).flatMap { owner in
            (0..<3).map { SelfTestFile.seriesValue(round: owner.round, rank: owner.rank, column: $0) }
        }
        problems.expect(seriesValues == seriesExpected, "/series read back differs")
        problems.expect(try series.maxShape.first == .some(nil), "/series is not extendable")

        // Each rank reads only its own label: a collective read with uneven selections.
        let mine: [UInt8] = try root.dataset("labels").read(offset: [world.rank], count: [1])
        problems.expect(mine == [UInt8(world.rank + 1)], "/labels[\(world.rank)] is \(mine)")

        problems.expect(try root.readStrings("names") == (0..<n).map { "rank-\($0)" }, "/names differ")
        problems.expect(try root.attribute("world_size", as: Int.self) == n, "world_size attribute")
        problems.expect(try root.stringAttribute("format") == "simba-selftest", "format attribute")
        problems.expect(try root.attribute("weights", as: [Double].self) == [0.25, 0.5, 1.0], "weights attribute")
        problems.expect(root.contains("nested/deeper"), "nested group missing")

        // Reading a float dataset as integers is refused with a clear message.
        do {
            let _: [Int32] = try blocks.read()
            problems.expect(false, "reading float32 data as int32 was not refused")
        } catch let error as HDF5Error {
            problems.expect(error.description.contains("float32"), "type error says '\(error)'")
        }
        try file.close()
    }
}
