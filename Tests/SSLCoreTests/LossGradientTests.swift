import Foundation
import SSLCore
import TestSupport
import XCTest

/// Every loss term against central finite differences, with per-row weights.
final class LossGradientTests: XCTestCase {
    let ws = Workspace()

    func rowWeights(_ n: Int) -> UnsafeMutablePointer<Float> {
        let w = ws.floats(n); fillUniform(w, n, seed: 99, lo: 0.2, hi: 1.5); return w
    }

    func weightedSum(_ v: UnsafePointer<Double>, _ w: UnsafePointer<Float>, _ n: Int) -> Double {
        (0..<n).reduce(0.0) { $0 + Double(w[$1]) * v[$1] }
    }

    func testBernoulliLogLikelihood() {
        var map = RowMap(capacityRows: 8, capacityExamples: 4)
        map.build(labels: [0], unlabelled: 2, classes: 3)  // 7 rows over 3 examples
        let d = 9
        let logits = ws.mat(map.rows, d), x = ws.mat(3, d), dl = ws.mat(map.rows, d)
        fillUniform(logits.p, logits.count, seed: 1, lo: -6, hi: 6)
        fillUniform(x.p, x.count, seed: 2, lo: 0, hi: 1)
        for i in 0..<x.count where i % 3 == 0 { x.p[i] = x.p[i] < 0.5 ? 0 : 1 }  // mix binary and real targets
        let loss = ws.doubles(map.rows), scratch = ws.floats(d), w = rowWeights(map.rows)
        func f() -> Double {
            bernoulliNLL(logits: logits, targets: x, map: map, rowLoss: loss, scratch: scratch)
            return weightedSum(loss, w, map.rows)
        }
        // Loss-only and fused paths agree, and match the textbook formula.
        let l0 = f()
        let loss2 = ws.doubles(map.rows)
        bernoulliNLL(logits: logits, targets: x, map: map, rowLoss: loss2, weights: w, dlogits: dl, scratch: scratch)
        XCTAssertEqual(weightedSum(loss2, w, map.rows), l0, accuracy: 1e-4)
        var direct = 0.0
        for r in 0..<map.rows {
            let e = Int(map.example[r])
            var s = 0.0
            for j in 0..<d {
                let l = Double(logits[r, j]), t = Double(x[e, j])
                s += -(t * Foundation.log(1 / (1 + Foundation.exp(-l))) + (1 - t) * Foundation.log(1 / (1 + Foundation.exp(l))))
            }
            direct += Double(w[r]) * s
        }
        XCTAssertEqual(l0, direct, accuracy: 1e-4 * abs(direct))
        let r = checkGradient(values: logits.p, analytic: Array(UnsafeBufferPointer(start: dl.p, count: dl.count)), eps: 1e-2, f)
        XCTAssertTrue(r.passed, "Bernoulli: \(r)")
    }

