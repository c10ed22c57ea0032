import Cluster
import Foundation

extension SelfTestSuite {
    func checkRanks(_ problems: inout Problems) throws {
        let ranks = try world.allgather(world.rank)
        problems.expect(ranks == Array(0..<world.size), "allgather of ranks gave \(ranks)")
        let size = try world.allreduce(1, op: .sum)
        problems.expect(size == world.size, "sum of ones is \(size), world size \(world.size)")
        try world.barrier()
    }

    func checkAllreduce(_ problems: inout Problems) throws {
        let n = world.size
        // Element i on rank r is r + i (+0.5 for floats): exact in binary, so
        // sums compare exactly whatever the reduction order.
        var floats = (0..<37).map { Float(world.rank + $0) + 0.5 }
        try world.allreduce(&floats, op: .sum)
        let floatSum = (0..<37).map { i in Float((0..<n).reduce(0) { $0 + $1 + i }) + 0.5 * Float(n) }
        problems.expect(floats == floatSum, "Float sum \(floats.prefix(3)) expected \(floatSum.prefix(3))")

        var doubles = (0..<29).map { Double(world.rank * 3 - $0) }
        try world.allreduce(&doubles, op: .min)
        problems.expect(doubles == (0..<29).map { Double(-$0) }, "Double min \(doubles.prefix(3))")

        var ints = (0..<11).map { world.rank * 100 + $0 }
        try world.allreduce(&ints, op: .max)
        problems.expect(ints == (0..<11).map { (n - 1) * 100 + $0 }, "Int max \(ints.prefix(3))")

        let scalar = try world.allreduce(Double(world.rank + 1), op: .sum)
        problems.expect(scalar == Double(n * (n + 1) / 2), "scalar sum \(scalar)")
    }

    func checkChunkedAllreduce(_ problems: inout Problems) throws {
        let saved = mpiChunkBytes
        mpiChunkBytes = 40  // 10 floats or 5 doubles per MPI call
        defer { mpiChunkBytes = saved }
        var values = (0..<1003).map { Double($0 % 17 + world.rank) }
        try world.allreduce(&values, op: .sum)
        let n = world.size
        let expected = (0..<1003).map { Double(($0 % 17) * n + n * (n - 1) / 2) }
        problems.expect(values == expected, "chunked sum differs at \(values.indices.first { values[$0] != expected[$0] } ?? -1)")
        var bytes = [UInt8](repeating: UInt8(world.rank), count: 97)
        try world.allreduce(&bytes, op: .max)
        problems.expect(bytes.allSatisfy { $0 == UInt8(n - 1) }, "chunked UInt8 max")
    }

    func checkLargeAllreduce(_ problems: inout Problems) throws {
        let count = options.largeBufferMiB * (1 << 20) / MemoryLayout<Float>.stride
        var values = [Float](repeating: Float(world.rank + 1), count: count)
        try world.allreduce(&values, op: .sum)
        let expected = Float(world.size * (world.size + 1) / 2)
        // Compare block by block with memcmp: a plain loop over half a
        // billion elements is slow in debug builds.
        let reference = [Float](repeating: expected, count: 1 << 16)
        let firstWrong: Int? = values.withUnsafeBufferPointer { buffer in
            reference.withUnsafeBufferPointer { pattern in
                var start = 0
                while start < count {
                    let length = min(pattern.count, count - start)
                    if memcmp(buffer.baseAddress! + start, pattern.baseAddress!, length * 4) != 0 {
                        return (start..<start + length).first { buffer[$0] != expected }
                    }
                    start += length
                }
                return nil
            }
        }
        problems.expect(firstWrong == nil,
                        "element \(firstWrong ?? -1) of \(count) is \(firstWrong.map { values[$0] } ?? 0), expected \(expected)")
    }

    func checkBroadcast(_ problems: inout Problems) throws {
        let root = world.size - 1
        let array = try world.broadcast(world.rank == root ? (0..<(root + 3)).map { Int64($0 * 7) } : [], root: root)
        problems.expect(array == (0..<(root + 3)).map { Int64($0 * 7) }, "array broadcast gave \(array)")
        let value = try world.broadcast(world.rank == root ? 2.75 : -1.0, root: root)
        problems.expect(value == 2.75, "value broadcast gave \(value)")
        let text = try world.broadcast(world.rank == root ? "Putamen_R → Insula_R" : "", root: root)
        problems.expect(text == "Putamen_R → Insula_R", "string broadcast gave '\(text)'")
    }

    func checkRing(_ problems: inout Problems) throws {
        let next = (world.rank + 1) % world.size
        let previous = (world.rank + world.size - 1) % world.size
        let outgoing = (0..<(world.rank + 5)).map { Float(world.rank) * 10 + Float($0) }
        let incomingCount = previous + 5
        var incoming: [Float] = []
        // Even ranks send first and odd ranks receive first, so blocking
        // calls cannot all wait on each other.
        if world.rank % 2 == 0 {
            try world.send(outgoing, to: next, tag: 7)
            incoming = try world.receive(count: incomingCount, from: previous, tag: 7)
        } else {
            incoming = try world.receive(count: incomingCount, from: previous, tag: 7)
            try world.send(outgoing, to: next, tag: 7)
        }
        let expected = (0..<incomingCount).map { Float(previous) * 10 + Float($0) }
        problems.expect(incoming == expected, "received \(incoming) from rank \(previous)")
    }

