import Foundation
import SSLCore
import TestSupport
import XCTest

/// EM for the unlabelled data's class mix (`ClassMixEstimate.em`) on posteriors whose truth is known: examples
/// x ~ N(μ_y, 1) in one dimension, y drawn from a mix, and a classifier calibrated to the uniform labelled prior,
/// q(y|x) = softmax_y(−(x − μ_y)²/2).
final class ClassMixTests: XCTestCase {
    /// q(y|x) of `n` examples drawn from `mix`, n×K.
    func posteriors(_ mix: [Double], n: Int, seed: UInt64) -> [Float] {
        let k = mix.count, means = (0..<k).map { 1.5 * Double($0) }
        var draws = Draws(seed: seed), out: [Float] = []
        for _ in 0..<n {
            var u = draws.uniform(), y = 0
            while y < k - 1 && u >= mix[y] { u -= mix[y]; y += 1 }
            let x = means[y] + draws.normal()
            let logits = means.map { -(x - $0) * (x - $0) / 2 }
            let m = logits.max()!, z = logits.map { Foundation.exp($0 - m) }.reduce(0, +)
            out += logits.map { Float(Foundation.exp($0 - m) / z) }
        }
        return out
    }

    func estimate(_ probs: [Float], classes k: Int) -> [Float] {
        let em = ClassMixEstimate(labelledPrior: [Float](repeating: 1 / Float(k), count: k))
        return probs.withUnsafeBufferPointer { em.em(probs: $0.baseAddress!, rows: probs.count / k, total: probs.count / k) { _ in } }
    }

    func testFindsAnImbalancedMix() {
        let mix = [0.7, 0.2, 0.1]
        let probs = posteriors(mix, n: 20_000, seed: 7)
        // The mean prediction under the uniform calibration is far less imbalanced: EM undoes the calibration.
        let mean = (0..<3).map { j in stride(from: j, to: probs.count, by: 3).map { Double(probs[$0]) }.reduce(0, +) / 20_000 }
        XCTAssertLessThan(mean[0], 0.62, "the plain mean prediction \(mean) should understate the majority")
        let pi = estimate(probs, classes: 3)
        for j in 0..<3 { XCTAssertEqual(Double(pi[j]), mix[j], accuracy: 0.02, "class \(j): \(pi)") }
        XCTAssertEqual(Double(pi.reduce(0, +)), 1, accuracy: 1e-5)
    }

    func testStaysUniformOnBalancedData() {
        let pi = estimate(posteriors([1.0 / 3, 1.0 / 3, 1.0 / 3], n: 20_000, seed: 8), classes: 3)
        for j in 0..<3 { XCTAssertEqual(Double(pi[j]), 1.0 / 3, accuracy: 0.02, "class \(j): \(pi)") }
    }

    func testAnAbsentClassStaysAtTheFloor() {
        let pi = estimate(posteriors([0.9, 0.1, 0.0], n: 20_000, seed: 9), classes: 3)
        XCTAssertEqual(Double(pi[2]), ClassMixEstimate.floorShare / 3, accuracy: 0.005, "\(pi)")
        XCTAssertEqual(Double(pi[0]), 0.9, accuracy: 0.03, "\(pi)")
    }

    /// The term's target: the estimate when it is clearly far from uniform and the halves' probes agree, else uniform.
    func testTheTargetIsTheEstimateOnlyFarFromUniformAndWhenTheHalvesAgree() {
        let em = ClassMixEstimate(labelledPrior: [0.4, 0.2, 0.2, 0.2])
        let uniform: [Float] = [0.25, 0.25, 0.25, 0.25]
        let near: [Float] = [0.3, 0.2, 0.3, 0.2], far: [Float] = [0.55, 0.25, 0.1, 0.1]
        XCTAssertEqual(em.distance(near), 0.1, accuracy: 1e-6)
        XCTAssertEqual(em.decide(full: near, halves: near, near, labelled: 40).target, uniform, "near uniform: uniform, not the labelled proportions")
        XCTAssertEqual(em.distance(far), 0.3, accuracy: 1e-6)
        XCTAssertEqual(em.decide(full: far, halves: [0.5, 0.3, 0.1, 0.1], [0.6, 0.2, 0.1, 0.1], labelled: 40).target, far, "halves 0.1 apart < 0.15")
        let split = em.decide(full: far, halves: [0.4, 0.1, 0.4, 0.1], [0.6, 0.3, 0.05, 0.05], labelled: 40)
        XCTAssertEqual(split.target, uniform, "halves 0.35 apart: the probe's error is as large as the imbalance")
        XCTAssertTrue(split.reason.contains("probe's error"), split.reason)
        let few = em.decide(full: far, halves: far, far, labelled: 20)
        XCTAssertEqual(few.target, uniform, "5 labels per class: not trusted")
        XCTAssertTrue(few.reason.contains("5.0 labels per class"), few.reason)
    }

    /// Sums over shards give the same π as one process (up to summation order): the form `sum` has under MPI.
    func testShardedSumsGiveTheSameEstimate() {
        let probs = posteriors([0.5, 0.3, 0.2], n: 6_000, seed: 10)
        let one = estimate(probs, classes: 3)
        let em = ClassMixEstimate(labelledPrior: [1.0 / 3, 1.0 / 3, 1.0 / 3])
        // Two "ranks" in one process: each call of `sum` adds the other half's EM sums under the π both ranks hold,
        // which the closure tracks as EM does.
        let half = 3_000
        var otherPi: [Double] = [1.0 / 3, 1.0 / 3, 1.0 / 3]
        let two = probs.withUnsafeBufferPointer { p in
            em.em(probs: p.baseAddress!, rows: half, total: 6_000) { w in
                var other = [Double](repeating: 0, count: 3)
                for r in half..<6_000 {
                    var norm = 0.0
                    for j in 0..<3 { norm += otherPi[j] * 3 * Double(p[r * 3 + j]) }
                    for j in 0..<3 { other[j] += otherPi[j] * 3 * Double(p[r * 3 + j]) / norm }
                }
                for j in 0..<3 { w[j] += other[j] }
                let next = w.map { max($0 / 6_000, ClassMixEstimate.floorShare / 3) }
                let s = next.reduce(0, +)
                otherPi = next.map { $0 / s }
            }
        }
        for j in 0..<3 { XCTAssertEqual(two[j], one[j], accuracy: 1e-5, "class \(j)") }
    }
}