    /// The training path's per-element loss and gradient run in C (`ssl_bernoulli_row`, vectorised); they must equal
    /// the Swift formula they replaced (`fastExp`, `log1pSmall`, the stable sigmoid) bit for bit, on logits from −100
    /// to 100 with the clamps' edges, zero and tiny values, a row length that is not a multiple of the vector width.
    func testBernoulliRowKernelEqualsTheSwiftFormulaBitForBit() {
        let rows = 5, d = 797
        var map = RowMap(capacityRows: rows, capacityExamples: rows)
        map.buildIdentity(count: rows)
        let logits = ws.mat(rows, d), x = ws.mat(rows, d), dl = ws.mat(rows, d)
        fillUniform(logits.p, logits.count, seed: 3, lo: -100, hi: 100)
        fillUniform(x.p, x.count, seed: 4, lo: 0, hi: 1)
        let edges: [Float] = [0, -0, 1e-30, -1e-30, 87, -87, 88, -88, 88.5, -88.5, 1e-7, -1e-7, 20, -20, 0.5]
        for (i, v) in edges.enumerated() { logits.p[i * 53] = v }
        for i in 0..<x.count where i % 2 == 0 { x.p[i] = x.p[i] < 0.5 ? 0 : 1 }
        let loss = ws.doubles(rows), scratch = ws.floats(d), w = rowWeights(rows)
        bernoulliNLL(logits: logits, targets: x, map: map, rowLoss: loss, weights: w, dlogits: dl, scratch: scratch)
        var mismatches = 0
        for r in 0..<rows {
            var s = [Float](repeating: 0, count: d)
            for j in 0..<d {
                let lj = logits[r, j], xj = x[r, j]
                let e = fastExp(lj < 0 ? lj : -lj)
                let inv = 1 / (1 + e)
                let sig = lj >= 0 ? inv : e * inv
                s[j] = (lj > 0 ? lj : 0) + log1pSmall(e) - xj * lj
                if (w[r] * (sig - xj)).bitPattern != dl[r, j].bitPattern { mismatches += 1 }
            }
            XCTAssertEqual(Double(rowSum(s, d)).bitPattern, loss[r].bitPattern, "row \(r)'s loss")
        }
        XCTAssertEqual(mismatches, 0, "gradient elements that differ from the Swift formula")
    }

    /// −log N(x; μ_r, e^{lv}) with a per-feature lv shared by all rows, against x[example(r)].
    func testGaussianLikelihoodWithSharedLogVariance() {
        var map = RowMap(capacityRows: 8, capacityExamples: 4)
        map.build(labels: [2], unlabelled: 2, classes: 2)  // 5 rows over 3 examples
        let d = 4
        let mu = ws.mat(map.rows, d), x = ws.mat(3, d), dmu = ws.mat(map.rows, d), lv = ws.mat(1, d), dlv = ws.mat(1, d)
        fillUniform(mu.p, mu.count, seed: 31, lo: -2, hi: 2); fillUniform(x.p, x.count, seed: 32, lo: -3, hi: 3)
        fillUniform(lv.p, d, seed: 33, lo: -1.5, hi: 1)
        let loss = ws.doubles(map.rows), scratch = ws.floats(2 * d), w = rowWeights(map.rows)
        func f() -> Double {
            gaussianNLL(mean: mu, logvar: lv.p, targets: x, map: map, rowLoss: loss, scratch: scratch)
            return weightedSum(loss, w, map.rows)
        }
        dlv.zero()
        gaussianNLL(mean: mu, logvar: lv.p, targets: x, map: map, rowLoss: loss, weights: w, dmean: dmu, dlogvar: dlv.p, scratch: scratch)
        // Row 1 is the first unlabelled row: example 1, scored against x[1].
        XCTAssertEqual(Int(map.example[1]), 1)
        var direct = 0.0
        for j in 0..<d {
            let e = Double(x[1, j] - mu[1, j]), v = Foundation.exp(Double(lv.p[j]))
            direct += 0.5 * Foundation.log(2 * Double.pi * v) + e * e / (2 * v)
        }
        XCTAssertEqual(loss[1], direct, accuracy: 1e-5 * abs(direct))
        let rm = checkGradient(values: mu.p, analytic: Array(UnsafeBufferPointer(start: dmu.p, count: dmu.count)), eps: 1e-3, f)
        let rv = checkGradient(values: lv.p, analytic: Array(UnsafeBufferPointer(start: dlv.p, count: d)), eps: 1e-3, f)
        XCTAssertTrue(rm.passed, "Gaussian dμ: \(rm)"); XCTAssertTrue(rv.passed, "Gaussian dlv: \(rv)")
    }