    /// Both ways around the ring at once, started before and finished after
    /// some computation (the spatial groups' halo swap): messages past the
    /// eager limit, a receive that gets fewer elements than it expects
    /// reported as an error.
    func checkStartedTransfers(_ problems: inout Problems) throws {
        let next = (world.rank + 1) % world.size
        let previous = (world.rank + world.size - 1) % world.size
        func values(from sender: Int, upwards: Bool) -> [Float] {
            (0..<(100_000 + 3 * sender + (upwards ? 0 : 1))).map { Float(sender * 1000 + $0 % 1000) + (upwards ? 0.5 : 0.25) }
        }
        let up = values(from: world.rank, upwards: true), down = values(from: world.rank, upwards: false)
        var fromPrevious = [Float](repeating: .nan, count: values(from: previous, upwards: true).count)
        var fromNext = [Float](repeating: .nan, count: values(from: next, upwards: false).count)
        try up.withUnsafeBufferPointer { up in try down.withUnsafeBufferPointer { down in
            try fromPrevious.withUnsafeMutableBufferPointer { fromPrevious in try fromNext.withUnsafeMutableBufferPointer { fromNext in
                // One tag per direction: with two ranks, next and previous are the same rank.
                let upwards = try world.startTransfers(sends: [(up, next)], receives: [(fromPrevious, previous)], tag: 8)
                let downwards = try world.startTransfers(sends: [(down, previous)], receives: [(fromNext, next)], tag: 9)
                var work = 0.0
                for round in 0..<20 {
                    for i in 0..<10_000 { work += Double(i % (round + 3)) }
                    try upwards.progress()
                    try downwards.progress()
                }
                try downwards.wait()
                try upwards.wait()
                problems.expect(work > 0, "no computation")
            }}
        }}
        problems.expect(fromPrevious == values(from: previous, upwards: true), "upwards: wrong values from rank \(previous)")
        problems.expect(fromNext == values(from: next, upwards: false), "downwards: wrong values from rank \(next)")

        let short = [Float](repeating: 0, count: 4)
        var long = [Float](repeating: 0, count: 5)
        let message: String? = try short.withUnsafeBufferPointer { short in try long.withUnsafeMutableBufferPointer { long in
            let transfers = try world.startTransfers(sends: [(short, next)], receives: [(long, previous)], tag: 10)
            do { try transfers.wait(); return nil } catch { return "\(error)" }
        }}
        problems.expect(message?.contains("expected 5 elements from rank \(previous), got 4") == true,
                        "a short message gave \(message ?? "no error")")
    }

    func checkGather(_ problems: inout Problems) throws {
        // Rank r contributes r + 1 values (rank 0 one, the last rank most).
        let local = (0...world.rank).map { Double(world.rank * 100 + $0) }
        let expected = (0..<world.size).map { r in (0...r).map { Double(r * 100 + $0) } }
        let gathered = try world.gather(local, root: 0)
        if world.rank == 0 {
            problems.expect(gathered == expected, "gather at root gave \(String(describing: gathered))")
        } else {
            problems.expect(gathered == nil, "gather gave data on a non-root rank")
        }
        let everywhere = try world.allgather(local)
        problems.expect(everywhere == expected, "allgather gave \(everywhere)")
        let empty = try world.allgather(world.rank % 2 == 0 ? [Int32]() : [Int32(world.rank)])
        problems.expect(empty.map(\.count) == (0..<world.size).map { $0 % 2 }, "allgather with empty parts")
    }

    func checkSplit(_ problems: inout Problems) throws {
        // Two colors; the key reverses the order inside each color.
        let color = world.rank % 2
        guard let part = try world.split(color: color, key: -world.rank) else {
            problems.expect(false, "split returned no communicator")
            return
        }
        defer { try? part.free() }
        let members = (0..<world.size).filter { $0 % 2 == color }
        problems.expect(part.size == members.count, "part size \(part.size), expected \(members.count)")
        let expectedRank = members.reversed().firstIndex(of: world.rank) ?? -1
        problems.expect(part.rank == expectedRank, "part rank \(part.rank), expected \(expectedRank)")
        let sum = try part.allreduce(world.rank, op: .sum)
        problems.expect(sum == members.reduce(0, +), "sum inside the part is \(sum)")

        // A nil color leaves the last rank out.
        let outsider = world.size - 1
        let rest = try world.split(color: world.rank == outsider ? nil : 0, key: world.rank)
        if world.rank == outsider {
            problems.expect(rest == nil, "the excluded rank got a communicator")
        } else if let rest {
            problems.expect(rest.size == world.size - 1, "rest has \(rest.size) ranks")
            try rest.free()
        } else {
            problems.expect(false, "an included rank got no communicator")
        }
    }

    func checkUnanimous(_ problems: inout Problems) throws {
        let value = try world.unanimously { world.rank * 2 }
        problems.expect(value == world.rank * 2, "a successful section returned \(value)")
        let failing = world.size - 1
        do {
            try world.unanimously {
                if world.rank == failing { throw SelfTestFailure(message: "planned failure") }
            }
            problems.expect(false, "a failure on rank \(failing) went unnoticed")
        } catch let failure as CollectiveFailure {
            problems.expect(failure.failedRank == failing, "failure attributed to rank \(failure.failedRank)")
            problems.expect(failure.message == "planned failure", "failure message '\(failure.message)'")
        }
    }
}
