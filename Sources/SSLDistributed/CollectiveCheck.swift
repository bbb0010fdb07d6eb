/// Runs every collective once with inputs whose results are known in closed form, and returns
/// the names of the checks that failed (empty: all passed). Every rank must call it.
/// Used by `ssl-dist mpi-check` to validate an MPI installation, and by the tests.
public func checkCollectives(_ comm: Communicator, length n: Int = 100_003) throws -> [String] {
    let r = comm.rank, w = comm.size
    var failures: [String] = []
    func expect(_ ok: Bool, _ name: String) { if !ok { failures.append(name) } }

    // Float: rank r contributes (r + 1)·(i mod 7 + 1); sum = w(w+1)/2·(i mod 7 + 1).
    var f = [Float]((0..<n).map { Float((r + 1) * ($0 % 7 + 1)) })
    try f.withUnsafeMutableBufferPointer { try comm.allreduce($0, .sum) }
    expect(f.indices.allSatisfy { f[$0] == Float(w * (w + 1) / 2 * ($0 % 7 + 1)) }, "allreduce sum float")
    var fmin = [Float]((0..<n).map { Float(r) - Float($0 % 3) })
    try fmin.withUnsafeMutableBufferPointer { try comm.allreduce($0, .min) }
    expect(fmin.indices.allSatisfy { fmin[$0] == -Float($0 % 3) }, "allreduce min float")
    var fmax = [Float]((0..<n).map { Float(r) * Float($0 % 5) })
    try fmax.withUnsafeMutableBufferPointer { try comm.allreduce($0, .max) }
    expect(fmax.indices.allSatisfy { fmax[$0] == Float(w - 1) * Float($0 % 5) }, "allreduce max float")

    // Sums in flight: two started together, a blocking collective between start and wait, finished in reverse order.
    var a = [Float]((0..<n).map { Float((r + 1) * ($0 % 3 + 1)) }), b = [Float](repeating: Float(r), count: 1_001)
    try a.withUnsafeMutableBufferPointer { pa in
        try b.withUnsafeMutableBufferPointer { pb in
            let first = try comm.startSum(pa), second = try comm.startSum(pb)
            var between = [Double(r)]
            try comm.allreduce(&between, .max)
            _ = try first.test()
            try second.wait(); try first.wait()
        }
    }
    expect(a.indices.allSatisfy { a[$0] == Float(w * (w + 1) / 2 * ($0 % 3 + 1)) } && b.allSatisfy { $0 == Float(w * (w - 1) / 2) },
           "sums in flight")

    // Sums to one rank each (the sharded update's gradients): part k of the buffer to rank k, started together; the
    // owner holds the sum, the others keep what they sent. Then every rank's part gathered to all.
    let parts = (0..<w).map { slice(n, $0, w) }
    var c = [Float]((0..<n).map { Float((r + 1) * ($0 % 5 + 1)) })
    try c.withUnsafeMutableBufferPointer { pc in
        let pending = try parts.indices.map { try comm.startReduce(UnsafeMutableBufferPointer(rebasing: pc[parts[$0]]), root: $0) }
        for p in pending.reversed() { try p.wait() }
    }
    expect(c.indices.allSatisfy { c[$0] == Float((parts[r].contains($0) ? w * (w + 1) / 2 : r + 1) * ($0 % 5 + 1)) }, "sums to one rank")
    var g = [Float]((0..<n).map { parts[r].contains($0) ? Float($0 % 11) + 0.5 : -1 })
    try g.withUnsafeMutableBufferPointer { try comm.allgather($0, parts: parts) }
    expect(g.indices.allSatisfy { g[$0] == Float($0 % 11) + 0.5 }, "allgather of parts")
    // Broadcasts in flight, one from each rank's part, waited for in reverse order.
    var h = [Float]((0..<n).map { parts[r].contains($0) ? Float($0 % 13) - 2 : Float(r) })
    try h.withUnsafeMutableBufferPointer { ph in
        let pending = try parts.indices.map { try comm.startBroadcast(UnsafeMutableBufferPointer(rebasing: ph[parts[$0]]), root: $0) }
        for p in pending.reversed() { try p.wait() }
    }
    expect(h.indices.allSatisfy { h[$0] == Float($0 % 13) - 2 }, "broadcasts in flight")

    // Double: values that need more than float precision.
    var d = [Double](repeating: 1e9 + Double(r) + 0.25, count: 17)
    try comm.allreduce(&d, .sum)
    let dsum = Double(w) * (1e9 + 0.25) + Double(w * (w - 1) / 2)
    expect(d.allSatisfy { $0 == dsum }, "allreduce sum double")
    var dmin = [Double](repeating: 0.5 + Double(r), count: 5), dmax = dmin
    try comm.allreduce(&dmin, .min); try comm.allreduce(&dmax, .max)
    expect(dmin.allSatisfy { $0 == 0.5 } && dmax.allSatisfy { $0 == 0.5 + Double(w - 1) }, "allreduce min/max double")

    // Broadcast from the first and the last rank.
    for root in Set([0, w - 1]).sorted() {
        var v: (Int64, Double) = r == root ? (Int64(42 + root), 3.5) : (0, 0)
        try comm.broadcast(&v, root: root)
        expect(v.0 == Int64(42 + root) && v.1 == 3.5, "broadcast from rank \(root)")
    }
    try comm.barrier()

    // Agreement: equal values agree; a rank-dependent value does not (when there are several ranks).
    expect(try comm.agree(0xDEAD_BEEF_0123_4567), "agree on equal values")
    let differs = try comm.agree(UInt64(r))
    expect(w == 1 ? differs : !differs, "disagree on different values")
    return failures
}

/// Part `k` of `n` items cut into `w` nearly equal contiguous parts.
private func slice(_ n: Int, _ k: Int, _ w: Int) -> Range<Int> { (n * k / w)..<(n * (k + 1) / w) }
