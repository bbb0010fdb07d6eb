import CKernels
import Foundation
import XCTest

/// Every vector clone of the C kernels (AVX-512, AVX2, and the plain one) gives the same bits: the choice of clone is
/// the CPU's, so it must never change a result (1 rank and N ranks, a run and its resume on another machine).
final class KernelCloneTests: XCTestCase {
    override func tearDown() { ssl_cap_vector_level(-1) }

    /// Values in [-2, 2) from a fixed stream, with some exact zeros (ReLU's and clipping's edges).
    func values(_ n: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<n).map { i in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return i % 11 == 0 ? 0 : Float(Int64(bitPattern: state >> 11) % 4_000_000) / 1_000_000 - 2
        }
    }

    /// The outputs of every kernel on inputs whose sizes leave vector tails (rows × 37 features, 1,003 parameters),
    /// flattened to their bit patterns.
    func outputs() -> [UInt32] {
        let rows = 5, h = 37, n = rows * h
        var out: [Float] = []
        var sums: [Double] = []
        let x = values(n, seed: 1), mean = values(h, seed: 2), invStd = values(h, seed: 3).map { abs($0) + 0.5 }
        let g = values(h, seed: 4), b = values(h, seed: 5)
        var y = [Float](repeating: 0, count: n), nr = y, act = y, inPlace = x
        var s1 = [Double](repeating: 0, count: h), s2 = s1
        ssl_bn_sums(x, Int64(rows), Int64(h), &s1, &s2); sums += s1 + s2
        ssl_bn_normalize(x, &y, &nr, Int64(rows), Int64(h), mean, invStd, g, b); out += y + nr
        inPlace.withUnsafeMutableBufferPointer { p in
            ssl_bn_normalize(p.baseAddress!, p.baseAddress!, &nr, Int64(rows), Int64(h), mean, invStd, g, b)
        }
        out += inPlace + nr
        ssl_bn_normalize_relu(x, &act, &nr, Int64(rows), Int64(h), mean, invStd, g, b); out += act + nr
        ssl_bn_infer(x, &y, Int64(rows), Int64(h), mean, invStd, g, b); out += y
        var dy = values(n, seed: 6)
        s1 = .init(repeating: 0, count: h); s2 = s1
        ssl_bn_backward_sums(dy, nr, Int64(rows), Int64(h), &s1, &s2); sums += s1 + s2
        s1 = .init(repeating: 0, count: h); s2 = s1
        ssl_bn_backward_sums_relu(&dy, act, nr, Int64(rows), Int64(h), &s1, &s2); sums += s1 + s2; out += dy
        ssl_bn_backward_dx(dy, &y, nr, Int64(rows), Int64(h), g, mean, b); out += y
        dy.withUnsafeMutableBufferPointer { p in
            ssl_bn_backward_dx(p.baseAddress!, p.baseAddress!, nr, Int64(rows), Int64(h), g, mean, b)
        }
        out += dy
        // Adam with clipping and the moving average, then without either.
        let count = 1_003
        let grad = values(count, seed: 7)
        var p = values(count, seed: 8), m = values(count, seed: 9).map { $0 / 10 }, v = values(count, seed: 10).map { abs($0) }
        var a = values(count, seed: 11)
        ssl_adam_update(grad, &p, &m, &v, Int64(count), 0.7, 1, 1e-3, 0.9, 0.999, 1.5, 1.1, 1e-8, &a, 0.999)
        ssl_adam_update(grad, &p, &m, &v, Int64(count), 1.3, 0, 1e-3, 0.9, 0.999, 1.5, 1.1, 1e-8, nil, 0)
        out += p + m + v + a
        let logits = values(count, seed: 12).map { $0 * 20 }, targets = values(count, seed: 13).map { abs($0) / 2 }
        var loss = [Float](repeating: 0, count: count), dl = loss
        ssl_bernoulli_row(logits, targets, Int64(count), 0.25, &loss, &dl)
        out += loss + dl
        var half = [UInt16](repeating: 0, count: count)
        ssl_round_bf16(grad, &half, Int64(count))
        return out.map(\.bitPattern) + sums.flatMap { [UInt32(truncatingIfNeeded: $0.bitPattern), UInt32($0.bitPattern >> 32)] }
            + half.map { UInt32($0) }
    }

    func testEveryCloneGivesTheSameBits() {
        let best = Int(ssl_vector_level())
        ssl_cap_vector_level(0)
        let plain = outputs()
        XCTAssertFalse(plain.isEmpty)
        for level in (0...best).dropFirst() {
            ssl_cap_vector_level(Int32(level))
            XCTAssertEqual(Int(ssl_vector_level()), level)
            let got = outputs()
            XCTAssertEqual(got.count, plain.count)
            let differ = zip(got, plain).filter { $0 != $1 }.count
            XCTAssertEqual(differ, 0, "level \(level): \(differ) of \(plain.count) values differ from the plain clone")
        }
        if best < 2 { print("KernelCloneTests: this CPU has vector level \(best); the AVX-512 clones were not run") }
    }
}