    func testGaussianKLToStandardNormal() {
        let mu = ws.mat(4, 3), lv = ws.mat(4, 3), dmu = ws.mat(4, 3), dlv = ws.mat(4, 3)
        fillUniform(mu.p, mu.count, seed: 3, lo: -2, hi: 2); fillUniform(lv.p, lv.count, seed: 4, lo: -3, hi: 2)
        let kl = ws.doubles(4), w = rowWeights(4)
        func f() -> Double { gaussianKLStandard(mu: mu, logvar: lv, rowLoss: kl); return weightedSum(kl, w, 4) }
        dmu.zero(); dlv.zero()
        gaussianKLStandard(mu: mu, logvar: lv, rowLoss: kl, weights: w, dmu: dmu, dlogvar: dlv)
        // Closed form against direct evaluation for row 0.
        var direct = 0.0
        for j in 0..<3 { let m = Double(mu[0, j]), v = Double(lv[0, j]); direct += 0.5 * (Foundation.exp(v) + m * m - 1 - v) }
        XCTAssertEqual(kl[0], direct, accuracy: 1e-5)
        let rm = checkGradient(values: mu.p, analytic: Array(UnsafeBufferPointer(start: dmu.p, count: dmu.count)), eps: 1e-3, f)
        let rv = checkGradient(values: lv.p, analytic: Array(UnsafeBufferPointer(start: dlv.p, count: dlv.count)), eps: 1e-3, f)
        XCTAssertTrue(rm.passed, "KL dμ: \(rm)"); XCTAssertTrue(rv.passed, "KL dlv: \(rv)")
    }

    /// log N(a[example(r)]; μ_r, e^{lv_r}) with a per-example x (as ADGM's p(a|x,y,z) scores a).
    func testGaussianLogDensityPerExampleTarget() {
        var map = RowMap(capacityRows: 8, capacityExamples: 4)
        map.build(labels: [1], unlabelled: 1, classes: 3)  // 4 rows over 2 examples
        let a = ws.mat(2, 3), mu = ws.mat(map.rows, 3), lv = ws.mat(map.rows, 3)
        let da = ws.mat(2, 3), dmu = ws.mat(map.rows, 3), dlv = ws.mat(map.rows, 3)
        fillUniform(a.p, a.count, seed: 5, lo: -2, hi: 2); fillUniform(mu.p, mu.count, seed: 6, lo: -1, hi: 1)
        fillUniform(lv.p, lv.count, seed: 7, lo: -2, hi: 1)
        let v = ws.doubles(map.rows), w = rowWeights(map.rows)
        func f() -> Double { gaussianLogDensity(x: a, mu: mu, logvar: lv, map: map, rowValue: v); return weightedSum(v, w, map.rows) }
        da.zero(); dmu.zero(); dlv.zero()
        gaussianLogDensity(x: a, mu: mu, logvar: lv, map: map, rowValue: v, weights: w, dx: da, dmu: dmu, dlogvar: dlv)
        var direct = 0.0
        for j in 0..<3 {
            let x = Double(a[0, j]), m = Double(mu[0, j]), s2 = Foundation.exp(Double(lv[0, j]))
            direct += -0.5 * Foundation.log(2 * Double.pi * s2) - (x - m) * (x - m) / (2 * s2)
        }
        XCTAssertEqual(v[0], direct, accuracy: 1e-5)
        for (name, m, g) in [("da", a, da), ("dμ", mu, dmu), ("dlv", lv, dlv)] {
            let r = checkGradient(values: m.p, analytic: Array(UnsafeBufferPointer(start: g.p, count: g.count)), eps: 1e-3, f)
            XCTAssertTrue(r.passed, "log N \(name): \(r)")
        }
    }

