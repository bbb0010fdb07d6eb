import Foundation
import SSLCore
import SSLTemplate
import XCTest

/// The template-at-unknown-shifts model against the exercise's known values: H=2, W=3, w=1, K=2,
/// X = arange(12).reshape(2,3,2) (H×W×K), F = arange(2).reshape(2,1), B = arange(6).reshape(2,3), s = 0.1,
/// a = [1,2,3]/6, q = arange(1,7).reshape(3,2) normalised per column.
final class ShiftedTemplateTests: XCTestCase {
    let h = 2, w = 3, k = 2
    /// Image n of X = arange(12).reshape(H, W, K): X[i, j, n] = (i·W + j)·K + n.
    func image(_ n: Int) -> [Double] { (0..<(h * w)).map { Double($0 * k + n) } }
    var model: ShiftedTemplate {
        ShiftedTemplate(face: [0, 1], background: [0, 1, 2, 3, 4, 5], prior: [1.0 / 6, 2.0 / 6, 3.0 / 6], sigma: 0.1,
                        height: h, width: w, faceWidth: 1)
    }
    /// q (S×K) = arange(1,7).reshape(3,2), each column normalised.
    let q: [Double] = [1.0 / 9, 2.0 / 12, 3.0 / 9, 4.0 / 12, 5.0 / 9, 6.0 / 12]

    func logLikelihoods(_ m: ShiftedTemplate) -> [Double] {
        var lp = [Double](repeating: 0, count: 3 * k), column = [Double](repeating: 0, count: 3)
        for n in 0..<k {
            image(n).withUnsafeBufferPointer { m.logLikelihoods($0.baseAddress!, into: &column) }
            for d in 0..<3 { lp[d * k + n] = column[d] }
        }
        return lp
    }

    func testLogLikelihoodsAndBound() {
        let expected = [-3541.69812064, -5541.69812064, -4541.69812064, -6741.69812064, -6141.69812064, -8541.69812064]
        for (a, b) in zip(logLikelihoods(model), expected) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        XCTAssertEqual(model.bound(q: q, logLikelihoods: logLikelihoods(model), images: k), -12761.1875, accuracy: 1e-4)
    }

    func testEStep() {
        let lp = logLikelihoods(model)
        for n in 0..<k {
            var column = [Double](repeating: 0, count: 3)
            let col = (0..<3).map { lp[$0 * k + n] }
            _ = col.withUnsafeBufferPointer { model.posterior(logLikelihoods: $0.baseAddress!, into: &column) }
            XCTAssertEqual(column[0], 1, accuracy: 1e-12); XCTAssertEqual(column[1], 0, accuracy: 1e-12); XCTAssertEqual(column[2], 0, accuracy: 1e-12)
        }
    }

    func testMStep() {
        var m = model
        var st = ShiftedTemplate.Statistics(shifts: 3, height: h, width: w, faceWidth: 1)
        for n in 0..<k {
            let col = (0..<3).map { q[$0 * k + n] }
            image(n).withUnsafeBufferPointer { x in col.withUnsafeBufferPointer { m.accumulate(x.baseAddress!, q: $0.baseAddress!, into: &st) } }
        }
        m.maximize(st)
        for (a, b) in zip(m.face, [3.27777778, 9.27777778]) { XCTAssertEqual(a, b, accuracy: 1e-7) }
        for (a, b) in zip(m.background, [0.48387097, 2.5, 4.52941176, 6.48387097, 8.5, 10.52941176]) { XCTAssertEqual(a, b, accuracy: 1e-7) }
        for (a, b) in zip(m.prior, [0.13888889, 0.33333333, 0.52777778]) { XCTAssertEqual(a, b, accuracy: 1e-7) }
        XCTAssertEqual(m.sigma, 0.94868, accuracy: 1e-5)
    }
}