    func testReparameterization() {
        let mu = ws.mat(3, 2), lv = ws.mat(3, 2), eps = ws.mat(3, 2), z = ws.mat(3, 2), g = ws.mat(3, 2)
        let dmu = ws.mat(3, 2), dlv = ws.mat(3, 2)
        fillUniform(mu.p, 6, seed: 8); fillUniform(lv.p, 6, seed: 9); fillUniform(eps.p, 6, seed: 10, lo: -2, hi: 2)
        fillUniform(g.p, 6, seed: 11)
        func f() -> Double { reparameterize(mu: mu, logvar: lv, eps: eps, into: z); return dot(g.p, z.p, 6) }
        dmu.zero(); dlv.zero()
        reparameterizeBackward(logvar: lv, eps: eps, dz: g, dmu: dmu, dlogvar: dlv)
        XCTAssertTrue(checkGradient(values: mu.p, analytic: Array(UnsafeBufferPointer(start: dmu.p, count: 6)), eps: 1e-3, f).passed)
        XCTAssertTrue(checkGradient(values: lv.p, analytic: Array(UnsafeBufferPointer(start: dlv.p, count: 6)), eps: 1e-3, f).passed)
    }

    func testCrossEntropyFromLogits() {
        let logits = ws.mat(4, 5), lp = ws.mat(4, 5), dl = ws.mat(4, 5)
        fillUniform(logits.p, logits.count, seed: 12, lo: -4, hi: 4)
        let labels: [Int32] = [0, 4, 2, 2]
        let ce = ws.doubles(4)
        func f() -> Double {
            logSoftmax(logits, into: lp)
            labels.withUnsafeBufferPointer { crossEntropy(logProbs: lp, labels: $0, rowLoss: ce) }
            return (0..<4).reduce(0.0) { $0 + ce[$1] } * 0.7
        }
        _ = f()
        dl.zero()
        labels.withUnsafeBufferPointer { crossEntropy(logProbs: lp, labels: $0, rowLoss: ce, weight: 0.7, dlogits: dl) }
        let r = checkGradient(values: logits.p, analytic: Array(UnsafeBufferPointer(start: dl.p, count: dl.count)), eps: 1e-2, f)
        XCTAssertTrue(r.passed, "cross-entropy: \(r)")
        // log-softmax rows normalise.
        for row in 0..<4 { XCTAssertEqual((0..<5).reduce(0.0) { $0 + Foundation.exp(Double(lp[row, $1])) }, 1, accuracy: 1e-5) }
    }

    /// U = Σ π c + s·Σ π log π (expected cost minus scaled entropy) w.r.t. the logits.
    func testExpectedCostMinusEntropy() {
        for s in [1.0, 0.3, 0.0] {
            let logits = ws.mat(3, 4), lp = ws.mat(3, 4), dl = ws.mat(3, 4)
            fillUniform(logits.p, logits.count, seed: 13, lo: -3, hi: 3)
            let costs = ws.doubles(12)
            for i in 0..<12 { costs[i] = Double(i % 5) * 1.7 - 2 }
            let u = ws.doubles(3)
            func f() -> Double {
                logSoftmax(logits, into: lp)
                expectedCostMinusEntropy(logProbs: lp, costs: costs, entropyScale: s, rowValue: u)
                return (u[0] + u[1] + u[2]) * 0.5
            }
            _ = f()
            dl.zero()
            expectedCostMinusEntropy(logProbs: lp, costs: costs, entropyScale: s, rowValue: u, weight: 0.5, dlogits: dl)
            let r = checkGradient(values: logits.p, analytic: Array(UnsafeBufferPointer(start: dl.p, count: dl.count)), eps: 1e-2, f)
            XCTAssertTrue(r.passed, "entropy scale \(s): \(r)")
            // With s = 1 and uniform costs the value is −H(π) + c.
        }
    }

    /// The entropy term alone: −H(π) = Σ π log π ≤ 0, and = −log K at uniform π.
    func testEntropyValues() {
        let lp = ws.mat(1, 4), u = ws.doubles(1), zeros = ws.doubles(4)
        for j in 0..<4 { lp.p[j] = Float(-Foundation.log(4.0)) }
        expectedCostMinusEntropy(logProbs: lp, costs: zeros, entropyScale: 1, rowValue: u)
        XCTAssertEqual(u[0], -Foundation.log(4.0), accuracy: 1e-6)
    }

    func testFastMathAccuracy() {
        var worstExp = 0.0, worstSoftplus = 0.0
        var x: Float = -80
        while x < 80 {
            let e = Double(fastExp(x)), ref = Foundation.exp(Double(x))
            worstExp = max(worstExp, abs(e - ref) / ref)
            let sp = Double(softplus(x)), spRef = Foundation.log1p(Foundation.exp(Double(x)))
            worstSoftplus = max(worstSoftplus, abs(sp - spRef) / max(spRef, 1e-30))
            x += 0.0137
        }
        XCTAssertLessThan(worstExp, 1e-6, "fastExp relative error")
        XCTAssertLessThan(worstSoftplus, 1e-6, "softplus relative error")
        XCTAssertEqual(Double(sigmoid(30)), 1, accuracy: 1e-6)
        XCTAssertEqual(Double(sigmoid(-30)), Foundation.exp(-30.0), accuracy: 1e-15)
    }

    /// A log-variance far below the floor (SDGM's p(a|y,z) for unlikely labels) gives a finite density and finite
    /// gradients, with none on the log-variance; a zero row weight adds nothing even where e^{−lv} would overflow.
    func testGaussianDensityBelowTheLogVarianceFloorStaysFinite() {
        let x = Buffer(count: 2), mu = Buffer(count: 2), lv = Buffer(count: 2)
        x.pointer[0] = 1; x.pointer[1] = -2; mu.pointer[0] = 0; mu.pointer[1] = 0; lv.pointer[0] = -150; lv.pointer[1] = 0
        var value = [0.0], w: [Float] = [0.5]
        let dmu = Buffer(count: 2), dlv = Buffer(count: 2)
        dmu.pointer.update(repeating: 0, count: 2); dlv.pointer.update(repeating: 0, count: 2)
        value.withUnsafeMutableBufferPointer { v in
            w.withUnsafeBufferPointer { wp in
                gaussianLogDensity(x: Mat(x.pointer, 1, 2), mu: Mat(mu.pointer, 1, 2), logvar: Mat(lv.pointer, 1, 2), map: nil,
                                   rowValue: v.baseAddress!, weights: wp.baseAddress!, dmu: Mat(dmu.pointer, 1, 2), dlogvar: Mat(dlv.pointer, 1, 2))
            }
        }
        // The floored coordinate counts as lv = the floor: −½(log 2π + lv + e^{−lv}); the other as a standard normal.
        let floor = Double(logVarianceFloor)
        let expected = -0.5 * (log(2 * Double.pi) + floor + exp(-floor)) - 0.5 * (log(2 * Double.pi) + 4)
        XCTAssertEqual(value[0], expected, accuracy: 1e-6 * abs(expected))
        XCTAssertTrue(dmu.pointer[0].isFinite && dmu.pointer[1].isFinite)
        XCTAssertEqual(dlv.pointer[0], 0, "no gradient pushes the log-variance further below the floor")
        XCTAssertEqual(dlv.pointer[1], 0.5 * (0.5 * 4 - 0.5), accuracy: 1e-6)
        w[0] = 0
        dmu.pointer.update(repeating: 0, count: 2)
        lv.pointer[0] = -1e30  // e^{−lv} overflows without the floor
        value.withUnsafeMutableBufferPointer { v in
            w.withUnsafeBufferPointer { wp in
                gaussianLogDensity(x: Mat(x.pointer, 1, 2), mu: Mat(mu.pointer, 1, 2), logvar: Mat(lv.pointer, 1, 2), map: nil,
                                   rowValue: v.baseAddress!, weights: wp.baseAddress!, dmu: Mat(dmu.pointer, 1, 2))
            }
        }
        XCTAssertTrue(value[0].isFinite)
        XCTAssertEqual(dmu.pointer[0], 0)
    }
}
